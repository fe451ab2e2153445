//! One customer's risk and the customers most at risk (SPEC §7), the
//! `CustomerService` reads: the tier assessment of `store::loyalty` under
//! the model in force, and the posteriors of the tenant's calibration.

use super::{ServiceError, ServiceResult, Services, context, loyalty::posteriors, page};
use crate::{
    domain::{Numbered, Scope, TenantId, enums::EffortTier, model::ScoringModel},
    scoring::{
        Posterior,
        effort::reasons,
        holdout::{holdout_key, is_holdout},
        loyalty::OutcomeKind,
    },
    store::{
        loyalty::{self as store, Assessment, AtRiskKey, CustomerData},
        risk as risk_store, tenants,
    },
};

/// `GetCustomerRisk` lists at most this many journeys (most recent first);
/// `journeys_in_scope` counts them all.
pub const MAX_CUSTOMER_JOURNEYS: i64 = 1000;

/// What a caller asks about one customer.
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    pub customer_id: String,
    pub scope: Scope,
    /// The requested confidence level (`None`: the model's).
    pub confidence: Option<f64>,
}

/// One customer's risk.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRisk {
    /// The assessment, the journeys in scope and the worst one's components.
    pub data: CustomerData,
    /// Why the worst journey was hard, in words.
    pub reasons: Vec<String>,
    /// The posterior of each outcome kind for the customer's tier, in
    /// [`OutcomeKind::ALL`] order.
    pub outcomes: Vec<(OutcomeKind, Posterior)>,
}

/// Statements `customer_risk` makes at most before it stops trusting
/// its model guess (a model replaced between each of them).
const MODEL_ATTEMPTS: usize = 3;

/// The risk of `query.customer_id`; `NotFound` when the customer is not
/// assessed in scope.
///
/// One statement per call once the tenant's model and calibration are
/// cached (`store::risk`), which reads the customer's kept whole-history
/// assessment when it answers the scope under that model (else assesses
/// from the records): it is built under the last model this process
/// saw for the tenant and returns the etag in force in its own snapshot,
/// with the model when that is not the one used — then the figures are
/// discarded and read again under the returned model. After
/// [`MODEL_ATTEMPTS`] such misses (models replaced faster than calls
/// complete) it reads the model and the data as separate statements, as
/// every score does.
pub async fn customer_risk(
    services: &Services,
    tenant: TenantId,
    query: &CustomerQuery,
) -> ServiceResult<CustomerRisk> {
    let mut guess = services.calibration.model(tenant);
    let mut found = None;
    for _ in 0..MODEL_ATTEMPTS {
        let (model, etag) = match &guess {
            Some(g) => (g.0.clone(), Some(g.1.clone())),
            None => (ScoringModel::default(), None),
        };
        let effort_model = model.effort_model();
        let read = read!(services, tenant, 1, |db| {
            Ok(risk_store::customer_read(
                db,
                tenant,
                &query.scope,
                (&effort_model, etag.as_deref()),
                &query.customer_id,
                MAX_CUSTOMER_JOURNEYS,
            )
            .await?)
        })?;
        match read.model {
            None => {
                found = Some((model, read.data));
                break;
            }
            Some(current) => {
                services
                    .calibration
                    .remember_model(tenant, current, read.etag);
                guess = services.calibration.model(tenant);
            }
        }
    }
    let (model, data) = match found {
        Some(found) => found,
        None => {
            let model = context::scoring_model(services, tenant).await?;
            let effort_model = model.effort_model();
            let data = read!(services, tenant, 1, |db| {
                Ok(store::customer_data(
                    db,
                    tenant,
                    &query.scope,
                    &effort_model,
                    &query.customer_id,
                    MAX_CUSTOMER_JOURNEYS,
                )
                .await?)
            })?;
            (model, data)
        }
    };
    let confidence = context::confidence(query.confidence, &model)?;
    let effort_model = model.effort_model();
    let data = data.ok_or_else(|| ServiceError::NotFound {
        what: "customer",
        id: query.customer_id.clone(),
    })?;
    let posteriors = posteriors(services, tenant, &model, confidence).await?;
    let tier = EffortTier::from_number(data.assessment.tier).expect("SQL yields tiers 1-3");
    Ok(CustomerRisk {
        reasons: data
            .worst_components
            .map(|c| reasons(&c, &effort_model))
            .unwrap_or_default(),
        outcomes: OutcomeKind::ALL
            .into_iter()
            .map(|kind| (kind, *posteriors.get(tier, kind)))
            .collect(),
        data,
    })
}

/// What a caller lists.
#[derive(Debug, Clone)]
pub struct AtRiskQuery {
    pub scope: Scope,
    /// Customers at or above this tier.
    pub min_tier: EffortTier,
    /// As requested (0: the default size).
    pub page_size: i32,
    pub page_token: String,
    /// The fingerprint page tokens of this query carry (see
    /// [`page::fingerprint`]): the transport computes it from the request
    /// as sent, so tokens stay valid across releases.
    pub fingerprint: String,
}

/// One page of customers at risk.
#[derive(Debug, Clone, PartialEq)]
pub struct AtRiskPage {
    /// Tier descending, worst effort index descending, id ascending.
    pub customers: Vec<Assessment>,
    /// Per customer (same order): in the holdout of the model's
    /// `holdout_share` (SPEC §12.2), "do not contact".
    pub holdout: Vec<bool>,
    /// Empty on the last page.
    pub next_page_token: String,
}

/// Customers at or above a tier, worst first.
pub async fn at_risk_customers(
    services: &Services,
    tenant: TenantId,
    query: &AtRiskQuery,
) -> ServiceResult<AtRiskPage> {
    let size = page::page_size(query.page_size)?;
    // Positions name customers: the tokens are sealed (page::seal).
    let secret = tenants::page_token_key(&services.pool, tenant)
        .await?
        .ok_or_else(|| ServiceError::NotFound {
            what: "tenant",
            id: tenant.0.to_string(),
        })?;
    let after: Option<AtRiskKey> = page::open(&secret, &query.fingerprint, &query.page_token)?;
    // A sealed token is this server's own, but its key is stored data: a
    // position no assessed customer can have is still refused here (a NUL
    // in the id would otherwise fail in PostgreSQL).
    if let Some(key) = &after {
        page::check_position_id(&key.customer_id)?;
        if EffortTier::from_number(key.tier).is_none() || !key.worst_effort_index.is_finite() {
            return Err(ServiceError::invalid(
                "page_token",
                "is not a page token of this query",
            ));
        }
    }
    let (model, etag) = context::scoring_model_and_etag(services, tenant).await?;
    let mut rows = read!(services, tenant, 1, |db| {
        Ok(store::at_risk_customers(
            db,
            tenant,
            &query.scope,
            (&model.effort_model(), Some(&etag)),
            query.min_tier,
            after.as_ref(),
            size + 1,
        )
        .await?)
    })?;
    let next_page_token = if rows.len() as i64 > size {
        rows.truncate(size as usize);
        rows.last()
            .and_then(|last| page::seal(&secret, &query.fingerprint, &AtRiskKey::of(last)))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let key = holdout_key(&secret);
    let holdout = rows
        .iter()
        .map(|a| is_holdout(&key, &a.customer_id, model.holdout_share))
        .collect();
    Ok(AtRiskPage {
        customers: rows,
        holdout,
        next_page_token,
    })
}
