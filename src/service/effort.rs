//! The effort index (SPEC §6): three aggregate queries (`store::effort`)
//! with the tenant's weights applied in SQL, then the statistics of
//! `scoring::effort` in Rust.

use super::{ServiceResult, Services, context};
use crate::{
    domain::{Scope, TenantId, model::ScoringModel},
    scoring::{
        change::histogram_moments,
        effort::{EffortAggregate, SurveyEffort},
        stats::Moments,
    },
    store::effort as store,
};

/// What a caller asks for.
#[derive(Debug, Clone, Default)]
pub struct EffortQuery {
    pub scope: Scope,
    /// The requested confidence level (`None`: the model's).
    pub confidence: Option<f64>,
}

/// The effort report of a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct EffortReport {
    /// Over the journeys in scope.
    pub journeys: EffortAggregate,
    /// Distinct customers of those journeys.
    pub customers: i64,
    /// Customer touchpoints per channel, ordered by channel.
    pub channels: Vec<store::ChannelSums>,
    /// CES figures of the CUSTOMER `ease` answers in scope.
    pub survey: SurveyEffort,
    /// n, Σ and Σ² of the journeys' effort indexes and of the `ease`
    /// scores: what a change between two windows tests (SPEC §10.4).
    pub effort_index_moments: Moments,
    pub ease_moments: Moments,
    pub confidence: f64,
}

/// Computes the effort report of `query` under `model`; with the model's
/// etag, the journey figures may come from state kept under it
/// (`store::journey_efforts`, which checks it is still in force).
pub async fn effort_index(
    services: &Services,
    tenant: TenantId,
    query: &EffortQuery,
    (model, etag): (&ScoringModel, Option<&str>),
) -> ServiceResult<EffortReport> {
    let confidence = context::confidence(query.confidence, model)?;
    let effort_model = model.effort_model();
    let data = read!(services, tenant, 1, |db| {
        Ok(store::effort_data(db, tenant, &query.scope, (&effort_model, etag)).await?)
    })?;
    Ok(EffortReport {
        journeys: EffortAggregate::from_sums(&data.journeys, confidence),
        customers: data.customers,
        channels: data.channels,
        survey: SurveyEffort::from_histogram(&data.ease_histogram, confidence),
        effort_index_moments: Moments::new(
            data.journeys.journeys,
            data.journeys.effort_index_sum,
            data.journeys.effort_index_sum_sq,
        ),
        ease_moments: histogram_moments(&data.ease_histogram),
        confidence,
    })
}
