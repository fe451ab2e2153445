//! The benchmark harness at smoke scale, so it cannot rot: every phase runs
//! (ingest, COPY limit, two scoring levels, load) in a few seconds against
//! an in-process server, and the service's perception-gap counts must equal
//! the naive SQL aggregate over the raw answers. The data carries answers in
//! the other frames, which the COPY limit writes as ingest does.

use sqlx::PgPool;

use crate::helpers::{
    internals::bench::{self, Config, Server},
    spawn_app_with,
};

#[sqlx::test]
async fn the_benchmark_harness_runs_at_smoke_scale(pool: PgPool) {
    // The harness folds the rollup itself (as it has the release server do),
    // so the state before the fold is what its first checks see.
    let app = spawn_app_with(pool.clone(), |a| a.rollup_compact_interval_ms = 86_400_000).await;
    let server = Server {
        addr: app.addr,
        pid: std::process::id(),
    };
    // The GetCustomerRisk load runs in a separate process, as the binary
    // runs it: the bench binary's hidden load-worker subcommand.
    let cfg = Config {
        load_worker: Some(env!("CARGO_BIN_EXE_gapscore-bench").into()),
        ..Config::smoke()
    };
    let report = bench::run(&cfg, &pool, None, server, &|_| {})
        .await
        .expect("the harness runs");

    assert!(report.gap_matches_naive, "{}", report.to_markdown());
    assert!(report.failures().is_empty(), "{:?}", report.failures());
    // Every phase produced rows.
    assert_eq!(report.ingest.len(), 8);
    assert_eq!(report.loads.len(), cfg.levels.len());
    assert_eq!(report.load.len(), 2);
    // Four perception-gap cases (plain, label filter, group_by, unaligned
    // window), two effort cases and two key-driver cases (plain, unaligned
    // window) at each level, before and after the fold; before it, deltas
    // were pending.
    assert_eq!(report.exact.len(), 16 * cfg.levels.len());
    assert!(
        report
            .exact
            .iter()
            .any(|c| c.case == "effort unaligned window"),
        "GetEffortIndex judged"
    );
    assert!(
        report
            .exact
            .iter()
            .any(|c| c.case == "drivers unaligned window"),
        "GetKeyDrivers judged"
    );
    for c in &report.exact {
        assert!(c.matches && c.cells > 0, "{c:?}");
        if c.state == "before fold" {
            assert!(c.pending_rollup_rows > 0, "{c:?}");
        }
    }
    assert!(
        report
            .exact
            .iter()
            .any(|c| c.case == "group_by region" && c.cells > 4 * 6),
        "group_by compared per group"
    );
    for r in &report.ingest {
        assert!(r.records_per_s > 0.0 && r.rows_per_s > 0.0, "{r:?}");
    }
    // Every query at every level, the three reads of SPEC §16, GetChange,
    // GetKeyDrivers, GetTrend and both ListAtRiskCustomers pages included,
    // each measured without an error.
    assert_eq!(report.scoring.len(), 15 * cfg.levels.len());
    for r in &report.scoring {
        assert!(r.error.is_none(), "{r:?}");
        assert!(r.calls >= cfg.min_reps, "{r:?}");
    }
    for level in &report.loads {
        assert!(level.framed_answers > 0, "{level:?}");
    }
    for r in &report.load {
        assert_eq!(r.errors, 0, "{r:?}");
        assert!(r.calls > 0, "{r:?}");
    }
    assert!(report.load[0].separate_process, "{:?}", report.load[0]);
    assert!(!report.load[1].separate_process, "{:?}", report.load[1]);
    // Everything that was sent was stored exactly once: per id prefix,
    // exactly the records each phase sent (ingest: every method the same
    // records, each repetition its own; levels: prefix b up to the top
    // level; load: 10 records per successful call).
    let counts = |table: &'static str| {
        let pool = pool.clone();
        async move {
            let rows: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT split_part(x.id, '-', 1), count(*) FROM {table} x
                 GROUP BY 1 ORDER BY 1"
            )))
            .fetch_all(&pool)
            .await
            .unwrap();
            rows.into_iter()
                .collect::<std::collections::BTreeMap<_, _>>()
        }
    };
    let top = *cfg.levels.last().unwrap() as i64;
    let per_method = (cfg.ingest_responses * cfg.ingest_reps as u64) as i64;
    let writes = report
        .load
        .iter()
        .find(|r| r.call.starts_with("Submit"))
        .unwrap();
    let responses = counts("survey_responses").await;
    let expected: std::collections::BTreeMap<String, i64> = [
        ("b".to_owned(), top / 6),
        ("c".to_owned(), per_method),
        ("l".to_owned(), 10 * writes.calls as i64),
        ("s".to_owned(), per_method),
        ("u".to_owned(), per_method),
    ]
    .into();
    assert_eq!(responses, expected);
    let journeys = counts("journeys").await;
    let per_method_j = ((cfg.ingest_responses / 2) * cfg.ingest_reps as u64) as i64;
    let expected: std::collections::BTreeMap<String, i64> = [
        ("b".to_owned(), top / 6 / 3),
        ("cj".to_owned(), per_method_j),
        ("sj".to_owned(), per_method_j),
        ("uj".to_owned(), per_method_j),
    ]
    .into();
    assert_eq!(journeys, expected);
    // A level is named by its EXPERIENCE answers: six per response.
    let level_answers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM answers a JOIN survey_responses r USING (tenant_id, rid)
         WHERE split_part(r.id, '-', 1) = 'b'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(level_answers, top);
    // The COPY limit writes the rows ingest writes: stream, unary and COPY
    // sent the same records (prefixes s, u, c; the load phase's are l),
    // framed answers included.
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT split_part(r.id, '-', 1),
                sum((SELECT count(*) FROM answers a
                     WHERE a.tenant_id = r.tenant_id AND a.rid = r.rid))::bigint,
                sum((SELECT count(*) FROM framed_answers f
                     WHERE f.tenant_id = r.tenant_id AND f.rid = r.rid))::bigint
         FROM survey_responses r JOIN tenants t USING (tenant_id)
         WHERE t.name = 'bench-ingest' AND split_part(r.id, '-', 1) IN ('s', 'u', 'c')
         GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows[0].2 > 0, "{rows:?}");
    assert!(
        rows.iter().all(|r| (r.1, r.2) == (rows[0].1, rows[0].2)),
        "{rows:?}"
    );
    // The COPY floor wrote exactly the rows the other methods wrote: as
    // many responses and journeys, answers (every frame) and touchpoints
    // as the COPY into our own schema (prefixes c, cj).
    let floor: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM bench_floor.responses),
                (SELECT count(*) FROM bench_floor.answers),
                (SELECT count(*) FROM bench_floor.journeys),
                (SELECT count(*) FROM bench_floor.touchpoints)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let own_touchpoints: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM touchpoints t JOIN journeys j USING (tenant_id, jid)
         WHERE split_part(j.id, '-', 1) = 'cj'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let c_answers = rows.iter().find(|r| r.0 == "c").map(|r| r.1 + r.2).unwrap();
    assert_eq!(
        floor,
        (per_method, c_answers, per_method_j, own_touchpoints),
        "the floor's rows"
    );
    // The COPY loader keeps the daily rollup exact as ingest does: per
    // tenant and key, the rollup's sum is the count of scored answers.
    let drift: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT tenant_id, question, sum(n)::bigint FROM (
             SELECT tenant_id, (submitted_at AT TIME ZONE 'UTC')::date AS day, question, role,
                    score, survey_id, 1::bigint AS n
             FROM answers WHERE score IS NOT NULL
             UNION ALL
             SELECT tenant_id, day, question, role, score, survey_id, -answers FROM gap_daily
         ) d
         GROUP BY tenant_id, day, question, role, score, survey_id
         HAVING sum(n) <> 0
         LIMIT 5",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        drift.is_empty(),
        "rollup differs from the answers: {drift:?}"
    );
    // And the framed answers' rollup: per tenant and key, its sums are
    // those of the framed answers paired with their EXPERIENCE answers.
    let frame_drift: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT tenant_id, question, sum(n)::bigint FROM (
             SELECT f.tenant_id, (f.submitted_at AT TIME ZONE 'UTC')::date AS day, f.question,
                    f.frame, f.competitor, f.role, f.survey_id, e.score IS NOT NULL AS paired,
                    1::bigint AS n, coalesce(e.score, 0)::bigint AS se, f.score::bigint AS sf,
                    coalesce((e.score - f.score)::bigint * (e.score - f.score), 0) AS sd
             FROM framed_answers f
             LEFT JOIN answers e ON e.tenant_id = f.tenant_id AND e.rid = f.rid
                                AND e.question = f.question
             UNION ALL
             SELECT tenant_id, day, question, frame, competitor, role, survey_id, paired,
                    -answers, -sum_experience, -sum_framed, -sum_sq_difference
             FROM frame_daily
         ) d
         GROUP BY tenant_id, day, question, frame, competitor, role, survey_id, paired
         HAVING sum(n) <> 0 OR sum(se) <> 0 OR sum(sf) <> 0 OR sum(sd) <> 0
         LIMIT 5",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        frame_drift.is_empty(),
        "frame rollup differs from the framed answers: {frame_drift:?}"
    );
    // And the complete cases' rollup: per tenant, key and term, its sums
    // are those of the customer responses' scored answers.
    let case_drift: Vec<(i64, String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT tenant_id, questions::text, i, sum(v)::bigint FROM (
             SELECT tenant_id, day, survey_id, questions, i, v FROM ({}) a
             UNION ALL
             SELECT tenant_id, day, survey_id, questions, i, -v FROM ({}) r
         ) d
         GROUP BY tenant_id, day, survey_id, questions, i
         HAVING sum(v) <> 0
         LIMIT 5",
        crate::helpers::sql::case_terms_from_answers("true"),
        crate::helpers::sql::CASE_DAILY_TERMS
    )))
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        case_drift.is_empty(),
        "case rollup differs from the answers: {case_drift:?}"
    );
    let case_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM case_daily WHERE cases > 0")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(case_rows > 0, "the COPY loader appended no case deltas");
    let md = report.to_markdown();
    assert!(md.contains("| responses: stream |"), "{md}");
}
