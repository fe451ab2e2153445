//! The benchmark harness at smoke scale, so it cannot rot: every phase runs
//! (ingest, COPY limit, two scoring levels, load) in a few seconds against
//! an in-process server, and the service's perception-gap counts must equal
//! the naive SQL aggregate over the raw answers.

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
    let report = bench::run(&cfg, &pool, server, &|_| {})
        .await
        .expect("the harness runs");

    assert!(report.gap_matches_naive, "{}", report.to_markdown());
    assert_eq!(report.ingest.len(), 6);
    for r in &report.ingest {
        assert!(r.records_per_s > 0.0 && r.rows_per_s > 0.0, "{r:?}");
    }
    // Every query at every level.
    assert_eq!(report.scoring.len(), 7 * cfg.levels.len());
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
    let md = report.to_markdown();
    assert!(md.contains("| responses: stream |"), "{md}");
}
