//! ScoringService.GetEffortIndex (SPEC §6), and the SQL effort expressions
//! checked against the pure scoring functions.
//!
//! Data is written with plain SQL (`data`) the way the journey and survey
//! ingest store it: journeys carry the components computed by
//! `EffortComponents::from_touchpoints` from their real touchpoints.

use gapscore::{
    proto::v1::{
        Channel as ChannelValue, GetEffortIndexRequest, GetEffortIndexResponse,
        GetScoringModelRequest, ScoreFilter, UpdateScoringModelRequest,
    },
    scoring::{
        EffortComponents, EffortModel, EffortTier, effort::EffortWeights, effort_breakdown,
        stats::wilson_interval,
    },
    store::{
        effort_sql::{effort_index_sql, effort_points_sql, effort_tier_sql},
        tenants::TenantId,
    },
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::{PgPool, Row};
use tonic::Code;

use crate::helpers::{TestApp, spawn_app, ts, violation_fields};
use data::*;

/// Test data written with SQL, shared with `loyalty.rs`.
#[allow(dead_code)]
pub mod data {
    use chrono::{DateTime, Duration, Utc};
    use gapscore::{
        grpc::convert::utc_to_timestamp,
        proto::v1,
        scoring::{Channel, EffortComponents, TouchpointInput, TouchpointOutcome},
        store::tenants::TenantId,
    };
    use sqlx::PgPool;

    use crate::helpers::TestApp;

    /// RFC 3339 to UTC.
    pub fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("valid RFC 3339")
            .with_timezone(&Utc)
    }

    /// A customer touchpoint (durations in minutes).
    pub fn customer(
        channel: Channel,
        outcome: TouchpointOutcome,
        minutes: u32,
        wait_minutes: u32,
    ) -> TouchpointInput {
        TouchpointInput {
            channel,
            initiator_customer: true,
            outcome,
            duration_seconds: minutes * 60,
            wait_seconds: wait_minutes * 60,
            transfers: 0,
            repeated_information: false,
        }
    }

    /// A company-initiated touchpoint (a reminder e-mail).
    pub fn company(channel: Channel) -> TouchpointInput {
        TouchpointInput {
            channel,
            initiator_customer: false,
            outcome: TouchpointOutcome::Unspecified,
            duration_seconds: 0,
            wait_seconds: 0,
            transfers: 0,
            repeated_information: false,
        }
    }

    /// SPEC §1 / §6.1: three reminder e-mails; WEB 20 min unresolved, IVR
    /// 10 min unresolved, PHONE 8 min wait + 7 min resolved. Index 90.
    pub fn card_update() -> Vec<TouchpointInput> {
        use TouchpointOutcome::*;
        vec![
            company(Channel::Email),
            company(Channel::Email),
            company(Channel::Email),
            customer(Channel::Web, Unresolved, 20, 0),
            customer(Channel::Ivr, Unresolved, 10, 0),
            customer(Channel::Phone, Resolved, 7, 8),
        ]
    }

    /// One WEB visit that resolves in 3 minutes. Index 0.
    pub fn easy() -> Vec<TouchpointInput> {
        vec![customer(Channel::Web, TouchpointOutcome::Resolved, 3, 0)]
    }

    /// Two abandoned WEB visits, 10 minutes. 15 + 20 + 2.5 + 30 = 67.5.
    pub fn stuck() -> Vec<TouchpointInput> {
        use TouchpointOutcome::*;
        vec![
            customer(Channel::Web, Abandoned, 9, 0),
            customer(Channel::Web, Abandoned, 1, 0),
        ]
    }

    /// Two PHONE calls, the second resolves; 12 minutes.
    /// 15 + 0 + 0 + 3.5 = 18.5 (LOW); with a transfer 28.5 (MEDIUM).
    pub fn two_calls(transfers: u32) -> Vec<TouchpointInput> {
        use TouchpointOutcome::*;
        let mut second = customer(Channel::Phone, Resolved, 6, 0);
        second.transfers = transfers;
        vec![customer(Channel::Phone, Unresolved, 6, 0), second]
    }

    /// `gapscore.v1.Channel` value.
    pub fn channel_value(c: Channel) -> i16 {
        Channel::ALL
            .iter()
            .position(|&x| x == c)
            .expect("a channel") as i16
            + 1
    }

    fn outcome_value(o: TouchpointOutcome) -> i16 {
        match o {
            TouchpointOutcome::Unspecified => 0,
            TouchpointOutcome::Resolved => 1,
            TouchpointOutcome::Unresolved => 2,
            TouchpointOutcome::Abandoned => 3,
        }
    }

    /// Stores a journey the way journey ingest does: touchpoints a minute
    /// apart from `start`, components from `EffortComponents::from_touchpoints`.
    #[allow(clippy::too_many_arguments)]
    pub async fn journey_with(
        pool: &PgPool,
        tenant: TenantId,
        id: &str,
        customer_id: &str,
        intent: &str,
        labels: serde_json::Value,
        start: DateTime<Utc>,
        touchpoints: &[TouchpointInput],
    ) {
        let c = EffortComponents::from_touchpoints(touchpoints);
        let (jid,): (i64,) = sqlx::query_as(
            "INSERT INTO journeys (tenant_id, id, customer_id, intent, labels, started_at, content_hash,
               customer_touchpoints, channel_switches, failed_self_service, transfers,
               repeated_information, customer_seconds, resolved, first_customer_resolved,
               has_assisted, first_assisted_resolved, distinct_channels)
             VALUES ($1, $2, $3, $4, $5, $6, '\\x00', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             RETURNING jid",
        )
        .bind(tenant.0)
        .bind(id)
        .bind(customer_id)
        .bind(intent)
        .bind(labels)
        .bind(start)
        .bind(c.customer_touchpoints)
        .bind(c.channel_switches)
        .bind(c.failed_self_service)
        .bind(c.transfers)
        .bind(c.repeated_information)
        .bind(c.customer_seconds)
        .bind(c.resolved)
        .bind(c.first_customer_resolved)
        .bind(c.has_assisted)
        .bind(c.first_assisted_resolved)
        .bind(c.distinct_channels)
        .fetch_one(pool)
        .await
        .expect("journey stored");
        for (seq, t) in touchpoints.iter().enumerate() {
            sqlx::query(
                "INSERT INTO touchpoints (tenant_id, jid, seq, channel, initiator, occurred_at,
                   duration_seconds, wait_seconds, outcome, transfers, repeated_information)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(tenant.0)
            .bind(jid)
            .bind(seq as i16)
            .bind(channel_value(t.channel))
            .bind(if t.initiator_customer { 1i16 } else { 2 })
            .bind(start + Duration::minutes(seq as i64))
            .bind(t.duration_seconds as i32)
            .bind(t.wait_seconds as i32)
            .bind(outcome_value(t.outcome))
            .bind(t.transfers as i32)
            .bind(t.repeated_information)
            .execute(pool)
            .await
            .expect("touchpoint stored");
        }
    }

    /// A journey without labels, intent `update_payment_method`.
    pub async fn journey(
        pool: &PgPool,
        tenant: TenantId,
        id: &str,
        customer_id: &str,
        start: &str,
        touchpoints: &[TouchpointInput],
    ) {
        journey_with(
            pool,
            tenant,
            id,
            customer_id,
            "update_payment_method",
            serde_json::json!({}),
            at(start),
            touchpoints,
        )
        .await;
    }

    /// Stores a survey response with one `ease` answer. `role` is the
    /// `gapscore.v1.RespondentRole` value (3 CUSTOMER).
    #[allow(clippy::too_many_arguments)]
    pub async fn ease_with(
        pool: &PgPool,
        tenant: TenantId,
        id: &str,
        role: i16,
        respondent: Option<&str>,
        survey_id: Option<&str>,
        labels: serde_json::Value,
        submitted_at: &str,
        score: i32,
    ) {
        let submitted_at = at(submitted_at);
        let (rid,): (i64,) = sqlx::query_as(
            "INSERT INTO survey_responses (tenant_id, id, role, respondent_id, survey_id,
               submitted_at, labels, content_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, '\\x00') RETURNING rid",
        )
        .bind(tenant.0)
        .bind(id)
        .bind(role)
        .bind(respondent)
        .bind(survey_id)
        .bind(submitted_at)
        .bind(labels)
        .fetch_one(pool)
        .await
        .expect("response stored");
        sqlx::query(
            "INSERT INTO answers
                 (tenant_id, rid, question, role, submitted_at, survey_id, score, ordinal)
             VALUES ($1, $2, 'ease', $3, $4, $5, $6, 0)",
        )
        .bind(tenant.0)
        .bind(rid)
        .bind(role)
        .bind(submitted_at)
        .bind(survey_id)
        .bind(score)
        .execute(pool)
        .await
        .expect("answer stored");
    }

    /// A CUSTOMER `ease` answer without labels or survey id.
    pub async fn ease(
        pool: &PgPool,
        tenant: TenantId,
        id: &str,
        customer_id: &str,
        submitted_at: &str,
        score: i32,
    ) {
        ease_with(
            pool,
            tenant,
            id,
            3,
            Some(customer_id),
            None,
            serde_json::json!({}),
            submitted_at,
            score,
        )
        .await;
    }

    /// Stores an outcome; `kind` is the `gapscore.v1.OutcomeKind` value.
    pub async fn outcome(
        pool: &PgPool,
        tenant: TenantId,
        id: &str,
        customer_id: &str,
        kind: i16,
        occurred: bool,
        observed_at: &str,
    ) {
        sqlx::query(
            "INSERT INTO outcomes (tenant_id, id, customer_id, kind, occurred, observed_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.0)
        .bind(id)
        .bind(customer_id)
        .bind(kind)
        .bind(occurred)
        .bind(at(observed_at))
        .execute(pool)
        .await
        .expect("outcome stored");
    }

    /// The `gapscore.v1.Journey` of `touchpoints`, a minute apart from
    /// `start`, intent `update_payment_method`.
    pub fn proto_journey(
        id: &str,
        customer_id: &str,
        start: &str,
        touchpoints: &[TouchpointInput],
    ) -> v1::Journey {
        let start = at(start);
        v1::Journey {
            id: id.into(),
            customer_id: customer_id.into(),
            intent: "update_payment_method".into(),
            touchpoints: touchpoints
                .iter()
                .enumerate()
                .map(|(i, t)| v1::Touchpoint {
                    channel: i32::from(channel_value(t.channel)),
                    initiator: if t.initiator_customer { 1 } else { 2 },
                    occurred_at: Some(utc_to_timestamp(start + Duration::minutes(i as i64))),
                    duration_seconds: t.duration_seconds as i32,
                    wait_seconds: t.wait_seconds as i32,
                    outcome: i32::from(outcome_value(t.outcome)),
                    transfers: t.transfers as i32,
                    repeated_information: t.repeated_information,
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Submits journeys through `JourneyService.SubmitJourneys`.
    pub async fn submit_journeys(app: &TestApp, journeys: Vec<v1::Journey>) {
        app.journeys()
            .submit_journeys(v1::SubmitJourneysRequest { journeys })
            .await
            .expect("SubmitJourneys");
    }

    /// Submits one outcome through `OutcomeService.SubmitOutcomes`; `kind`
    /// is the `gapscore.v1.OutcomeKind` value.
    pub async fn submit_outcome(
        app: &TestApp,
        id: &str,
        customer_id: &str,
        kind: i16,
        occurred: bool,
        observed_at: &str,
    ) {
        app.outcomes()
            .submit_outcomes(v1::SubmitOutcomesRequest {
                outcomes: vec![v1::Outcome {
                    id: id.into(),
                    customer_id: customer_id.into(),
                    kind: i32::from(kind),
                    occurred,
                    observed_at: Some(utc_to_timestamp(at(observed_at))),
                }],
            })
            .await
            .expect("SubmitOutcomes");
    }

    /// The id of a tenant created with `add_tenant`.
    pub async fn tenant_id(pool: &PgPool, name: &str) -> TenantId {
        let t = gapscore::store::tenants::find_tenant(pool, name)
            .await
            .unwrap()
            .expect("tenant exists");
        TenantId(t.tenant_id)
    }
}

fn window(start: &str, end: &str) -> Option<ScoreFilter> {
    Some(ScoreFilter {
        start_time: Some(ts(start)),
        end_time: Some(ts(end)),
        ..Default::default()
    })
}

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

fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "{actual} != {expected}"
    );
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
    let (tenant, _) = gapscore::store::tenants::create_tenant(&pool, "acme")
        .await
        .unwrap();
    let tenant = TenantId(tenant.tenant_id);
    let mut rng = StdRng::seed_from_u64(0x6a70);
    let mut rows = Vec::new();
    for i in 0..500 {
        let c = random_components(&mut rng);
        sqlx::query(
            "INSERT INTO journeys (tenant_id, id, customer_id, intent, started_at, content_hash,
               customer_touchpoints, channel_switches, failed_self_service, transfers,
               repeated_information, customer_seconds, resolved, first_customer_resolved,
               has_assisted, first_assisted_resolved, distinct_channels)
             VALUES ($1, $2, 'c', 'x', now(), '\\x00', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(tenant.0)
        .bind(format!("j{i:04}"))
        .bind(c.customer_touchpoints)
        .bind(c.channel_switches)
        .bind(c.failed_self_service)
        .bind(c.transfers)
        .bind(c.repeated_information)
        .bind(c.customer_seconds)
        .bind(c.resolved)
        .bind(c.first_customer_resolved)
        .bind(c.has_assisted)
        .bind(c.first_assisted_resolved)
        .bind(c.distinct_channels)
        .execute(&pool)
        .await
        .unwrap();
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
    let tier_of = |t: EffortTier| match t {
        EffortTier::Low => 1,
        EffortTier::Medium => 2,
        EffortTier::High => 3,
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
    let card = proto_journey("j1", "cust-1", "2026-01-10T09:00:00Z", &card_update());
    submit_journeys(&app, vec![card]).await;
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
    let drivers: Vec<_> = s
        .drivers
        .iter()
        .map(|d| (d.component.as_str(), d.points))
        .collect();
    assert_eq!(
        drivers,
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
    let (p, t) = (&app.pool, app.tenant);
    journey(p, t, "j1", "ann", "2026-01-10T09:00:00Z", &card_update()).await;
    journey(p, t, "j2", "bob", "2026-01-11T09:00:00Z", &easy()).await;
    journey(p, t, "j3", "bob", "2026-01-12T09:00:00Z", &stuck()).await;
    journey(p, t, "j4", "cat", "2026-01-13T09:00:00Z", &easy()).await;
    journey(p, t, "j5", "dan", "2026-01-14T09:00:00Z", &two_calls(1)).await;
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
    .fetch_one(p)
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
    let drivers: Vec<_> = s
        .drivers
        .iter()
        .map(|d| (d.component.as_str(), d.points))
        .collect();
    assert_eq!(
        drivers,
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
    let (p, t) = (&app.pool, app.tenant);
    let eu_pro = serde_json::json!({"region": "eu", "plan": "pro"});
    let eu = serde_json::json!({"region": "eu"});
    let us = serde_json::json!({"region": "us"});
    let day = |d: u32| at(&format!("2026-03-{d:02}T12:00:00Z"));
    journey_with(
        p,
        t,
        "a",
        "c1",
        "update_payment_method",
        eu_pro,
        day(1),
        &card_update(),
    )
    .await;
    journey_with(p, t, "b", "c2", "cancel", eu, day(2), &easy()).await;
    journey_with(p, t, "c", "c3", "cancel", us, day(3), &stuck()).await;
    let journeys = |r: GetEffortIndexResponse| r.summary.unwrap().journeys;

    // The window is half-open and places journeys by their first touchpoint.
    let r = effort(&app, window("2026-03-01T12:00:00Z", "2026-03-03T12:00:00Z")).await;
    assert_eq!(journeys(r), 2);
    let labels = |pairs: &[(&str, &str)]| {
        Some(ScoreFilter {
            labels: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        })
    };
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
    let (p, t) = (&app.pool, app.tenant);
    let none = serde_json::json!({});
    let eu = serde_json::json!({"region": "eu"});
    // Customers, wave w1: 7, 6, 5, 4, 3, 2 (two of them in region eu).
    for (i, score) in [7, 6, 5, 4, 3, 2].into_iter().enumerate() {
        let labels = if i < 2 { eu.clone() } else { none.clone() };
        let id = format!("r{i}");
        let who = format!("c{i}");
        ease_with(
            p,
            t,
            &id,
            3,
            Some(&who),
            Some("w1"),
            labels,
            "2026-04-02T10:00:00Z",
            score,
        )
        .await;
    }
    // Not in scope: staff and leadership answers, an answer outside the
    // window, another wave.
    ease_with(
        p,
        t,
        "s1",
        2,
        None,
        Some("w1"),
        none.clone(),
        "2026-04-02T10:00:00Z",
        1,
    )
    .await;
    ease_with(
        p,
        t,
        "l1",
        1,
        None,
        Some("w1"),
        none.clone(),
        "2026-04-02T10:00:00Z",
        1,
    )
    .await;
    ease_with(
        p,
        t,
        "old",
        3,
        Some("c9"),
        Some("w1"),
        none.clone(),
        "2026-03-02T10:00:00Z",
        1,
    )
    .await;
    ease_with(
        p,
        t,
        "w2",
        3,
        Some("c8"),
        Some("w2"),
        none,
        "2026-04-03T10:00:00Z",
        1,
    )
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
    journey(
        &app.pool,
        app.tenant,
        "j1",
        "c1",
        "2026-01-10T09:00:00Z",
        &card_update(),
    )
    .await;
    ease(&app.pool, app.tenant, "r1", "c1", "2026-01-10T10:00:00Z", 2).await;
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
    let (p, t) = (&app.pool, app.tenant);
    journey(p, t, "j1", "c1", "2026-01-10T09:00:00Z", &card_update()).await;
    journey(p, t, "j2", "c2", "2026-01-11T09:00:00Z", &two_calls(0)).await;
    let s = effort(&app, None).await.summary.unwrap();
    assert_eq!((s.high_effort_journeys, s.low_effort_journeys), (1, 1));
    assert_eq!(s.effort_index_mean, (90.0 + 18.5) / 2.0);

    let mut catalog = app.catalog();
    let mut model = catalog
        .get_scoring_model(GetScoringModelRequest {})
        .await
        .unwrap()
        .into_inner()
        .model
        .unwrap();
    let weights = model.weights.as_mut().unwrap();
    weights.extra_contact = 5.0;
    weights.minute = 1.0;
    model.high_effort_from = 95.0;
    model.low_effort_below = 10.0;
    model.confidence_level = 0.8;
    catalog
        .update_scoring_model(UpdateScoringModelRequest { model: Some(model) })
        .await
        .unwrap();
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
    let drivers: Vec<_> = s
        .drivers
        .iter()
        .map(|d| (d.component.as_str(), d.points))
        .collect();
    assert_eq!(
        drivers,
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
    let err = app
        .scoring()
        .get_effort_index(GetEffortIndexRequest {
            filter: Some(ScoreFilter {
                start_time: Some(ts("2026-02-01T00:00:00Z")),
                end_time: Some(ts("2026-01-01T00:00:00Z")),
                intent: "Not An Intent".into(),
                ..Default::default()
            }),
            confidence_level: None,
        })
        .await
        .unwrap_err();
    assert_eq!(violation_fields(&err), ["filter.end_time", "filter.intent"]);
    let err = app
        .scoring()
        .get_effort_index(GetEffortIndexRequest {
            filter: None,
            confidence_level: Some(0.9999),
        })
        .await
        .unwrap_err();
    assert_eq!(violation_fields(&err), ["confidence_level"]);
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
    let other = tenant_id(&app.pool, "globex").await;
    let p = &app.pool;
    journey(
        p,
        app.tenant,
        "j1",
        "c1",
        "2026-01-10T09:00:00Z",
        &card_update(),
    )
    .await;
    ease(p, app.tenant, "r1", "c1", "2026-01-10T10:00:00Z", 2).await;
    // The same ids in the other tenant, with other data.
    journey(p, other, "j1", "c1", "2026-01-10T09:00:00Z", &easy()).await;
    journey(p, other, "j2", "c2", "2026-01-10T09:00:00Z", &easy()).await;
    ease(p, other, "r1", "c1", "2026-01-10T10:00:00Z", 7).await;

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
