//! GetCustomerRisk reads its data in one statement (`store::risk`); these
//! tests hold that statement equal to the composition it replaced
//! (`store::loyalty::customer_data`: assessment, journeys, the worst
//! journey's components, in one snapshot) for random customers, scopes,
//! journey limits and effort models, check the model-etag handshake that
//! lets it skip reading the model, and that a model replaced behind the
//! service's back is picked up on the next call.

use chrono::Duration;
use gapscore::{
    domain::{Scope, Window, model::ScoringModel as DomainModel},
    proto::v1::*,
    store::{loyalty, risk},
};
use proptest::{prelude::*, strategy::ValueTree, test_runner::TestRunner};
use sqlx::PgPool;

use crate::{
    helpers::spawn_app,
    trend_grouped::{CUSTOMERS, SPAN_MINUTES, base, history, load},
};

#[sqlx::test]
async fn the_single_statement_equals_the_old_composition_for_random_customers(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let mut runner = TestRunner::deterministic();
    let h = history().new_tree(&mut runner).unwrap().current();
    load(&app, 0, &h).await;
    let scope_choice = (
        prop::option::of(0..SPAN_MINUTES),
        prop::option::of(1..SPAN_MINUTES),
        0..2usize,
        1..5i64,
        0.0..40.0f64,
        20.0..80.0f64,
    );
    let mut assessed = 0;
    let mut journeys = 0;
    for _ in 0..40 {
        let (from, length, labels, limit, extra, high) =
            scope_choice.new_tree(&mut runner).unwrap().current();
        let start = from.map(|m| base() + Duration::minutes(m));
        let scope = Scope {
            window: Window {
                start,
                end: length.map(|l| start.unwrap_or(base()) + Duration::minutes(l)),
            },
            labels: (labels == 1).then(|| serde_json::json!({"region": "emea"})),
            ..Scope::default()
        };
        let mut model = DomainModel::default().effort_model();
        model.weights.extra_contact = extra;
        model.high_effort_from = high.max(model.low_effort_below);
        let limit = if limit == 4 { 1000 } else { limit };
        for c in (0..CUSTOMERS)
            .map(|c| format!("cust-{c}"))
            .chain(["nobody".into()])
        {
            let old = loyalty::customer_data(&pool, app.tenant, &scope, &model, &c, limit)
                .await
                .unwrap();
            let new = risk::customer_read(&pool, app.tenant, &scope, (&model, None), &c, limit)
                .await
                .unwrap();
            assert_eq!(
                new.data, old,
                "{c} in {scope:?} under {model:?}, limit {limit}"
            );
            if let Some(d) = &old {
                assessed += 1;
                journeys += d.journeys.len();
            }
        }
    }
    eprintln!("{assessed} assessments, {journeys} journey rows compared");
    assert!(assessed > 0, "no customer was assessed");
}

#[sqlx::test]
async fn the_statement_returns_the_model_only_when_the_callers_etag_is_stale(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.data()
        .ease("r1", "cust-1", "2026-03-02T10:00:00Z", 2)
        .await;
    let model = DomainModel::default().effort_model();
    let read = |etag: Option<String>| {
        let pool = pool.clone();
        async move {
            risk::customer_read(
                &pool,
                app.tenant,
                &Scope::default(),
                (&model, etag.as_deref()),
                "cust-1",
                10,
            )
            .await
            .unwrap()
        }
    };
    let first = read(None).await;
    assert!(!first.etag.is_empty(), "a tenant has a stored model");
    assert_eq!(first.model, Some(DomainModel::default()));
    let second = read(Some(first.etag.clone())).await;
    assert_eq!(second.model, None, "the etag is current");
    assert_eq!(second.data, first.data);
    let stale = read(Some("stale".into())).await;
    assert_eq!(stale.model, Some(DomainModel::default()));
    assert_eq!(stale.data.unwrap().assessment.tier, 3, "ease 2 is HIGH");
}

#[sqlx::test]
async fn customer_risk_follows_a_model_replaced_after_it_was_cached(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.data()
        .journeys(vec![crate::helpers::journey_from(
            "j1",
            "cust-1",
            "2026-03-02T10:00:00Z",
            &crate::helpers::card_update(),
        )])
        .await;
    let risk_of = || {
        let mut client = app.customers();
        async move {
            client
                .get_customer_risk(GetCustomerRiskRequest {
                    customer_id: "cust-1".into(),
                    filter: None,
                    confidence_level: None,
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let before = risk_of().await;
    let index_before = before.journeys[0].effort_index;
    // Replace the model behind the server's back (as another replica
    // would): only the statement's etag check can notice.
    let mut model = DomainModel::default();
    model.weights.extra_contact += 5.0;
    sqlx::query("UPDATE scoring_models SET model = $2, etag = 'elsewhere' WHERE tenant_id = $1")
        .bind(app.tenant.0)
        .bind(sqlx::types::Json(&model))
        .execute(&pool)
        .await
        .unwrap();
    let after = risk_of().await;
    let expected = loyalty::customer_data(
        &pool,
        app.tenant,
        &Scope::default(),
        &model.effort_model(),
        "cust-1",
        1000,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        after.journeys[0].effort_index,
        expected.journeys[0].effort_index
    );
    assert_ne!(
        after.journeys[0].effort_index, index_before,
        "the new weight changes the index"
    );
}
