//! Whole-history assessments kept at write time (`store::assessments`,
//! migration 0016): GetLoyaltyRisk, ListAtRiskCustomers, the scorecard and
//! a trend whose records all fall in one bucket read them when the scope
//! is the whole history, GetCustomerRisk reads a customer's row when the
//! scope holds all of the customer's records; each must then say exactly
//! what the assessment from the records says, after every kind of write, a
//! model change (before and after its recompute pass) and racing writers.
//! Where a test must know which path answered, it plants a row for a
//! customer with no records (a "ghost"): only the rows can count it.

use gapscore::{
    domain::Scope,
    proto::v1::{
        EffortTier, GetCustomerRiskRequest, GetLoyaltyRiskRequest, GetScorecardRequest,
        GetScoringModelRequest, GetTrendRequest, ListAtRiskCustomersRequest, OutcomeKind,
        ScoreFilter, TierSource, TrendBucket, TrendMetric, UpdateScoringModelRequest,
    },
    scoring::effort::{EffortModel, EffortTier as Tier},
    store::{
        assessments,
        loyalty::{self, Assessment, AtRiskKey, CustomerData},
        risk,
    },
};
use sqlx::PgPool;

use crate::helpers::{
    TestApp, card_update, ease_response, easy, journey_from, spawn_app, stuck, two_calls, window,
};

/// The tenant's model in force and its etag.
async fn model(app: &TestApp) -> (EffortModel, String) {
    let (model, etag) = gapscore::store::catalog::get_scoring_model(&app.pool, app.tenant)
        .await
        .unwrap();
    (model.effort_model(), etag)
}

/// Whether the rows answer the whole history now.
async fn fast(app: &TestApp, scope: &Scope) -> bool {
    let (_, etag) = model(app).await;
    let mut conn = app.pool.acquire().await.unwrap();
    assessments::whole_history(&mut conn, app.tenant, scope, &etag)
        .await
        .unwrap()
}

/// Every customer assessed over the whole history from the records.
async fn exact(app: &TestApp) -> Vec<Assessment> {
    let (model, _) = model(app).await;
    loyalty::at_risk_customers(
        &app.pool,
        app.tenant,
        &Scope::default(),
        (&model, None),
        Tier::Low,
        None,
        1_000_000,
    )
    .await
    .unwrap()
}

/// The stored rows, as assessments, in at-risk order.
async fn rows(app: &TestApp) -> Vec<Assessment> {
    sqlx::query_as(
        "SELECT customer_id, tier::int4 AS tier, tier_source::int4 AS tier_source, latest_ease, \
           latest_ease_response_id, worst_effort_index, worst_journey_id \
         FROM assessments WHERE tenant_id = $1 \
         ORDER BY rank_tier, rank_worst, customer_id",
    )
    .bind(app.tenant.0)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// Every page of ListAtRiskCustomers of `filter`, `size` a page.
async fn walk(app: &TestApp, filter: Option<ScoreFilter>, size: i32) -> Vec<(String, i32, f64)> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .customers()
            .list_at_risk_customers(ListAtRiskCustomersRequest {
                filter: filter.clone(),
                min_tier: EffortTier::Low as i32,
                page_size: size,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.customers.len() <= size as usize);
        out.extend(
            page.customers
                .into_iter()
                .map(|c| (c.customer_id, c.tier, c.worst_effort_index)),
        );
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}

/// GetLoyaltyRisk's customers per tier (LOW, MEDIUM, HIGH).
async fn tier_counts(app: &TestApp, filter: Option<ScoreFilter>) -> Vec<(i32, i64)> {
    let r = app
        .scoring()
        .get_loyalty_risk(GetLoyaltyRiskRequest {
            filter,
            confidence_level: None,
        })
        .await
        .unwrap()
        .into_inner();
    let mut t: Vec<(i32, i64)> = r.tiers.iter().map(|t| (t.tier, t.customers)).collect();
    t.sort();
    t
}

fn counts_of(all: &[Assessment]) -> Vec<(i32, i64)> {
    let mut t: Vec<(i32, i64)> = [1, 2, 3]
        .into_iter()
        .map(|tier| (tier, all.iter().filter(|a| a.tier == tier).count() as i64))
        .collect();
    t.sort();
    t
}

fn listed(all: &[Assessment]) -> Vec<(String, i32, f64)> {
    all.iter()
        .map(|a| {
            (
                a.customer_id.clone(),
                a.tier,
                a.worst_effort_index.unwrap_or(0.0),
            )
        })
        .collect()
}

/// The API over the whole history (no filter) equals the assessment from
/// the records, for the tier counts and every page; and the stored rows
/// are those assessments when the fast path is in use.
async fn assert_exact(app: &TestApp, expect_fast: bool) {
    let truth = exact(app).await;
    assert_eq!(fast(app, &Scope::default()).await, expect_fast);
    if expect_fast {
        assert_eq!(rows(app).await, truth, "stored rows");
    }
    assert_eq!(tier_counts(app, None).await, counts_of(&truth));
    for size in [1, 3, 100] {
        assert_eq!(
            walk(app, None, size).await,
            listed(&truth),
            "pages of {size}"
        );
    }
}

/// Brings the tenant's rows to its model (what the background pass does
/// after a change; a new tenant's first pass marks it complete).
async fn pass(app: &TestApp) {
    gapscore::service::tiers::recompute_pending(&app.pool, 2)
        .await
        .unwrap();
}

async fn population(app: &TestApp) {
    let d = app.data();
    let jan = "2026-01-10T09:00:00Z";
    d.journeys(vec![
        journey_from("j-a1", "a1", jan, &card_update()),
        journey_from("j-a2", "a2", jan, &stuck()),
        journey_from("j-a2b", "a2", "2026-01-12T09:00:00Z", &easy()),
        journey_from("j-b3", "b3", jan, &easy()),
        journey_from("j-m1", "m1", jan, &two_calls(1)),
        journey_from("j-l2", "l2", jan, &card_update()),
    ])
    .await;
    app.submit_responses(vec![
        ease_response("r-b1", "b1", jan, 1),
        ease_response("r-b2", "b2", jan, 3),
        ease_response("r-b3", "b3", jan, 2),
        ease_response("r-m2", "m2", jan, 4),
        ease_response("r-l2", "l2", jan, 7),
        ease_response("r-l2-old", "l2", "2025-12-01T00:00:00Z", 1),
    ])
    .await
    .unwrap();
}

#[sqlx::test]
async fn the_rows_answer_the_whole_history_exactly_after_every_kind_of_write(pool: PgPool) {
    let app = spawn_app(pool).await;
    pass(&app).await;
    // An empty tenant is complete.
    assert_exact(&app, true).await;
    population(&app).await;
    assert_exact(&app, true).await;

    // A re-send of a changed response (the ease answer changes) and of a
    // changed journey that moves to another customer.
    app.submit_responses(vec![ease_response("r-b1", "b1", "2026-01-10T09:00:00Z", 6)])
        .await
        .unwrap();
    app.data()
        .journeys(vec![journey_from(
            "j-a2",
            "m1",
            "2026-01-10T09:00:00Z",
            &stuck(),
        )])
        .await;
    // A response moved to another respondent takes its answer away.
    app.submit_responses(vec![ease_response("r-m2", "b2", "2026-01-11T09:00:00Z", 2)])
        .await
        .unwrap();
    assert_exact(&app, true).await;

    // Erasure removes the customer's row.
    app.erase(Some(&app.key), "l2").await.unwrap();
    app.erase(Some(&app.key), "m1").await.unwrap();
    let truth = exact(&app).await;
    assert!(truth.iter().all(|a| a.customer_id != "l2"));
    assert_exact(&app, true).await;
    let ids: Vec<String> = rows(&app)
        .await
        .into_iter()
        .map(|a| a.customer_id)
        .collect();
    assert!(!ids.contains(&"l2".to_owned()) && !ids.contains(&"m2".to_owned()));
}

#[sqlx::test]
async fn a_window_or_label_filter_that_leaves_records_out_uses_the_records(pool: PgPool) {
    let app = spawn_app(pool).await;
    pass(&app).await;
    population(&app).await;
    let (model, _) = model(&app).await;
    // l2 is LOW on the whole history (its latest answer, 7), HIGH in
    // December (its answer then, 1).
    let december = window("2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z");
    let scope = Scope {
        window: gapscore::domain::Window {
            start: Some("2025-12-01T00:00:00Z".parse().unwrap()),
            end: Some("2026-01-01T00:00:00Z".parse().unwrap()),
        },
        ..Scope::default()
    };
    assert!(!fast(&app, &scope).await);
    let truth = loyalty::at_risk_customers(
        &app.pool,
        app.tenant,
        &scope,
        (&model, None),
        Tier::Low,
        None,
        1000,
    )
    .await
    .unwrap();
    let l2 = truth.iter().find(|a| a.customer_id == "l2").unwrap();
    assert_eq!(
        l2.tier,
        EffortTier::High as i32,
        "l2's December answer decides"
    );
    assert_ne!(truth, exact(&app).await);
    assert_eq!(walk(&app, december.clone(), 2).await, listed(&truth));
    assert_eq!(tier_counts(&app, december).await, counts_of(&truth));

    // A window that covers every record is the whole history.
    let covering = window("2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    let all = exact(&app).await;
    assert_eq!(walk(&app, covering.clone(), 4).await, listed(&all));
    assert_eq!(tier_counts(&app, covering).await, counts_of(&all));
    // Ending just at the last record leaves it out.
    let scope = Scope {
        window: gapscore::domain::Window {
            start: None,
            end: Some("2026-01-12T09:00:00Z".parse().unwrap()),
        },
        ..Scope::default()
    };
    assert!(!fast(&app, &scope).await);
    assert!(fast(&app, &Scope::default()).await);
    // Labels never use the rows.
    let labelled = Scope {
        labels: Some(serde_json::json!({})),
        ..Scope::default()
    };
    assert!(!fast(&app, &labelled).await);
}

#[sqlx::test]
async fn a_model_change_uses_the_records_until_its_pass_has_rewritten_every_row(pool: PgPool) {
    let app = spawn_app(pool).await;
    pass(&app).await;
    population(&app).await;
    assert_exact(&app, true).await;
    let mut catalog = app.catalog();
    let mut m = catalog
        .get_scoring_model(GetScoringModelRequest {})
        .await
        .unwrap()
        .into_inner()
        .model
        .unwrap();
    // Stricter: MEDIUM journeys become HIGH, some LOW become MEDIUM.
    m.low_effort_below = 5.0;
    m.high_effort_from = 20.0;
    catalog
        .update_scoring_model(UpdateScoringModelRequest { model: Some(m) })
        .await
        .unwrap();
    // Before the pass: rows under the old model, so the records decide.
    assert_exact(&app, false).await;
    // A write under the new model before the pass.
    app.data()
        .journey("j-n1", "n1", "2026-01-15T09:00:00Z", &two_calls(2))
        .await;
    assert_exact(&app, false).await;
    pass(&app).await;
    assert_exact(&app, true).await;
}

#[sqlx::test]
async fn a_deep_page_reads_only_its_rows(pool: PgPool) {
    let app = spawn_app(pool).await;
    pass(&app).await;
    let shapes = [card_update(), stuck(), easy(), two_calls(1), two_calls(3)];
    for chunk in 0..3 {
        let batch = (0..1000)
            .map(|i| {
                let n = chunk * 1000 + i;
                journey_from(
                    &format!("j-{n}"),
                    &format!("c-{n:05}"),
                    "2026-01-10T09:00:00Z",
                    &shapes[n % shapes.len()],
                )
            })
            .collect();
        app.data().journeys(batch).await;
    }
    sqlx::query("ANALYZE assessments")
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(fast(&app, &Scope::default()).await);
    let all = exact(&app).await;
    assert_eq!(all.len(), 3000);
    // A page deep in the list, through the store's fast read: equal to the
    // exact list there, and its plan reads page + 1 rows of the index.
    let after = AtRiskKey::of(&all[2500]);
    let mut conn = app.pool.acquire().await.unwrap();
    let page = assessments::at_risk_page(&mut conn, app.tenant, Tier::Low, Some(&after), 11)
        .await
        .unwrap();
    assert_eq!(page, all[2501..2512]);
    let plan: serde_json::Value = sqlx::query_scalar(
        "EXPLAIN (ANALYZE, FORMAT JSON) SELECT customer_id FROM assessments \
         WHERE tenant_id = $1 AND rank_tier <= $2 \
           AND (rank_tier, rank_worst, customer_id) > ($3, $4, $5) \
         ORDER BY rank_tier, rank_worst, customer_id LIMIT 11",
    )
    .bind(app.tenant.0)
    .bind(-(EffortTier::Low as i16))
    .bind(-(after.tier as i16))
    .bind(-after.worst_effort_index)
    .bind(&after.customer_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let text = plan.to_string();
    assert!(
        // The index by its name, or its partitions' copies in the
        // partitioned variant.
        text.contains("\"Index Name\"") && !text.contains("Seq Scan") && !text.contains("Sort"),
        "{plan}"
    );
    assert!(max_rows(&plan[0]["Plan"]) <= 11.0, "{plan}");
}

/// The most rows any node of a plan produced.
fn max_rows(node: &serde_json::Value) -> f64 {
    let own = node["Actual Rows"].as_f64().unwrap_or(0.0);
    node["Plans"]
        .as_array()
        .map(|children| children.iter().map(max_rows).fold(own, f64::max))
        .unwrap_or(own)
}

#[sqlx::test]
async fn racing_batches_of_the_same_customers_leave_exact_rows(pool: PgPool) {
    let app = spawn_app(pool).await;
    pass(&app).await;
    let shapes = [card_update(), stuck(), easy(), two_calls(1)];
    for round in 0..6 {
        // Two batches over the same ten customers: the same journey ids
        // with other owners and efforts, and ease answers.
        let batch = |k: usize| -> Vec<_> {
            (0..10)
                .map(|i| {
                    journey_from(
                        &format!("j-{i}"),
                        &format!("c-{}", (i + k + round) % 10),
                        "2026-01-10T09:00:00Z",
                        &shapes[(i + k * 3 + round) % shapes.len()],
                    )
                })
                .collect()
        };
        let answers = |k: usize| -> Vec<_> {
            (0..10)
                .map(|i| {
                    ease_response(
                        &format!("r-{i}"),
                        &format!("c-{}", (i * 3 + k + round) % 10),
                        "2026-01-11T09:00:00Z",
                        1 + ((i + k + round) % 7) as i32,
                    )
                })
                .collect()
        };
        let (a, b, c, d) = tokio::join!(
            app.submit_journeys(batch(0)),
            app.submit_journeys(batch(1)),
            app.submit_responses(answers(0)),
            app.submit_responses(answers(2)),
        );
        for r in [a, b, c, d] {
            r.unwrap();
        }
        assert_exact(&app, true).await;
    }
}

/// Plants (or removes) a HIGH row under the model in force for
/// "ghost", a customer with no records: counted only by a read of the rows.
/// Its tier count goes with it, in the same statement, as every writer of
/// the rows appends its own (`store::assessments::log_tier_changes`).
async fn ghost(app: &TestApp, present: bool) {
    let done = if present {
        sqlx::query(
            "WITH planted AS (INSERT INTO assessments \
               (tenant_id, customer_id, tier, tier_source, model_etag) \
               SELECT $1, 'ghost', $2, $3, etag FROM scoring_models WHERE tenant_id = $1 \
               RETURNING tenant_id, tier), \
             counted AS (INSERT INTO tier_count_log (tenant_id, tier, customers) \
               SELECT tenant_id, tier, 1 FROM planted) \
             SELECT 1 FROM planted",
        )
        .bind(app.tenant.0)
        .bind(EffortTier::High as i32 as i16)
        .bind(TierSource::Journeys as i32 as i16)
        .fetch_all(&app.pool)
        .await
    } else {
        sqlx::query(
            "WITH gone AS (DELETE FROM assessments \
               WHERE tenant_id = $1 AND customer_id = 'ghost' RETURNING tenant_id, tier), \
             counted AS (INSERT INTO tier_count_log (tenant_id, tier, customers) \
               SELECT tenant_id, tier, -1 FROM gone) \
             SELECT 1 FROM gone",
        )
        .bind(app.tenant.0)
        .fetch_all(&app.pool)
        .await
    };
    assert_eq!(done.unwrap().len(), 1);
}

/// Customers assessed in `scope` from the records, as (tier, count).
async fn exact_counts(app: &TestApp, scope: &Scope) -> Vec<(i32, i64)> {
    let (model, _) = model(app).await;
    let all = loyalty::at_risk_customers(
        &app.pool,
        app.tenant,
        scope,
        (&model, None),
        Tier::Low,
        None,
        1_000_000,
    )
    .await
    .unwrap();
    counts_of(&all)
}

fn scope_of(start: &str, end: &str) -> Scope {
    Scope {
        window: gapscore::domain::Window {
            start: Some(start.parse().unwrap()),
            end: Some(end.parse().unwrap()),
        },
        ..Scope::default()
    }
}

/// The scorecard's loyalty headline: (customers, HIGH customers,
/// likely detractors, headline).
async fn scorecard_loyalty(app: &TestApp, filter: Option<ScoreFilter>) -> (i64, i64, f64, String) {
    let l = app
        .scoring()
        .get_scorecard(GetScorecardRequest { filter })
        .await
        .unwrap()
        .into_inner()
        .loyalty
        .unwrap();
    (
        l.customers,
        l.high_effort_customers,
        l.likely_detractors,
        l.headline,
    )
}

/// GetLoyaltyRisk's headline in the scorecard's shape.
async fn loyalty_headline(app: &TestApp, filter: Option<ScoreFilter>) -> (i64, i64, f64, String) {
    let r = app
        .scoring()
        .get_loyalty_risk(GetLoyaltyRiskRequest {
            filter,
            confidence_level: None,
        })
        .await
        .unwrap()
        .into_inner();
    let high = r
        .tiers
        .iter()
        .find(|t| t.tier == EffortTier::High as i32)
        .map_or(0, |t| t.customers);
    (r.customers, high, r.likely_detractors, r.headline)
}

/// The scorecard over the whole history and over December (which leaves
/// records out) equals the assessment from the records; `fast`: whether
/// the whole history must come from the rows (a ghost counts).
async fn assert_scorecard_exact(app: &TestApp, fast_now: bool) {
    assert_eq!(fast(app, &Scope::default()).await, fast_now);
    let truth = counts_of(&exact(app).await);
    let customers: i64 = truth.iter().map(|(_, n)| n).sum();
    let high = truth[2].1;
    let card = scorecard_loyalty(app, None).await;
    assert_eq!((card.0, card.1), (customers, high), "whole history");
    // The same figures as GetLoyaltyRisk's (posteriors and headline too).
    assert_eq!(card, loyalty_headline(app, None).await);
    let december = scope_of("2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z");
    let in_december = exact_counts(app, &december).await;
    let card = scorecard_loyalty(app, window("2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z")).await;
    assert_eq!(
        (card.0, card.1),
        (in_december.iter().map(|(_, n)| n).sum(), in_december[2].1),
        "December"
    );
    // Which path answered: a ghost row counts only on the rows' path.
    ghost(app, true).await;
    let card = scorecard_loyalty(app, None).await;
    assert_eq!(
        (card.0, card.1),
        if fast_now {
            (customers + 1, high + 1)
        } else {
            (customers, high)
        }
    );
    let card = scorecard_loyalty(app, window("2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z")).await;
    assert_eq!(card.0, in_december.iter().map(|(_, n)| n).sum::<i64>());
    ghost(app, false).await;
}

#[sqlx::test]
async fn the_scorecard_reads_the_rows_exactly_and_only_when_they_answer(pool: PgPool) {
    let app = spawn_app(pool).await;
    pass(&app).await;
    population(&app).await;
    assert_scorecard_exact(&app, true).await;
    // A re-send that changes a tier and an erasure.
    app.submit_responses(vec![ease_response("r-b1", "b1", "2026-01-10T09:00:00Z", 6)])
        .await
        .unwrap();
    app.erase(Some(&app.key), "m1").await.unwrap();
    assert_scorecard_exact(&app, true).await;
    // A model change: the records answer until the pass has run.
    app.update_scoring_model(|m| {
        m.low_effort_below = 5.0;
        m.high_effort_from = 20.0;
    })
    .await;
    assert_scorecard_exact(&app, false).await;
    pass(&app).await;
    assert_scorecard_exact(&app, true).await;
}

/// NEGATIVE_WORD_OF_MOUTH_SHARE by month over November to February:
/// (bucket start, sample size, value).
async fn loyalty_trend(app: &TestApp) -> Vec<(i64, i64, Option<f64>)> {
    app.scoring()
        .get_trend(GetTrendRequest {
            metric: TrendMetric::NegativeWordOfMouthShare as i32,
            bucket: TrendBucket::Month as i32,
            filter: window("2025-11-01T00:00:00Z", "2026-03-01T00:00:00Z"),
            question: String::new(),
            role: 0,
            to_role: 0,
            confidence_level: None,
        })
        .await
        .unwrap()
        .into_inner()
        .points
        .into_iter()
        .map(|p| (p.bucket_start.unwrap().seconds, p.sample_size, p.value))
        .collect()
}

const MONTHS: [&str; 5] = [
    "2025-11-01T00:00:00Z",
    "2025-12-01T00:00:00Z",
    "2026-01-01T00:00:00Z",
    "2026-02-01T00:00:00Z",
    "2026-03-01T00:00:00Z",
];

/// The trend equals, bucket by bucket, the assessment of the bucket from
/// the records (customers) and GetLoyaltyRisk over the bucket (value);
/// `one_bucket_fast`: whether its one bucket with data must come from the
/// rows (a ghost counts there).
async fn assert_trend_exact(app: &TestApp, one_bucket_fast: bool) {
    let points = loyalty_trend(app).await;
    assert_eq!(points.len(), 4);
    for (i, point) in points.iter().enumerate() {
        let scope = scope_of(MONTHS[i], MONTHS[i + 1]);
        let counts = exact_counts(app, &scope).await;
        let customers: i64 = counts.iter().map(|(_, n)| n).sum();
        assert_eq!(point.1, customers, "customers from {}", MONTHS[i]);
        // GetLoyaltyRisk over the bucket has the same tiers, so its share
        // is the value the bucket's tiers give.
        assert_eq!(
            tier_counts(app, window(MONTHS[i], MONTHS[i + 1])).await,
            counts
        );
        let risk = app
            .scoring()
            .get_loyalty_risk(GetLoyaltyRiskRequest {
                filter: window(MONTHS[i], MONTHS[i + 1]),
                confidence_level: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(risk.customers, customers);
        let share = risk
            .outcomes
            .iter()
            .find(|o| o.kind == OutcomeKind::NegativeWordOfMouth as i32)
            .map(|o| o.expected_share);
        assert_eq!(
            point.2,
            share.filter(|_| customers > 0),
            "value from {}",
            MONTHS[i]
        );
    }
    ghost(app, true).await;
    let with_ghost = loyalty_trend(app).await;
    ghost(app, false).await;
    let counted: Vec<i64> = with_ghost
        .iter()
        .zip(&points)
        .map(|(g, p)| g.1 - p.1)
        .collect();
    if one_bucket_fast {
        assert_eq!(counted.iter().sum::<i64>(), 1, "{counted:?}");
        assert!(
            with_ghost
                .iter()
                .zip(&points)
                .all(|(g, p)| (g.1 == p.1) || p.1 > 0),
            "the ghost is counted in the bucket with data"
        );
    } else {
        assert_eq!(counted, [0, 0, 0, 0]);
    }
}

#[sqlx::test]
async fn a_loyalty_trend_reads_the_rows_when_every_record_falls_in_one_bucket(pool: PgPool) {
    let app = spawn_app(pool).await;
    pass(&app).await;
    population(&app).await;
    // December and January have records: every bucket from the records.
    assert_trend_exact(&app, false).await;
    // l2's erasure takes December's only record: January holds them all.
    app.erase(Some(&app.key), "l2").await.unwrap();
    assert!(fast(&app, &scope_of(MONTHS[0], MONTHS[4])).await);
    assert_trend_exact(&app, true).await;
    app.update_scoring_model(|m| {
        m.low_effort_below = 5.0;
        m.high_effort_from = 20.0;
    })
    .await;
    assert_trend_exact(&app, false).await;
    pass(&app).await;
    assert_trend_exact(&app, true).await;
}

/// GetCustomerRisk's statement and the API answer for `customer` in
/// `scope` equal the assessment from the records
/// (`store::loyalty::customer_data`); `kept`: whether the statement must
/// have used the customer's row.
async fn assert_customer_exact(
    app: &TestApp,
    customer: &str,
    (scope, filter): (&Scope, Option<ScoreFilter>),
    kept: bool,
) {
    let (model, etag) = model(app).await;
    let truth: Option<CustomerData> =
        loyalty::customer_data(&app.pool, app.tenant, scope, &model, customer, 1000)
            .await
            .unwrap();
    let read = risk::customer_read(
        &app.pool,
        app.tenant,
        scope,
        (&model, Some(&etag)),
        customer,
        1000,
    )
    .await
    .unwrap();
    assert_eq!(read.model, None, "the etag is current");
    assert_eq!(read.data, truth, "{customer} in {scope:?}");
    assert_eq!(read.kept, kept, "{customer} in {scope:?}: the row used");
    let api = app
        .customers()
        .get_customer_risk(GetCustomerRiskRequest {
            customer_id: customer.into(),
            filter,
            confidence_level: None,
        })
        .await;
    match truth {
        None => assert_eq!(api.unwrap_err().code(), tonic::Code::NotFound),
        Some(d) => {
            let r = api.unwrap().into_inner();
            let a = &d.assessment;
            assert_eq!(
                (
                    r.tier,
                    r.tier_source,
                    r.latest_ease,
                    r.worst_journey_id,
                    r.worst_effort_index,
                    r.journeys_in_scope
                ),
                (
                    a.tier,
                    a.tier_source,
                    a.latest_ease,
                    a.worst_journey_id.clone().unwrap_or_default(),
                    a.worst_effort_index.unwrap_or(0.0),
                    d.journeys_in_scope
                ),
                "{customer}"
            );
            let journeys: Vec<_> = r
                .journeys
                .iter()
                .map(|j| (j.journey_id.clone(), j.effort_index, j.effort_tier))
                .collect();
            let expected: Vec<_> = d
                .journeys
                .iter()
                .map(|j| (j.id.clone(), j.effort_index, j.tier))
                .collect();
            assert_eq!(journeys, expected, "{customer}");
        }
    }
}

/// Every customer of the population (ease answers only: b1, b2, m2;
/// journeys only: a1, a2, m1; both: b3, l2) and one with none, over the
/// whole history; `kept(c)`: whether c's row must answer.
async fn assert_customers_exact(app: &TestApp, kept: impl Fn(&str) -> bool) {
    for c in [
        "b1", "b2", "m2", "a1", "a2", "m1", "b3", "l2", "n1", "nobody",
    ] {
        assert_customer_exact(app, c, (&Scope::default(), None), kept(c)).await;
    }
}

#[sqlx::test]
async fn customer_risk_reads_the_kept_row_when_it_answers_and_equals_the_records(pool: PgPool) {
    let app = spawn_app(pool).await;
    pass(&app).await;
    population(&app).await;
    let assessed = |c: &str| !matches!(c, "nobody" | "n1");
    assert_customers_exact(&app, assessed).await;

    // Windows: one that holds all of l2's records uses the row; December
    // leaves l2's January answer out; ending at a2's last journey leaves
    // that journey out but holds all of a1's.
    let covering = ("2025-11-01T00:00:00Z", "2027-01-01T00:00:00Z");
    let december = ("2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z");
    let until_a2b = ("2026-01-01T00:00:00Z", "2026-01-12T09:00:00Z");
    for (c, (start, end), kept) in [
        ("l2", covering, true),
        ("l2", december, false),
        ("a2", until_a2b, false),
        ("a1", until_a2b, true),
        ("b1", december, false),
    ] {
        assert_customer_exact(&app, c, (&scope_of(start, end), window(start, end)), kept).await;
    }
    // A label filter never uses the row.
    let labelled = Scope {
        labels: Some(serde_json::json!({"region": "emea"})),
        ..Scope::default()
    };
    assert_customer_exact(
        &app,
        "a1",
        (&labelled, crate::helpers::labels(&[("region", "emea")])),
        false,
    )
    .await;

    // The service takes the row's path: a planted change shows through
    // (its model guess is primed by the calls above).
    sqlx::query(
        "UPDATE assessments SET latest_ease = 99 WHERE tenant_id = $1 AND customer_id = 'b1'",
    )
    .bind(app.tenant.0)
    .execute(&app.pool)
    .await
    .unwrap();
    let planted = app
        .customers()
        .get_customer_risk(GetCustomerRiskRequest {
            customer_id: "b1".into(),
            filter: None,
            confidence_level: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(planted.latest_ease, Some(99));

    // A re-send (which rewrites b1's row), a journey that moves to another
    // customer, an erasure.
    app.submit_responses(vec![ease_response("r-b1", "b1", "2026-01-10T09:00:00Z", 6)])
        .await
        .unwrap();
    app.data()
        .journeys(vec![journey_from(
            "j-a2",
            "m1",
            "2026-01-10T09:00:00Z",
            &stuck(),
        )])
        .await;
    app.erase(Some(&app.key), "b3").await.unwrap();
    assert_customers_exact(&app, |c| assessed(c) && c != "b3").await;

    // A model change: rows under the old model are not used until the
    // pass, but a customer written under the new one has a row of it.
    app.update_scoring_model(|m| {
        m.low_effort_below = 5.0;
        m.high_effort_from = 20.0;
    })
    .await;
    assert_customers_exact(&app, |_| false).await;
    app.data()
        .journey("j-n1", "n1", "2026-01-15T09:00:00Z", &two_calls(2))
        .await;
    assert_customers_exact(&app, |c| c == "n1").await;
    pass(&app).await;
    assert_customers_exact(&app, |c| c != "nobody" && c != "b3").await;
}

/// The most loops of any plan node on a relation whose name starts with
/// `relation` (partitions included): 0 when it never ran.
fn loops_on(node: &serde_json::Value, relation: &str) -> f64 {
    let own = match node["Relation Name"].as_str() {
        Some(name) if name.starts_with(relation) => node["Actual Loops"].as_f64().unwrap_or(0.0),
        _ => 0.0,
    };
    node["Plans"]
        .as_array()
        .map(|children| {
            children
                .iter()
                .map(|c| loops_on(c, relation))
                .fold(own, f64::max)
        })
        .unwrap_or(own)
}

#[sqlx::test]
async fn customer_risk_on_a_kept_row_does_not_read_the_answers(pool: PgPool) {
    let app = spawn_app(pool).await;
    pass(&app).await;
    // One customer with many answers and journeys.
    for chunk in 0..3 {
        let batch = (0..100)
            .map(|i| {
                let n = chunk * 100 + i;
                ease_response(
                    &format!("r-{n}"),
                    "heavy",
                    &format!("2026-01-{:02}T{:02}:{:02}:00Z", 1 + n % 28, n % 24, n % 60),
                    1 + (n % 7),
                )
            })
            .collect();
        app.submit_responses(batch).await.unwrap();
    }
    let shapes = [card_update(), stuck(), easy(), two_calls(1)];
    app.data()
        .journeys(
            (0..40)
                .map(|i| {
                    journey_from(
                        &format!("j-{i}"),
                        "heavy",
                        &format!("2026-02-{:02}T09:00:00Z", 1 + i % 28),
                        &shapes[i % shapes.len()],
                    )
                })
                .collect(),
        )
        .await;
    sqlx::query("ANALYZE").execute(&app.pool).await.unwrap();
    let (model, etag) = model(&app).await;
    let plan = |etag: Option<String>| {
        let app = &app;
        async move {
            risk::customer_read_plan(
                &app.pool,
                app.tenant,
                &Scope::default(),
                (&model, etag.as_deref()),
                "heavy",
                1000,
            )
            .await
            .unwrap()
        }
    };
    let kept = plan(Some(etag.clone())).await;
    let exact = plan(None).await;
    assert_eq!(loops_on(&kept[0]["Plan"], "answers"), 0.0, "{kept}");
    assert!(loops_on(&exact[0]["Plan"], "answers") >= 1.0, "{exact}");
    assert!(loops_on(&kept[0]["Plan"], "assessments") >= 1.0, "{kept}");
    for (path, p) in [("kept row", &kept), ("records", &exact)] {
        eprintln!(
            "{path}: execution {} ms, shared buffers hit {} read {}",
            p[0]["Execution Time"],
            p[0]["Plan"]["Shared Hit Blocks"],
            p[0]["Plan"]["Shared Read Blocks"]
        );
    }
    // And the two paths agree.
    let read = |etag: Option<String>| {
        let app = &app;
        async move {
            risk::customer_read(
                &app.pool,
                app.tenant,
                &Scope::default(),
                (&model, etag.as_deref()),
                "heavy",
                1000,
            )
            .await
            .unwrap()
        }
    };
    let (fast_read, slow_read) = (read(Some(etag)).await, read(None).await);
    assert!(fast_read.kept && !slow_read.kept);
    assert_eq!(fast_read.data, slow_read.data);
}
