//! `GetChange` and `TrendPoint.change_from_previous` (SPEC §10.4) through
//! the real server: March 2026 against April 2026 on a fixed data set
//! (tests/reference/change_dataset.json), every figure of every metric
//! equal within 1e-6 to what tests/reference/change_reference.py computes
//! with statsmodels and scipy (change_expected.json); windows that overlap
//! are refused; suppression per window; a trend without data; isolation.

use gapscore::proto::v1::*;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{
    TestApp, assert_close, card_update_journey, rating, refused_at, response, simple_journey,
    spawn_app, ts, window,
};

const DATASET: &str = include_str!("../reference/change_dataset.json");
const EXPECTED: &str = include_str!("../reference/change_expected.json");
const TOL: f64 = 1e-6;
const MARCH: (&str, &str) = ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z");
const APRIL: (&str, &str) = ("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");

/// SPEC §1's journey moved `days` later.
fn card_journey_later(id: &str, customer: &str, days: i64) -> Journey {
    let mut j = card_update_journey(id, customer);
    for t in &mut j.touchpoints {
        if let Some(at) = t.occurred_at.as_mut() {
            at.seconds += days * 86_400;
        }
    }
    j
}

/// Submits the data set: per window its customers' answers, leadership's
/// `overall_experience` and its journeys.
async fn load(app: &TestApp, key: Option<&str>) {
    let data: Value = serde_json::from_str(DATASET).unwrap();
    let mut responses = Vec::new();
    let mut journeys = Vec::new();
    for (name, w) in data["windows"].as_object().unwrap() {
        let month = w["month"].as_str().unwrap();
        let at = |i: usize| format!("{month}-{:02}T10:00:00Z", i % 27 + 1);
        for (i, a) in w["customer_answers"].as_array().unwrap().iter().enumerate() {
            let score = |k: &str| a[k].as_i64().unwrap() as i32;
            let mut r = response(
                &format!("{name}-c{i}"),
                RespondentRole::Customer,
                &at(i),
                vec![
                    rating("likelihood_to_recommend", score("ltr")),
                    rating("overall_experience", score("overall")),
                    rating("ease", score("ease")),
                ],
            );
            r.respondent_id = format!("{name}-cust{i}");
            responses.push(r);
        }
        for (i, s) in w["leadership_overall"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            responses.push(response(
                &format!("{name}-l{i}"),
                RespondentRole::Leadership,
                &at(i),
                vec![rating("overall_experience", s.as_i64().unwrap() as i32)],
            ));
        }
        let later = if name == "baseline" { 0 } else { 31 };
        for i in 0..w["card_journeys"].as_u64().unwrap() {
            journeys.push(card_journey_later(
                &format!("{name}-card{i}"),
                &format!("{name}-cust{i}"),
                later,
            ));
        }
        for i in 0..w["simple_journeys"].as_u64().unwrap() {
            journeys.push(simple_journey(
                &format!("{name}-simple{i}"),
                &format!("{name}-cust{i}"),
                &at(i as usize + 5),
            ));
        }
    }
    let key = key.unwrap_or(&app.key);
    app.submit_responses_as(key, responses).await.unwrap();
    app.submit_journeys_as(key, journeys).await.unwrap();
}

fn request(metric: TrendMetric) -> GetChangeRequest {
    let (question, role, to_role) = match metric {
        TrendMetric::FavorableShare => ("overall_experience", RespondentRole::Customer, 0),
        TrendMetric::NetScore => ("likelihood_to_recommend", RespondentRole::Customer, 0),
        TrendMetric::GapPoints => (
            "overall_experience",
            RespondentRole::Leadership,
            RespondentRole::Customer as i32,
        ),
        _ => ("", RespondentRole::Unspecified, 0),
    };
    GetChangeRequest {
        metric: metric as i32,
        filter: window(APRIL.0, APRIL.1),
        question: question.into(),
        role: role as i32,
        to_role,
        baseline_start_time: Some(ts(MARCH.0)),
        baseline_end_time: Some(ts(MARCH.1)),
        confidence_level: Some(0.95),
    }
}

async fn get_change(app: &TestApp, key: Option<&str>, r: GetChangeRequest) -> MetricChange {
    app.scoring_as(Some(key.unwrap_or(&app.key)))
        .get_change(r)
        .await
        .unwrap()
        .into_inner()
        .change
        .unwrap()
}

#[track_caller]
fn assert_window(got: &WindowFigure, want: &Value, what: &str) {
    assert_eq!(
        got.sample_size,
        want["sample_size"].as_i64().unwrap(),
        "{what}"
    );
    assert_close(got.value.unwrap(), want["value"].as_f64().unwrap(), TOL);
    match want["interval"].as_array() {
        None => assert!(got.interval.is_none(), "{what}"),
        Some(ci) => {
            let got = got.interval.unwrap();
            assert_close(got.lower, ci[0].as_f64().unwrap(), TOL);
            assert_close(got.upper, ci[1].as_f64().unwrap(), TOL);
        }
    }
}

#[sqlx::test]
async fn every_metric_changes_as_the_reference_computes(pool: PgPool) {
    let app = spawn_app(pool).await;
    load(&app, None).await;
    let expected: Value = serde_json::from_str(EXPECTED).unwrap();
    for (metric, name) in [
        (TrendMetric::FavorableShare, "FAVORABLE_SHARE"),
        (TrendMetric::NetScore, "NET_SCORE"),
        (TrendMetric::GapPoints, "GAP_POINTS"),
        (TrendMetric::CesMean, "CES_MEAN"),
        (TrendMetric::EffortIndexMean, "EFFORT_INDEX_MEAN"),
        (TrendMetric::HighEffortShare, "HIGH_EFFORT_SHARE"),
    ] {
        let want = &expected[name];
        let got = get_change(&app, None, request(metric)).await;
        assert_window(got.baseline.as_ref().unwrap(), &want["windows"][0], name);
        assert_window(got.current.as_ref().unwrap(), &want["windows"][1], name);
        let field = |k: &str| want[k].as_f64().unwrap();
        assert_close(got.difference.unwrap(), field("difference"), TOL);
        let ci = got.difference_ci.unwrap();
        assert_close(ci.lower, field("lower"), TOL);
        assert_close(ci.upper, field("upper"), TOL);
        assert_close(got.p_value.unwrap(), field("p_value"), TOL);
        assert_eq!(
            got.significant,
            want["significant"].as_bool().unwrap(),
            "{name}"
        );
        assert_eq!(got.q_value, None, "{name}: a single test has no family");

        // The same windows as the two buckets of a monthly trend: April's
        // change from March is the same change, and its q-value is its
        // p-value (a family of one).
        let r = request(metric);
        let trend = app
            .scoring()
            .get_trend(GetTrendRequest {
                metric: r.metric,
                bucket: TrendBucket::Month as i32,
                filter: window(MARCH.0, APRIL.1),
                question: r.question,
                role: r.role,
                to_role: r.to_role,
                confidence_level: r.confidence_level,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(trend.points[0].change_from_previous.is_none(), "{name}");
        let from_previous = trend.points[1].change_from_previous.unwrap();
        assert_eq!(from_previous.q_value, from_previous.p_value, "{name}");
        assert_eq!(
            MetricChange {
                q_value: None,
                ..from_previous
            },
            got,
            "{name}"
        );
    }
}

#[sqlx::test]
async fn overlapping_and_identical_windows_are_refused(pool: PgPool) {
    let app = spawn_app(pool).await;
    let refused = |start: &str, end: &str| {
        let r = GetChangeRequest {
            baseline_start_time: Some(ts(start)),
            baseline_end_time: Some(ts(end)),
            ..request(TrendMetric::CesMean)
        };
        let app = &app;
        async move { refused_at(app.scoring().get_change(r)).await }
    };
    assert_eq!(refused(APRIL.0, APRIL.1).await, ["baseline_start_time"]);
    assert_eq!(
        refused("2026-03-15T00:00:00Z", "2026-04-02T00:00:00Z").await,
        ["baseline_end_time"]
    );
    assert_eq!(
        refused("2026-04-30T00:00:00Z", "2026-05-10T00:00:00Z").await,
        ["baseline_start_time"]
    );
    assert_eq!(refused(MARCH.1, MARCH.0).await, ["baseline_end_time"]);
    // Adjacent windows do not overlap: ends are exclusive.
    assert!(
        app.scoring()
            .get_change(request(TrendMetric::CesMean))
            .await
            .is_ok()
    );
    // A metric without a test, and a request missing its windows.
    let fields = refused_at(app.scoring().get_change(GetChangeRequest {
        metric: TrendMetric::NegativeWordOfMouthShare as i32,
        ..request(TrendMetric::CesMean)
    }))
    .await;
    assert_eq!(fields, ["metric"]);
    let fields = refused_at(app.scoring().get_change(GetChangeRequest {
        metric: TrendMetric::CesMean as i32,
        ..Default::default()
    }))
    .await;
    assert_eq!(
        fields,
        [
            "filter.start_time",
            "filter.end_time",
            "baseline_start_time",
            "baseline_end_time"
        ]
    );
}

#[sqlx::test]
async fn a_suppressed_window_has_no_value_and_no_change(pool: PgPool) {
    let app = spawn_app(pool).await;
    load(&app, None).await;
    // Four leaders in February: below min_group_size (5).
    let leaders = (0..4)
        .map(|i| {
            response(
                &format!("feb-l{i}"),
                RespondentRole::Leadership,
                "2026-02-10T10:00:00Z",
                vec![rating("overall_experience", 5)],
            )
        })
        .collect();
    app.submit_responses(leaders).await.unwrap();
    let got = get_change(
        &app,
        None,
        GetChangeRequest {
            baseline_start_time: Some(ts("2026-02-01T00:00:00Z")),
            baseline_end_time: Some(ts("2026-03-01T00:00:00Z")),
            filter: window(MARCH.0, MARCH.1),
            ..request(TrendMetric::GapPoints)
        },
    )
    .await;
    let baseline = got.baseline.unwrap();
    assert_eq!(baseline.sample_size, 4);
    assert_eq!((baseline.value, baseline.interval), (None, None));
    assert!(got.current.unwrap().value.is_some());
    assert_eq!(
        (got.difference, got.difference_ci, got.p_value),
        (None, None, None)
    );
    assert!(!got.significant);
}

#[sqlx::test]
async fn a_trend_without_data_has_no_changes(pool: PgPool) {
    let app = spawn_app(pool).await;
    for metric in [
        TrendMetric::FavorableShare,
        TrendMetric::CesMean,
        TrendMetric::EffortIndexMean,
    ] {
        let r = request(metric);
        let trend = app
            .scoring()
            .get_trend(GetTrendRequest {
                metric: r.metric,
                bucket: TrendBucket::Week as i32,
                filter: window(MARCH.0, APRIL.1),
                question: r.question.clone(),
                role: r.role,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(trend.points.len() > 4);
        assert!(
            trend
                .points
                .iter()
                .all(|p| p.change_from_previous.is_none())
        );
        let got = get_change(&app, None, r).await;
        assert_eq!(got.baseline.unwrap().sample_size, 0);
        assert_eq!(got.difference, None);
    }
}

#[sqlx::test]
async fn another_tenant_sees_none_of_the_data(pool: PgPool) {
    let app = spawn_app(pool).await;
    load(&app, None).await;
    let other = app.add_tenant("other").await;
    let metrics = [TrendMetric::FavorableShare, TrendMetric::EffortIndexMean];
    let mut before = Vec::new();
    for metric in metrics {
        let got = get_change(&app, Some(&other), request(metric)).await;
        assert_eq!(got.baseline.unwrap().sample_size, 0);
        assert_eq!(got.current.unwrap().sample_size, 0);
        assert_eq!(got.difference, None);
        before.push(get_change(&app, None, request(metric)).await);
    }
    // The other tenant loads the same data set: the owner's figures do not
    // move, and the other tenant's equal them.
    load(&app, Some(&other)).await;
    for (metric, before) in metrics.into_iter().zip(before) {
        assert_eq!(get_change(&app, None, request(metric)).await, before);
        assert_eq!(
            get_change(&app, Some(&other), request(metric)).await,
            before
        );
    }
}
