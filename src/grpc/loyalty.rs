//! `GetLoyaltyRisk` (SPEC §7.4) over gRPC: the request as a
//! `service::loyalty::LoyaltyQuery`, the report as protobuf.

use super::scoring::{scope_and_confidence, signed};
use crate::{
    domain::{Numbered, TenantId, enums::EffortTier},
    proto::v1::*,
    scoring::loyalty::quality,
    service::{
        ServiceResult, Services, context,
        loyalty::{self as service, LoyaltyQuery, LoyaltyReport},
    },
};

/// `GetLoyaltyRisk`.
pub async fn loyalty_risk(
    services: &Services,
    tenant: TenantId,
    request: GetLoyaltyRiskRequest,
) -> ServiceResult<GetLoyaltyRiskResponse> {
    let (scope, confidence) =
        scope_and_confidence(request.filter.as_ref(), request.confidence_level)?;
    let query = LoyaltyQuery { scope, confidence };
    let (model, etag) = context::scoring_model_and_etag(services, tenant).await?;
    let report = service::loyalty_risk(services, tenant, &query, (&model, Some(&etag))).await?;
    Ok(response(&report))
}

/// The protobuf form of a loyalty-risk report.
pub fn response(r: &LoyaltyReport) -> GetLoyaltyRiskResponse {
    let risk = &r.risk;
    let tiers = risk
        .tiers
        .iter()
        .map(|t| TierCount {
            tier: t.tier.number(),
            customers: signed(t.customers),
            share: t.share.unwrap_or(0.0),
        })
        .collect();
    let outcomes = risk
        .outcomes
        .iter()
        .map(|o| OutcomeRisk {
            kind: o.kind.number(),
            expected_share: o.expected_share.unwrap_or(0.0),
            expected_share_ci: o.interval.map(Into::into),
            expected_customers: o.expected_customers,
            tier_rates: EffortTier::ALL
                .into_iter()
                .map(|tier| {
                    let p = r.posteriors.get(tier, o.kind);
                    TierRate {
                        tier: tier.number(),
                        prior_mean: p.prior_mean,
                        prior_interpolated: p.interpolated,
                        observed: signed(p.observed),
                        occurrences: signed(p.occurrences),
                        posterior_mean: p.mean,
                        posterior_ci: Some(p.interval.into()),
                    }
                })
                .collect(),
        })
        .collect();
    GetLoyaltyRiskResponse {
        customers: signed(risk.customers),
        tiers,
        high_share_ci: risk.high_share_ci.map(Into::into),
        outcomes,
        likely_detractors: risk.likely_detractors,
        headline: r.headline.clone(),
        confidence_level: r.confidence,
        calibration_quality: r.quality.iter().map(calibration_quality).collect(),
    }
}

/// The protobuf form of one outcome kind's calibration quality.
fn calibration_quality(q: &quality::CalibrationQuality) -> CalibrationQuality {
    CalibrationQuality {
        kind: q.kind.number(),
        outcomes: signed(q.outcomes),
        brier_prior: q.brier_prior,
        brier_posterior_loo: q.brier_posterior_loo,
        tiers: q
            .tiers
            .iter()
            .map(|t| TierCalibration {
                tier: t.tier.number(),
                predicted: t.predicted,
                observed_rate: t.observed_rate,
                observed_rate_ci: t.observed_rate_ci.map(Into::into),
                outcomes: signed(t.outcomes),
            })
            .collect(),
    }
}
