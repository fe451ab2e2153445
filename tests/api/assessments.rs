//! Whole-history assessments kept at write time (`store::assessments`,
//! migration 0016): GetLoyaltyRisk and ListAtRiskCustomers read them when
//! the scope is the whole history, and must then say exactly what the
//! assessment from the records says, after every kind of write, a model
//! change (before and after its recompute pass) and racing writers.

use gapscore::{
    domain::Scope,
    proto::v1::{
        EffortTier, GetLoyaltyRiskRequest, GetScoringModelRequest, ListAtRiskCustomersRequest,
        ScoreFilter, UpdateScoringModelRequest,
    },
    scoring::effort::{EffortModel, EffortTier as Tier},
    store::{
        assessments,
        loyalty::{self, Assessment, AtRiskKey},
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
