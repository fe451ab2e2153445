//! The demo's closed loop (SPEC §12.2): a holdout of a fifth of the
//! at-risk customers, the raises to HIGH its journeys and answers imply,
//! and the helpdesk's follow-ups of the others, so `GetFollowUpEffect`
//! has a measured effect to show.
//!
//! The demo's history predates its load, so the raises the load's writes
//! may record (at load time, with the current tier over the rolling window
//! ending then) say nothing of it. They are replaced by one raise per
//! customer assessed HIGH over the whole demo window, at the instant of the
//! record that decided the tier (the latest `ease` answer, or the end of
//! the worst journey), held out under the demo's share by the tenant's
//! keyed hash as a write would. The demo tenant's key is fixed (derived
//! from a constant), so the holdout is the same on every load. These raises answered no event (the outbox
//! keeps events only `event_retention_days`), so their `seq` is negative:
//! no event's.
//!
//! Who was followed up is drawn from a seed of its own, after the outcomes
//! (which the rest of the demo fixed without follow-ups): a customer who
//! left (DISLOYALTY) within the 90 days after their call was less often
//! called. That makes the effect of the calls up by construction, as every
//! figure of the demo is; what it shows is how the service measures one.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::DemoData;
use crate::{
    domain::{
        Numbered, Scope, TenantId,
        enums::{EffortTier, FollowUpAction, TierSource},
    },
    grpc::convert::timestamp_to_utc,
    proto::v1::OutcomeKind,
    scoring::holdout::{holdout_key, is_holdout},
    service::{
        Services,
        follow_ups::{self, OUTCOME_DAYS, SubmittedFollowUp},
    },
    store::{catalog, loyalty, tenants},
};

/// The demo's holdout share.
pub const DEMO_HOLDOUT_SHARE: f64 = 0.2;

/// The seed of who was followed up, a stream of its own so that no other
/// draw of the demo changed.
pub const FOLLOW_UPS_SEED: u64 = 20_261_215;

/// What the demo tenant's page-token key (and so its holdout key) is
/// derived from.
const DEMO_KEY_SEED: &str = "gapscore demo tenant page-token key";

/// Chance that a HIGH customer not held out was called, by whether they
/// left within 90 days of the call.
const CALLED_IF_STAYED: f64 = 0.9;
const CALLED_IF_LEFT: f64 = 0.2;

/// Sets the demo's holdout share, replaces its raises to HIGH and records
/// its follow-ups, and says how many of each.
pub async fn load(pool: &sqlx::PgPool, tenant: TenantId, data: &DemoData) -> anyhow::Result<()> {
    let (mut model, etag) = catalog::get_scoring_model(pool, tenant).await?;
    model.holdout_share = DEMO_HOLDOUT_SHARE;
    catalog::update_scoring_model(pool, tenant, &model, &etag)
        .await?
        .context("the demo's scoring model changed while it loaded")?;
    // A fixed key for the demo tenant alone, so its holdout, and every
    // figure of the effect, is the same on every load (a real tenant's key
    // is random and secret; the demo's data are public anyway).
    sqlx::query("UPDATE tenants SET page_token_key = sha256($2) WHERE tenant_id = $1")
        .bind(tenant.0)
        .bind(DEMO_KEY_SEED.as_bytes())
        .execute(pool)
        .await?;
    let key = holdout_key(
        &tenants::page_token_key(pool, tenant)
            .await?
            .context("the demo tenant has a page-token key")?,
    );

    // Every customer assessed HIGH over the demo window (at most the
    // demo's 2,400 customers).
    let high = loyalty::at_risk_customers(
        pool,
        tenant,
        &Scope::default(),
        (&model.effort_model(), None),
        EffortTier::High,
        None,
        10_000,
    )
    .await?;
    let mut decided_at: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for r in &data.responses {
        if let Some(t) = r.submitted_at.as_ref().and_then(timestamp_to_utc) {
            decided_at.insert(r.respondent_id.as_str(), t);
        }
    }
    let journey_end: HashMap<&str, DateTime<Utc>> = data
        .journeys
        .iter()
        .filter_map(|j| {
            let end = j
                .touchpoints
                .iter()
                .filter_map(|t| t.occurred_at.as_ref().and_then(timestamp_to_utc))
                .max()?;
            Some((j.id.as_str(), end))
        })
        .collect();
    let left: HashMap<&str, Vec<DateTime<Utc>>> = data
        .outcomes
        .iter()
        .filter(|o| o.kind == OutcomeKind::Disloyalty as i32 && o.occurred)
        .fold(HashMap::new(), |mut m, o| {
            if let Some(t) = o.observed_at.as_ref().and_then(timestamp_to_utc) {
                m.entry(o.customer_id.as_str()).or_default().push(t);
            }
            m
        });

    let mut rng = StdRng::seed_from_u64(FOLLOW_UPS_SEED);
    let actions = [
        FollowUpAction::Callback,
        FollowUpAction::Callback,
        FollowUpAction::Email,
        FollowUpAction::Credit,
    ];
    let (mut customers, mut started, mut holdout) = (Vec::new(), Vec::new(), Vec::new());
    let mut calls = Vec::new();
    for a in &high {
        let at = if a.tier_source == TierSource::Journeys.number() {
            // Raised when the worst journey ended.
            a.worst_journey_id
                .as_deref()
                .and_then(|j| journey_end.get(j).copied())
        } else {
            decided_at.get(a.customer_id.as_str()).copied()
        };
        let Some(at) = at else { continue };
        let held = is_holdout(&key, &a.customer_id, DEMO_HOLDOUT_SHARE);
        customers.push(a.customer_id.clone());
        started.push(at);
        holdout.push(held);
        if held {
            continue;
        }
        let call_at = at + Duration::hours(rng.random_range(2..72));
        let stayed = !left.get(a.customer_id.as_str()).is_some_and(|ts| {
            ts.iter()
                .any(|t| *t >= call_at && *t < call_at + Duration::days(i64::from(OUTCOME_DAYS)))
        });
        let p = if stayed {
            CALLED_IF_STAYED
        } else {
            CALLED_IF_LEFT
        };
        let action = actions[rng.random_range(0..actions.len())];
        if rng.random_bool(p) {
            calls.push(SubmittedFollowUp {
                id: format!("fu-{}", a.customer_id),
                customer_id: a.customer_id.clone(),
                action: Ok(action),
                occurred_at: Ok(call_at),
                event_id: String::new(),
            });
        }
    }

    let mut tx = pool.begin().await?;
    for table in ["high_tier_starts", "follow_ups"] {
        // Table names are constants of this function, not input.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE tenant_id = $1"
        )))
        .bind(tenant.0)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO high_tier_starts (tenant_id, customer_id, seq, started_at, holdout)
         SELECT $1, c, -n, t, h FROM UNNEST($2::text[], $3::timestamptz[], $4::bool[])
             WITH ORDINALITY AS s(c, t, h, n)",
    )
    .bind(tenant.0)
    .bind(&customers)
    .bind(&started)
    .bind(&holdout)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    let services = Services::new(pool.clone(), std::time::Duration::ZERO);
    for chunk in calls.chunks(follow_ups::MAX_FOLLOW_UPS) {
        follow_ups::record(&services, tenant, chunk)
            .await
            .context("loading follow-ups")?;
    }
    println!(
        "Follow-ups: {} customers raised to HIGH, {} of them held out, {} followed up.",
        customers.len(),
        holdout.iter().filter(|h| **h).count(),
        calls.len(),
    );
    Ok(())
}
