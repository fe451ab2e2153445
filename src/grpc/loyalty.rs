//! `GetLoyaltyRisk`, `GetCustomerRisk` and `ListAtRiskCustomers` (SPEC §7).
//!
//! Customer tiers and outcome calibration are computed in SQL
//! (`store::loyalty`, whose module documentation records the windows and
//! tie-breaks); posteriors and expected shares come from
//! `scoring::loyalty`. Scores always use the scoring model in force.

use super::{
    ApiError, ApiResult, AppState,
    effort::interval,
    scope::scope_from_filter,
    validate::{Violations, check_id, confidence_level},
};
use crate::{
    proto::v1::*,
    scoring::{
        effort::{EffortTier as Tier, reasons},
        loyalty::{OutcomeKind as Kind, PosteriorTable, loyalty_risk as risk_of},
    },
    service::page,
    store::{
        catalog,
        loyalty::{self as store, AtRiskKey, outcome_kind_value, tier_of_value, tier_value},
        tenants::TenantId,
    },
};

/// `GetCustomerRisk` lists at most this many journeys (most recent first);
/// `journeys_in_scope` counts them all.
pub const MAX_CUSTOMER_JOURNEYS: i64 = 1000;

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Computes the loyalty-risk report.
pub async fn loyalty_risk(
    state: &AppState,
    tenant: TenantId,
    request: GetLoyaltyRiskRequest,
) -> ApiResult<GetLoyaltyRiskResponse> {
    let scope = scope_from_filter(request.filter.as_ref(), "filter")?;
    let (model, _) = catalog::get_scoring_model(&state.pool, tenant).await?;
    let confidence = confidence_level(request.confidence_level, model.confidence_level)?;
    let effort_model = model.effort_model();
    let (tier_counts, calibration) = tokio::try_join!(
        store::loyalty_tiers(&state.pool, tenant, &scope, &effort_model),
        state.calibration.get(&state.pool, tenant, &effort_model),
    )?;
    let posteriors = PosteriorTable::from_model(&model.prior_model(), &calibration, confidence);
    let risk = risk_of(tier_counts, &posteriors, confidence);

    let tiers = risk
        .tiers
        .iter()
        .map(|t| TierCount {
            tier: tier_value(t.tier),
            customers: count(t.customers),
            share: t.share.unwrap_or(0.0),
        })
        .collect();
    let outcomes = risk
        .outcomes
        .iter()
        .map(|o| OutcomeRisk {
            kind: i32::from(outcome_kind_value(o.kind)),
            expected_share: o.expected_share.unwrap_or(0.0),
            expected_share_ci: o.interval.map(interval),
            expected_customers: o.expected_customers,
            tier_rates: Tier::ALL
                .into_iter()
                .map(|tier| {
                    let p = posteriors.get(tier, o.kind);
                    TierRate {
                        tier: tier_value(tier),
                        prior_mean: p.prior_mean,
                        prior_interpolated: p.interpolated,
                        observed: count(p.observed),
                        occurrences: count(p.occurrences),
                        posterior_mean: p.mean,
                        posterior_ci: Some(interval(p.interval)),
                    }
                })
                .collect(),
        })
        .collect();
    Ok(GetLoyaltyRiskResponse {
        customers: count(risk.customers),
        tiers,
        high_share_ci: risk.high_share_ci.map(interval),
        outcomes,
        likely_detractors: risk.likely_detractors,
        headline: headline(risk.customers, tier_counts.high, risk.likely_detractors),
        confidence_level: confidence,
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
fn thousands(n: u64) -> String {
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

/// One customer's risk.
pub async fn customer_risk(
    state: &AppState,
    tenant: TenantId,
    request: GetCustomerRiskRequest,
) -> ApiResult<GetCustomerRiskResponse> {
    let mut v = Violations::default();
    check_id(&mut v, "customer_id", &request.customer_id);
    v.into_result()?;
    let scope = scope_from_filter(request.filter.as_ref(), "filter")?;
    let (model, _) = catalog::get_scoring_model(&state.pool, tenant).await?;
    let confidence = confidence_level(request.confidence_level, model.confidence_level)?;
    let effort_model = model.effort_model();
    let data = store::customer_data(
        &state.pool,
        tenant,
        &scope,
        &effort_model,
        &request.customer_id,
        MAX_CUSTOMER_JOURNEYS,
    )
    .await?
    .ok_or_else(|| ApiError::NotFound {
        what: "customer",
        id: request.customer_id.clone(),
    })?;
    let calibration = state
        .calibration
        .get(&state.pool, tenant, &effort_model)
        .await?;
    let a = &data.assessment;
    let tier = tier_of_value(a.tier).expect("SQL yields tiers 1-3");
    let posteriors = PosteriorTable::from_model(&model.prior_model(), &calibration, confidence);
    Ok(GetCustomerRiskResponse {
        customer_id: a.customer_id.clone(),
        tier: a.tier,
        tier_source: a.tier_source,
        latest_ease: a.latest_ease,
        journeys: data
            .journeys
            .iter()
            .map(|j| CustomerJourney {
                journey_id: j.id.clone(),
                intent: j.intent.clone(),
                effort_index: j.effort_index,
                effort_tier: j.tier,
            })
            .collect(),
        reasons: data
            .worst_components
            .map(|c| reasons(&c, &effort_model))
            .unwrap_or_default(),
        outcomes: Kind::ALL
            .into_iter()
            .map(|kind| {
                let p = posteriors.get(tier, kind);
                CustomerOutcome {
                    kind: i32::from(outcome_kind_value(kind)),
                    posterior_mean: p.mean,
                    posterior_ci: Some(interval(p.interval)),
                }
            })
            .collect(),
        worst_journey_id: a.worst_journey_id.clone().unwrap_or_default(),
        worst_effort_index: a.worst_effort_index.unwrap_or(0.0),
        journeys_in_scope: data.journeys_in_scope,
    })
}

/// Customers at or above a tier, worst first.
pub async fn at_risk_customers(
    state: &AppState,
    tenant: TenantId,
    request: ListAtRiskCustomersRequest,
) -> ApiResult<ListAtRiskCustomersResponse> {
    let min_tier = match EffortTier::try_from(request.min_tier) {
        Ok(EffortTier::Unspecified) => Tier::High,
        Ok(t) => tier_of_value(t as i32).expect("a tier"),
        Err(_) => {
            return Err(ApiError::invalid(
                "min_tier",
                "must be EFFORT_TIER_LOW, EFFORT_TIER_MEDIUM or EFFORT_TIER_HIGH",
            ));
        }
    };
    let scope = scope_from_filter(request.filter.as_ref(), "filter")?;
    let size = page::page_size(request.page_size)?;
    // The token is bound to the tenant and the query, not the page size.
    let fingerprint = page::fingerprint(
        tenant.0,
        &ListAtRiskCustomersRequest {
            filter: request.filter.clone(),
            min_tier: tier_value(min_tier),
            page_size: 0,
            page_token: String::new(),
        },
    );
    let after: Option<AtRiskKey> = page::decode(&fingerprint, &request.page_token)?;
    // A forged position no assessed customer can have is not a token of
    // this query (a NUL in the id would otherwise fail in PostgreSQL).
    if let Some(key) = &after {
        page::check_position_id(&key.customer_id)?;
        if !(1..=3).contains(&key.tier) || !key.worst_effort_index.is_finite() {
            return Err(ApiError::invalid(
                "page_token",
                "is not a page token of this query",
            ));
        }
    }
    let (model, _) = catalog::get_scoring_model(&state.pool, tenant).await?;
    let mut rows = store::at_risk_customers(
        &state.pool,
        tenant,
        &scope,
        &model.effort_model(),
        min_tier,
        after.as_ref(),
        size + 1,
    )
    .await?;
    let next_page_token = if rows.len() as i64 > size {
        rows.truncate(size as usize);
        rows.last()
            .map(|last| page::encode(&fingerprint, &AtRiskKey::of(last)))
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(ListAtRiskCustomersResponse {
        customers: rows
            .into_iter()
            .map(|a| AtRiskCustomer {
                worst_effort_index: a.worst_effort_index.unwrap_or(0.0),
                worst_journey_id: a.worst_journey_id.unwrap_or_default(),
                customer_id: a.customer_id,
                tier: a.tier,
                tier_source: a.tier_source,
                latest_ease: a.latest_ease,
            })
            .collect(),
        next_page_token,
    })
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
