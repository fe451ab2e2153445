//! Follow-ups of customers and their measured effect (SPEC §12.2):
//! `RecordFollowUps` (an idempotent batch, like every ingest) and
//! `GetFollowUpEffect` (counts in SQL, statistics in
//! `scoring::follow_up`). The rules the effect counts by are in
//! docs/decisions/follow-ups.md.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    ServiceResult, Services, context,
    write::{self, Converted, FirstIndex, converted},
};
use crate::{
    domain::{
        IngestCounts, Numbered, TenantId, Violations, Window,
        enums::{FollowUpAction, OutcomeKind},
        scope::truncate_to_micros,
        violations::check_id,
    },
    scoring::follow_up::{self as scoring, FollowUpEffect},
    store::follow_ups as db,
};

/// At most this many follow-ups per request.
pub const MAX_FOLLOW_UPS: usize = 1000;

/// Days after a follow-up (or a raise to HIGH) in which the outcome counts
/// (SPEC §12.2: "the rate of the outcome in the 90 days after").
pub const OUTCOME_DAYS: i32 = 90;

/// A follow-up as a client submitted it, wire values converted.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedFollowUp {
    pub id: String,
    pub customer_id: String,
    pub action: Converted<FollowUpAction>,
    pub occurred_at: Converted<DateTime<Utc>>,
    /// As sent; empty when the follow-up answered no event.
    pub event_id: String,
}

/// Validates a batch and upserts it in one transaction, behind the erasure
/// fence of its customers. Violation paths start at `follow_ups`.
pub async fn record(
    services: &Services,
    tenant: TenantId,
    batch: &[SubmittedFollowUp],
) -> ServiceResult<IngestCounts> {
    let follow_ups = check_follow_ups(batch)?;
    let customers: Vec<&str> = batch.iter().map(|f| f.customer_id.as_str()).collect();
    write::ingest(services, tenant, "follow_up", &customers, async |conn| {
        Ok(db::upsert_follow_ups(conn, tenant, &follow_ups).await?)
    })
    .await
}

/// Validates a batch of 1-1,000 follow-ups, reporting every violation
/// under `follow_ups[i]`, and converts the valid batch for the store.
/// Timestamps are truncated to the microseconds PostgreSQL keeps, so a
/// re-send of the same record compares equal to what is stored.
pub fn check_follow_ups(batch: &[SubmittedFollowUp]) -> Result<Vec<db::FollowUp>, Violations> {
    let mut v = Violations::default();
    let names = ("follow_ups", "follow-up", "request");
    write::check_batch_size(&mut v, names, batch.len(), MAX_FOLLOW_UPS);
    let mut ids = FirstIndex::with_capacity(batch.len());
    let mut out = Vec::with_capacity(batch.len());
    for (i, f) in batch.iter().enumerate() {
        let before = v.len();
        let path = format!("follow_ups[{i}]");
        check_id(&mut v, &format!("{path}.id"), &f.id);
        if let Some(first) = ids.earlier(&f.id, i) {
            v.add(
                format!("{path}.id"),
                format!("duplicates follow_ups[{first}].id; an id may appear once per request"),
            );
        }
        check_id(&mut v, &format!("{path}.customer_id"), &f.customer_id);
        let action = converted(&mut v, format!("{path}.action"), &f.action);
        let occurred_at = converted(&mut v, format!("{path}.occurred_at"), &f.occurred_at);
        // Events expire (event_retention_days) while a follow-up is kept,
        // so the id is checked for its form only, not for a stored event.
        let event_id = if f.event_id.is_empty() {
            None
        } else {
            let parsed = Uuid::try_parse(&f.event_id).ok();
            if parsed.is_none() {
                v.add(
                    format!("{path}.event_id"),
                    "must be the event_id of an AtRiskEvent (a UUID), or empty",
                );
            }
            parsed
        };
        if v.len() != before {
            continue;
        }
        let (Some(action), Some(occurred_at)) = (action, occurred_at) else {
            continue;
        };
        out.push(db::FollowUp {
            id: f.id.clone(),
            customer_id: f.customer_id.clone(),
            action: action.db(),
            occurred_at: truncate_to_micros(occurred_at),
            event_id,
        });
    }
    v.into_result()?;
    Ok(out)
}

/// What a caller asks of `GetFollowUpEffect`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectQuery {
    /// The window on the raises to HIGH.
    pub window: Window,
    pub outcome_kind: OutcomeKind,
    /// `None`: the model's level.
    pub confidence: Option<f64>,
}

/// The effect of following up the customers raised to HIGH in
/// `query.window`. One statement on one connection of the tenant's budget,
/// under the pool's `statement_timeout`; its cost grows with the raises in
/// the window (one index probe each into follow-ups and outcomes), and
/// only three rows of counts come back.
pub async fn effect(
    services: &Services,
    tenant: TenantId,
    query: &EffectQuery,
) -> ServiceResult<FollowUpEffect> {
    let model = context::scoring_model(services, tenant).await?;
    let confidence = context::confidence(query.confidence, &model)?;
    let counts = db::effect_counts(
        &*services.db(tenant, 1).await?,
        tenant,
        &db::EffectQuery {
            window: query.window,
            outcome_kind: query.outcome_kind.db(),
            follow_up_days: model.risk_window_days,
            outcome_days: OUTCOME_DAYS,
        },
    )
    .await?;
    Ok(scoring::follow_up_effect(
        &scoring_counts(counts),
        confidence,
    ))
}

fn scoring_counts(c: db::EffectCounts) -> scoring::EffectCounts {
    // Counts of rows are never negative.
    let arm = |a: db::ArmCounts| scoring::ArmCounts {
        customers: a.customers.max(0) as u64,
        occurred: a.occurred.max(0) as u64,
    };
    scoring::EffectCounts {
        followed_up: arm(c.followed_up),
        holdout: arm(c.holdout),
        not_followed_up: arm(c.not_followed_up),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(id: &str) -> SubmittedFollowUp {
        SubmittedFollowUp {
            id: id.into(),
            customer_id: "c-1".into(),
            action: Ok(FollowUpAction::Callback),
            occurred_at: Ok(DateTime::from_timestamp(1_767_225_600, 1_234_567).unwrap()),
            event_id: String::new(),
        }
    }

    #[test]
    fn every_violation_is_named_by_its_index() {
        let mut bad = valid("");
        bad.customer_id = String::new();
        bad.action = Err("is required".into());
        bad.occurred_at = Err("is required".into());
        bad.event_id = "not-a-uuid".into();
        let batch = [valid("a"), bad, valid("a")];
        let v = check_follow_ups(&batch).unwrap_err();
        let fields: Vec<&str> = v.items().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "follow_ups[1].id",
                "follow_ups[1].customer_id",
                "follow_ups[1].action",
                "follow_ups[1].occurred_at",
                "follow_ups[1].event_id",
                "follow_ups[2].id",
            ]
        );
    }

    #[test]
    fn a_valid_batch_is_truncated_to_microseconds_and_keeps_its_event() {
        let mut f = valid("a");
        f.event_id = "0b7f6a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b".into();
        let out = check_follow_ups(&[f]).unwrap();
        assert_eq!(out[0].occurred_at.timestamp_subsec_nanos(), 1_234_000);
        assert_eq!(out[0].action, 1);
        assert!(out[0].event_id.is_some());
    }

    #[test]
    fn batch_sizes_are_bounded() {
        assert!(check_follow_ups(&[]).is_err());
        let many: Vec<SubmittedFollowUp> = (0..=MAX_FOLLOW_UPS)
            .map(|i| valid(&format!("f{i}")))
            .collect();
        let v = check_follow_ups(&many).unwrap_err();
        assert_eq!(v.items()[0].0, "follow_ups");
        assert!(check_follow_ups(&many[..MAX_FOLLOW_UPS]).is_ok());
    }
}
