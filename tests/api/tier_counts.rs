//! The whole-history tier counts' delta log (`tier_count_log`, migration
//! 0024, `store::assessments::tier_counts`): after every step of a seeded
//! random history — ease answers and journeys of a pool of customers,
//! re-sends that move records between customers and change their effort,
//! erasures, model changes with and without their recompute pass, folds
//! and a tenant clear — the log's sum per tier is the tenant's
//! `assessments` rows per tier, another tenant's log rows are untouched,
//! and GetLoyaltyRisk over the whole history (read from the log whenever
//! the rows answer it) equals its answer from the records. And a recompute
//! batch that outlives a tenant clear, the one writer of the rows without
//! the customers' tier locks, leaves the counts exact.

use std::collections::BTreeMap;

use gapscore::{
    domain::Scope,
    proto::v1::{GetLoyaltyRiskRequest, GetLoyaltyRiskResponse, Journey, SurveyResponse},
    service::tiers::recompute_pending,
    store::{assessments, catalog, loyalty},
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::PgPool;

use crate::helpers::{
    TestApp, card_update, ease_response, easy,
    internals::{TenantId, clear_tenant_data, rollup},
    journey_from, label_map, labels, spawn_app_with, stuck, two_calls,
};

/// A server whose background passes (compactor, recompute) stay quiet
/// after their first tick, so that the test decides when rows are folded
/// and when a model change's pass runs.
async fn quiet_app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, |args| {
        args.rollup_compact_interval_ms = 3_600_000;
        args.event_upkeep_interval_ms = 3_600_000;
    })
    .await
}

/// Runs every pending recompute pass to its end, two customers a batch (so
/// a pass takes several transactions).
async fn pass(app: &TestApp) {
    recompute_pending(&app.pool, 2).await.unwrap();
}

/// Customers per tier from the tenant's log (pending and folded rows
/// summed), tiers summing to zero left out.
async fn logged(pool: &PgPool, tenant: TenantId) -> BTreeMap<i16, i64> {
    sqlx::query_as(
        "SELECT tier, sum(customers)::bigint FROM tier_count_log WHERE tenant_id = $1 \
         GROUP BY tier HAVING sum(customers) <> 0",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

/// Customers per tier from the tenant's `assessments` rows.
async fn counted(pool: &PgPool, tenant: TenantId) -> BTreeMap<i16, i64> {
    sqlx::query_as("SELECT tier, count(*) FROM assessments WHERE tenant_id = $1 GROUP BY tier")
        .bind(tenant.0)
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// Every log row of the tenant, as stored.
async fn log_rows(pool: &PgPool, tenant: TenantId) -> Vec<(i16, i64, bool)> {
    sqlx::query_as(
        "SELECT tier, customers, compacted FROM tier_count_log WHERE tenant_id = $1 \
         ORDER BY tier, compacted, customers",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Every record carries this label, so the filter below keeps every
/// record but makes GetLoyaltyRisk assess from the records (a label filter
/// never reads the rows): the raw-path answer over the whole history.
const TAG: (&str, &str) = ("history", "all");

fn tagged_response(id: &str, customer: &str, at: &str, ease: i32) -> SurveyResponse {
    SurveyResponse {
        labels: label_map(&[TAG]),
        ..ease_response(id, customer, at, ease)
    }
}

fn tagged_journey(id: &str, customer: &str, at: &str, shape: usize) -> Journey {
    let shapes = [card_update(), stuck(), easy(), two_calls(1), two_calls(3)];
    Journey {
        labels: label_map(&[TAG]),
        ..journey_from(id, customer, at, &shapes[shape % shapes.len()])
    }
}

async fn loyalty_risk(app: &TestApp, raw: bool) -> GetLoyaltyRiskResponse {
    app.scoring()
        .get_loyalty_risk(GetLoyaltyRiskRequest {
            filter: if raw { labels(&[TAG]) } else { None },
            confidence_level: None,
        })
        .await
        .unwrap()
        .into_inner()
}

/// Whether the rows (hence the log) answer the whole history now.
async fn rows_answer(app: &TestApp) -> bool {
    let (_, etag) = catalog::get_scoring_model(&app.pool, app.tenant)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    assessments::whole_history(&mut conn, app.tenant, &Scope::default(), &etag)
        .await
        .unwrap()
}

/// The checks after every step: the log is the rows' counts; the store's
/// read of the log is too; GetLoyaltyRisk over the whole history says what
/// its raw path says (and the store's exact path); the other tenant's log
/// rows are as they were; the log path is in use exactly when expected.
async fn assert_exact(
    app: &TestApp,
    step: &str,
    fast: bool,
    other: (TenantId, &[(i16, i64, bool)]),
) {
    let rows = counted(&app.pool, app.tenant).await;
    assert_eq!(logged(&app.pool, app.tenant).await, rows, "{step}: log");
    assert_eq!(rows_answer(app).await, fast, "{step}: rows answer");

    let mut tx = app.pool.begin().await.unwrap();
    let read = assessments::tier_counts(&mut tx, app.tenant).await.unwrap();
    tx.commit().await.unwrap();
    let of = |tier: i16| rows.get(&tier).copied().unwrap_or(0) as u64;
    assert_eq!(
        (read.low, read.medium, read.high),
        (of(1), of(2), of(3)),
        "{step}: store read"
    );

    let whole = loyalty_risk(app, false).await;
    let raw = loyalty_risk(app, true).await;
    assert_eq!(whole.customers, raw.customers, "{step}: customers");
    assert_eq!(whole.tiers, raw.tiers, "{step}: tiers");
    assert_eq!(whole.high_share_ci, raw.high_share_ci, "{step}: HIGH share");
    let (model, _) = catalog::get_scoring_model(&app.pool, app.tenant)
        .await
        .unwrap();
    let exact = loyalty::loyalty_tiers(
        &app.pool,
        app.tenant,
        &Scope::default(),
        (&model.effort_model(), None),
    )
    .await
    .unwrap();
    let api: Vec<(i32, i64)> = whole.tiers.iter().map(|t| (t.tier, t.customers)).collect();
    for (tier, n) in [(1, exact.low), (2, exact.medium), (3, exact.high)] {
        let listed = api.iter().find(|(t, _)| *t == tier).map_or(0, |(_, n)| *n);
        assert_eq!(listed as u64, n, "{step}: tier {tier} against the records");
    }
    if fast {
        // The rows are the records' assessments, so their counts are too.
        assert_eq!((exact.low, exact.medium, exact.high), (of(1), of(2), of(3)));
    }

    let (tenant, rows) = other;
    assert_eq!(
        log_rows(&app.pool, tenant).await,
        rows,
        "{step}: other tenant"
    );
}

/// A day of the first quarter of 2026, at a random hour.
fn instant(rng: &mut StdRng) -> String {
    let month = rng.random_range(1..=3);
    let day = rng.random_range(1..=28);
    let hour = rng.random_range(0..24);
    format!("2026-{month:02}-{day:02}T{hour:02}:00:00Z")
}

/// Customers the records are drawn from.
const CUSTOMERS: usize = 10;
/// Record ids per kind: fewer than a history's writes, so later writes
/// re-send stored ids with other owners, times and efforts.
const IDS: usize = 16;

fn customer(rng: &mut StdRng) -> String {
    format!("c-{}", rng.random_range(0..CUSTOMERS))
}

fn responses(rng: &mut StdRng) -> Vec<SurveyResponse> {
    let n = rng.random_range(1..=5);
    let mut ids: Vec<usize> = (0..n).map(|_| rng.random_range(0..IDS)).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .map(|i| {
            let (c, at) = (customer(rng), instant(rng));
            tagged_response(&format!("r-{i}"), &c, &at, rng.random_range(1..=7))
        })
        .collect()
}

fn journeys(rng: &mut StdRng) -> Vec<Journey> {
    let n = rng.random_range(1..=5);
    let mut ids: Vec<usize> = (0..n).map(|_| rng.random_range(0..IDS)).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .map(|i| {
            let (c, at) = (customer(rng), instant(rng));
            tagged_journey(&format!("j-{i}"), &c, &at, rng.random_range(0..5))
        })
        .collect()
}

#[sqlx::test]
async fn the_log_counts_every_tier_exactly_through_a_random_history(pool: PgPool) {
    let app = quiet_app(pool).await;
    let globex_key = app.add_tenant("globex").await;
    let globex: i64 = sqlx::query_scalar("SELECT tenant_id FROM tenants WHERE name = 'globex'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let globex = TenantId(globex);
    // First passes: both tenants' (empty) rows are complete.
    pass(&app).await;

    // The other tenant: the same customer and record ids, folded rows and
    // pending deltas on top of them.
    let mut rng = StdRng::seed_from_u64(0x7133);
    for _ in 0..4 {
        app.submit_responses_as(&globex_key, responses(&mut rng))
            .await
            .unwrap();
        app.submit_journeys_as(&globex_key, journeys(&mut rng))
            .await
            .unwrap();
    }
    rollup::compact(&app.pool, globex).await.unwrap();
    for _ in 0..2 {
        app.submit_journeys_as(&globex_key, journeys(&mut rng))
            .await
            .unwrap();
    }
    let globex_log = log_rows(&app.pool, globex).await;
    assert!(globex_log.iter().any(|r| r.2) && globex_log.iter().any(|r| !r.2));
    assert_eq!(
        logged(&app.pool, globex).await,
        counted(&app.pool, globex).await
    );
    let other = (globex, globex_log.as_slice());

    let default_model = app.scoring_model().await;
    let mut strict = false;
    // Whether a model change's pass has not run yet.
    let mut stale = false;
    assert_exact(&app, "empty", true, other).await;
    let mut kinds = BTreeMap::<&str, usize>::new();
    for step in 0..70 {
        let kind = match rng.random_range(0..20) {
            0..=6 => "responses",
            7..=13 => "journeys",
            14..=15 => "erase",
            16..=17 => "fold",
            18 => "model",
            _ => "pass",
        };
        *kinds.entry(kind).or_default() += 1;
        match kind {
            "responses" => {
                app.submit_responses(responses(&mut rng)).await.unwrap();
            }
            "journeys" => {
                app.submit_journeys(journeys(&mut rng)).await.unwrap();
            }
            "erase" => {
                app.erase(Some(&app.key), &customer(&mut rng))
                    .await
                    .unwrap();
            }
            "fold" => {
                rollup::compact(&app.pool, app.tenant).await.unwrap();
                let rows = log_rows(&app.pool, app.tenant).await;
                assert!(
                    rows.iter().all(|r| r.2 && r.1 != 0),
                    "step {step}: {rows:?}"
                );
                assert!(rows.len() <= 3, "step {step}: one folded row per tier");
            }
            "model" => {
                strict = !strict;
                app.update_scoring_model(|m| {
                    (m.low_effort_below, m.high_effort_from) = if strict {
                        (5.0, 20.0)
                    } else {
                        (
                            default_model.low_effort_below,
                            default_model.high_effort_from,
                        )
                    };
                })
                .await;
                stale = true;
            }
            _ => {
                pass(&app).await;
                stale = false;
            }
        }
        assert_exact(&app, &format!("step {step} ({kind})"), !stale, other).await;
    }
    // The history did each kind of step (the seed is fixed: this only
    // guards against a change of generator that would skip some).
    assert_eq!(kinds.len(), 6, "{kinds:?}");
    pass(&app).await;
    assert_exact(&app, "after the last pass", true, other).await;
    assert!(
        !counted(&app.pool, app.tenant).await.is_empty(),
        "the history ends with customers"
    );

    // A clear empties the tenant's log with its rows; the other tenant's
    // rows stay as they were, and the counts start again from nothing.
    clear_tenant_data(&app.pool, app.tenant).await.unwrap();
    assert!(log_rows(&app.pool, app.tenant).await.is_empty());
    pass(&app).await;
    assert_exact(&app, "cleared", true, other).await;
    app.submit_responses(responses(&mut rng)).await.unwrap();
    app.submit_journeys(journeys(&mut rng)).await.unwrap();
    assert_exact(&app, "written after the clear", true, other).await;

    // The compactor's own pass folds both tenants; their sums stay.
    let pass = rollup::compact_pending(&app.pool).await.unwrap();
    assert!(pass.failed.is_empty());
    for tenant in [app.tenant, globex] {
        let rows = log_rows(&app.pool, tenant).await;
        assert!(rows.iter().all(|r| r.2), "{rows:?}");
        assert_eq!(
            logged(&app.pool, tenant).await,
            counted(&app.pool, tenant).await
        );
    }
    assert_eq!(
        logged(&app.pool, globex).await,
        globex_log
            .iter()
            .fold(BTreeMap::new(), |mut sums, (tier, n, _)| {
                *sums.entry(*tier).or_default() += n;
                sums
            })
    );
}

/// Sessions of this database waiting for a lock.
async fn lock_waiters(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Waits until `n` sessions of this database wait for a lock (a state, not
/// a time: the bound only turns a hang into a failure).
async fn until_waiting(pool: &PgPool, n: i64, what: &str) {
    for _ in 0..12_000 {
        if lock_waiters(pool).await >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{what} never waited for a lock");
}

/// A tenant clear deletes the rows without the customers' tier locks. A
/// recompute batch that ran its statement while the clear was in flight
/// (before migration 0027 it could: it took no lock the clear held) waited
/// for the clear's row locks, then inserted rows its snapshot saw as
/// present; the log stayed equal to them only because the deltas came
/// from what the statement did. Now every transaction that appends deltas
/// takes the tenant row's key share first (`store::tenants::hold`), which
/// the clear holds `FOR UPDATE`: the batch waits for the whole clear, then
/// finds nothing to assess, and rows and log are both empty.
#[sqlx::test]
async fn a_recompute_batch_waits_for_a_tenant_clear_and_the_counts_stay_exact(pool: PgPool) {
    let app = quiet_app(pool).await;
    pass(&app).await;
    let journeys: Vec<Journey> = (0..6)
        .map(|i| {
            tagged_journey(
                &format!("j-{i}"),
                &format!("c-{i}"),
                "2026-01-10T09:00:00Z",
                i,
            )
        })
        .collect();
    app.submit_journeys(journeys).await.unwrap();
    let before = counted(&app.pool, app.tenant).await;
    assert_eq!(before.values().sum::<i64>(), 6);
    // A model change whose pass is left pending.
    app.update_scoring_model(|m| {
        m.low_effort_below = 5.0;
        m.high_effort_from = 20.0;
    })
    .await;

    // The clear empties tables in name order: holding a journey row stops
    // it after `assessments` (its rows deleted, their locks held) and
    // before `journeys`.
    let mut holder = app.pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM journeys WHERE tenant_id = $1 AND id = 'j-0' FOR UPDATE")
        .bind(app.tenant.0)
        .execute(&mut *holder)
        .await
        .unwrap();
    let clear = tokio::spawn({
        let (pool, tenant) = (app.pool.clone(), app.tenant);
        async move { clear_tenant_data(&pool, tenant).await }
    });
    until_waiting(&app.pool, 1, "the clear").await;
    // The pass's batch waits for the clear: on the tenant row.
    let recompute = tokio::spawn({
        let pool = app.pool.clone();
        async move { recompute_pending(&pool, 500).await }
    });
    until_waiting(&app.pool, 2, "the recompute batch").await;
    holder.rollback().await.unwrap();
    clear.await.unwrap().unwrap();
    recompute.await.unwrap().unwrap();

    // The batch ran after the clear: no row from the records it deleted
    // came back, and the log counts none.
    assert!(counted(&app.pool, app.tenant).await.is_empty());
    assert!(logged(&app.pool, app.tenant).await.is_empty());
    assert!(log_rows(&app.pool, app.tenant).await.is_empty());

    pass(&app).await;
    assert!(counted(&app.pool, app.tenant).await.is_empty());
    assert!(logged(&app.pool, app.tenant).await.is_empty());
}
