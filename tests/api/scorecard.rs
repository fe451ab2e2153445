//! GetScorecard and GetTrend end to end: composed figures equal the
//! individual RPCs, and trends keep their empty buckets.

use gapscore::proto::v1::*;
use sqlx::PgPool;
use tonic::Code;

use crate::helpers::{
    TestApp, card_update, journey_from, rating, refused_at, spawn_app, ts, violation_fields, window,
};

/// SPEC §1's card update, its first reminder on 2026-10-04.
fn card_update_in_october(customer_id: &str) -> Journey {
    journey_from(
        "jrn-card-update",
        customer_id,
        "2026-10-04T00:00:00Z",
        &card_update(),
    )
}

/// Respondents `{prefix}-{i}` of one role answering at one instant.
struct Group<'a> {
    prefix: &'a str,
    role: RespondentRole,
    n: usize,
    favorable: usize,
    at: &'a str,
}

const fn group<'a>(
    prefix: &'a str,
    role: RespondentRole,
    (n, favorable): (usize, usize),
    at: &'a str,
) -> Group<'a> {
    Group {
        prefix,
        role,
        n,
        favorable,
        at,
    }
}

/// In each group, `favorable` of `n` respondents rate overall_experience
/// 5, the rest 1; customers also answer NPS and ease.
async fn rate(app: &TestApp, groups: &[Group<'_>]) {
    let mut responses = Vec::new();
    for g in groups {
        responses.extend((0..g.n).map(|i| {
            let good = i < g.favorable;
            let mut answers = vec![rating("overall_experience", if good { 5 } else { 1 })];
            if g.role == RespondentRole::Customer {
                answers.push(rating("likelihood_to_recommend", if good { 10 } else { 3 }));
                answers.push(rating("ease", if good { 6 } else { 2 }));
            }
            SurveyResponse {
                id: format!("{}-{i}", g.prefix),
                role: g.role as i32,
                respondent_id: format!("{}-{i}", g.prefix),
                submitted_at: Some(ts(g.at)),
                answers,
                ..Default::default()
            }
        }));
    }
    app.submit_responses(responses).await.unwrap();
}

#[sqlx::test]
async fn the_scorecard_composes_the_individual_scores(pool: PgPool) {
    let app = spawn_app(pool).await;
    rate(
        &app,
        &[
            group(
                "lead",
                RespondentRole::Leadership,
                (20, 16),
                "2026-10-01T10:00:00Z",
            ),
            group(
                "cust",
                RespondentRole::Customer,
                (40, 4),
                "2026-10-02T10:00:00Z",
            ),
        ],
    )
    .await;
    app.data()
        .journeys(vec![card_update_in_october("cust-0")])
        .await;

    let card = app
        .scoring()
        .get_scorecard(GetScorecardRequest { filter: None })
        .await
        .unwrap()
        .into_inner();
    let gap = app
        .scoring()
        .get_perception_gap(GetPerceptionGapRequest {
            questions: vec!["overall_experience".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let expected = gap.overall.unwrap().questions[0]
        .comparisons
        .iter()
        .find(|c| {
            c.from_role == RespondentRole::Leadership as i32
                && c.to_role == RespondentRole::Customer as i32
        })
        .copied()
        .unwrap();
    let delivery = card.delivery_gap.unwrap();
    assert_eq!(delivery, expected);
    assert!((delivery.gap_points - 70.0).abs() < 1e-9, "80% vs 10%");
    assert!(delivery.significant);
    assert_eq!(
        card.largest_gaps.len(),
        1,
        "only one comparison has both sides"
    );
    assert_eq!(card.largest_gaps[0].question, "overall_experience");

    let nps = card.customer_nps.unwrap();
    assert_eq!(nps.respondents, 40);
    assert!(
        (nps.net_score - (10.0 - 90.0)).abs() < 1e-9,
        "4 promoters, 36 detractors"
    );
    let ces = card.customer_ces.unwrap();
    assert_eq!(ces.responses, 40);
    assert!((ces.mean - (4.0 * 6.0 + 36.0 * 2.0) / 40.0).abs() < 1e-9);

    let effort = card.effort.unwrap();
    assert_eq!(effort.journeys, 1);
    assert!((effort.effort_index_mean - 90.0).abs() < 1e-9);
    assert!((effort.hidden_effort_gap_points - 100.0).abs() < 1e-9);

    // 40 customers assessed by CES (36 HIGH, 4 LOW); cust-0's journey adds
    // nothing because its CES decides its tier.
    let loyalty = card.loyalty.unwrap();
    assert_eq!(loyalty.customers, 40);
    assert_eq!(loyalty.high_effort_customers, 36);
    assert!((loyalty.likely_detractors - 36.0 * 0.81).abs() < 1e-9);
    assert!(
        loyalty.headline.contains("36 high-effort customers"),
        "{}",
        loyalty.headline
    );
    assert_eq!(card.confidence_level, 0.95);
}

#[sqlx::test]
async fn an_empty_tenant_has_an_empty_scorecard(pool: PgPool) {
    let app = spawn_app(pool).await;
    let card = app
        .scoring()
        .get_scorecard(GetScorecardRequest { filter: None })
        .await
        .unwrap()
        .into_inner();
    assert!(card.delivery_gap.is_none());
    assert!(card.largest_gaps.is_empty());
    assert!(card.customer_nps.is_none());
    assert_eq!(card.effort.unwrap().journeys, 0);
    assert_eq!(card.loyalty.unwrap().customers, 0);
}

#[sqlx::test]
async fn weekly_trends_keep_empty_buckets(pool: PgPool) {
    let app = spawn_app(pool).await;
    // Monday 2026-10-05 .. Monday 2026-10-26: three weeks, data in the first
    // and the last.
    rate(
        &app,
        &[
            group(
                "w1",
                RespondentRole::Customer,
                (10, 3),
                "2026-10-06T09:00:00Z",
            ),
            group(
                "w3",
                RespondentRole::Customer,
                (20, 15),
                "2026-10-21T09:00:00Z",
            ),
        ],
    )
    .await;
    let trend = app
        .scoring()
        .get_trend(GetTrendRequest {
            metric: TrendMetric::FavorableShare as i32,
            bucket: TrendBucket::Week as i32,
            filter: window("2026-10-05T00:00:00Z", "2026-10-26T00:00:00Z"),
            question: "overall_experience".into(),
            role: RespondentRole::Customer as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let starts: Vec<i64> = trend
        .points
        .iter()
        .map(|p| p.bucket_start.unwrap().seconds)
        .collect();
    assert_eq!(
        starts,
        [
            ts("2026-10-05T00:00:00Z").seconds,
            ts("2026-10-12T00:00:00Z").seconds,
            ts("2026-10-19T00:00:00Z").seconds
        ]
    );
    let sizes: Vec<i64> = trend.points.iter().map(|p| p.sample_size).collect();
    assert_eq!(sizes, [10, 0, 20]);
    assert_eq!(trend.points[0].value, Some(0.3));
    assert_eq!(trend.points[1].value, None);
    assert!(trend.points[1].interval.is_none());
    assert_eq!(trend.points[2].value, Some(0.75));
    let ci = trend.points[2].interval.unwrap();
    assert!(ci.lower < 0.75 && 0.75 < ci.upper);

    // A week starts on Monday even when the window starts mid-week, and the
    // first bucket counts only the window's part of it.
    let trend = app
        .scoring()
        .get_trend(GetTrendRequest {
            metric: TrendMetric::FavorableShare as i32,
            bucket: TrendBucket::Week as i32,
            filter: window("2026-10-07T00:00:00Z", "2026-10-13T00:00:00Z"),
            question: "overall_experience".into(),
            role: RespondentRole::Customer as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(trend.points.len(), 2);
    assert_eq!(
        trend.points[0].bucket_start.unwrap().seconds,
        ts("2026-10-05T00:00:00Z").seconds
    );
    assert_eq!(
        trend.points[0].sample_size, 0,
        "w1 answered on the 6th, before the window"
    );
}

#[sqlx::test]
async fn monthly_gap_and_effort_trends(pool: PgPool) {
    let app = spawn_app(pool).await;
    rate(
        &app,
        &[
            group(
                "lead",
                RespondentRole::Leadership,
                (10, 8),
                "2026-09-10T10:00:00Z",
            ),
            group(
                "cust",
                RespondentRole::Customer,
                (10, 1),
                "2026-09-12T10:00:00Z",
            ),
        ],
    )
    .await;
    app.data()
        .journeys(vec![card_update_in_october("cust-x")])
        .await;

    let gaps = app
        .scoring()
        .get_trend(GetTrendRequest {
            metric: TrendMetric::GapPoints as i32,
            bucket: TrendBucket::Month as i32,
            filter: window("2026-08-01T00:00:00Z", "2026-11-01T00:00:00Z"),
            question: "overall_experience".into(),
            role: RespondentRole::Leadership as i32,
            to_role: RespondentRole::Customer as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let values: Vec<Option<f64>> = gaps
        .points
        .iter()
        .map(|p| p.value.map(|v| (v * 1e6).round() / 1e6))
        .collect();
    assert_eq!(values, [None, Some(70.0), None]);
    assert_eq!(gaps.points[1].sample_size, 20);

    // The card-update journey starts with the first reminder: in October.
    let effort = app
        .scoring()
        .get_trend(GetTrendRequest {
            metric: TrendMetric::EffortIndexMean as i32,
            bucket: TrendBucket::Month as i32,
            filter: window("2026-08-01T00:00:00Z", "2026-11-01T00:00:00Z"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let sizes: Vec<i64> = effort.points.iter().map(|p| p.sample_size).collect();
    assert_eq!(sizes, [0, 0, 1]);
    assert_eq!(effort.points[2].value, Some(90.0));
}

#[sqlx::test]
async fn trends_reject_incomplete_requests(pool: PgPool) {
    let app = spawn_app(pool).await;
    assert_eq!(
        refused_at(app.scoring().get_trend(GetTrendRequest {
            metric: TrendMetric::CesMean as i32,
            ..Default::default()
        }))
        .await,
        ["bucket", "filter.start_time", "filter.end_time"]
    );
    let err = app
        .scoring()
        .get_trend(GetTrendRequest {
            metric: TrendMetric::FavorableShare as i32,
            bucket: TrendBucket::Day as i32,
            filter: window("2020-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
            question: "overall_experience".into(),
            role: RespondentRole::Customer as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violation_fields(&err),
        ["filter"],
        "more than 1,000 daily buckets"
    );
}

#[sqlx::test]
async fn scorecards_and_trends_are_isolated_between_tenants(pool: PgPool) {
    let app = spawn_app(pool).await;
    let other = app.add_tenant("globex").await;
    rate(
        &app,
        &[
            group(
                "lead",
                RespondentRole::Leadership,
                (10, 8),
                "2026-10-01T10:00:00Z",
            ),
            group(
                "cust",
                RespondentRole::Customer,
                (10, 1),
                "2026-10-01T10:00:00Z",
            ),
        ],
    )
    .await;
    let theirs = app
        .scoring_as(Some(&other))
        .get_scorecard(GetScorecardRequest { filter: None })
        .await
        .unwrap()
        .into_inner();
    assert!(theirs.delivery_gap.is_none());
    assert_eq!(theirs.loyalty.unwrap().customers, 0);
    let trend = app
        .scoring_as(Some(&other))
        .get_trend(GetTrendRequest {
            metric: TrendMetric::CesMean as i32,
            bucket: TrendBucket::Month as i32,
            filter: window("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(trend.points.len(), 1);
    assert_eq!(trend.points[0].sample_size, 0);
}

/// The scorecard's parts together need more connection permits than a
/// tenant's budget (4) holds, so it runs them in stages that each fit.
/// Here the first stage's reads are held on a table lock for longer than
/// the acquire timeout: had every part started at once, the last ones
/// would have waited that long for permits and the call failed
/// RESOURCE_EXHAUSTED on its own; staged, it is answered once the lock
/// goes.
#[sqlx::test]
async fn a_slow_scorecard_stays_within_its_own_connection_budget(pool: PgPool) {
    let app = crate::helpers::spawn_app_with(pool, |a| {
        a.db_max_connections = 10;
        a.tenant_max_db_connections = 4;
        a.db_acquire_timeout_ms = 300;
    })
    .await;
    rate(
        &app,
        &[group(
            "cust",
            RespondentRole::Customer,
            (10, 3),
            "2026-10-02T10:00:00Z",
        )],
    )
    .await;
    let mut lock = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE gap_daily, framed_answers IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let mut scoring = app.scoring();
    let call = tokio::spawn(async move {
        scoring
            .get_scorecard(GetScorecardRequest { filter: None })
            .await
    });
    // Both gap reads wait on the lock, then longer than the acquire timeout.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if waiting >= 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reads never reached the lock"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    lock.rollback().await.unwrap();
    let card = call
        .await
        .unwrap()
        .expect("the scorecard is answered within its budget")
        .into_inner();
    let ces = card.customer_ces.as_ref().map(|c| c.responses);
    assert_eq!(ces, Some(10), "{card:?}");
    let nps = card.customer_nps.as_ref().map(|n| n.respondents);
    assert_eq!(nps, Some(10), "{card:?}");
}
