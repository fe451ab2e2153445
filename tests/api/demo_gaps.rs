//! The demo tenant's expectation and competitive gaps (SPEC §16.2–16.3)
//! through the real server against tests/reference/demo_frames.py, which
//! computes them from the demo's stored answers with scipy and statsmodels
//! (demo_frames.out.json; q-values are left out there), within 1e-6: what
//! the walkthrough quotes is what the service answers.

use gapscore::proto::v1::{
    GetCompetitiveGapRequest, GetExpectationGapRequest, GetPriorityMapRequest, GetScorecardRequest,
    PriorityQuadrant, RespondentRole,
};
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{internals::demo, reference::Expect, spawn_app};

#[sqlx::test]
async fn the_demo_gaps_match_demo_frames_py(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = demo::load(&pool).await.expect("demo loads");
    let want: Value =
        serde_json::from_str(include_str!("../reference/demo_frames.out.json")).unwrap();
    let scoring = app.scoring_as(Some(&key));

    let got = scoring
        .clone()
        .get_expectation_gap(GetExpectationGapRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        got.confidence_level,
        want["confidence_level"].as_f64().unwrap()
    );
    let questions = want["GetExpectationGap"].as_array().unwrap();
    let keys: Vec<&str> = got.questions.iter().map(|q| q.question.as_str()).collect();
    let want_keys: Vec<&str> = questions
        .iter()
        .map(|q| q["question"].as_str().unwrap())
        .collect();
    assert_eq!(keys, want_keys);
    for (q, w) in got.questions.iter().zip(questions) {
        let at = format!("{} customers", q.question);
        let e = Expect { at: &at };
        let (c, w_c) = (q.customers.as_ref().unwrap(), &w["customers"]);
        assert!(!c.suppressed, "{at}");
        e.int("respondents", c.respondents, w_c);
        e.num("mean_expectation", c.mean_expectation, w_c);
        e.num("mean_experience", c.mean_experience, w_c);
        e.num("mean_gap_points", c.mean_gap_points, w_c);
        e.interval("mean_gap_points_ci", c.mean_gap_points_ci.as_ref(), w_c);
        e.num("p_value", c.p_value, w_c);
        e.int("shortfalls", c.shortfalls, w_c);
        e.num("shortfall_share", c.shortfall_share, w_c);
        e.interval("shortfall_share_ci", c.shortfall_share_ci.as_ref(), w_c);
        let beliefs = w["beliefs"].as_array().unwrap();
        assert_eq!(q.beliefs.len(), beliefs.len(), "{at}: beliefs");
        for (b, w_b) in q.beliefs.iter().zip(beliefs) {
            let role = format!("RESPONDENT_ROLE_{}", w_b["role"].as_str().unwrap());
            let at = format!("{} {role}", q.question);
            let e = Expect { at: &at };
            assert_eq!(
                Some(b.role),
                RespondentRole::from_str_name(&role).map(|r| r as i32)
            );
            assert!(!b.suppressed, "{at}");
            e.int("respondents", b.respondents, w_b);
            e.int("customer_respondents", b.customer_respondents, w_b);
            e.num("mean_expectation", b.mean_expectation, w_b);
            e.num(
                "customer_mean_expectation",
                b.customer_mean_expectation,
                w_b,
            );
            e.num("gap_points", b.gap_points, w_b);
            e.interval("gap_points_ci", b.gap_points_ci.as_ref(), w_b);
            e.num("p_value", b.p_value, w_b);
        }
    }

    let got = scoring
        .clone()
        .get_competitive_gap(GetCompetitiveGapRequest::default())
        .await
        .unwrap()
        .into_inner();
    let gaps = want["GetCompetitiveGap"].as_array().unwrap();
    assert_eq!(got.gaps.len(), gaps.len());
    for (g, w) in got.gaps.iter().zip(gaps) {
        let at = format!("{} vs {}", g.question, g.competitor);
        let e = Expect { at: &at };
        assert_eq!(g.question, w["question"].as_str().unwrap());
        assert_eq!(g.competitor, w["competitor"].as_str().unwrap());
        assert!(!g.suppressed, "{at}");
        e.int("respondents", g.respondents, w);
        e.num("mean_us", g.mean_us, w);
        e.num("mean_competitor", g.mean_competitor, w);
        e.num("mean_lead_points", g.mean_lead_points, w);
        e.interval("mean_lead_points_ci", g.mean_lead_points_ci.as_ref(), w);
        e.num("p_value", g.p_value, w);
        e.int("wins", g.wins, w);
        e.int("losses", g.losses, w);
        e.int("ties", g.ties, w);
        e.num("win_share", g.win_share.expect("a win share"), w);
        e.interval("win_share_ci", g.win_share_ci.as_ref(), w);
        e.num("sign_test_p_value", g.sign_test_p_value, w);
    }
}

/// The composed figures of §16.4 agree with the reference on the demo: the
/// priority map's `expectation_gap_points` are customers' gap 5 of each
/// question, and the scorecard's `largest_shortfall` is the question whose
/// gap 5 is the most negative (every demo shortfall is far past any FDR
/// threshold), with `top_priority` the map's first CONCENTRATE_HERE
/// question.
#[sqlx::test]
async fn the_demo_scorecard_and_map_carry_the_expectation_gaps(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = demo::load(&pool).await.expect("demo loads");
    let want: Value =
        serde_json::from_str(include_str!("../reference/demo_frames.out.json")).unwrap();
    let gap5: Vec<(&str, f64, f64)> = want["GetExpectationGap"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["question"].as_str().unwrap(),
                q["customers"]["mean_gap_points"].as_f64().unwrap(),
                q["customers"]["p_value"].as_f64().unwrap(),
            )
        })
        .collect();
    let scoring = app.scoring_as(Some(&key));

    let map = scoring
        .clone()
        .get_priority_map(GetPriorityMapRequest::default())
        .await
        .unwrap()
        .into_inner();
    for q in &map.questions {
        let (_, points, _) = gap5
            .iter()
            .find(|(k, _, _)| *k == q.question)
            .unwrap_or_else(|| panic!("{}: no gap 5 in the reference", q.question));
        let got = q
            .expectation_gap_points
            .expect("every demo question has one");
        assert!(
            (got - points).abs() <= 1e-6,
            "{}: {got} against {points}",
            q.question
        );
    }

    let card = scoring
        .clone()
        .get_scorecard(GetScorecardRequest { filter: None })
        .await
        .unwrap()
        .into_inner();
    let (worst, worst_points, worst_p) = gap5
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert!(
        worst_points < 0.0 && worst_p < 1e-6,
        "{worst}: {worst_points}, p {worst_p}"
    );
    let shortfall = card.largest_shortfall.expect("a significant shortfall");
    assert_eq!(shortfall.question, worst);
    let customers = shortfall.customers.unwrap();
    assert!((customers.mean_gap_points - worst_points).abs() <= 1e-6);
    assert!(customers.significant_after_fdr);
    let top = card.top_priority.expect("a CONCENTRATE_HERE question");
    assert_eq!(top.question, map.questions[0].question);
    assert_eq!(top.quadrant, PriorityQuadrant::ConcentrateHere as i32);
}
