//! `GetCompetitiveGap` (SPEC §16.3) through the real server: the figures
//! of a known data set against scipy and statsmodels
//! (tests/reference/frames_reference.py), ties and zero variance, small
//! competitors, a named competitor, too many competitors, validation,
//! tenancy and auth.

use gapscore::proto::v1::{
    AnswerFrame, CompetitorGap, GetCompetitiveGapRequest, GetCompetitiveGapResponse,
    RespondentRole, SurveyResponse,
};
use serde_json::Value;
use sqlx::PgPool;
use tonic::{Code, Status};

use crate::helpers::{
    TestApp, error_reason, framed, rating,
    reference::{Expect, frames_data},
    refused_at, response, spawn_app, ts, versus, violation_descriptions, violation_fields, window,
};

async fn competition(
    app: &TestApp,
    request: GetCompetitiveGapRequest,
) -> Result<GetCompetitiveGapResponse, Status> {
    app.scoring()
        .get_competitive_gap(request)
        .await
        .map(|r| r.into_inner())
}

async fn everything(app: &TestApp) -> GetCompetitiveGapResponse {
    competition(app, GetCompetitiveGapRequest::default())
        .await
        .expect("GetCompetitiveGap")
}

/// A customer who rated our speed `us` and `competitor`'s `them`.
fn rated(id: &str, us: i32, competitor: &str, them: i32) -> SurveyResponse {
    response(
        id,
        RespondentRole::Customer,
        "2026-02-03T10:00:00Z",
        vec![rating("speed", us), versus("speed", competitor, them)],
    )
}

fn gap_of<'a>(r: &'a GetCompetitiveGapResponse, q: &str, c: &str) -> &'a CompetitorGap {
    r.gaps
        .iter()
        .find(|g| g.question == q && g.competitor == c)
        .unwrap_or_else(|| panic!("{q} vs {c} is reported: {r:?}"))
}

/// Only the count of a suppressed lead.
fn suppressed(question: &str, competitor: &str, respondents: i64) -> CompetitorGap {
    CompetitorGap {
        question: question.into(),
        competitor: competitor.into(),
        respondents,
        suppressed: true,
        ..CompetitorGap::default()
    }
}

fn check_gap(e: &Expect<'_>, got: &CompetitorGap, want: &Value) {
    assert_eq!(got.question, want["question"].as_str().unwrap(), "{}", e.at);
    assert_eq!(
        got.competitor,
        want["competitor"].as_str().unwrap(),
        "{}",
        e.at
    );
    e.int("respondents", got.respondents, want);
    e.flag("suppressed", got.suppressed, want);
    if got.suppressed {
        assert_eq!(
            *got,
            suppressed(&got.question, &got.competitor, got.respondents),
            "{}",
            e.at
        );
        return;
    }
    e.num("mean_us", got.mean_us, want);
    e.num("mean_competitor", got.mean_competitor, want);
    e.num("mean_lead_points", got.mean_lead_points, want);
    e.interval("ci", got.mean_lead_points_ci.as_ref(), want);
    e.num("p_value", got.p_value, want);
    e.num("q_value", got.q_value, want);
    e.flag("significant", got.significant, want);
    e.flag("significant_after_fdr", got.significant_after_fdr, want);
    e.int("wins", got.wins, want);
    e.int("losses", got.losses, want);
    e.int("ties", got.ties, want);
    e.num("sign_test_p_value", got.sign_test_p_value, want);
    match got.win_share {
        Some(share) => {
            e.num("win_share", share, want);
            e.interval("win_share_ci", got.win_share_ci.as_ref(), want);
        }
        None => {
            assert!(want.get("win_share").is_none(), "{}: win_share", e.at);
            assert_eq!(got.win_share_ci, None, "{}", e.at);
        }
    }
}

/// The data set of tests/reference/frames_reference.py, submitted through
/// the API, reports every figure the script computes from the raw answers
/// with scipy's ttest_rel and binomtest and statsmodels' Wilson interval
/// and fdr_bh, within 1e-6: two competitors over a window, a label filter
/// at 90%, one named competitor in one survey wave at 99%, and no filter.
/// Leaders' ratings of a competitor never count.
#[sqlx::test]
async fn competitive_figures_match_the_reference(pool: PgPool) {
    let app = spawn_app(pool).await;
    let data = frames_data();
    app.submit_responses(data.responses).await.unwrap();
    for view in &data.views {
        let got = competition(
            &app,
            GetCompetitiveGapRequest {
                filter: view.filter.clone(),
                questions: vec![],
                competitor: view.competitor.clone(),
                confidence_level: Some(view.confidence_level),
            },
        )
        .await
        .unwrap();
        let want = &view.expected["competition"];
        assert_eq!(got.confidence_level, view.confidence_level);
        assert_eq!(i64::from(got.min_group_size), data.min_group_size);
        let want_gaps = want["gaps"].as_array().unwrap();
        let keys = |g: &[CompetitorGap]| -> Vec<String> {
            g.iter()
                .map(|g| format!("{}/{}", g.question, g.competitor))
                .collect()
        };
        let want_keys: Vec<String> = want_gaps
            .iter()
            .map(|g| {
                format!(
                    "{}/{}",
                    g["question"].as_str().unwrap(),
                    g["competitor"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(keys(&got.gaps), want_keys, "{}", view.name);
        for (g, w) in got.gaps.iter().zip(want_gaps) {
            let at = format!("{} {} vs {}", view.name, g.question, g.competitor);
            check_gap(&Expect { at: &at }, g, w);
        }
    }
}

/// Every respondent rated us and the competitor the same: no win share,
/// a sign test of nothing (1), and a lead of exactly 0 without variance.
#[sqlx::test]
async fn all_ties(pool: PgPool) {
    let app = spawn_app(pool).await;
    let responses = (0..5).map(|i| rated(&format!("c{i}"), 2 + i % 3, "acme", 2 + i % 3));
    app.submit_responses(responses.collect()).await.unwrap();
    let got = everything(&app).await;
    assert_eq!(got.gaps.len(), 1);
    let g = gap_of(&got, "speed", "acme");
    assert_eq!((g.respondents, g.wins, g.losses, g.ties), (5, 0, 0, 5));
    assert_eq!((g.win_share, g.win_share_ci), (None, None));
    assert_eq!(g.sign_test_p_value, 1.0);
    assert_eq!(g.mean_lead_points, 0.0);
    let ci = g.mean_lead_points_ci.unwrap();
    assert_eq!((ci.lower, ci.upper), (0.0, 0.0));
    assert_eq!((g.p_value, g.q_value), (1.0, 1.0));
    assert!(!g.significant && !g.significant_after_fdr);
    assert_eq!(g.mean_us, g.mean_competitor);
}

/// Every respondent puts us one point ahead: no variance, the interval is
/// the point, p = 0; every respondent a win, the sign test 2 · 0.5⁶.
#[sqlx::test]
async fn zero_variance_of_the_lead(pool: PgPool) {
    let app = spawn_app(pool).await;
    let responses = (0..6).map(|i| rated(&format!("c{i}"), 2 + i % 4, "acme", 1 + i % 4));
    app.submit_responses(responses.collect()).await.unwrap();
    let g = everything(&app).await.gaps[0].clone();
    assert_eq!((g.wins, g.losses, g.ties), (6, 0, 0));
    assert_eq!(g.mean_lead_points, 25.0);
    let ci = g.mean_lead_points_ci.unwrap();
    assert_eq!((ci.lower, ci.upper), (25.0, 25.0));
    assert_eq!(g.p_value, 0.0);
    assert!(g.significant && g.significant_after_fdr);
    assert_eq!(g.win_share, Some(1.0));
    assert_eq!(g.win_share_ci.unwrap().upper, 1.0);
    assert!((g.sign_test_p_value - 2.0 * 0.5f64.powi(6)).abs() < 1e-12);
}

/// A competitor rated by fewer customers than min_group_size shows only
/// its count and is not in the FDR family; answers in one frame only pair
/// with nothing.
#[sqlx::test]
async fn a_small_competitor_is_suppressed(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut responses: Vec<SurveyResponse> = (0..6)
        .map(|i| rated(&format!("a{i}"), 4, "acme", 2 + i % 3))
        .collect();
    responses.extend((0..4).map(|i| rated(&format!("g{i}"), 3, "globex", 1 + i % 2)));
    // A COMPETITOR answer without our own, and ours without a competitor's.
    responses.push(response(
        "only-them",
        RespondentRole::Customer,
        "2026-02-03T10:00:00Z",
        vec![versus("speed", "initech", 3)],
    ));
    responses.push(response(
        "only-us",
        RespondentRole::Customer,
        "2026-02-03T10:00:00Z",
        vec![
            rating("speed", 3),
            framed("speed", AnswerFrame::Expectation, 4),
        ],
    ));
    app.submit_responses(responses).await.unwrap();
    let got = everything(&app).await;
    let keys: Vec<&str> = got.gaps.iter().map(|g| g.competitor.as_str()).collect();
    assert_eq!(keys, ["acme", "globex"]);
    assert_eq!(
        *gap_of(&got, "speed", "globex"),
        suppressed("speed", "globex", 4)
    );
    let acme = gap_of(&got, "speed", "acme");
    assert!(!acme.suppressed);
    assert_eq!(acme.q_value, acme.p_value, "a family of one");
}

/// A named competitor limits the response to it; a named question is
/// reported even without pairs: for the named competitor, or with an
/// empty competitor when none is named.
#[sqlx::test]
async fn named_competitor_and_questions(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut responses: Vec<SurveyResponse> = (0..6)
        .map(|i| rated(&format!("a{i}"), 4, "acme", 2 + i % 3))
        .collect();
    responses.extend((0..6).map(|i| rated(&format!("g{i}"), 3, "globex", 1 + i % 2)));
    app.submit_responses(responses).await.unwrap();
    let only_acme = competition(
        &app,
        GetCompetitiveGapRequest {
            competitor: "acme".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(only_acme.gaps.len(), 1);
    let only = &only_acme.gaps[0];
    assert_eq!(only.q_value, only.p_value, "the only test of its family");
    let both = everything(&app).await;
    assert_eq!(both.gaps.len(), 2);
    let among_two = CompetitorGap {
        q_value: only.q_value,
        significant_after_fdr: only.significant_after_fdr,
        ..gap_of(&both, "speed", "acme").clone()
    };
    assert_eq!(*only, among_two, "the same figures");

    let named = competition(
        &app,
        GetCompetitiveGapRequest {
            questions: vec!["speed".into(), "ease".into()],
            competitor: "initech".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        named.gaps,
        [
            suppressed("ease", "initech", 0),
            suppressed("speed", "initech", 0)
        ]
    );
    let named = competition(
        &app,
        GetCompetitiveGapRequest {
            questions: vec!["speed".into(), "ease".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let keys: Vec<(&str, &str)> = named
        .gaps
        .iter()
        .map(|g| (g.question.as_str(), g.competitor.as_str()))
        .collect();
    assert_eq!(keys, [("ease", ""), ("speed", "acme"), ("speed", "globex")]);
    assert_eq!(named.gaps[0], suppressed("ease", "", 0));
}

/// More than 100 competitors in scope is FAILED_PRECONDITION telling the
/// caller to name one; naming one, or narrowing the window to 100,
/// answers.
#[sqlx::test]
async fn too_many_competitors(pool: PgPool) {
    let app = spawn_app(pool).await;
    let responses: Vec<SurveyResponse> = (0..101)
        .map(|i| {
            let mut r = rated(&format!("c{i:03}"), 3, &format!("rival_{i:03}"), 2);
            if i == 100 {
                r.submitted_at = Some(ts("2026-03-03T10:00:00Z"));
            }
            r
        })
        .collect();
    app.submit_responses(responses).await.unwrap();
    let err = competition(&app, GetCompetitiveGapRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(error_reason(&err), "TOO_MANY_COMPETITORS");
    assert!(err.message().contains("competitor"), "{err:?}");

    let one = competition(
        &app,
        GetCompetitiveGapRequest {
            competitor: "rival_100".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(one.gaps, [suppressed("speed", "rival_100", 1)]);
    let february = competition(
        &app,
        GetCompetitiveGapRequest {
            filter: window("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(february.gaps.len(), 100);
    assert_eq!(february.gaps[0].competitor, "rival_000");
    assert_eq!(february.gaps[99].competitor, "rival_099");
}

/// Every violation is reported at once, each at its field.
#[sqlx::test]
async fn every_invalid_field_is_named(pool: PgPool) {
    let app = spawn_app(pool).await;
    let request = GetCompetitiveGapRequest {
        filter: window("2026-03-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        questions: vec!["speeed".into(), "competitors_do_better".into()],
        competitor: "ACME Inc".into(),
        confidence_level: Some(1.0),
    };
    let err = competition(&app, request).await.unwrap_err();
    assert_eq!(
        violation_fields(&err),
        [
            "filter.end_time",
            "questions[0]",
            "questions[1]",
            "competitor",
            "confidence_level"
        ]
    );
    let descriptions = violation_descriptions(&err);
    assert!(
        descriptions[1].contains("did you mean \"speed\""),
        "{err:?}"
    );
    assert!(descriptions[2].contains("THEMES"), "{err:?}");
    let too_many = GetCompetitiveGapRequest {
        questions: vec!["speed".into(); 1001],
        ..Default::default()
    };
    assert_eq!(refused_at(competition(&app, too_many)).await, ["questions"]);
}

/// Another tenant's competitor ratings never count, and it sees only its
/// own.
#[sqlx::test]
async fn tenants_see_only_their_own_competitors(pool: PgPool) {
    let app = spawn_app(pool).await;
    let other = app.add_tenant("globex").await;
    let ours = (0..6).map(|i| rated(&format!("c{i}"), 4, "acme", 2 + i % 3));
    app.submit_responses(ours.collect()).await.unwrap();
    let before = everything(&app).await;
    let theirs = (0..8).map(|i| rated(&format!("c{i}"), 1, "acme", 5));
    app.submit_responses_as(&other, theirs.collect())
        .await
        .unwrap();
    let theirs = (0..8).map(|i| rated(&format!("d{i}"), 1, "hooli", 5));
    app.submit_responses_as(&other, theirs.collect())
        .await
        .unwrap();
    assert_eq!(everything(&app).await, before);
    let got = app
        .scoring_as(Some(&other))
        .get_competitive_gap(GetCompetitiveGapRequest::default())
        .await
        .unwrap()
        .into_inner();
    let keys: Vec<(&str, i64, i64)> = got
        .gaps
        .iter()
        .map(|g| (g.competitor.as_str(), g.respondents, g.losses))
        .collect();
    assert_eq!(keys, [("acme", 8, 8), ("hooli", 8, 8)]);
}

#[sqlx::test]
async fn a_call_without_a_key_is_unauthenticated(pool: PgPool) {
    let app = spawn_app(pool).await;
    let err = app
        .scoring_as(None)
        .get_competitive_gap(GetCompetitiveGapRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}
