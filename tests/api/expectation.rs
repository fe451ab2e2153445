//! `GetExpectationGap` (SPEC §16.2) through the real server: the figures
//! of a known data set against scipy and statsmodels
//! (tests/reference/frames_reference.py), the edge cases of a paired and
//! a two-sample test, suppression, validation, tenancy and auth.

use gapscore::proto::v1::{
    AnswerFrame, CustomerExpectationGap, ExpectationBelief, GetExpectationGapRequest,
    GetExpectationGapResponse, RespondentRole, ScoreFilter, SurveyResponse,
};
use serde_json::Value;
use sqlx::PgPool;
use tonic::{Code, Status};

use crate::helpers::{
    TestApp, framed, labels, rating,
    reference::{Expect, frames_data},
    refused_at, response, spawn_app, themes, ts, versus, violation_descriptions, violation_fields,
};

async fn expectation(
    app: &TestApp,
    request: GetExpectationGapRequest,
) -> Result<GetExpectationGapResponse, Status> {
    app.scoring()
        .get_expectation_gap(request)
        .await
        .map(|r| r.into_inner())
}

async fn everything(app: &TestApp) -> GetExpectationGapResponse {
    expectation(app, GetExpectationGapRequest::default())
        .await
        .expect("GetExpectationGap")
}

/// A customer response with `speed` answered in EXPERIENCE and
/// EXPECTATION (either may be left out).
fn customer(id: &str, experience: Option<i32>, expected: Option<i32>) -> SurveyResponse {
    let mut answers = Vec::new();
    answers.extend(experience.map(|s| rating("speed", s)));
    answers.extend(expected.map(|s| framed("speed", AnswerFrame::Expectation, s)));
    response(
        id,
        RespondentRole::Customer,
        "2026-02-03T10:00:00Z",
        answers,
    )
}

/// An inside response expecting `expected` of `speed`.
fn inside(id: &str, role: RespondentRole, expected: i32) -> SurveyResponse {
    response(
        id,
        role,
        "2026-02-03T10:00:00Z",
        vec![framed("speed", AnswerFrame::Expectation, expected)],
    )
}

fn customers_of<'a>(r: &'a GetExpectationGapResponse, q: &str) -> &'a CustomerExpectationGap {
    r.questions
        .iter()
        .find(|x| x.question == q)
        .unwrap_or_else(|| panic!("{q} is reported: {r:?}"))
        .customers
        .as_ref()
        .unwrap()
}

fn beliefs_of<'a>(r: &'a GetExpectationGapResponse, q: &str) -> &'a [ExpectationBelief] {
    &r.questions
        .iter()
        .find(|x| x.question == q)
        .unwrap()
        .beliefs
}

/// Only the counts of a suppressed gap 5.
fn suppressed(respondents: i64) -> CustomerExpectationGap {
    CustomerExpectationGap {
        respondents,
        suppressed: true,
        ..CustomerExpectationGap::default()
    }
}

fn check_customers(e: &Expect<'_>, got: &CustomerExpectationGap, want: &Value) {
    e.int("respondents", got.respondents, want);
    e.flag("suppressed", got.suppressed, want);
    if got.suppressed {
        assert_eq!(*got, suppressed(got.respondents), "{}", e.at);
        return;
    }
    e.num("mean_expectation", got.mean_expectation, want);
    e.num("mean_experience", got.mean_experience, want);
    e.num("mean_gap_points", got.mean_gap_points, want);
    e.interval("ci", got.mean_gap_points_ci.as_ref(), want);
    e.num("p_value", got.p_value, want);
    e.num("q_value", got.q_value, want);
    e.flag("significant", got.significant, want);
    e.flag("significant_after_fdr", got.significant_after_fdr, want);
    e.int("shortfalls", got.shortfalls, want);
    e.num("shortfall_share", got.shortfall_share, want);
    e.interval("shortfall_share_ci", got.shortfall_share_ci.as_ref(), want);
}

fn check_belief(e: &Expect<'_>, got: &ExpectationBelief, want: &Value) {
    let role = RespondentRole::from_str_name(&format!(
        "RESPONDENT_ROLE_{}",
        want["role"].as_str().unwrap()
    ))
    .unwrap();
    assert_eq!(got.role, role as i32, "{}", e.at);
    e.int("respondents", got.respondents, want);
    e.int("customer_respondents", got.customer_respondents, want);
    e.flag("suppressed", got.suppressed, want);
    if got.suppressed {
        let counts_only = ExpectationBelief {
            role: got.role,
            respondents: got.respondents,
            customer_respondents: got.customer_respondents,
            suppressed: true,
            ..ExpectationBelief::default()
        };
        assert_eq!(*got, counts_only, "{}", e.at);
        return;
    }
    e.num("mean_expectation", got.mean_expectation, want);
    e.num(
        "customer_mean_expectation",
        got.customer_mean_expectation,
        want,
    );
    e.num("gap_points", got.gap_points, want);
    e.interval("ci", got.gap_points_ci.as_ref(), want);
    e.num("p_value", got.p_value, want);
    e.num("q_value", got.q_value, want);
    e.flag("significant", got.significant, want);
    e.flag("significant_after_fdr", got.significant_after_fdr, want);
}

/// The data set of tests/reference/frames_reference.py, submitted through
/// the API, reports every figure the script computes from the raw answers
/// with scipy's ttest_rel and ttest_ind(equal_var=False) and statsmodels'
/// Wilson interval and fdr_bh, within 1e-6: over a window, a label filter
/// at 90%, a survey_id at 99% and no filter at all.
#[sqlx::test]
async fn expectation_figures_match_the_reference(pool: PgPool) {
    let app = spawn_app(pool).await;
    let data = frames_data();
    assert_eq!(
        i64::from(app.scoring_model().await.min_group_size),
        data.min_group_size
    );
    app.submit_responses(data.responses).await.unwrap();
    for view in &data.views {
        let got = expectation(
            &app,
            GetExpectationGapRequest {
                filter: view.filter.clone(),
                questions: vec![],
                confidence_level: Some(view.confidence_level),
            },
        )
        .await
        .unwrap();
        let want = &view.expected["expectation"];
        assert_eq!(got.confidence_level, view.confidence_level);
        assert_eq!(i64::from(got.min_group_size), data.min_group_size);
        let keys: Vec<&str> = got.questions.iter().map(|q| q.question.as_str()).collect();
        let want_keys: Vec<&str> = want["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["question"].as_str().unwrap())
            .collect();
        assert_eq!(keys, want_keys, "{}", view.name);
        for (q, w) in got
            .questions
            .iter()
            .zip(want["questions"].as_array().unwrap())
        {
            let at = format!("{} {} customers", view.name, q.question);
            check_customers(
                &Expect { at: &at },
                q.customers.as_ref().unwrap(),
                &w["customers"],
            );
            let want_beliefs = w["beliefs"].as_array().unwrap();
            assert_eq!(q.beliefs.len(), want_beliefs.len(), "{at}: beliefs");
            for (b, wb) in q.beliefs.iter().zip(want_beliefs) {
                let at = format!("{} {} {}", view.name, q.question, wb["role"]);
                check_belief(&Expect { at: &at }, b, wb);
            }
        }
    }
}

/// EXPECTATION answers without an EXPERIENCE answer in the same response
/// pair with nothing; EXPERIENCE answers without an expectation neither.
#[sqlx::test]
async fn one_frame_only_is_no_pair(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut responses: Vec<SurveyResponse> = (0..6)
        .map(|i| customer(&format!("e{i}"), None, Some(5)))
        .collect();
    responses.extend((0..6).map(|i| customer(&format!("x{i}"), Some(2), None)));
    app.submit_responses(responses).await.unwrap();
    let got = everything(&app).await;
    // Reported (there are expectations), with no pair.
    assert_eq!(got.questions.len(), 1);
    assert_eq!(*customers_of(&got, "speed"), suppressed(0));
    assert!(beliefs_of(&got, "speed").is_empty());
}

/// Every difference equal: no variance, the interval is the point and the
/// p-value 0 (a shortfall in every pair) or 1 (no difference at all).
#[sqlx::test]
async fn zero_variance_of_the_differences(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut responses: Vec<SurveyResponse> = (0..6)
        .map(|i| customer(&format!("short{i}"), Some(3), Some(4)))
        .collect();
    app.submit_responses(responses.clone()).await.unwrap();
    let got = *customers_of(&everything(&app).await, "speed");
    assert_eq!(got.respondents, 6);
    assert_eq!(got.mean_gap_points, -25.0);
    let ci = got.mean_gap_points_ci.unwrap();
    assert_eq!((ci.lower, ci.upper), (-25.0, -25.0));
    assert_eq!(got.p_value, 0.0);
    assert_eq!(got.q_value, 0.0);
    assert!(got.significant && got.significant_after_fdr);
    assert_eq!((got.shortfalls, got.shortfall_share), (6, 1.0));

    responses = (0..6)
        .map(|i| customer(&format!("short{i}"), Some(4), Some(4)))
        .collect();
    app.submit_responses(responses).await.unwrap();
    let got = *customers_of(&everything(&app).await, "speed");
    assert_eq!(got.mean_gap_points, 0.0);
    let ci = got.mean_gap_points_ci.unwrap();
    assert_eq!((ci.lower, ci.upper), (0.0, 0.0));
    assert_eq!((got.p_value, got.q_value), (1.0, 1.0));
    assert!(!got.significant && !got.significant_after_fdr);
    assert_eq!((got.shortfalls, got.shortfall_share), (0, 0.0));
    let ci = got.shortfall_share_ci.unwrap();
    assert_eq!(ci.lower, 0.0);
}

/// Below min_group_size only the counts are shown, and never below 2
/// respondents (a paired test needs a variance) even when the model
/// allows groups of 1. A suppressed test is not part of the FDR family.
#[sqlx::test]
async fn small_groups_are_suppressed(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut responses: Vec<SurveyResponse> = (0..4)
        .map(|i| customer(&format!("c{i}"), Some(2 + i % 3), Some(5)))
        .collect();
    responses.extend((0..4).map(|i| inside(&format!("l{i}"), RespondentRole::Leadership, 3)));
    responses.push(inside("s0", RespondentRole::Staff, 4));
    app.submit_responses(responses).await.unwrap();
    let got = everything(&app).await;
    assert_eq!(got.min_group_size, 5);
    assert_eq!(*customers_of(&got, "speed"), suppressed(4));
    let beliefs = beliefs_of(&got, "speed");
    assert_eq!(beliefs.len(), 2);
    for (b, (role, n)) in beliefs
        .iter()
        .zip([(RespondentRole::Leadership, 4), (RespondentRole::Staff, 1)])
    {
        assert_eq!(
            *b,
            ExpectationBelief {
                role: role as i32,
                respondents: n,
                customer_respondents: 4,
                suppressed: true,
                ..ExpectationBelief::default()
            }
        );
    }

    app.update_scoring_model(|m| m.min_group_size = 1).await;
    let got = everything(&app).await;
    assert_eq!(got.min_group_size, 1);
    let customers = customers_of(&got, "speed");
    assert!(!customers.suppressed);
    let beliefs = beliefs_of(&got, "speed");
    assert!(!beliefs[0].suppressed, "4 leaders against 4 customers");
    assert!(beliefs[1].suppressed, "one staff member has no variance");
    // Two tests in the family: the larger p-value keeps its value.
    let (p1, p2) = (customers.p_value, beliefs[0].p_value);
    assert_eq!(customers.q_value.max(beliefs[0].q_value), p1.max(p2));
}

/// Named questions are reported even without data (the caller can rely on
/// finding them), once each, in key order; a role without EXPECTATION
/// answers is left out of gap 1.
#[sqlx::test]
async fn named_questions_are_reported_without_data(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut responses: Vec<SurveyResponse> = (0..6)
        .map(|i| customer(&format!("c{i}"), Some(3), Some(3 + i % 2)))
        .collect();
    responses.extend((0..6).map(|i| inside(&format!("s{i}"), RespondentRole::Staff, 4 + i % 2)));
    app.submit_responses(responses).await.unwrap();
    let got = expectation(
        &app,
        GetExpectationGapRequest {
            questions: vec!["speed".into(), "ease".into(), "speed".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let keys: Vec<&str> = got.questions.iter().map(|q| q.question.as_str()).collect();
    assert_eq!(keys, ["ease", "speed"]);
    assert_eq!(*customers_of(&got, "ease"), suppressed(0));
    assert!(beliefs_of(&got, "ease").is_empty());
    assert!(!customers_of(&got, "speed").suppressed);
    let roles: Vec<i32> = beliefs_of(&got, "speed").iter().map(|b| b.role).collect();
    assert_eq!(roles, [RespondentRole::Staff as i32]);
    // Without questions, only those with EXPECTATION answers.
    let keys: Vec<String> = everything(&app)
        .await
        .questions
        .into_iter()
        .map(|q| q.question)
        .collect();
    assert_eq!(keys, ["speed"]);
}

/// Every violation is reported at once, each at its field.
#[sqlx::test]
async fn every_invalid_field_is_named(pool: PgPool) {
    let app = spawn_app(pool).await;
    let request = GetExpectationGapRequest {
        filter: Some(ScoreFilter {
            start_time: Some(ts("2026-03-01T00:00:00Z")),
            end_time: Some(ts("2026-02-01T00:00:00Z")),
            ..ScoreFilter::default()
        }),
        questions: vec!["sped".into(), "improve".into(), "speed".into()],
        confidence_level: Some(0.3),
    };
    let err = expectation(&app, request).await.unwrap_err();
    let fields = violation_fields(&err);
    assert_eq!(
        fields,
        [
            "filter.end_time",
            "questions[0]",
            "questions[1]",
            "confidence_level"
        ]
    );
    let descriptions = violation_descriptions(&err);
    assert!(
        descriptions[1].contains("did you mean \"speed\""),
        "{err:?}"
    );
    assert!(descriptions[2].contains("THEMES"), "{err:?}");

    let too_many = GetExpectationGapRequest {
        questions: vec!["speed".into(); 1001],
        ..Default::default()
    };
    assert_eq!(refused_at(expectation(&app, too_many)).await, ["questions"]);
    let bad_label = GetExpectationGapRequest {
        filter: labels(&[("Region", "emea")]),
        ..Default::default()
    };
    let fields = refused_at(expectation(&app, bad_label)).await;
    assert!(fields[0].starts_with("filter.labels"), "{fields:?}");
}

/// Another tenant's framed answers never count, and it sees only its own.
#[sqlx::test]
async fn tenants_see_only_their_own_expectations(pool: PgPool) {
    let app = spawn_app(pool).await;
    let other = app.add_tenant("globex").await;
    let ours: Vec<SurveyResponse> = (0..6)
        .map(|i| customer(&format!("c{i}"), Some(2 + i % 2), Some(5)))
        .collect();
    app.submit_responses(ours).await.unwrap();
    let before = everything(&app).await;
    // The same ids, other scores, under the other tenant.
    let theirs: Vec<SurveyResponse> = (0..9)
        .map(|i| {
            let mut r = customer(&format!("c{i}"), Some(5), Some(1));
            r.answers.push(versus("speed", "acme", 1));
            r.answers.push(themes("competitors_do_better", &["price"]));
            r
        })
        .collect();
    app.submit_responses_as(&other, theirs).await.unwrap();
    assert_eq!(everything(&app).await, before);
    let got = app
        .scoring_as(Some(&other))
        .get_expectation_gap(GetExpectationGapRequest::default())
        .await
        .unwrap()
        .into_inner();
    let c = customers_of(&got, "speed");
    assert_eq!((c.respondents, c.mean_gap_points), (9, 100.0));
}

#[sqlx::test]
async fn a_call_without_a_key_is_unauthenticated(pool: PgPool) {
    let app = spawn_app(pool).await;
    let err = app
        .scoring_as(None)
        .get_expectation_gap(GetExpectationGapRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}
