//! SPEC §14 "bounded cost" for the themes, `group_by` and catalog paths
//! (issue 11, findings 1-3 and parts of 14): each request is counted
//! against its limits before per-element work, and the group and theme
//! limits are applied in SQL, so no tenant's call costs more than its
//! limits allow.
//!
//! Time bounds here are generous on purpose (a loaded 2-core machine, a
//! debug build): each is several times what the fixed code takes and a
//! fraction of what the quadratic code took at the same size.

use std::time::{Duration, Instant};

use gapscore::proto::v1::*;
use sqlx::PgPool;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{
    TestApp,
    app::health,
    error_reason,
    internals::{GapQuery, Scope, gap},
    label_map, rating, response, spawn_app, themes, ts, violation_fields,
};

const AT: &str = "2025-01-15T12:00:00Z";

/// Submits `responses` in batches of at most 1,000.
async fn submit_all(app: &TestApp, responses: Vec<SurveyResponse>) {
    let mut rest = responses;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(1000));
        let batch = std::mem::replace(&mut rest, tail);
        let n = batch.len() as i64;
        let counts = app.submit_responses(batch).await.expect("batch accepted");
        assert_eq!(counts.inserted, n);
    }
}

// ------------------------------------------------------------ finding 1

#[sqlx::test]
async fn sixty_thousand_themes_in_one_answer_are_refused_at_once(pool: PgPool) {
    let app = spawn_app(pool).await;
    let many: Vec<String> = (0..60_000).map(|i| format!("t{i}")).collect();
    let answer = Answer {
        question: "improve".into(),
        themes: many,
        ..Default::default()
    };
    let big = vec![response("big", RespondentRole::Customer, AT, vec![answer])];

    let started = Instant::now();
    let (submitted, served) = tokio::join!(app.submit_responses(big), async {
        // Asked while the submit is being worked on.
        tokio::task::yield_now().await;
        health(&app.channel, "").await
    });
    let took = started.elapsed();
    eprintln!("60,000 themes refused in {took:?}");
    let err = submitted.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(violation_fields(&err), ["responses[0].answers[0].themes"]);
    assert_eq!(served, Some(ServingStatus::Serving));
    // Quadratic de-duplication took 6.3 s in release (far more in debug).
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(
        app.questions().await.len() >= 13,
        "the server still answers"
    );
}

#[sqlx::test]
async fn repeated_themes_within_the_submitted_limit_are_still_de_duplicated(pool: PgPool) {
    let app = spawn_app(pool).await;
    // 40 submitted themes, 2 distinct after normalization: accepted.
    let mut submitted = vec!["Speed "; 20];
    submitted.extend(vec![" price"; 20]);
    let r = response(
        "dups",
        RespondentRole::Customer,
        AT,
        vec![themes("improve", &submitted)],
    );
    submit_all(&app, vec![r]).await;
    let back = app
        .survey()
        .get_survey_response(GetSurveyResponseRequest { id: "dups".into() })
        .await
        .unwrap()
        .into_inner()
        .response
        .unwrap();
    assert_eq!(back.answers[0].themes, ["speed", "price"]);
}

// ------------------------------------------------------------ finding 2

/// Per role, 2,000 responses of 20 themes: one the whole role shares, 19
/// of its own per response (38,001 distinct themes per role).
fn wide_theme_responses() -> Vec<SurveyResponse> {
    let roles = [
        (RespondentRole::Leadership, "l", "product"),
        (RespondentRole::Staff, "s", "people"),
        (RespondentRole::Customer, "c", "wait_times"),
    ];
    let mut out = Vec::new();
    for (role, tag, shared) in roles {
        for i in 0..PER_ROLE {
            let mut t: Vec<String> = vec![shared.into()];
            t.extend((0..19).map(|j| format!("{tag}_{i:04}_{j:02}")));
            let t: Vec<&str> = t.iter().map(String::as_str).collect();
            out.push(response(
                &format!("{tag}-{i}"),
                role,
                AT,
                vec![themes("improve", &t), rating("overall_experience", 4)],
            ));
        }
    }
    out
}

const PER_ROLE: usize = 2000;

#[sqlx::test]
async fn forty_thousand_distinct_themes_per_role_are_scored_in_bounded_time(pool: PgPool) {
    let app = spawn_app(pool).await;
    submit_all(&app, wide_theme_responses()).await;
    let distinct = (PER_ROLE * 19 + 1) as i64;

    let started = Instant::now();
    let r = app
        .scoring()
        .get_perception_gap(GetPerceptionGapRequest {
            questions: vec!["improve".into()],
            ..Default::default()
        })
        .await
        .expect("GetPerceptionGap")
        .into_inner();
    let gap_took = started.elapsed();
    let t = &r.overall.as_ref().unwrap().themes[0];
    let customers = t
        .roles
        .iter()
        .find(|r| r.role() == RespondentRole::Customer)
        .unwrap();
    assert_eq!(customers.respondents, PER_ROLE as i64);
    assert_eq!(customers.distinct_themes, distinct);
    assert_eq!(customers.themes.len(), 50);
    let top: Vec<_> = customers
        .themes
        .iter()
        .take(3)
        .map(|s| (s.theme.as_str(), s.mentions))
        .collect();
    // The shared theme, then single mentions in byte order of the name.
    assert_eq!(
        top,
        [("wait_times", 2000), ("c_0000_00", 1), ("c_0000_01", 1)]
    );
    assert_eq!(customers.themes[49].theme, "c_0002_10");

    let lc = t
        .comparisons
        .iter()
        .find(|c| {
            c.from_role() == RespondentRole::Leadership && c.to_role() == RespondentRole::Customer
        })
        .unwrap();
    assert_eq!(lc.distinct_themes, 2 * distinct);
    assert_eq!(lc.alignment, Some(0.0));
    let first: Vec<_> = lc
        .differences
        .iter()
        .take(3)
        .map(|d| (d.theme.as_str(), d.kind(), d.difference_points))
        .collect();
    assert_eq!(
        first,
        [
            ("product", ThemeGapKind::Illusion, -100.0),
            ("wait_times", ThemeGapKind::BlindSpot, 100.0),
            ("c_0000_00", ThemeGapKind::BlindSpot, 0.05),
        ]
    );
    assert_eq!(lc.differences.len(), 50);

    let started = Instant::now();
    let card = app
        .scoring()
        .get_scorecard(GetScorecardRequest::default())
        .await
        .expect("GetScorecard")
        .into_inner();
    let card_took = started.elapsed();
    eprintln!("40k themes per role: GetPerceptionGap {gap_took:?}, GetScorecard {card_took:?}");
    assert_eq!(card.largest_gaps.len(), 0, "every role rates 4");
    // Quadratic comparison took 15.7 s per role pair in release, and did
    // not finish within 900 s in debug. The ranking now runs in SQL (about
    // 3 s on a loaded 2-core machine); the scorecard aggregates no theme.
    assert!(gap_took < Duration::from_secs(30), "gap took {gap_took:?}");
    assert!(
        card_took < Duration::from_secs(10),
        "scorecard took {card_took:?}"
    );
}

// ------------------------------------------------------------ finding 3

#[sqlx::test]
async fn a_label_with_thousands_of_values_never_loads_them_all(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let responses: Vec<SurveyResponse> = (0..5000)
        .map(|i| SurveyResponse {
            labels: label_map(&[("store", &format!("s{i:04}"))]),
            ..response(
                &format!("r{i}"),
                RespondentRole::Customer,
                AT,
                vec![rating("csat", 4), themes("improve", &["price"])],
            )
        })
        .collect();
    submit_all(&app, responses).await;

    let err = app
        .scoring()
        .get_perception_gap(GetPerceptionGapRequest {
            group_by: "store".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(error_reason(&err), "TOO_MANY_GROUPS");
    assert!(
        err.message().contains("at least 101 values"),
        "{}",
        err.message()
    );

    // What the store hands the service: at most MAX_GROUPS + 1 groups.
    let scope = Scope::default();
    let (csat, improve) = (["csat".to_string()], ["improve".to_string()]);
    let query = |questions| GapQuery {
        scope: &scope,
        questions,
        group_by: Some("store"),
    };
    let rows = gap::raw_histograms(&pool, app.tenant, query(&csat))
        .await
        .unwrap();
    let groups = distinct(rows.iter().map(|r| r.group_value.clone()));
    assert_eq!(groups, 101, "rows of {groups} groups reached Rust");
    let themes = gap::theme_tops(&pool, app.tenant, query(&improve), 50)
        .await
        .unwrap();
    let groups = distinct(
        themes
            .iter()
            .filter(|r| !r.overall)
            .map(|r| r.group_value.clone()),
    );
    assert_eq!(groups, 101, "theme rows of {groups} groups reached Rust");
}

fn distinct(values: impl Iterator<Item = Option<String>>) -> usize {
    values.collect::<std::collections::BTreeSet<_>>().len()
}

// ----------------------------------------------------------- finding 14

#[sqlx::test]
async fn a_lone_typo_gets_a_suggestion_from_the_catalog(pool: PgPool) {
    let app = spawn_app(pool).await;
    let r = response(
        "typo",
        RespondentRole::Customer,
        AT,
        vec![rating("overall_experiance", 4)],
    );
    let err = app.submit_responses(vec![r]).await.unwrap_err();
    assert_eq!(violation_fields(&err), ["responses[0].answers[0].question"]);
    assert!(
        err.message()
            .contains("did you mean \"overall_experience\"?"),
        "{}",
        err.message()
    );
}

#[sqlx::test]
async fn a_trend_ending_at_the_last_representable_instant_stays_in_range(pool: PgPool) {
    let app = spawn_app(pool).await;
    let end = prost_types::Timestamp {
        seconds: 253_402_300_799,
        nanos: 999_999_999,
    };
    for bucket in [TrendBucket::Day, TrendBucket::Week, TrendBucket::Month] {
        let trend = app
            .scoring()
            .get_trend(GetTrendRequest {
                metric: TrendMetric::FavorableShare as i32,
                bucket: bucket as i32,
                filter: Some(ScoreFilter {
                    start_time: Some(ts("9999-12-01T00:00:00Z")),
                    end_time: Some(end),
                    ..Default::default()
                }),
                question: "overall_experience".into(),
                role: RespondentRole::Customer as i32,
                ..Default::default()
            })
            .await
            .expect("GetTrend")
            .into_inner();
        let last = trend.points.last().unwrap().bucket_end.unwrap();
        assert_eq!(last, end, "{bucket:?}: the last bucket ends at the maximum");
    }
}
