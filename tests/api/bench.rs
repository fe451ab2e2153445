//! The benchmark harness at smoke scale, so it cannot rot: every phase runs
//! (ingest, COPY limit, two scoring levels, load) in a few seconds against
//! an in-process server, and the service's perception-gap counts must equal
//! the naive SQL aggregate over the raw answers. The data carries answers in
//! the other frames, which the COPY limit writes as ingest does.

use sqlx::PgPool;

use crate::helpers::{
    internals::bench::{self, Config, Server},
    spawn_app,
};

#[sqlx::test]
async fn the_benchmark_harness_runs_at_smoke_scale(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let server = Server {
        addr: app.addr,
        pid: std::process::id(),
    };
    let cfg = Config::smoke();
    let report = bench::run(&cfg, &pool, None, server, &|_| {})
        .await
        .expect("the harness runs");

    assert!(report.gap_matches_naive, "{}", report.to_markdown());
    assert_eq!(report.ingest.len(), 6);
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
    // Everything that was sent was stored exactly once.
    let responses: i64 = sqlx::query_scalar("SELECT count(*) FROM survey_responses")
        .fetch_one(&pool)
        .await
        .unwrap();
    let expected_bulk = *cfg.levels.last().unwrap() as i64 / 6;
    assert!(responses >= 3 * cfg.ingest_responses as i64 + expected_bulk);
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
    let md = report.to_markdown();
    assert!(md.contains("| responses: stream |"), "{md}");
}
