//! Follow-ups and their measured effect (SPEC §12.2) through the real
//! server: `RecordFollowUps` validates, is idempotent by id and is erased
//! with the customer; `GetFollowUpEffect` on the data set of
//! tests/reference/follow_up_reference.py equals, within 1e-6, what that
//! script computes from the raw records with statsmodels
//! (follow_up_expected.json), the confounded and empty-arm cases included;
//! the holdout is stable and close to its share; the demo tenant shows a
//! significant effect.
//!
//! The raises to HIGH (`high_tier_starts`) are inserted with SQL: they are
//! what the write path records, and which raises exist is not what these
//! tests are about.

use gapscore::proto::v1::*;
use serde_json::Value;
use sqlx::PgPool;
use tonic::Code;

use crate::helpers::{
    TestApp, assert_close,
    internals::{TenantId, demo, holdout_key, is_holdout, page_token_key},
    outcome, refused_at, spawn_app, ts,
};

const DATASET: &str = include_str!("../reference/follow_up_dataset.json");
const EXPECTED: &str = include_str!("../reference/follow_up_expected.json");

fn follow_up(id: &str, customer: &str, at: &str) -> FollowUp {
    FollowUp {
        id: id.into(),
        customer_id: customer.into(),
        action: FollowUpAction::Callback as i32,
        occurred_at: Some(ts(at)),
        event_id: String::new(),
    }
}

async fn record(
    app: &TestApp,
    follow_ups: Vec<FollowUp>,
) -> Result<(i64, i64, i64), tonic::Status> {
    let c = app
        .customers()
        .record_follow_ups(RecordFollowUpsRequest { follow_ups })
        .await?
        .into_inner()
        .counts
        .expect("counts");
    Ok((c.inserted, c.updated, c.unchanged))
}

async fn stored(pool: &PgPool, tenant: TenantId, customer: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM follow_ups WHERE tenant_id = $1 AND customer_id = $2")
        .bind(tenant.0)
        .bind(customer)
        .fetch_one(pool)
        .await
        .expect("count")
}

async fn effect(
    app: &TestApp,
    key: Option<&str>,
    request: GetFollowUpEffectRequest,
) -> Result<GetFollowUpEffectResponse, tonic::Status> {
    Ok(app
        .scoring_as(key)
        .get_follow_up_effect(request)
        .await?
        .into_inner())
}

/// Inserts raises to HIGH as the write path records them.
async fn insert_starts(pool: &PgPool, tenant: TenantId, starts: &[(String, i64, String, bool)]) {
    let customers: Vec<&str> = starts.iter().map(|s| s.0.as_str()).collect();
    let seqs: Vec<i64> = starts.iter().map(|s| s.1).collect();
    let times: Vec<chrono::DateTime<chrono::Utc>> = starts
        .iter()
        .map(|s| s.2.parse().expect("a time"))
        .collect();
    let holdout: Vec<bool> = starts.iter().map(|s| s.3).collect();
    sqlx::query(
        "INSERT INTO high_tier_starts (tenant_id, customer_id, seq, started_at, holdout)
         SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::timestamptz[], $5::bool[])",
    )
    .bind(tenant.0)
    .bind(&customers)
    .bind(&seqs)
    .bind(&times)
    .bind(&holdout)
    .execute(pool)
    .await
    .expect("starts inserted");
}

#[sqlx::test]
async fn follow_ups_are_idempotent_by_id_and_every_field_is_content(pool: PgPool) {
    let app = spawn_app(pool).await;
    let a = follow_up("f-1", "c-1", "2026-02-01T10:00:00.123456Z");
    let b = FollowUp {
        action: FollowUpAction::Email as i32,
        event_id: "0b7f6a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b".into(),
        ..follow_up("f-2", "c-2", "2026-02-02T00:00:00Z")
    };
    assert_eq!(
        record(&app, vec![a.clone(), b.clone()]).await.unwrap(),
        (2, 0, 0)
    );
    assert_eq!(
        record(&app, vec![b.clone(), a.clone()]).await.unwrap(),
        (0, 0, 2)
    );

    type Edit = Box<dyn Fn(&mut FollowUp)>;
    let edits: Vec<Edit> = vec![
        Box::new(|f| f.customer_id = "c-9".into()),
        Box::new(|f| f.action = FollowUpAction::Credit as i32),
        Box::new(|f| f.occurred_at = Some(ts("2026-02-01T10:00:00.123457Z"))),
        Box::new(|f| f.event_id = "1b7f6a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b".into()),
        Box::new(|f| f.event_id = String::new()),
    ];
    let mut current = a.clone();
    for (i, edit) in edits.iter().enumerate() {
        edit(&mut current);
        let fresh = follow_up(&format!("f-new-{i}"), "c-3", "2026-02-03T00:00:00Z");
        assert_eq!(
            record(&app, vec![current.clone(), b.clone(), fresh])
                .await
                .unwrap(),
            (1, 1, 1),
            "edit {i}"
        );
        assert_eq!(
            record(&app, vec![current.clone()]).await.unwrap(),
            (0, 0, 1),
            "edit {i} re-sent"
        );
    }
    // The row holds the last content.
    let (customer, action): (String, i16) = sqlx::query_as(
        "SELECT customer_id, action FROM follow_ups WHERE tenant_id = $1 AND id = 'f-1'",
    )
    .bind(app.tenant.0)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (customer.as_str(), action),
        ("c-9", FollowUpAction::Credit as i16)
    );
}

#[sqlx::test]
async fn a_bad_batch_names_every_field_and_writes_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let good = follow_up("f-1", "c-1", "2026-02-01T00:00:00Z");
    let bad = FollowUp {
        id: "bad id".into(),
        customer_id: String::new(),
        action: 0,
        occurred_at: None,
        event_id: "not-a-uuid".into(),
    };
    let unknown_action = FollowUp {
        action: 9,
        occurred_at: Some(ts("2999-01-01T00:00:00Z")),
        ..follow_up("f-3", "c-3", "2026-01-01T00:00:00Z")
    };
    let fields = refused_at(record(
        &app,
        vec![good.clone(), bad, unknown_action, good.clone()],
    ))
    .await;
    assert_eq!(
        fields,
        [
            "follow_ups[1].id",
            "follow_ups[1].customer_id",
            "follow_ups[1].action",
            "follow_ups[1].occurred_at",
            "follow_ups[1].event_id",
            "follow_ups[2].action",
            "follow_ups[2].occurred_at",
            "follow_ups[3].id",
        ]
    );
    assert_eq!(
        stored(&app.pool, app.tenant, "c-1").await,
        0,
        "nothing half-written"
    );

    assert_eq!(refused_at(record(&app, vec![])).await, ["follow_ups"]);
    let many: Vec<FollowUp> = (0..1001)
        .map(|i| follow_up(&format!("f-{i}"), "c-1", "2026-02-01T00:00:00Z"))
        .collect();
    let status = record(&app, many).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("1000"), "{}", status.message());
}

#[sqlx::test]
async fn erasure_deletes_the_customers_follow_ups_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    record(
        &app,
        vec![
            follow_up("f-1", "c-1", "2026-02-01T00:00:00Z"),
            follow_up("f-2", "c-1", "2026-02-02T00:00:00Z"),
            follow_up("f-3", "c-2", "2026-02-02T00:00:00Z"),
        ],
    )
    .await
    .unwrap();
    app.erase(Some(&app.key), "c-1").await.expect("erased");
    assert_eq!(stored(&app.pool, app.tenant, "c-1").await, 0);
    assert_eq!(stored(&app.pool, app.tenant, "c-2").await, 1);
    // A re-send after the erasure is new data again.
    assert_eq!(
        record(&app, vec![follow_up("f-1", "c-1", "2026-02-01T00:00:00Z")])
            .await
            .unwrap(),
        (1, 0, 0)
    );
}

#[sqlx::test]
async fn the_effect_request_is_checked_field_by_field(pool: PgPool) {
    let app = spawn_app(pool).await;
    let fields = refused_at(effect(
        &app,
        Some(&app.key),
        GetFollowUpEffectRequest {
            filter: Some(ScoreFilter {
                start_time: Some(ts("2026-02-01T00:00:00Z")),
                end_time: Some(ts("2026-01-01T00:00:00Z")),
                labels: [("region".to_string(), "emea".to_string())].into(),
                survey_id: "s".into(),
                intent: "i".into(),
            }),
            outcome_kind: 0,
            confidence_level: Some(2.0),
        },
    ))
    .await;
    assert_eq!(
        fields,
        [
            "filter.end_time",
            "filter.labels",
            "filter.survey_id",
            "filter.intent",
            "outcome_kind",
            "confidence_level",
        ]
    );
}

fn text(v: &Value) -> String {
    v.as_str().expect("a string").to_owned()
}

fn kind(name: &str) -> i32 {
    OutcomeKind::from_str_name(&format!("OUTCOME_KIND_{name}")).expect("a kind") as i32
}

fn close_opt(actual: Option<f64>, expected: &Value, what: &str) {
    match expected.as_f64() {
        None => assert_eq!(actual, None, "{what}"),
        Some(e) => assert_close(actual.unwrap_or_else(|| panic!("{what} missing")), e, 1e-6),
    }
}

fn close_ci(actual: Option<&Interval>, expected: &Value, what: &str) {
    match expected.as_array() {
        None => assert_eq!(actual, None, "{what}"),
        Some(e) => {
            let a = actual.unwrap_or_else(|| panic!("{what} missing"));
            assert_close(a.lower, e[0].as_f64().unwrap(), 1e-6);
            assert_close(a.upper, e[1].as_f64().unwrap(), 1e-6);
        }
    }
}

fn same_arm(actual: Option<&FollowUpArm>, expected: &Value, what: &str) {
    let a = actual.unwrap_or_else(|| panic!("{what}: no arm"));
    assert_eq!(
        a.customers,
        expected["customers"].as_i64().unwrap(),
        "{what}"
    );
    assert_eq!(a.occurred, expected["occurred"].as_i64().unwrap(), "{what}");
    close_opt(a.rate, &expected["rate"], what);
    close_ci(a.rate_ci.as_ref(), &expected["rate_ci"], what);
}

#[sqlx::test]
async fn the_effect_equals_the_reference_computation(pool: PgPool) {
    let app = spawn_app(pool).await;
    let data: Value = serde_json::from_str(DATASET).unwrap();
    let expected: Value = serde_json::from_str(EXPECTED).unwrap();
    let risk_days = data["risk_window_days"].as_i64().unwrap() as i32;
    app.update_scoring_model(|m| m.risk_window_days = Some(risk_days))
        .await;

    let starts: Vec<(String, i64, String, bool)> = data["starts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                text(&s["customer_id"]),
                s["seq"].as_i64().unwrap(),
                text(&s["started_at"]),
                s["holdout"].as_bool().unwrap(),
            )
        })
        .collect();
    insert_starts(&app.pool, app.tenant, &starts).await;
    let follow_ups: Vec<FollowUp> = data["follow_ups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| FollowUp {
            action: FollowUpAction::from_str_name(&format!(
                "FOLLOW_UP_ACTION_{}",
                text(&f["action"])
            ))
            .expect("an action") as i32,
            ..follow_up(
                &text(&f["id"]),
                &text(&f["customer_id"]),
                &text(&f["occurred_at"]),
            )
        })
        .collect();
    for chunk in follow_ups.chunks(1000) {
        record(&app, chunk.to_vec())
            .await
            .expect("follow-ups recorded");
    }
    let outcomes: Vec<Outcome> = data["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| Outcome {
            kind: kind(&text(&o["kind"])),
            occurred: o["occurred"].as_bool().unwrap(),
            ..outcome(
                &text(&o["id"]),
                &text(&o["customer_id"]),
                OutcomeKind::Disloyalty,
                &text(&o["observed_at"]),
            )
        })
        .collect();
    for chunk in outcomes.chunks(1000) {
        app.submit_outcomes(chunk.to_vec()).await.expect("outcomes");
    }

    let views = data["views"].as_array().unwrap();
    assert_eq!(views.len(), expected.as_array().unwrap().len());
    let mut confounded = 0;
    for (view, want) in views.iter().zip(expected.as_array().unwrap()) {
        let name = text(&view["name"]);
        let filter = ScoreFilter {
            start_time: view["start"].as_str().map(ts),
            end_time: view["end"].as_str().map(ts),
            ..ScoreFilter::default()
        };
        let got = effect(
            &app,
            Some(&app.key),
            GetFollowUpEffectRequest {
                filter: Some(filter),
                outcome_kind: kind(&text(&view["outcome_kind"])),
                confidence_level: view["confidence_level"].as_f64(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.outcome_kind, kind(&text(&view["outcome_kind"])));
        same_arm(got.followed_up.as_ref(), &want["followed_up"], &name);
        same_arm(got.comparison.as_ref(), &want["comparison"], &name);
        close_opt(got.difference_points, &want["difference_points"], &name);
        close_ci(got.difference_ci.as_ref(), &want["difference_ci"], &name);
        close_opt(got.p_value, &want["p_value"], &name);
        assert_eq!(
            got.significant,
            want["significant"].as_bool().unwrap(),
            "{name}"
        );
        assert_eq!(
            got.confounded,
            want["confounded"].as_bool().unwrap(),
            "{name}"
        );
        confounded += usize::from(got.confounded);
    }
    // The data set exercises what it claims to: a significant effect, a
    // confounded window, an empty arm and an empty window.
    assert!(expected[0]["significant"].as_bool().unwrap());
    assert_eq!(confounded, 2, "segment B and the empty window");
    assert!(expected[5]["followed_up"]["rate"].is_null());
}

#[sqlx::test]
async fn the_holdout_is_stable_and_close_to_its_share(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.add_tenant("globex").await;
    let tenant_key = |name: &'static str| {
        let pool = app.pool.clone();
        async move {
            let tenant: i64 = sqlx::query_scalar("SELECT tenant_id FROM tenants WHERE name = $1")
                .bind(name)
                .fetch_one(&pool)
                .await
                .unwrap();
            holdout_key(
                &page_token_key(&pool, TenantId(tenant))
                    .await
                    .unwrap()
                    .unwrap(),
            )
        }
    };
    let acme = tenant_key("acme").await;
    let globex = tenant_key("globex").await;
    let ids: Vec<String> = (0..5000).map(|i| format!("cust-{i:05}")).collect();
    let held = |key: &[u8; 32], share: f64| -> Vec<bool> {
        ids.iter().map(|c| is_holdout(key, c, share)).collect()
    };
    let first = held(&acme, 0.2);
    assert_eq!(first, held(&tenant_key("acme").await, 0.2), "stable");
    let share = first.iter().filter(|h| **h).count() as f64 / ids.len() as f64;
    // Binomial sd at n = 5,000 and p = 0.2 is 0.0057: 4 sd.
    assert!((share - 0.2).abs() < 0.023, "held out {share}");
    assert_ne!(first, held(&globex, 0.2), "each tenant its own draw");
}

#[sqlx::test]
async fn the_demo_shows_a_significant_effect_of_its_follow_ups(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = demo::load(&pool).await.expect("demo loads");
    let model = app.scoring_model_as(&key).await;
    assert_close(model.holdout_share, 0.2, 1e-12);
    let got = effect(
        &app,
        Some(&key),
        GetFollowUpEffectRequest {
            outcome_kind: OutcomeKind::Disloyalty as i32,
            ..Default::default()
        },
    )
    .await
    .expect("effect");
    eprintln!("demo effect: {got:?}");
    let (f, c) = (got.followed_up.unwrap(), got.comparison.unwrap());
    assert!(!got.confounded, "the demo has a holdout");
    let all = f.customers + c.customers;
    assert!(f.customers > 0 && c.customers > 0);
    assert!(got.significant, "{got:?}");
    assert!(
        got.difference_points.unwrap() < 0.0,
        "fewer left after a call"
    );
    assert!(got.p_value.unwrap() < 0.05);
    // The held-out share of the raises is near the demo's 0.2.
    let raises: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT customer_id) FROM high_tier_starts
         JOIN tenants USING (tenant_id) WHERE name = 'demo'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(all <= raises);
    let held = c.customers as f64 / raises as f64;
    assert!((0.1..0.3).contains(&held), "held out {held}");
    // Loading again gives the same figures.
    demo::load(&pool).await.expect("demo loads again");
    let again = effect(
        &app,
        Some(&key),
        GetFollowUpEffectRequest {
            outcome_kind: OutcomeKind::Disloyalty as i32,
            ..Default::default()
        },
    )
    .await
    .expect("effect");
    assert_eq!(again, got);
}
