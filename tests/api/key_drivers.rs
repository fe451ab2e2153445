//! `GetKeyDrivers` (SPEC §11) through the real server: the priority data
//! set's figures against tests/reference/key_drivers_reference.py (numpy
//! relative weights, favorable shares by role), the seeded bootstrap
//! (deterministic, covering the point estimate), the edge cases, the
//! validation of every field and tenants kept apart.

use gapscore::proto::v1::*;
use serde_json::Value;
use sqlx::PgPool;
use tonic::{Code, Status};

use crate::{
    helpers::{
        TestApp, error_reason, rating, response, spawn_app, violation_descriptions,
        violation_fields,
    },
    priority::{data_window, dataset_responses, reference},
};

fn expected() -> Value {
    serde_json::from_str(include_str!("../reference/key_drivers_expected.json")).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

async fn key_drivers_as(
    app: &TestApp,
    key: Option<&str>,
    request: GetKeyDriversRequest,
) -> Result<GetKeyDriversResponse, Status> {
    let mut client = match key {
        Some(key) => app.scoring_as(Some(key)),
        None => app.scoring(),
    };
    client
        .get_key_drivers(request)
        .await
        .map(|r| r.into_inner())
}

#[track_caller]
fn close(got: f64, want: &Value, what: &str) {
    let want = want.as_f64().unwrap_or_else(|| panic!("{what}: no number"));
    assert!((got - want).abs() <= 1e-6, "{what}: {got} against {want}");
}

#[track_caller]
fn close_opt(got: Option<f64>, want: &Value, what: &str) {
    match (got, want.as_f64()) {
        (Some(g), Some(_)) => close(g, want, what),
        (None, None) => {}
        other => panic!("{what}: {other:?}"),
    }
}

/// The data set's named drivers: every figure as numpy computes it, the
/// order by priority, and a bootstrap that a seed fixes and whose
/// intervals hold the point estimate.
#[sqlx::test]
async fn figures_match_numpy_and_the_bootstrap_is_deterministic(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (data, _) = reference();
    app.data().responses(dataset_responses(&data, true)).await;
    let want = &expected()["named_drivers"];
    let request = GetKeyDriversRequest {
        filter: data_window(&data),
        driver_questions: strings(&want["driver_questions"]),
        bootstrap_samples: Some(300),
        seed: 42,
        ..Default::default()
    };
    let got = key_drivers_as(&app, None, request.clone()).await.unwrap();
    assert_eq!(got.outcome_question, "likelihood_to_recommend");
    assert_eq!(got.cases, want["cases"].as_i64().unwrap());
    close(got.r_squared, &want["r_squared"], "r_squared");
    close(
        got.r_squared,
        &want["r_squared_ols"],
        "r_squared against OLS",
    );
    let order: Vec<&str> = got.drivers.iter().map(|d| d.question.as_str()).collect();
    let want_drivers = want["drivers"].as_array().unwrap();
    let want_order: Vec<&str> = want_drivers
        .iter()
        .map(|d| d["question"].as_str().unwrap())
        .collect();
    assert_eq!(order, want_order, "ordered by priority");
    for (d, w) in got.drivers.iter().zip(want_drivers) {
        let what = d.question.as_str();
        assert!(d.varies, "{what}");
        close(d.raw_weight, &w["raw_weight"], what);
        close_opt(d.rescaled_weight, &w["rescaled_weight"], what);
        close_opt(d.leadership_gap_points, &w["leadership_gap_points"], what);
        close_opt(d.staff_gap_points, &w["staff_gap_points"], what);
        close(d.priority, &w["priority"], what);
        let ci = d.raw_weight_ci.unwrap();
        assert!(
            ci.lower <= d.raw_weight && d.raw_weight <= ci.upper,
            "{what}: {} outside {ci:?}",
            d.raw_weight
        );
    }
    assert_eq!(
        (got.bootstrap_samples, got.bootstrap_cases, got.seed),
        (300, got.cases, 42)
    );
    assert_eq!((got.confidence_level, got.min_group_size), (0.95, 5));

    // The same seed: the same response, to the bit; another seed: other
    // intervals around the same point estimate.
    let again = key_drivers_as(&app, None, request.clone()).await.unwrap();
    assert_eq!(again, got);
    let other = key_drivers_as(
        &app,
        None,
        GetKeyDriversRequest {
            seed: 43,
            ..request.clone()
        },
    )
    .await
    .unwrap();
    let intervals = |r: &GetKeyDriversResponse| -> Vec<_> {
        r.drivers.iter().map(|d| d.raw_weight_ci).collect()
    };
    assert_ne!(intervals(&other), intervals(&got));
    let points = |r: &GetKeyDriversResponse| -> Vec<f64> {
        r.drivers.iter().map(|d| d.raw_weight).collect()
    };
    assert_eq!(points(&other), points(&got));
    // A lower level narrows every interval.
    let narrow = key_drivers_as(
        &app,
        None,
        GetKeyDriversRequest {
            confidence_level: Some(0.8),
            ..request
        },
    )
    .await
    .unwrap();
    for (n, w) in narrow.drivers.iter().zip(&got.drivers) {
        let (n, w) = (n.raw_weight_ci.unwrap(), w.raw_weight_ci.unwrap());
        assert!(
            n.upper - n.lower <= w.upper - w.lower,
            "{n:?} wider than {w:?}"
        );
    }
}

/// By default every other RATING question with customer answers is a
/// driver; in the data set so few customers answered all of them that the
/// model cannot run.
#[sqlx::test]
async fn too_few_complete_cases_is_a_failed_precondition(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (data, _) = reference();
    app.data().responses(dataset_responses(&data, false)).await;
    let want = &expected()["default_drivers"];
    let err = key_drivers_as(
        &app,
        None,
        GetKeyDriversRequest {
            filter: data_window(&data),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(error_reason(&err), "TOO_FEW_CASES");
    let (cases, needed) = (
        want["cases"].as_i64().unwrap(),
        want["needed"].as_i64().unwrap(),
    );
    assert!(
        err.message()
            .starts_with(&format!("{cases} complete cases"))
            && err.message().contains(&format!("{needed} are needed")),
        "{}",
        err.message()
    );
}

/// Twenty customers: `speed` the same for all (no variance), and
/// `knowledgeable_help` a copy of `convenience` (collinear).
fn edge_cases() -> Vec<SurveyResponse> {
    (0..20)
        .map(|i| {
            let convenience = 1 + i % 5;
            let friendly = 1 + (i * 3 + i / 5) % 5;
            let outcome = convenience + friendly - 2 + i % 3;
            response(
                &format!("c{i:02}"),
                RespondentRole::Customer,
                "2026-02-10T10:00:00Z",
                vec![
                    rating("speed", 3),
                    rating("convenience", convenience),
                    rating("knowledgeable_help", convenience),
                    rating("friendly_support", friendly),
                    rating("likelihood_to_recommend", outcome),
                ],
            )
        })
        .collect()
}

#[sqlx::test]
async fn a_constant_driver_weighs_nothing_and_copies_share_their_weight(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.data().responses(edge_cases()).await;
    let got = key_drivers_as(
        &app,
        None,
        GetKeyDriversRequest {
            bootstrap_samples: Some(100),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(got.cases, 20);
    let driver = |key: &str| got.drivers.iter().find(|d| d.question == key).unwrap();
    let speed = driver("speed");
    assert!(!speed.varies);
    assert_eq!((speed.raw_weight, speed.rescaled_weight), (0.0, Some(0.0)));
    let ci = speed.raw_weight_ci.unwrap();
    assert_eq!((ci.lower, ci.upper), (0.0, 0.0));
    let (a, b) = (driver("convenience"), driver("knowledgeable_help"));
    assert!((a.raw_weight - b.raw_weight).abs() < 1e-9, "{a:?} {b:?}");
    assert!(a.raw_weight > 0.0);
    let sum: f64 = got.drivers.iter().map(|d| d.raw_weight).sum();
    assert!((sum - got.r_squared).abs() < 1e-12);
    let rescaled: f64 = got.drivers.iter().filter_map(|d| d.rescaled_weight).sum();
    assert!((rescaled - 100.0).abs() < 1e-9);
    // No leaders answered: no gaps, priority 0, then by weight.
    assert!(
        got.drivers
            .iter()
            .all(|d| d.leadership_gap_points.is_none())
    );
    assert!(got.drivers.iter().all(|d| d.priority == 0.0));
    assert_eq!(got.drivers.last().unwrap().question, "speed");
    assert_eq!(got.drivers.len(), 4);
}

#[sqlx::test]
async fn every_bad_field_is_named(pool: PgPool) {
    let app = spawn_app(pool).await;
    let err = key_drivers_as(
        &app,
        None,
        GetKeyDriversRequest {
            outcome_question: "likelihood_to_recomend".into(),
            driver_questions: vec!["speed".into(), "do_well".into(), "nope".into()],
            confidence_level: Some(1.5),
            bootstrap_samples: Some(2001),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        violation_fields(&err),
        [
            "outcome_question",
            "driver_questions[1]",
            "driver_questions[2]",
            "bootstrap_samples",
            "confidence_level"
        ]
    );
    let descriptions = violation_descriptions(&err);
    assert!(descriptions[0].contains("did you mean"), "{descriptions:?}");
    assert!(
        descriptions[1].contains("not a RATING question"),
        "{descriptions:?}"
    );
    let err = key_drivers_as(
        &app,
        None,
        GetKeyDriversRequest {
            driver_questions: vec!["likelihood_to_recommend".into()],
            bootstrap_samples: Some(0),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        violation_fields(&err),
        ["driver_questions[0]", "bootstrap_samples"]
    );
    let too_many = (0..101).map(|i| format!("q{i}")).collect();
    let err = key_drivers_as(
        &app,
        None,
        GetKeyDriversRequest {
            driver_questions: too_many,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(violation_fields(&err), ["driver_questions"]);
}

#[sqlx::test]
async fn tenants_see_only_their_own_cases(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.data().responses(edge_cases()).await;
    let other = app.add_tenant("globex").await;
    let err = key_drivers_as(&app, Some(&other), GetKeyDriversRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(error_reason(&err), "TOO_FEW_CASES");
    let mine = key_drivers_as(&app, None, GetKeyDriversRequest::default())
        .await
        .unwrap();
    assert_eq!(mine.cases, 20);
}
