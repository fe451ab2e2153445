//! The schema is ready to be distributed by `tenant_id` (SPEC §15,
//! docs/SCALING.md): the key and trigger rules Citus imposes, read from
//! the catalog so a table another migration adds is checked too; the
//! hash-partitioned variant (`scripts/test --partitioned`) really is the
//! one under test; the conversion keeps rows, keys and sequences and
//! refuses a unique key without the tenant; and the ingest counts that
//! used to read a system column stay exact under racing first writes.
//!
//! Nothing in the service reads constraint names: on a partitioned (or
//! distributed) table a unique violation names the partition's (shard's)
//! index, not the key.

use gapscore::proto::v1::*;
use sqlx::PgPool;

use crate::helpers::{internals::create_tenant, outcome, rating, response, spawn_app};

/// The tables Citus would replicate to every node instead of sharding:
/// looked up by key id before the tenant is known (`api_keys`), or the
/// tenants themselves.
const REFERENCE_TABLES: [&str; 2] = ["api_keys", "tenants"];

/// Whether this run is the partitioned variant (set by `scripts/test
/// --partitioned`, which also sets the database option).
fn partitioned_run() -> bool {
    std::env::var_os("GAPSCORE_PARTITIONED").is_some_and(|v| v == "1")
}

/// `(table, offending object)` rows of a catalog query, for the message.
async fn offenders(pool: &PgPool, sql: &'static str) -> Vec<(String, String)> {
    sqlx::query_as(sql)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[sqlx::test]
async fn every_table_is_either_distributed_by_tenant_or_a_reference_table(pool: PgPool) {
    let tables: Vec<(String, bool)> = sqlx::query_as(
        "SELECT c.relname::text, EXISTS (SELECT 1 FROM pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
         FROM pg_class c
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
           AND NOT c.relispartition AND c.relname <> '_sqlx_migrations'
         ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(tables.len() > REFERENCE_TABLES.len(), "{tables:?}");
    for (table, has_tenant) in &tables {
        assert!(has_tenant, "{table} has no tenant_id: it can be neither");
    }
    for table in REFERENCE_TABLES {
        assert!(tables.iter().any(|(t, _)| t == table), "{table} is missing");
    }
}

/// Citus (like PostgreSQL's partitioning) can enforce a unique key on a
/// distributed table only if it holds the distribution column.
#[sqlx::test]
async fn every_unique_key_of_a_distributed_table_holds_tenant_id(pool: PgPool) {
    let bad = offenders(
        &pool,
        "SELECT c.relname::text, i.indexrelid::regclass::text
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
         WHERE i.indisunique AND c.relnamespace = current_schema()::regnamespace
           AND NOT c.relispartition
           AND c.relname NOT IN ('api_keys', 'tenants', '_sqlx_migrations')
           AND NOT EXISTS (
               SELECT 1 FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
               WHERE k.n <= i.indnkeyatts AND a.attname = 'tenant_id')
         ORDER BY 1, 2",
    )
    .await;
    assert!(bad.is_empty(), "unique keys without tenant_id: {bad:?}");
}

/// A foreign key between two distributed tables must join on the
/// distribution column (colocated rows live on one node); one from a
/// distributed table to a reference table is fine; one from a reference
/// table to a distributed table is not supported.
#[sqlx::test]
async fn every_foreign_key_between_distributed_tables_joins_on_tenant_id(pool: PgPool) {
    let bad = offenders(
        &pool,
        "SELECT f.conrelid::regclass::text, f.conname::text
         FROM pg_constraint f
         JOIN pg_class c ON c.oid = f.conrelid
         JOIN pg_class r ON r.oid = f.confrelid
         WHERE f.contype = 'f' AND f.conparentid = 0
           AND c.relnamespace = current_schema()::regnamespace
           AND r.relname NOT IN ('api_keys', 'tenants')
           AND (c.relname IN ('api_keys', 'tenants') OR NOT EXISTS (
               SELECT 1 FROM unnest(f.conkey, f.confkey) AS k(from_att, to_att)
               JOIN pg_attribute fa ON fa.attrelid = f.conrelid AND fa.attnum = k.from_att
               JOIN pg_attribute ta ON ta.attrelid = f.confrelid AND ta.attnum = k.to_att
               WHERE fa.attname = 'tenant_id' AND ta.attname = 'tenant_id'))
         ORDER BY 1, 2",
    )
    .await;
    assert!(
        bad.is_empty(),
        "foreign keys not joining on tenant_id: {bad:?}"
    );
}

/// Citus refuses triggers on distributed tables unless told to run unsafe
/// ones, and a trigger that writes another distributed table from a shard
/// fails outright: the rollup's deltas are written by the write paths
/// (migration 0020), and no table carries a trigger.
#[sqlx::test]
async fn no_table_has_a_trigger(pool: PgPool) {
    let bad = offenders(
        &pool,
        "SELECT t.tgrelid::regclass::text, t.tgname::text
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace
         ORDER BY 1, 2",
    )
    .await;
    assert!(bad.is_empty(), "triggers: {bad:?}");
}

/// `scripts/test --partitioned` must really test the partitioned schema:
/// the option reached the server, and every distributed table is
/// partitioned by hash of tenant_id into `tenant_partitions`; a plain run
/// has no partitioned table at all.
#[sqlx::test]
async fn the_run_tests_the_schema_variant_it_asked_for(pool: PgPool) {
    let setting: Option<String> =
        sqlx::query_scalar("SELECT current_setting('gapscore.partitioned', true)")
            .fetch_one(&pool)
            .await
            .unwrap();
    let tables: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT c.relname::text,
                CASE WHEN p.partrelid IS NOT NULL THEN
                     p.partstrat::text || ':' || (SELECT string_agg(a.attname, ',')
                                            FROM unnest(p.partattrs) AS k(attnum)
                                            JOIN pg_attribute a
                                              ON a.attrelid = c.oid AND a.attnum = k.attnum)
                END,
                (SELECT count(*) FROM pg_inherits h JOIN pg_class pc ON pc.oid = h.inhrelid
                 WHERE h.inhparent = c.oid AND pc.relnamespace = 'tenant_partitions'::regnamespace)
         FROM pg_class c LEFT JOIN pg_partitioned_table p ON p.partrelid = c.oid
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
           AND NOT c.relispartition
           AND c.relname NOT IN ('api_keys', 'tenants', '_sqlx_migrations')
         ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(!tables.is_empty());
    if partitioned_run() {
        assert_eq!(setting.as_deref(), Some("on"), "the option did not arrive");
        for (table, key, partitions) in &tables {
            assert_eq!(key.as_deref(), Some("h:tenant_id"), "{table}");
            assert_eq!(*partitions, 4, "{table}");
        }
    } else {
        assert_ne!(setting.as_deref(), Some("on"));
        for (table, key, _) in &tables {
            assert_eq!(key, &None, "{table} is partitioned in the plain variant");
        }
    }
}

/// What the conversion does to a table added after the last migration
/// (and, on the plain variant, to every table of the schema): rows kept,
/// keys and foreign keys kept under their names and enforced, the
/// identity sequence continued.
#[sqlx::test]
async fn partitioning_keeps_rows_keys_and_sequences(pool: PgPool) {
    let (tenant, _) = create_tenant(&pool, "acme").await;
    let questions: i64 = sqlx::query_scalar("SELECT count(*) FROM questions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(questions > 0, "the catalog is seeded");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO survey_responses (tenant_id, id, role, submitted_at, content_hash)
         VALUES ({t}, 'r1', 3, now(), '\\x00'), ({t}, 'r2', 3, now(), '\\x00');
         CREATE TABLE notes (
             tenant_id BIGINT NOT NULL REFERENCES tenants ON DELETE CASCADE,
             nid BIGINT GENERATED ALWAYS AS IDENTITY,
             rid BIGINT NOT NULL,
             body TEXT NOT NULL,
             PRIMARY KEY (tenant_id, nid),
             CONSTRAINT notes_body UNIQUE (tenant_id, body),
             FOREIGN KEY (tenant_id, rid) REFERENCES survey_responses (tenant_id, rid)
                 ON DELETE CASCADE);
         CREATE TABLE note_tags (
             tenant_id BIGINT NOT NULL, nid BIGINT NOT NULL, tag TEXT NOT NULL,
             PRIMARY KEY (tenant_id, nid, tag),
             CONSTRAINT note_tags_note FOREIGN KEY (tenant_id, nid) REFERENCES notes);
         INSERT INTO notes (tenant_id, rid, body)
             SELECT {t}, rid, id FROM survey_responses WHERE tenant_id = {t};
         INSERT INTO note_tags SELECT tenant_id, nid, 'x' FROM notes;",
        t = tenant.0
    )))
    .execute(&pool)
    .await
    .unwrap();

    let converted: i32 = sqlx::query_scalar("SELECT gapscore_partition_by_tenant()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let expected = if partitioned_run() { 2 } else { 2 + 9 };
    assert!(converted >= expected, "{converted} tables converted");
    let again: i32 = sqlx::query_scalar("SELECT gapscore_partition_by_tenant()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(again, 0, "a second run has nothing left to do");

    let kind: Vec<String> = sqlx::query_scalar(
        "SELECT relkind::text FROM pg_class WHERE oid IN ('notes'::regclass, 'note_tags'::regclass,
                'survey_responses'::regclass, 'questions'::regclass)",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(kind, ["p", "p", "p", "p"]);
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT count(*) FROM questions").await, questions);
    assert_eq!(count("SELECT count(*) FROM notes").await, 2);
    assert_eq!(count("SELECT count(*) FROM note_tags").await, 2);

    // The identity continues after the copied rows.
    let nid: i64 = sqlx::query_scalar(
        "INSERT INTO notes (tenant_id, rid, body)
         SELECT tenant_id, rid, 'third' FROM survey_responses WHERE id = 'r1' RETURNING nid",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(nid, 3);
    // Keys and foreign keys are enforced under their own names.
    let err = sqlx::query(
        "INSERT INTO notes (tenant_id, rid, body)
         SELECT tenant_id, rid, 'third' FROM survey_responses WHERE id = 'r2'",
    )
    .execute(&pool)
    .await
    .unwrap_err();
    // The violation names the partition's index (PostgreSQL names those),
    // not the key: nothing in the service reads constraint names.
    let db = err.as_database_error().expect("a database error");
    assert_eq!(db.code().as_deref(), Some("23505"), "{db}");
    assert!(
        db.constraint()
            .is_some_and(|c| c.contains("tenant_id_body")),
        "{db}"
    );
    let err = sqlx::query("INSERT INTO note_tags VALUES ($1, 99, 'x')")
        .bind(tenant.0)
        .execute(&pool)
        .await
        .unwrap_err();
    let db = err.as_database_error().expect("a database error");
    assert_eq!(db.code().as_deref(), Some("23503"), "{db}");
    assert_eq!(db.constraint(), Some("note_tags_note"), "{db}");
    // Cascades still run through the partitioned tables.
    sqlx::query("DELETE FROM note_tags WHERE tenant_id = $1")
        .bind(tenant.0)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM survey_responses WHERE tenant_id = $1 AND id = 'r1'")
        .bind(tenant.0)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(count("SELECT count(*) FROM notes").await, 1);
}

/// The rule the partitioned run enforces: a table whose unique key lacks
/// the tenant cannot be converted, and the failed conversion leaves
/// nothing half done.
#[sqlx::test]
async fn a_unique_key_without_the_tenant_fails_the_conversion(pool: PgPool) {
    sqlx::raw_sql(
        "CREATE TABLE codes (tenant_id BIGINT NOT NULL, code TEXT NOT NULL UNIQUE);
         INSERT INTO codes VALUES (1, 'a');",
    )
    .execute(&pool)
    .await
    .unwrap();
    let err = sqlx::query("SELECT gapscore_partition_by_tenant()")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("must include all partitioning columns"),
        "{err}"
    );
    let (kind, rows): (String, i64) = sqlx::query_as(
        "SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'codes'::regclass),
                (SELECT count(*) FROM codes)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((kind.as_str(), rows), ("r", 1));
}

/// Two batches racing to write the same new ids: exactly one inserts each
/// record, the other updates it (different content) or leaves it
/// unchanged (same content). The counts once came from `xmax = 0`, which
/// a partitioned table cannot answer; `revision = 1` must be as exact.
#[sqlx::test]
async fn racing_first_writes_of_an_id_count_one_insert(pool: PgPool) {
    let app = spawn_app(pool).await;
    for round in 0..8 {
        let ids: Vec<String> = (0..20).map(|n| format!("r{round}-{n}")).collect();
        let batch = |score: i32| {
            ids.iter()
                .map(|id| {
                    response(
                        id,
                        RespondentRole::Customer,
                        "2026-01-05T10:00:00Z",
                        vec![rating("overall_experience", score)],
                    )
                })
                .collect::<Vec<_>>()
        };
        // Different content in odd rounds, the same in even ones.
        let (a, b) = (batch(4), batch(if round % 2 == 1 { 2 } else { 4 }));
        let (x, y) = tokio::join!(app.submit_responses(a), app.submit_responses(b));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(x.inserted + y.inserted, 20, "round {round}: {x:?} {y:?}");
        let (updated, unchanged) = (x.updated + y.updated, x.unchanged + y.unchanged);
        if round % 2 == 1 {
            assert_eq!((updated, unchanged), (20, 0), "round {round}");
        } else {
            assert_eq!((updated, unchanged), (0, 20), "round {round}");
        }

        let outcomes = |occurred: bool| {
            ids.iter()
                .map(|id| Outcome {
                    occurred,
                    ..outcome(id, "c", OutcomeKind::Repurchase, "2026-01-05T10:00:00Z")
                })
                .collect::<Vec<_>>()
        };
        let (x, y) = tokio::join!(
            app.submit_outcomes(outcomes(true)),
            app.submit_outcomes(outcomes(round % 2 == 0))
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(x.inserted + y.inserted, 20, "round {round}: {x:?} {y:?}");
        assert_eq!(x.updated + y.updated, if round % 2 == 1 { 20 } else { 0 });
    }
    // Every later change is an update: revisions keep counting.
    let again = app
        .submit_responses(vec![response(
            "r0-0",
            RespondentRole::Customer,
            "2026-01-05T10:00:00Z",
            vec![rating("overall_experience", 1)],
        )])
        .await
        .unwrap();
    assert_eq!((again.inserted, again.updated), (0, 1));
}
