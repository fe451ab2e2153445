//! ScoringService.GetEffortIndex (SPEC §6), and the SQL effort expressions
//! checked against the pure scoring functions.
//!
//! Journeys and answers are submitted through the API; only the comparison
//! of the SQL expressions with the pure functions writes journey rows
//! directly, with arbitrary components no request could produce.

use gapscore::proto::v1::{
    Channel as ChannelValue, DeleteCustomerDataRequest, EffortSummary, GetEffortIndexRequest,
    GetEffortIndexResponse, RespondentRole, ScoreFilter,
};
use gapscore::service::tiers::recompute_pending;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::{PgPool, Row};
use tonic::Code;

use crate::helpers::{
    TestApp, at, card_update, easy,
    internals::{
        ChannelSums, EffortComponents, EffortModel, EffortSums, EffortWeights, Scope, ScoringTier,
        TenantId, Window, channel_sums_raw, channel_sums_rollup, create_tenant, ease_histogram_raw,
        ease_histogram_rollup, effort_breakdown, effort_index_sql, effort_points_sql,
        effort_tier_sql, get_scoring_model, journey_sums_kept, journey_sums_raw, rollup,
        wilson_interval,
    },
    journey_from, refused_at, spawn_app,
    sql::insert_journey_components,
    stuck, ts, two_calls, window,
};

async fn effort(app: &TestApp, filter: Option<ScoreFilter>) -> GetEffortIndexResponse {
    app.scoring()
        .get_effort_index(GetEffortIndexRequest {
            filter,
            confidence_level: None,
        })
        .await
        .expect("GetEffortIndex")
        .into_inner()
}

/// (component, points) of the drivers, largest first.
fn drivers(s: &EffortSummary) -> Vec<(&str, f64)> {
    s.drivers
        .iter()
        .map(|d| (d.component.as_str(), d.points))
        .collect()
}

fn assert_close(actual: f64, expected: f64) {
    crate::helpers::assert_rel_close(actual, expected, 1e-9);
}

/// Random components within ingest's limits (200 touchpoints, 50 transfers
/// each, 86,400 s per duration and wait).
fn random_components(rng: &mut StdRng) -> EffortComponents {
    // Biased towards short journeys, so every tier is well represented.
    let n = if rng.random_bool(0.4) {
        rng.random_range(0..=1)
    } else {
        rng.random_range(0..=12)
    };
    let up_to_n = |rng: &mut StdRng| {
        if n == 0 || rng.random_bool(0.5) {
            0
        } else {
            rng.random_range(0..=n)
        }
    };
    EffortComponents {
        customer_touchpoints: n,
        distinct_channels: up_to_n(rng).max(i32::from(n > 0)),
        channel_switches: up_to_n(rng),
        failed_self_service: up_to_n(rng),
        transfers: if rng.random_bool(0.6) {
            0
        } else {
            rng.random_range(0..=60)
        },
        repeated_information: up_to_n(rng),
        customer_seconds: match rng.random_range(0..4) {
            0 => rng.random_range(0..=300),
            1 => rng.random_range(300..=4_000),
            2 => rng.random_range(0..=200_000),
            _ => rng.random_range(0..=60) * 60,
        },
        resolved: rng.random_bool(0.7),
        first_customer_resolved: rng.random_bool(0.3),
        has_assisted: rng.random_bool(0.5),
        first_assisted_resolved: rng.random_bool(0.5),
    }
}

#[sqlx::test]
async fn sql_effort_expressions_equal_the_pure_breakdown(pool: PgPool) {
    let (tenant, _) = create_tenant(&pool, "acme").await;
    let mut rng = StdRng::seed_from_u64(0x6a70);
    let mut rows = Vec::new();
    for i in 0..500 {
        let c = random_components(&mut rng);
        insert_journey_components(&pool, tenant, &format!("j{i:04}"), &c).await;
        rows.push(c);
    }
    let custom = EffortModel {
        weights: EffortWeights {
            extra_contact: 7.3,
            channel_switch: 0.1,
            failed_self_service: 12.25,
            transfer: 0.0,
            repeated_information: 3.7,
            free_minutes: 2.5,
            minute: 0.37,
            time_cap: 41.3,
            unresolved: 44.4,
        },
        low_effort_below: 12.5,
        high_effort_from: 33.3,
    };
    let tier_of = |t: ScoringTier| match t {
        ScoringTier::Low => 1,
        ScoringTier::Medium => 2,
        ScoringTier::High => 3,
    };
    for model in [EffortModel::default(), custom] {
        let points = effort_points_sql("j", &model).join(", ");
        let index = effort_index_sql("j", &model);
        let sql = format!(
            "SELECT ARRAY[{points}] AS points, {index} AS effort_index, {tier} AS tier
             FROM journeys j WHERE j.tenant_id = $1 ORDER BY j.id",
            tier = effort_tier_sql(&index, &model)
        );
        let got = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0)
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(got.len(), rows.len());
        let mut tiers = [0; 3];
        for (row, c) in got.iter().zip(&rows) {
            let b = effort_breakdown(c, &model);
            let want = [
                b.extra_contacts,
                b.channel_switches,
                b.failed_self_service,
                b.transfers,
                b.repeated_information,
                b.customer_time,
                b.unresolved,
            ];
            let points: Vec<f64> = row.get("points");
            assert_eq!(points, want, "points of {c:?}");
            let index: f64 = row.get("effort_index");
            assert_eq!(index, b.effort_index, "index of {c:?}");
            let tier: i32 = row.get("tier");
            assert_eq!(tier, tier_of(b.tier), "tier of {c:?}");
            tiers[tier as usize - 1] += 1;
        }
        // The sample exercises every tier, and the cap at 100.
        assert!(tiers.iter().all(|&n| n > 10), "{tiers:?}");
        assert!(
            rows.iter()
                .any(|c| effort_breakdown(c, &model).raw_total > 100.0)
        );
    }
}

#[sqlx::test]
async fn the_card_update_journey_scores_90_with_a_100_point_hidden_effort_gap(pool: PgPool) {
    let app = spawn_app(pool).await;
    let card = journey_from("j1", "cust-1", "2026-01-10T09:00:00Z", &card_update());
    app.data().journeys(vec![card]).await;
    let r = effort(&app, None).await;
    assert_eq!(r.confidence_level, 0.95);
    let s = r.summary.unwrap();
    assert_eq!((s.journeys, s.customers), (1, 1));
    assert_eq!(
        (s.effort_index_mean, s.effort_index_p50, s.effort_index_p90),
        (90.0, 90.0, 90.0)
    );
    assert_eq!((s.high_effort_journeys, s.high_effort_share), (1, 1.0));
    let ci = s.high_effort_share_ci.unwrap();
    let want = wilson_interval(1, 1, 0.95).unwrap();
    assert_eq!((ci.lower, ci.upper), (want.lower, want.upper));
    assert_eq!((s.low_effort_journeys, s.low_effort_share), (0, 0.0));
    assert_eq!(s.mean_customer_contacts, 3.0);
    assert_eq!(s.mean_channel_switches, 2.0);
    assert_eq!(s.mean_customer_minutes, 45.0);
    assert_eq!(s.unresolved_share, 0.0);
    assert_eq!(
        drivers(&s),
        [
            ("extra_contacts", 30.0),
            ("channel_switches", 20.0),
            ("failed_self_service", 20.0),
            ("customer_time", 20.0),
        ]
    );
    assert_close(s.drivers[0].share, 30.0 / 90.0);
    // The contact centre sees a first-contact resolution; the customer
    // made three attempts.
    assert_eq!(s.assisted_journeys, 1);
    assert_eq!(s.company_fcr_rate, 1.0);
    assert_eq!(s.one_touch_rate, 0.0);
    assert_eq!(s.hidden_effort_gap_points, 100.0);

    // Customer touchpoints only: the reminder e-mails are not effort.
    let channels: Vec<_> = r
        .by_channel
        .iter()
        .map(|c| {
            (
                c.channel,
                c.touchpoints,
                c.unresolved_share,
                c.mean_wait_seconds,
            )
        })
        .collect();
    assert_eq!(
        channels,
        [
            (ChannelValue::Web as i32, 1, 1.0, 0.0),
            (ChannelValue::Ivr as i32, 1, 1.0, 0.0),
            (ChannelValue::Phone as i32, 1, 0.0, 480.0),
        ]
    );
    let ces = r.survey_effort.unwrap();
    assert_eq!(ces.responses, 0);
}

#[sqlx::test]
async fn aggregates_match_hand_checked_values_and_postgres(pool: PgPool) {
    let app = spawn_app(pool).await;
    let d = app.data();
    d.journey("j1", "ann", "2026-01-10T09:00:00Z", &card_update())
        .await;
    d.journey("j2", "bob", "2026-01-11T09:00:00Z", &easy())
        .await;
    d.journey("j3", "bob", "2026-01-12T09:00:00Z", &stuck())
        .await;
    d.journey("j4", "cat", "2026-01-13T09:00:00Z", &easy())
        .await;
    d.journey("j5", "dan", "2026-01-14T09:00:00Z", &two_calls(1))
        .await;
    // Indexes 90, 0, 67.5, 0, 28.5.
    let r = app
        .scoring()
        .get_effort_index(GetEffortIndexRequest {
            filter: window("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
            confidence_level: Some(0.9),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.confidence_level, 0.9);
    let s = r.summary.unwrap();
    assert_eq!((s.journeys, s.customers), (5, 4));
    assert_close(s.effort_index_mean, (90.0 + 67.5 + 28.5) / 5.0);
    // Sorted 0, 0, 28.5, 67.5, 90: p50 = 28.5; p90 at 3.6 → 67.5 + 0.6 × 22.5.
    assert_eq!(s.effort_index_p50, 28.5);
    assert_close(s.effort_index_p90, 81.0);
    let (p50, p90): (f64, f64) = sqlx::query_as(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x),
                percentile_cont(0.9) WITHIN GROUP (ORDER BY x)
         FROM unnest(ARRAY[90, 0, 67.5, 0, 28.5]::float8[]) x",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((s.effort_index_p50, s.effort_index_p90), (p50, p90));
    assert_eq!((s.high_effort_journeys, s.low_effort_journeys), (2, 2));
    assert_eq!((s.high_effort_share, s.low_effort_share), (0.4, 0.4));
    let ci = s.high_effort_share_ci.unwrap();
    let want = wilson_interval(2, 5, 0.9).unwrap();
    assert_eq!((ci.lower, ci.upper), (want.lower, want.upper));
    assert_close(s.mean_customer_contacts, (3 + 1 + 2 + 1 + 2) as f64 / 5.0);
    assert_close(s.mean_channel_switches, 2.0 / 5.0);
    assert_close(s.mean_customer_minutes, (45 + 3 + 10 + 3 + 12) as f64 / 5.0);
    assert_close(s.unresolved_share, 0.2);
    // Points: extra 30 + 15 + 15 = 60; failed self-service 20 + 20 = 40;
    // unresolved 30; time 20 + 2.5 + 3.5 = 26; switches 20; transfers 10.
    assert_eq!(
        drivers(&s),
        [
            ("extra_contacts", 60.0),
            ("failed_self_service", 40.0),
            ("unresolved", 30.0),
            ("customer_time", 26.0),
            ("channel_switches", 20.0),
            ("transfers", 10.0),
        ]
    );
    assert_close(s.drivers.iter().map(|d| d.share).sum(), 1.0);
    assert_close(s.drivers[0].share, 60.0 / 186.0);
    // Assisted: card update (first assisted resolved) and two calls (not).
    assert_eq!(s.assisted_journeys, 2);
    assert_eq!(s.company_fcr_rate, 0.5);
    // One-touch: the two easy journeys.
    assert_eq!(s.one_touch_rate, 0.4);
    assert_close(s.hidden_effort_gap_points, 10.0);

    let channels: Vec<_> = r
        .by_channel
        .iter()
        .map(|c| (c.channel, c.touchpoints, c.unresolved_share))
        .collect();
    assert_eq!(
        channels,
        [
            (ChannelValue::Web as i32, 5, 0.6),
            (ChannelValue::Ivr as i32, 1, 1.0),
            (ChannelValue::Phone as i32, 3, 1.0 / 3.0),
        ]
    );
    assert_close(r.by_channel[2].mean_wait_seconds, 160.0);
}

#[sqlx::test]
async fn filters_scope_journeys_by_window_labels_and_intent(pool: PgPool) {
    let app = spawn_app(pool).await;
    let d = app.data();
    let day = |d: u32| format!("2026-03-{d:02}T12:00:00Z");
    let eu_pro = [("region", "eu"), ("plan", "pro")];
    let pay = ("a", "c1", "update_payment_method");
    d.journey_with(pay, &eu_pro, &day(1), &card_update()).await;
    d.journey_with(("b", "c2", "cancel"), &[("region", "eu")], &day(2), &easy())
        .await;
    d.journey_with(
        ("c", "c3", "cancel"),
        &[("region", "us")],
        &day(3),
        &stuck(),
    )
    .await;
    let journeys = |r: GetEffortIndexResponse| r.summary.unwrap().journeys;

    // The window is half-open and places journeys by their first touchpoint.
    let r = effort(&app, window("2026-03-01T12:00:00Z", "2026-03-03T12:00:00Z")).await;
    assert_eq!(journeys(r), 2);
    let labels = crate::helpers::labels;
    assert_eq!(journeys(effort(&app, labels(&[("region", "eu")])).await), 2);
    assert_eq!(
        journeys(effort(&app, labels(&[("region", "eu"), ("plan", "pro")])).await),
        1
    );
    assert_eq!(journeys(effort(&app, labels(&[("region", "ap")])).await), 0);
    let cancel = Some(ScoreFilter {
        intent: "cancel".into(),
        ..Default::default()
    });
    let r = effort(&app, cancel).await;
    let s = r.summary.unwrap();
    assert_eq!((s.journeys, s.customers), (2, 2));
    assert_eq!(s.effort_index_mean, 67.5 / 2.0);
    // by_channel follows the same scope.
    assert_eq!(r.by_channel.len(), 1);
    assert_eq!(r.by_channel[0].touchpoints, 3);
}

#[sqlx::test]
async fn survey_effort_comes_from_customer_ease_answers_in_scope(pool: PgPool) {
    let app = spawn_app(pool).await;
    use RespondentRole::{Customer, Leadership, Staff};
    let d = app.data();
    let eu: &[(&str, &str)] = &[("region", "eu")];
    let none: &[(&str, &str)] = &[];
    let april = "2026-04-02T10:00:00Z";
    // Customers, wave w1: 7, 6, 5, 4, 3, 2 (two of them in region eu).
    for (i, score) in [7, 6, 5, 4, 3, 2].into_iter().enumerate() {
        let labels = if i < 2 { eu } else { none };
        let (id, who) = (format!("r{i}"), format!("c{i}"));
        d.ease_with((&id, Customer, &who), ("w1", labels), april, score)
            .await;
    }
    // Not in scope: staff and leadership answers, an answer outside the
    // window, another wave.
    d.ease_with(("s1", Staff, ""), ("w1", none), april, 1).await;
    d.ease_with(("l1", Leadership, ""), ("w1", none), april, 1)
        .await;
    let march = "2026-03-02T10:00:00Z";
    d.ease_with(("old", Customer, "c9"), ("w1", none), march, 1)
        .await;
    let other_wave = "2026-04-03T10:00:00Z";
    d.ease_with(("w2", Customer, "c8"), ("w2", none), other_wave, 1)
        .await;

    let filter = |survey: &str, labels: Option<(&str, &str)>| {
        Some(ScoreFilter {
            start_time: Some(ts("2026-04-01T00:00:00Z")),
            end_time: Some(ts("2026-05-01T00:00:00Z")),
            survey_id: survey.into(),
            labels: labels
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        })
    };
    let r = effort(&app, filter("w1", None)).await;
    let ces = r.survey_effort.unwrap();
    assert_eq!(ces.responses, 6);
    assert_close(ces.mean, 27.0 / 6.0);
    assert_close(ces.low_effort_share, 0.5);
    assert_close(ces.high_effort_share, 2.0 / 6.0);
    assert_close(ces.net_ease, (0.5 - 2.0 / 6.0) * 100.0);
    let ci = ces.low_effort_share_ci.unwrap();
    let want = wilson_interval(3, 6, 0.95).unwrap();
    assert_eq!((ci.lower, ci.upper), (want.lower, want.upper));
    let ci = ces.high_effort_share_ci.unwrap();
    let want = wilson_interval(2, 6, 0.95).unwrap();
    assert_eq!((ci.lower, ci.upper), (want.lower, want.upper));

    // Without a survey filter the other wave counts too.
    let r = effort(&app, filter("", None)).await;
    assert_eq!(r.survey_effort.unwrap().responses, 7);
    // Labels scope the responses.
    let r = effort(&app, filter("w1", Some(("region", "eu")))).await;
    let ces = r.survey_effort.unwrap();
    assert_eq!((ces.responses, ces.mean, ces.net_ease), (2, 6.5, 100.0));
}

fn assert_all_finite(r: &GetEffortIndexResponse) {
    let s = r.summary.as_ref().unwrap();
    let c = r.survey_effort.as_ref().unwrap();
    for x in [
        s.effort_index_mean,
        s.effort_index_p50,
        s.effort_index_p90,
        s.high_effort_share,
        s.low_effort_share,
        s.mean_customer_contacts,
        s.mean_channel_switches,
        s.mean_customer_minutes,
        s.unresolved_share,
        s.company_fcr_rate,
        s.one_touch_rate,
        s.hidden_effort_gap_points,
        c.mean,
        c.low_effort_share,
        c.high_effort_share,
        c.net_ease,
    ] {
        assert!(x.is_finite() && x == 0.0, "{x} in {r:?}");
    }
}

#[sqlx::test]
async fn an_empty_window_reports_zeros_without_intervals(pool: PgPool) {
    let app = spawn_app(pool).await;
    let d = app.data();
    d.journey("j1", "c1", "2026-01-10T09:00:00Z", &card_update())
        .await;
    d.ease("r1", "c1", "2026-01-10T10:00:00Z", 2).await;
    let r = effort(&app, window("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z")).await;
    let s = r.summary.as_ref().unwrap();
    assert_eq!((s.journeys, s.customers, s.assisted_journeys), (0, 0, 0));
    assert_eq!(s.high_effort_share_ci, None);
    assert!(s.drivers.is_empty());
    assert!(r.by_channel.is_empty());
    let c = r.survey_effort.as_ref().unwrap();
    assert_eq!(c.responses, 0);
    assert_eq!(
        (c.low_effort_share_ci, c.high_effort_share_ci),
        (None, None)
    );
    assert_all_finite(&r);
    // A tenant with no data at all.
    let other = app.add_tenant("empty").await;
    let r = app
        .scoring_as(Some(&other))
        .get_effort_index(GetEffortIndexRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_all_finite(&r);
}

#[sqlx::test]
async fn a_changed_scoring_model_changes_the_scores(pool: PgPool) {
    let app = spawn_app(pool).await;
    let d = app.data();
    d.journey("j1", "c1", "2026-01-10T09:00:00Z", &card_update())
        .await;
    d.journey("j2", "c2", "2026-01-11T09:00:00Z", &two_calls(0))
        .await;
    let s = effort(&app, None).await.summary.unwrap();
    assert_eq!((s.high_effort_journeys, s.low_effort_journeys), (1, 1));
    assert_eq!(s.effort_index_mean, (90.0 + 18.5) / 2.0);

    app.update_scoring_model(|model| {
        let weights = model.weights.as_mut().unwrap();
        weights.extra_contact = 5.0;
        weights.minute = 1.0;
        model.high_effort_from = 95.0;
        model.low_effort_below = 10.0;
        model.confidence_level = 0.8;
    })
    .await;
    // Card update: 10 + 20 + 20 + min(30, 40 × 1) = 80 → MEDIUM;
    // two calls: 5 + 7 = 12 → MEDIUM.
    let r = effort(&app, None).await;
    assert_eq!(r.confidence_level, 0.8);
    let s = r.summary.unwrap();
    assert_eq!(
        (s.high_effort_journeys, s.low_effort_journeys),
        (0, 0),
        "{s:?}"
    );
    assert_eq!(s.effort_index_mean, (80.0 + 12.0) / 2.0);
    assert_close(s.effort_index_p90, 12.0 + 0.9 * 68.0);
    assert_eq!(
        drivers(&s),
        [
            ("customer_time", 37.0),
            ("channel_switches", 20.0),
            ("failed_self_service", 20.0),
            ("extra_contacts", 15.0),
        ]
    );
}

#[sqlx::test]
async fn invalid_requests_name_their_fields(pool: PgPool) {
    let app = spawn_app(pool).await;
    assert_eq!(
        refused_at(app.scoring().get_effort_index(GetEffortIndexRequest {
            filter: Some(ScoreFilter {
                start_time: Some(ts("2026-02-01T00:00:00Z")),
                end_time: Some(ts("2026-01-01T00:00:00Z")),
                intent: "Not An Intent".into(),
                ..Default::default()
            }),
            confidence_level: None,
        }))
        .await,
        ["filter.end_time", "filter.intent"]
    );
    assert_eq!(
        refused_at(app.scoring().get_effort_index(GetEffortIndexRequest {
            filter: None,
            confidence_level: Some(0.9999),
        }))
        .await,
        ["confidence_level"]
    );
    let err = app
        .scoring_as(None)
        .get_effort_index(GetEffortIndexRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}

#[sqlx::test]
async fn tenants_see_only_their_own_effort(pool: PgPool) {
    let app = spawn_app(pool).await;
    let other_key = app.add_tenant("globex").await;
    let (mine, theirs) = (app.data(), app.data_as(&other_key));
    mine.journey("j1", "c1", "2026-01-10T09:00:00Z", &card_update())
        .await;
    mine.ease("r1", "c1", "2026-01-10T10:00:00Z", 2).await;
    // The same ids in the other tenant, with other data.
    theirs
        .journey("j1", "c1", "2026-01-10T09:00:00Z", &easy())
        .await;
    theirs
        .journey("j2", "c2", "2026-01-10T09:00:00Z", &easy())
        .await;
    theirs.ease("r1", "c1", "2026-01-10T10:00:00Z", 7).await;

    let mine = effort(&app, None).await;
    let s = mine.summary.unwrap();
    assert_eq!((s.journeys, s.effort_index_mean), (1, 90.0));
    assert_eq!(mine.survey_effort.unwrap().mean, 2.0);
    assert_eq!(mine.by_channel.len(), 3);

    let theirs = app
        .scoring_as(Some(&other_key))
        .get_effort_index(GetEffortIndexRequest::default())
        .await
        .unwrap()
        .into_inner();
    let s = theirs.summary.unwrap();
    assert_eq!((s.journeys, s.effort_index_mean), (2, 0.0));
    assert_eq!(theirs.survey_effort.unwrap().mean, 7.0);
    assert_eq!(theirs.by_channel.len(), 1);
}

// ------------------------------------------------- rollups == raw rows

/// Windows over the five days from 2026-05-01 the histories below write:
/// open, aligned, unaligned, half-open, inside one day, across midnight.
fn rollup_windows() -> Vec<Window> {
    let b = at("2026-05-01T00:00:00Z");
    let h = chrono::Duration::hours;
    [
        (None, None),
        (Some(b), Some(b + chrono::Duration::days(5))),
        (Some(b + h(7)), Some(b + h(77))),
        (
            Some(b + chrono::Duration::days(1)),
            Some(b + chrono::Duration::days(3)),
        ),
        (Some(b + h(30)), None),
        (None, Some(b + h(50))),
        (Some(b + h(49)), Some(b + h(53))),
        (Some(b + h(23)), Some(b + h(25))),
    ]
    .into_iter()
    .map(|(start, end)| Window { start, end })
    .collect()
}

/// Asserts that the journey figures kept per journey and in their rollup
/// (`store::journey_efforts`) are the raw query's, to the last bit: counts,
/// distinct customers, percentiles (`percentile_cont` over the journeys
/// against the rank lookup) and the float sums (both exact in `numeric`).
fn assert_journey_sums_equal(kept: &(EffortSums, i64), raw: &(EffortSums, i64), context: &str) {
    assert_eq!(kept, raw, "{context}: kept rows against the journeys");
}

/// Asserts, for every window (and for the ease histogram every survey),
/// that the channel sums from `effort_daily` plus raw edge days equal the
/// raw join, the ease histogram from `gap_daily` plus raw edge days
/// equals the raw answers, and the journey figures from `journey_efforts`
/// and their rollup equal the raw query over the journeys (the tenant's
/// recompute pass has ended, so the kept rows must answer every window);
/// returns how many non-empty results it compared.
async fn assert_effort_rollups_exact(pool: &PgPool, tenant: TenantId, context: &str) -> usize {
    let mut conn = pool.acquire().await.unwrap();
    let mut compared = 0;
    let (model, etag) = get_scoring_model(pool, tenant).await.unwrap();
    let effort_model = model.effort_model();
    for window in rollup_windows() {
        let scope = Scope {
            window,
            ..Scope::default()
        };
        let kept = journey_sums_kept(&mut conn, tenant, &scope, &etag)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{context}: the kept rows answer window {window:?}"));
        let raw = journey_sums_raw(&mut conn, tenant, &scope, &effort_model)
            .await
            .unwrap();
        assert_journey_sums_equal(&kept, &raw, &format!("{context}, window {window:?}"));
        compared += usize::from(raw.0.journeys > 0);
        let rolled: Vec<ChannelSums> = channel_sums_rollup(&mut conn, tenant, &scope)
            .await
            .unwrap();
        let raw = channel_sums_raw(&mut conn, tenant, &scope).await.unwrap();
        assert_eq!(rolled, raw, "{context}: channels, window {window:?}");
        compared += usize::from(!raw.is_empty());
        for survey in [None, Some("w1")] {
            let scope = Scope {
                survey_id: survey.map(str::to_owned),
                ..scope.clone()
            };
            let rolled = ease_histogram_rollup(&mut conn, tenant, &scope)
                .await
                .unwrap();
            let raw = ease_histogram_raw(&mut conn, tenant, &scope).await.unwrap();
            assert_eq!(
                rolled, raw,
                "{context}: ease, window {window:?}, {survey:?}"
            );
            compared += usize::from(!raw.is_empty());
        }
    }
    compared
}

/// Random histories of journeys submitted, re-sent changed (other
/// touchpoints, another start day, another customer), erased and folded,
/// with `ease` answers alongside: after every step the rollup paths of the
/// effort report equal the raw rows, for aligned and unaligned windows,
/// before and after compaction. The report itself (rollup path) then
/// equals the same report with a label filter that matches every record
/// (raw path).
#[sqlx::test]
async fn effort_rollups_equal_the_raw_rows_under_random_histories(pool: PgPool) {
    // The test folds by itself, at chosen moments.
    let app =
        crate::helpers::spawn_app_with(pool.clone(), |a| a.rollup_compact_interval_ms = 86_400_000)
            .await;
    let d = app.data();
    let mut rng = StdRng::seed_from_u64(0xeff0);
    let shapes = [card_update(), easy(), stuck(), two_calls(1), two_calls(0)];
    let customers = ["c0", "c1", "c2", "c3"];
    let start = |rng: &mut StdRng| {
        let minute = rng.random_range(0..5 * 24 * 60);
        (at("2026-05-01T00:00:00Z") + chrono::Duration::minutes(minute)).to_rfc3339()
    };
    let all = [("all", "yes")];
    let mut compared = 0;
    // The tenant's first pass records its model as complete for the kept
    // rows (`assessed_under`); every write keeps them from then on.
    recompute_pending(&pool, 500).await.unwrap();
    let mut weight = 15.0;
    for step in 0..48 {
        match rng.random_range(0..11) {
            0..=5 => {
                // A new journey or a changed re-send of one (ids repeat).
                let id = format!("j{}", rng.random_range(0..12));
                let customer = customers[rng.random_range(0..customers.len())];
                let shape = &shapes[rng.random_range(0..shapes.len())];
                d.journey_with((&id, customer, "x"), &all, &start(&mut rng), shape)
                    .await;
            }
            6 | 7 => {
                let id = format!("r{}", rng.random_range(0..12));
                let customer = customers[rng.random_range(0..customers.len())];
                let survey = if rng.random_bool(0.5) { "w1" } else { "w2" };
                let score = rng.random_range(1..=7);
                d.ease_with(
                    (&id, RespondentRole::Customer, customer),
                    (survey, &all),
                    &start(&mut rng),
                    score,
                )
                .await;
            }
            8 => {
                let customer = customers[rng.random_range(0..customers.len())];
                app.customers()
                    .delete_customer_data(DeleteCustomerDataRequest {
                        customer_id: customer.into(),
                    })
                    .await
                    .expect("erasure accepted");
            }
            9 => {
                // Another model: the kept rows answer again once the
                // recompute pass has rewritten them under it.
                weight += 2.5;
                app.update_scoring_model(|model| {
                    model.weights.as_mut().unwrap().extra_contact = weight;
                    model.high_effort_from = 40.0 + weight;
                })
                .await;
                recompute_pending(&pool, 2).await.unwrap();
            }
            _ => {
                rollup::compact(&pool, app.tenant).await.unwrap();
            }
        }
        compared += assert_effort_rollups_exact(&pool, app.tenant, &format!("step {step}")).await;
    }
    assert!(compared > 100, "the histories compared data: {compared}");
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM effort_daily WHERE NOT compacted")
        .fetch_one(&pool)
        .await
        .unwrap();
    let folded = rollup::compact(&pool, app.tenant).await.unwrap();
    assert!(pending == 0 || folded > 0, "pending deltas fold");
    assert_effort_rollups_exact(&pool, app.tenant, "compacted").await;

    // Through the API: the rollup path (no labels) against the raw path (a
    // label every record has), for every window.
    for window in rollup_windows() {
        let filter = |labels: bool| ScoreFilter {
            start_time: window.start.map(crate::helpers::timestamp),
            end_time: window.end.map(crate::helpers::timestamp),
            labels: if labels {
                crate::helpers::label_map(&all)
            } else {
                Default::default()
            },
            ..Default::default()
        };
        let rolled = effort(&app, Some(filter(false))).await;
        let raw = effort(&app, Some(filter(true))).await;
        assert_eq!(rolled.by_channel, raw.by_channel, "window {window:?}");
        assert_eq!(rolled.survey_effort, raw.survey_effort, "window {window:?}");
        assert_eq!(rolled.summary, raw.summary, "window {window:?}");
    }
}

/// The erasure of a customer whose journeys were re-sent takes exactly
/// their current touchpoints out of the channel rollup, and a re-send that
/// moves a journey to another day moves its touchpoints with it.
#[sqlx::test]
async fn a_resend_to_another_day_and_an_erasure_move_the_channel_rollup(pool: PgPool) {
    let app =
        crate::helpers::spawn_app_with(pool.clone(), |a| a.rollup_compact_interval_ms = 86_400_000)
            .await;
    // The kept journey rows answer once the tenant's first pass ended.
    recompute_pending(&pool, 500).await.unwrap();
    let d = app.data();
    d.journey("j1", "ann", "2026-05-01T10:00:00Z", &card_update())
        .await;
    d.journey("j2", "bob", "2026-05-02T10:00:00Z", &easy())
        .await;
    let day = |s: &str| Scope {
        window: Window {
            start: Some(at(s)),
            end: Some(at(s) + chrono::Duration::days(1)),
        },
        ..Scope::default()
    };
    let touchpoints = |pool: PgPool, scope: Scope| async move {
        let mut conn = pool.acquire().await.unwrap();
        let rows = channel_sums_rollup(&mut conn, app.tenant, &scope)
            .await
            .unwrap();
        rows.iter().map(|c| c.touchpoints).sum::<i64>()
    };
    assert_eq!(
        touchpoints(pool.clone(), day("2026-05-01T00:00:00Z")).await,
        3
    );
    // j1 re-sent: now one touchpoint, on 2026-05-03.
    d.journey("j1", "ann", "2026-05-03T10:00:00Z", &easy())
        .await;
    assert_eq!(
        touchpoints(pool.clone(), day("2026-05-01T00:00:00Z")).await,
        0
    );
    assert_eq!(
        touchpoints(pool.clone(), day("2026-05-03T00:00:00Z")).await,
        1
    );
    rollup::compact(&pool, app.tenant).await.unwrap();
    app.customers()
        .delete_customer_data(DeleteCustomerDataRequest {
            customer_id: "ann".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        touchpoints(pool.clone(), day("2026-05-03T00:00:00Z")).await,
        0
    );
    assert_eq!(touchpoints(pool.clone(), Scope::default()).await, 1);
    rollup::compact(&pool, app.tenant).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM effort_daily")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 1, "bob's one folded row; zero keys dropped");
    assert_effort_rollups_exact(&pool, app.tenant, "after erasure").await;
}
