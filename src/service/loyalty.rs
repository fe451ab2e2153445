//! Loyalty risk (SPEC §7.4): customer tiers in SQL (`store::loyalty`, whose
//! module documentation records the windows and tie-breaks), the tenant's
//! outcome calibration from the [`calibration`](super::calibration) cache,
//! posteriors and expected shares from `scoring::loyalty`.

use super::{ServiceResult, Services, context};
use crate::{
    domain::{Scope, TenantId, enums::EffortTier, model::ScoringModel},
    scoring::loyalty::{
        LoyaltyRisk, PosteriorTable, loyalty_risk as risk_of,
        quality::{CalibrationQuality, calibration_quality},
    },
    store::loyalty as store,
};

/// What a caller asks for.
#[derive(Debug, Clone, Default)]
pub struct LoyaltyQuery {
    /// Window and labels (`survey_id` and `intent` do not scope loyalty).
    pub scope: Scope,
    /// The requested confidence level (`None`: the model's).
    pub confidence: Option<f64>,
}

/// The loyalty-risk report of a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct LoyaltyReport {
    pub risk: LoyaltyRisk,
    /// The posterior per (tier, outcome kind) the risk was computed with.
    pub posteriors: PosteriorTable,
    /// The headline in words ([`headline`]).
    pub headline: String,
    pub confidence: f64,
    /// How well the model fits the tenant's outcomes (SPEC §10.6), from
    /// the same calibration counts as the posteriors.
    pub quality: Vec<CalibrationQuality>,
}

impl LoyaltyReport {
    /// Assessed customers of `tier`.
    pub fn customers(&self, tier: EffortTier) -> u64 {
        self.risk
            .tiers
            .iter()
            .find(|t| t.tier == tier)
            .map_or(0, |t| t.customers)
    }
}

/// The posteriors of the tenant's model and calibration (cached), at
/// `confidence`.
pub async fn posteriors(
    services: &Services,
    tenant: TenantId,
    model: &ScoringModel,
    confidence: f64,
) -> ServiceResult<PosteriorTable> {
    let effort_model = model.effort_model();
    let calibration = services
        .calibration
        .get(tenant, &effort_model, async || {
            let db = services.db(tenant, 1).await?;
            ServiceResult::Ok(store::calibration(&db, tenant, &effort_model).await?)
        })
        .await?;
    Ok(PosteriorTable::from_model(
        &model.prior_model(),
        &calibration,
        confidence,
    ))
}

/// Computes the loyalty-risk report of `query` under `model`; when its
/// `etag` is given, the tier counts may come from the whole-history
/// assessments kept at write time (`store::assessments`), which are
/// exact only under the model they were computed with: the store uses
/// them only when the scope is the whole history and `etag` is in force
/// in its snapshot, and assesses from the records otherwise (`None`:
/// always from the records).
pub async fn loyalty_risk(
    services: &Services,
    tenant: TenantId,
    query: &LoyaltyQuery,
    (model, etag): (&ScoringModel, Option<&str>),
) -> ServiceResult<LoyaltyReport> {
    let confidence = context::confidence(query.confidence, model)?;
    let (tier_counts, posteriors) = tokio::try_join!(
        async {
            read!(services, tenant, 1, |db| {
                Ok(
                    store::loyalty_tiers(db, tenant, &query.scope, (&model.effort_model(), etag))
                        .await?,
                )
            })
        },
        posteriors(services, tenant, model, confidence),
    )?;
    let risk = risk_of(tier_counts, &posteriors, confidence);
    Ok(LoyaltyReport {
        headline: headline(risk.customers, tier_counts.high, risk.likely_detractors),
        risk,
        quality: calibration_quality(&posteriors, confidence),
        posteriors,
        confidence,
    })
}

/// The loyalty headline in words (SPEC §7.4): "of our 1,200 high-effort
/// customers, about 972 are likely to speak badly of us"; the number of
/// detractors is rounded to the nearest whole customer.
pub fn headline(customers: u64, high: u64, likely_detractors: f64) -> String {
    if customers == 0 {
        return "no customers with effort data in scope".to_owned();
    }
    if high == 0 {
        return format!(
            "none of our {} assessed {} had a high-effort experience",
            thousands(customers),
            if customers == 1 {
                "customer"
            } else {
                "customers"
            }
        );
    }
    let detractors = likely_detractors.round().max(0.0) as u64;
    format!(
        "of our {} high-effort {}, about {} {} likely to speak badly of us",
        thousands(high),
        if high == 1 { "customer" } else { "customers" },
        thousands(detractors),
        if detractors == 1 { "is" } else { "are" },
    )
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headlines_read_well() {
        assert_eq!(
            headline(2000, 1200, 972.0),
            "of our 1,200 high-effort customers, about 972 are likely to speak badly of us"
        );
        assert_eq!(
            headline(1, 1, 0.81),
            "of our 1 high-effort customer, about 1 is likely to speak badly of us"
        );
        assert_eq!(
            headline(12, 0, 0.0),
            "none of our 12 assessed customers had a high-effort experience"
        );
        assert_eq!(
            headline(0, 0, 0.0),
            "no customers with effort data in scope"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
