//! OutcomeService through the real server.

use std::collections::BTreeMap;

use gapscore::proto::v1::{
    ListOutcomesRequest, Outcome, OutcomeKind, ScoreFilter, SubmitOutcomesRequest,
};
use sqlx::PgPool;
use tonic::Code;

use crate::helpers::{TestApp, outcome, refused_at, spawn_app, sql::rows_in, ts, violation_fields};

async fn submit(app: &TestApp, outcomes: Vec<Outcome>) -> Result<(i64, i64, i64), tonic::Status> {
    let c = app.submit_outcomes(outcomes).await?;
    Ok((c.inserted, c.updated, c.unchanged))
}

fn ids(outcomes: &[Outcome]) -> Vec<&str> {
    outcomes.iter().map(|o| o.id.as_str()).collect()
}

async fn stored_outcomes(pool: &PgPool) -> i64 {
    rows_in(pool, "outcomes").await
}

#[sqlx::test]
async fn outcomes_round_trip_and_are_idempotent_by_id(pool: PgPool) {
    let app = spawn_app(pool).await;
    let a = outcome(
        "o-1",
        "c-1",
        OutcomeKind::NegativeWordOfMouth,
        "2026-02-01T10:00:00.123456Z",
    );
    let mut b = outcome(
        "o-2",
        "c-2",
        OutcomeKind::Repurchase,
        "2026-02-02T00:00:00Z",
    );
    b.occurred = false;
    assert_eq!(
        submit(&app, vec![a.clone(), b.clone()]).await.unwrap(),
        (2, 0, 0)
    );
    assert_eq!(
        app.list_all_outcomes(ListOutcomesRequest::default()).await,
        [a.clone(), b.clone()]
    );

    assert_eq!(
        submit(&app, vec![b.clone(), a.clone()]).await.unwrap(),
        (0, 0, 2)
    );

    // Every field counts as content.
    type Edit = Box<dyn Fn(&mut Outcome)>;
    let edits: Vec<Edit> = vec![
        Box::new(|o| o.customer_id = "c-9".into()),
        Box::new(|o| o.kind = OutcomeKind::Disloyalty as i32),
        Box::new(|o| o.occurred = !o.occurred),
        Box::new(|o| o.observed_at = Some(ts("2026-02-01T10:00:00.123457Z"))),
    ];
    let mut current = a.clone();
    for edit in edits {
        edit(&mut current);
        let c = outcome(
            "o-3",
            "c-3",
            OutcomeKind::SpendIncrease,
            "2026-02-03T00:00:00Z",
        );
        let expected_new = i64::from(stored_outcomes(&app.pool).await == 2);
        assert_eq!(
            submit(&app, vec![current.clone(), b.clone(), c])
                .await
                .unwrap(),
            (expected_new, 1, 2 - expected_new)
        );
        assert_eq!(
            app.list_all_outcomes(ListOutcomesRequest::default()).await[0],
            current
        );
    }
    assert_eq!(stored_outcomes(&app.pool).await, 3);
}

#[sqlx::test]
async fn every_outcome_rule_rejects_with_its_path_and_stores_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let good = || {
        outcome(
            "o-1",
            "c-1",
            OutcomeKind::Repurchase,
            "2026-01-01T00:00:00Z",
        )
    };
    let ahead = chrono::Utc::now() + chrono::Duration::minutes(10);
    type Edit = Box<dyn Fn(&mut Outcome)>;
    let cases: Vec<(&str, Edit, Vec<&str>)> = vec![
        ("no id", Box::new(|o| o.id.clear()), vec!["outcomes[1].id"]),
        (
            "bad id",
            Box::new(|o| o.id = "o 2".into()),
            vec!["outcomes[1].id"],
        ),
        (
            "duplicate id",
            Box::new(|o| o.id = "o-1".into()),
            vec!["outcomes[1].id"],
        ),
        (
            "no customer",
            Box::new(|o| o.customer_id.clear()),
            vec!["outcomes[1].customer_id"],
        ),
        (
            "bad customer",
            Box::new(|o| o.customer_id = "x".repeat(129)),
            vec!["outcomes[1].customer_id"],
        ),
        (
            "no kind",
            Box::new(|o| o.kind = 0),
            vec!["outcomes[1].kind"],
        ),
        (
            "unknown kind",
            Box::new(|o| o.kind = 42),
            vec!["outcomes[1].kind"],
        ),
        (
            "no observed_at",
            Box::new(|o| o.observed_at = None),
            vec!["outcomes[1].observed_at"],
        ),
        (
            "observed_at ahead",
            Box::new(move |o| {
                o.observed_at = Some(prost_types::Timestamp {
                    seconds: ahead.timestamp(),
                    nanos: 0,
                })
            }),
            vec!["outcomes[1].observed_at"],
        ),
        (
            "everything",
            Box::new(|o| {
                o.id.clear();
                o.customer_id.clear();
                o.kind = 0;
                o.observed_at = None;
            }),
            vec![
                "outcomes[1].id",
                "outcomes[1].customer_id",
                "outcomes[1].kind",
                "outcomes[1].observed_at",
            ],
        ),
    ];
    for (name, edit, expected) in cases {
        let mut bad = outcome(
            "o-2",
            "c-2",
            OutcomeKind::Disloyalty,
            "2026-01-02T00:00:00Z",
        );
        edit(&mut bad);
        let err = submit(&app, vec![good(), bad]).await.unwrap_err();
        assert_eq!(violation_fields(&err), expected, "{name}");
        assert_eq!(stored_outcomes(&app.pool).await, 0, "{name}");
    }
    let err = submit(&app, vec![]).await.unwrap_err();
    assert_eq!(violation_fields(&err), ["outcomes"]);
    let many: Vec<Outcome> = (0..1001)
        .map(|i| {
            outcome(
                &format!("o-{i}"),
                "c",
                OutcomeKind::Repurchase,
                "2026-01-01T00:00:00Z",
            )
        })
        .collect();
    let err = submit(&app, many.clone()).await.unwrap_err();
    assert_eq!(violation_fields(&err), ["outcomes"]);
    assert_eq!(
        submit(&app, many[..1000].to_vec()).await.unwrap(),
        (1000, 0, 0)
    );
}

#[sqlx::test]
async fn outcome_pagination_walks_every_record_once_in_order(pool: PgPool) {
    let app = spawn_app(pool).await;
    let all: Vec<Outcome> = (0..45)
        .map(|i| {
            outcome(
                &format!("o-{i:02}"),
                "c",
                OutcomeKind::Repurchase,
                &format!("2026-01-0{}T00:00:00Z", 1 + (i * 3) % 5),
            )
        })
        .collect();
    submit(&app, all.clone()).await.unwrap();
    let mut expected = all.clone();
    expected.sort_by_key(|o| (o.observed_at.unwrap().seconds, o.id.clone()));
    for page_size in [1, 7, 45, 2000] {
        let got = app
            .list_all_outcomes(ListOutcomesRequest {
                page_size,
                ..Default::default()
            })
            .await;
        assert_eq!(got, expected, "page_size {page_size}");
    }
    let page = app
        .outcomes()
        .list_outcomes(ListOutcomesRequest {
            page_size: 5,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.outcomes.len(), 5);
    assert_eq!(
        refused_at(app.outcomes().list_outcomes(ListOutcomesRequest {
            page_size: 5,
            kind: OutcomeKind::Repurchase as i32,
            page_token: page.next_page_token,
            ..Default::default()
        }))
        .await,
        ["page_token"]
    );
}

#[sqlx::test]
async fn outcomes_filter_by_window_customer_and_kind(pool: PgPool) {
    let app = spawn_app(pool).await;
    use OutcomeKind::*;
    submit(
        &app,
        vec![
            outcome("o1", "c1", Repurchase, "2026-01-01T00:00:00Z"),
            outcome("o2", "c1", Disloyalty, "2026-01-02T00:00:00Z"),
            outcome("o3", "c2", Repurchase, "2026-01-03T00:00:00Z"),
            outcome("o4", "c2", NegativeWordOfMouth, "2026-01-04T00:00:00Z"),
            outcome("o5", "c3", Repurchase, "2026-01-05T00:00:00Z"),
        ],
    )
    .await
    .unwrap();
    let window = ScoreFilter {
        start_time: Some(ts("2026-01-02T00:00:00Z")),
        end_time: Some(ts("2026-01-05T00:00:00Z")),
        ..Default::default()
    };
    let req =
        |filter: Option<ScoreFilter>, customer_id: &str, kind: OutcomeKind| ListOutcomesRequest {
            filter,
            customer_id: customer_id.into(),
            kind: kind as i32,
            ..Default::default()
        };
    assert_eq!(
        ids(&app
            .list_all_outcomes(req(Some(window.clone()), "", Unspecified))
            .await),
        ["o2", "o3", "o4"]
    );
    assert_eq!(
        ids(&app.list_all_outcomes(req(None, "c2", Unspecified)).await),
        ["o3", "o4"]
    );
    assert_eq!(
        ids(&app.list_all_outcomes(req(None, "", Repurchase)).await),
        ["o1", "o3", "o5"]
    );
    assert_eq!(
        ids(&app
            .list_all_outcomes(req(Some(window), "c2", Repurchase))
            .await),
        ["o3"]
    );

    // Outcomes have no labels, survey or intent to filter on.
    assert_eq!(
        refused_at(app.outcomes().list_outcomes(ListOutcomesRequest {
            filter: Some(ScoreFilter {
                labels: BTreeMap::from([("region".to_string(), "emea".to_string())]),
                survey_id: "s".into(),
                intent: "pay".into(),
                start_time: Some(ts("2026-01-02T00:00:00Z")),
                end_time: Some(ts("2026-01-01T00:00:00Z")),
            }),
            customer_id: "bad id".into(),
            kind: 17,
            ..Default::default()
        }))
        .await,
        [
            "filter.end_time",
            "filter.labels",
            "filter.survey_id",
            "filter.intent",
            "customer_id",
            "kind"
        ]
    );
}

#[sqlx::test]
async fn tenants_see_only_their_own_outcomes_even_with_shared_ids(pool: PgPool) {
    let app = spawn_app(pool).await;
    let b_key = app.add_tenant("b").await;
    let a = outcome(
        "shared",
        "c-1",
        OutcomeKind::Repurchase,
        "2026-01-01T00:00:00Z",
    );
    let mut b = a.clone();
    b.kind = OutcomeKind::Disloyalty as i32;
    assert_eq!(submit(&app, vec![a.clone()]).await.unwrap(), (1, 0, 0));
    let counts = app
        .outcomes_as(Some(&b_key))
        .submit_outcomes(SubmitOutcomesRequest {
            outcomes: vec![b.clone()],
        })
        .await
        .unwrap()
        .into_inner()
        .counts
        .unwrap();
    assert_eq!((counts.inserted, counts.updated), (1, 0));
    assert_eq!(
        app.list_all_outcomes(ListOutcomesRequest::default()).await,
        std::slice::from_ref(&a)
    );
    let b_list = app
        .outcomes_as(Some(&b_key))
        .list_outcomes(ListOutcomesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(b_list.outcomes, [b]);
    assert_eq!(submit(&app, vec![a]).await.unwrap(), (0, 0, 1));

    let err = app
        .outcomes_as(None)
        .list_outcomes(ListOutcomesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}
