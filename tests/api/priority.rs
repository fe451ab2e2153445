//! `GetPriorityMap` (SPEC §16.4) through the real server: a reference data
//! set whose every figure is computed independently
//! (tests/reference/priority_reference.py: numpy relative weights,
//! statsmodels Wilson, scipy t), quadrants and order, the edge cases, the
//! scorecard's `top_priority`, and tenants kept apart.

use gapscore::proto::v1::*;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{
    TestApp, assert_close, framed, internals::demo, label_map, labels, rating, reference::Expect,
    refused_at, response, spawn_app, window,
};

/// The data set, and the figures the reference computes from it.
pub(crate) fn reference() -> (Value, Value) {
    let data = serde_json::from_str(include_str!("../reference/priority_dataset.json")).unwrap();
    let want = serde_json::from_str(include_str!("../reference/priority_expected.json")).unwrap();
    (data, want)
}

/// The data set's responses as sent; without IMPORTANCE answers unless
/// `with_importance`.
pub(crate) fn dataset_responses(data: &Value, with_importance: bool) -> Vec<SurveyResponse> {
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    data["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let role =
                RespondentRole::from_str_name(&format!("RESPONDENT_ROLE_{}", text(&r["role"])))
                    .unwrap();
            let answers = r["answers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| with_importance || a["frame"] != "IMPORTANCE")
                .map(|a| {
                    let frame =
                        AnswerFrame::from_str_name(&format!("ANSWER_FRAME_{}", text(&a["frame"])))
                            .unwrap();
                    framed(
                        &text(&a["question"]),
                        frame,
                        a["score"].as_i64().unwrap() as i32,
                    )
                })
                .collect();
            response(&text(&r["id"]), role, &text(&r["submitted_at"]), answers)
        })
        .collect()
}

pub(crate) fn data_window(data: &Value) -> Option<ScoreFilter> {
    let w = &data["window"];
    window(w[0].as_str().unwrap(), w[1].as_str().unwrap())
}

async fn priority_map(
    app: &TestApp,
    key: &str,
    filter: Option<ScoreFilter>,
    confidence_level: Option<f64>,
) -> GetPriorityMapResponse {
    app.scoring_as(Some(key))
        .get_priority_map(GetPriorityMapRequest {
            filter,
            confidence_level,
        })
        .await
        .expect("priority map")
        .into_inner()
}

fn quadrant_name(q: &PriorityQuestion) -> &'static str {
    PriorityQuadrant::try_from(q.quadrant)
        .unwrap()
        .as_str_name()
        .trim_start_matches("PRIORITY_QUADRANT_")
}

fn keys(map: &GetPriorityMapResponse) -> Vec<&str> {
    map.questions.iter().map(|q| q.question.as_str()).collect()
}

/// Every field of `got` equals the reference map `want` (numbers within
/// 1e-6; a field the reference leaves out is absent).
fn assert_map(got: &GetPriorityMapResponse, want: &Value) {
    let close = |got: f64, want: &Value, what: &str| {
        let want = want
            .as_f64()
            .unwrap_or_else(|| panic!("{what} in the reference"));
        assert!((got - want).abs() <= 1e-6, "{what}: {got} against {want}");
    };
    let optional = |got: Option<f64>, want: &Value, what: &str| match (got, want.is_null()) {
        (Some(g), false) => close(g, want, what),
        (None, true) => {}
        _ => panic!("{what}: {got:?} against {want}"),
    };
    assert_eq!(
        got.confidence_level,
        want["confidence_level"].as_f64().unwrap()
    );
    assert_eq!(
        i64::from(got.min_group_size),
        want["min_group_size"].as_i64().unwrap()
    );
    assert_eq!(
        ImportanceSource::try_from(got.importance_source)
            .unwrap()
            .as_str_name(),
        format!(
            "IMPORTANCE_SOURCE_{}",
            want["importance_source"].as_str().unwrap()
        )
    );
    optional(
        got.importance_mean,
        &want["importance_mean"],
        "importance_mean",
    );
    optional(
        got.performance_mean,
        &want["performance_mean"],
        "performance_mean",
    );
    optional(
        got.derived_r_squared,
        &want["derived_r_squared"],
        "derived_r_squared",
    );
    assert_eq!(got.derived_cases, want["derived_cases"].as_i64().unwrap());
    let questions = want["questions"].as_array().unwrap();
    let want_keys: Vec<&str> = questions
        .iter()
        .map(|q| q["question"].as_str().unwrap())
        .collect();
    assert_eq!(keys(got), want_keys, "the map's order");
    for (g, w) in got.questions.iter().zip(questions) {
        let what = |field: &str| format!("{}.{field}", g.question);
        assert_eq!(
            g.respondents,
            w["respondents"].as_i64().unwrap(),
            "{}",
            what("respondents")
        );
        assert_eq!(
            g.suppressed,
            w["suppressed"].as_bool().unwrap(),
            "{}",
            what("suppressed")
        );
        assert_eq!(
            g.importance_respondents,
            w["importance_respondents"].as_i64().unwrap(),
            "{}",
            what("importance_respondents")
        );
        assert_eq!(
            quadrant_name(g),
            w["quadrant"].as_str().unwrap(),
            "{}",
            what("quadrant")
        );
        optional(
            g.stated_importance,
            &w["stated_importance"],
            &what("stated_importance"),
        );
        match (&g.stated_importance_ci, w.get("stated_importance_ci")) {
            (Some(ci), Some(want)) => {
                close(ci.lower, &want[0], &what("stated_importance_ci.lower"));
                close(ci.upper, &want[1], &what("stated_importance_ci.upper"));
            }
            (None, None) => {}
            (got, want) => panic!("{}: {got:?} against {want:?}", what("stated_importance_ci")),
        }
        optional(
            g.derived_importance,
            &w["derived_importance"],
            &what("derived_importance"),
        );
        optional(
            g.delivery_gap_points,
            &w["delivery_gap_points"],
            &what("delivery_gap_points"),
        );
        assert_eq!(
            g.expectation_gap_points,
            None,
            "{}",
            what("expectation_gap_points")
        );
        if g.suppressed {
            // Only the counts: nothing else is shown.
            assert_eq!(g.performance, 0.0);
            assert_eq!(g.performance_ci, None);
        } else {
            close(g.performance, &w["performance"], &what("performance"));
            let ci = g.performance_ci.as_ref().unwrap();
            close(
                ci.lower,
                &w["performance_ci"][0],
                &what("performance_ci.lower"),
            );
            close(
                ci.upper,
                &w["performance_ci"][1],
                &what("performance_ci.upper"),
            );
        }
    }
}

/// The reference data set in two tenants: "acme" with its IMPORTANCE
/// answers (stated importance, at a 0.90 level), "nobody_asked" without
/// them (derived importance, at the model's 0.95). Each map equals the
/// reference, so neither tenant sees the other's answers; a third tenant
/// without data has an empty map.
#[sqlx::test]
async fn every_figure_matches_the_reference_in_each_tenant(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (data, want) = reference();
    let other = app.add_tenant("nobody_asked").await;
    let empty = app.add_tenant("empty").await;
    app.submit_responses(dataset_responses(&data, true))
        .await
        .unwrap();
    app.submit_responses_as(&other, dataset_responses(&data, false))
        .await
        .unwrap();

    let stated = priority_map(&app, &app.key, data_window(&data), Some(0.90)).await;
    assert_map(&stated, &want["stated"]);
    let derived = priority_map(&app, &other, data_window(&data), None).await;
    assert_map(&derived, &want["derived"]);

    // What the reference says in words: speed matters most and performs
    // worst; the outcome questions are not on the map; customer_centricity
    // (three customers) is suppressed; ease has four IMPORTANCE answers,
    // too few, so it is not placed when importance is stated.
    assert_eq!(stated.questions[0].question, "speed");
    assert_eq!(quadrant_name(&stated.questions[0]), "CONCENTRATE_HERE");
    for map in [&stated, &derived] {
        for outcome in ["likelihood_to_recommend", "overall_experience", "csat"] {
            assert!(!keys(map).contains(&outcome), "{outcome} is an outcome");
        }
    }
    let ease = stated
        .questions
        .iter()
        .find(|q| q.question == "ease")
        .unwrap();
    assert_eq!(
        (ease.importance_respondents, ease.stated_importance),
        (4, None)
    );
    assert!(ease.derived_importance.is_some(), "derived still shown");
    let suppressed = stated
        .questions
        .iter()
        .find(|q| q.question == "customer_centricity")
        .unwrap();
    assert_eq!(
        suppressed,
        &PriorityQuestion {
            question: "customer_centricity".into(),
            respondents: 3,
            suppressed: true,
            importance_respondents: 7,
            ..PriorityQuestion::default()
        },
        "a suppressed question carries only its counts"
    );

    let nothing = priority_map(&app, &empty, None, None).await;
    assert!(nothing.questions.is_empty());
    assert_eq!(
        nothing.importance_source,
        ImportanceSource::Unspecified as i32
    );
    assert_eq!(
        (nothing.importance_mean, nothing.derived_r_squared),
        (None, None)
    );
    assert_eq!(nothing.derived_cases, 0);
}

/// The scorecard's `top_priority` is the first CONCENTRATE_HERE question
/// of the priority map over the same scope (at the model's level).
#[sqlx::test]
async fn the_scorecard_names_the_top_priority(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (data, _) = reference();
    app.submit_responses(dataset_responses(&data, true))
        .await
        .unwrap();
    let map = priority_map(&app, &app.key, data_window(&data), None).await;
    let card = app
        .scoring()
        .get_scorecard(GetScorecardRequest {
            filter: data_window(&data),
        })
        .await
        .unwrap()
        .into_inner();
    let top = card.top_priority.expect("a top priority");
    assert_eq!(top.question, "speed");
    assert_eq!(Some(&top), map.questions.first());
    assert_eq!(top.quadrant, PriorityQuadrant::ConcentrateHere as i32);
    // Over all time, the March customers rate speed 5 and call it
    // unimportant: the map (and the scorecard) follow the scope.
    let all_time = priority_map(&app, &app.key, None, None).await;
    let speed = all_time
        .questions
        .iter()
        .find(|q| q.question == "speed")
        .unwrap();
    assert_eq!(speed.respondents, 39 + 5);
    assert_eq!(speed.importance_respondents, 32 + 5);
}

/// A customer response of `id` with `answers`.
fn customer(id: &str, answers: Vec<Answer>) -> SurveyResponse {
    response(
        id,
        RespondentRole::Customer,
        "2026-02-10T10:00:00Z",
        answers,
    )
}

const DRIVERS: [&str; 5] = [
    "convenience",
    "ease",
    "friendly_support",
    "knowledgeable_help",
    "speed",
];

/// Seven customers' scores, columns in [`CASE_COLUMNS`] order (drawn at
/// random; the drivers' correlation matrix has full rank).
const CASES: [[i32; 6]; 7] = [
    [5, 2, 4, 4, 7, 8],
    [5, 2, 1, 2, 7, 3],
    [3, 3, 1, 5, 5, 0],
    [1, 5, 1, 4, 7, 1],
    [3, 4, 5, 5, 2, 0],
    [1, 1, 1, 4, 4, 0],
    [1, 3, 1, 2, 4, 6],
];
const CASE_COLUMNS: [&str; 6] = [
    "convenience",
    "friendly_support",
    "knowledgeable_help",
    "speed",
    "ease",
    "likelihood_to_recommend",
];

/// Customer `i` of [`CASES`] (modulo 7), with or without
/// likelihood_to_recommend.
fn case(i: usize, with_outcome: bool) -> SurveyResponse {
    let columns = if with_outcome { 6 } else { 5 };
    let answers = (0..columns)
        .map(|j| rating(CASE_COLUMNS[j], CASES[i % CASES.len()][j]))
        .collect();
    customer(&format!("c{i}"), answers)
}

/// Six complete cases for five drivers: §11 needs seven (drivers + 2), so
/// there is no derived importance, and without IMPORTANCE answers no
/// question is placed; the figures that need neither are still there.
#[sqlx::test]
async fn too_few_complete_cases_leave_the_map_unplaced(pool: PgPool) {
    let app = spawn_app(pool).await;
    // The seventh customer has no likelihood_to_recommend: not a case.
    let responses = (0..7).map(|i| case(i, i < 6)).collect();
    app.submit_responses(responses).await.unwrap();
    let map = priority_map(&app, &app.key, None, None).await;
    assert_eq!(map.importance_source, ImportanceSource::Unspecified as i32);
    assert_eq!(map.derived_cases, 6);
    assert_eq!(map.derived_r_squared, None);
    assert_eq!((map.importance_mean, map.performance_mean), (None, None));
    assert_eq!(keys(&map), DRIVERS, "unplaced: by key");
    for q in &map.questions {
        assert_eq!(q.quadrant, PriorityQuadrant::Unspecified as i32);
        assert_eq!((q.derived_importance, q.stated_importance), (None, None));
        assert_eq!(q.respondents, 7);
        assert!(!q.suppressed && q.performance_ci.is_some());
    }
    let card = app
        .scoring()
        .get_scorecard(GetScorecardRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(card.top_priority, None);

    // A seventh complete case lets the model run: derived importance.
    app.submit_responses(vec![case(6, true)]).await.unwrap();
    let map = priority_map(&app, &app.key, None, None).await;
    assert_eq!(map.derived_cases, 7);
    assert_eq!(map.importance_source, ImportanceSource::Derived as i32);
    assert!(map.derived_r_squared.is_some());
    let total: f64 = map
        .questions
        .iter()
        .filter_map(|q| q.derived_importance)
        .sum();
    assert_close(total, 100.0, 1e-9);
}

/// Every customer calls every question equally important: stated
/// importance is the same everywhere (a zero-width interval), so no
/// question is more important than the mean and none is CONCENTRATE_HERE;
/// the scorecard has no top priority.
#[sqlx::test]
async fn equal_importance_everywhere_singles_nothing_out(pool: PgPool) {
    let app = spawn_app(pool).await;
    let responses = (0..8)
        .map(|i| {
            let answers = DRIVERS
                .iter()
                .flat_map(|q| {
                    [
                        rating(q, 1 + ((i * 3 + q.len()) % 5) as i32),
                        // 50 on both scales: 3 of 1-5, 4 of 1-7.
                        framed(q, AnswerFrame::Importance, if *q == "ease" { 4 } else { 3 }),
                    ]
                })
                .collect();
            customer(&format!("c{i}"), answers)
        })
        .collect();
    app.submit_responses(responses).await.unwrap();
    let map = priority_map(&app, &app.key, None, None).await;
    assert_eq!(map.importance_source, ImportanceSource::Stated as i32);
    assert_close(map.importance_mean.unwrap(), 50.0, 1e-12);
    for q in &map.questions {
        assert_eq!(q.stated_importance, Some(50.0));
        let ci = q.stated_importance_ci.unwrap();
        assert_eq!((ci.lower, ci.upper), (50.0, 50.0), "no spread");
        assert_ne!(quadrant_name(q), "UNSPECIFIED");
        assert_ne!(quadrant_name(q), "CONCENTRATE_HERE");
        assert_ne!(quadrant_name(q), "KEEP_UP_THE_GOOD_WORK");
    }
    let card = app
        .scoring()
        .get_scorecard(GetScorecardRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(card.top_priority, None);
}

#[sqlx::test]
async fn a_bad_filter_or_level_names_its_field(pool: PgPool) {
    let app = spawn_app(pool).await;
    let fields = refused_at(app.scoring().get_priority_map(GetPriorityMapRequest {
        filter: window("2026-03-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        confidence_level: Some(0.2),
    }))
    .await;
    assert_eq!(fields, ["filter.end_time", "confidence_level"]);
}

/// Labels and `survey_id` scope the complete cases like every other
/// figure (the store joins the responses then): only the cases of the
/// filtered responses count.
#[sqlx::test]
async fn labels_and_survey_scope_the_cases(pool: PgPool) {
    let app = spawn_app(pool).await;
    let responses = (0..14)
        .map(|i| SurveyResponse {
            labels: label_map(&[("region", if i < 7 { "emea" } else { "apac" })]),
            survey_id: if i % 2 == 0 { "wave-1" } else { "wave-2" }.into(),
            ..case(i, true)
        })
        .collect();
    app.submit_responses(responses).await.unwrap();
    let cases = |filter| async {
        let map = priority_map(&app, &app.key, filter, None).await;
        (map.derived_cases, map.questions[0].respondents)
    };
    assert_eq!(cases(None).await, (14, 14));
    assert_eq!(cases(labels(&[("region", "emea")])).await, (7, 7));
    let wave = Some(ScoreFilter {
        survey_id: "wave-1".into(),
        ..ScoreFilter::default()
    });
    assert_eq!(cases(wave).await, (7, 7));
}

/// The demo tenant's map (customers say speed matters and rate it poorly)
/// equals tests/reference/demo_frames.py's figures from the demo's stored
/// answers (demo_frames.out.json), within 1e-6: what the walkthrough and
/// the report show is what the service answers. Every demo question has
/// IMPORTANCE answers, so importance is stated and every question placed.
#[sqlx::test]
async fn the_demo_map_matches_demo_frames_py(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = demo::load(&pool).await.expect("demo loads");
    let reference: Value =
        serde_json::from_str(include_str!("../reference/demo_frames.out.json")).unwrap();
    let want = &reference["GetPriorityMap"];
    let got = priority_map(&app, &key, None, None).await;
    assert_eq!(
        got.confidence_level,
        reference["confidence_level"].as_f64().unwrap()
    );
    assert_eq!(got.importance_source, ImportanceSource::Stated as i32);
    let e = Expect { at: "map" };
    e.num("importance_mean", got.importance_mean.unwrap(), want);
    e.num("performance_mean", got.performance_mean.unwrap(), want);
    let questions = want["questions"].as_array().unwrap();
    let want_keys: Vec<&str> = questions
        .iter()
        .map(|q| q["question"].as_str().unwrap())
        .collect();
    assert_eq!(keys(&got), want_keys);
    for (q, w) in got.questions.iter().zip(questions) {
        let e = Expect { at: &q.question };
        assert!(!q.suppressed, "{}", q.question);
        e.int("respondents", q.respondents, w);
        e.int("importance_respondents", q.importance_respondents, w);
        e.num("stated_importance", q.stated_importance.unwrap(), w);
        e.interval("stated_importance_ci", q.stated_importance_ci.as_ref(), w);
        e.num("performance", q.performance, w);
        e.interval("performance_ci", q.performance_ci.as_ref(), w);
        assert_eq!(quadrant_name(q), w["quadrant"].as_str().unwrap());
    }
    assert_eq!(got.questions[0].question, "speed");
    assert_eq!(quadrant_name(&got.questions[0]), "CONCENTRATE_HERE");
}
