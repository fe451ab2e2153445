//! `CustomerService.RecordFollowUps` and `ScoringService.GetFollowUpEffect`
//! (SPEC §12.2), over [`crate::service::follow_ups`].

use super::{
    convert,
    ingest::{counts_to_proto, record_time, required},
    scoring::{check_confidence, signed},
};
use crate::{
    domain::{Numbered, TenantId, Violations, enums::OutcomeKind},
    proto::v1::{
        FollowUp, FollowUpArm, GetFollowUpEffectRequest, GetFollowUpEffectResponse,
        RecordFollowUpsRequest, RecordFollowUpsResponse, ScoreFilter,
    },
    scoring::follow_up::Arm,
    service::{
        ServiceError, ServiceResult, Services,
        follow_ups::{self as service, EffectQuery, SubmittedFollowUp},
        write::converted,
    },
};

/// `RecordFollowUps`.
pub async fn record(
    services: &Services,
    tenant: TenantId,
    request: RecordFollowUpsRequest,
) -> ServiceResult<RecordFollowUpsResponse> {
    let batch: Vec<SubmittedFollowUp> = request.follow_ups.into_iter().map(Into::into).collect();
    let counts = service::record(services, tenant, &batch).await?;
    Ok(RecordFollowUpsResponse {
        counts: Some(counts_to_proto(counts)),
    })
}

impl From<FollowUp> for SubmittedFollowUp {
    fn from(f: FollowUp) -> Self {
        SubmittedFollowUp {
            id: f.id,
            customer_id: f.customer_id,
            action: required(f.action, "a known FollowUpAction"),
            occurred_at: record_time(f.occurred_at.as_ref()),
            event_id: f.event_id,
        }
    }
}

/// `GetFollowUpEffect`.
pub async fn effect(
    services: &Services,
    tenant: TenantId,
    request: GetFollowUpEffectRequest,
) -> ServiceResult<GetFollowUpEffectResponse> {
    let query = parse(&request)?;
    let e = service::effect(services, tenant, &query).await?;
    Ok(GetFollowUpEffectResponse {
        outcome_kind: query.outcome_kind.number(),
        followed_up: Some(arm(&e.followed_up)),
        comparison: Some(arm(&e.comparison)),
        difference_points: e.difference_points,
        difference_ci: e.difference_ci.map(Into::into),
        p_value: e.p_value,
        significant: e.significant,
        confounded: e.confounded,
    })
}

/// The request as a query, every violation named at once. The effect's
/// population is the raises to HIGH, which carry no labels, survey or
/// intent: a filter on them would silently match everything, so it is
/// refused instead (as ListOutcomes does).
fn parse(request: &GetFollowUpEffectRequest) -> ServiceResult<EffectQuery> {
    let mut v = Violations::default();
    let default_filter = ScoreFilter::default();
    let filter = request.filter.as_ref().unwrap_or(&default_filter);
    let window = convert::window(&mut v, "filter", filter);
    if !filter.labels.is_empty() {
        v.add("filter.labels", "does not apply to the follow-up effect");
    }
    if !filter.survey_id.is_empty() {
        v.add("filter.survey_id", "does not apply to the follow-up effect");
    }
    if !filter.intent.is_empty() {
        v.add("filter.intent", "does not apply to the follow-up effect");
    }
    let kind = required::<OutcomeKind>(request.outcome_kind, "a known OutcomeKind");
    let kind = converted(&mut v, "outcome_kind".into(), &kind);
    let confidence = check_confidence(&mut v, request.confidence_level);
    v.into_result()?;
    let Some(outcome_kind) = kind else {
        return Err(ServiceError::invalid("outcome_kind", "is required"));
    };
    Ok(EffectQuery {
        window,
        outcome_kind,
        confidence,
    })
}

fn arm(a: &Arm) -> FollowUpArm {
    FollowUpArm {
        customers: signed(a.customers),
        occurred: signed(a.occurred),
        rate: a.rate,
        rate_ci: a.rate_ci.map(Into::into),
    }
}
