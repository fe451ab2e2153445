//! What every score is computed under: the tenant's scoring model and
//! question catalog, read once per call (however many scores the call
//! composes, however many buckets a trend has) and handed to each
//! computation.

use crate::{
    domain::{TenantId, model::ScoringModel, question::Question, violations::confidence_level},
    store::catalog,
};

use super::{ServiceResult, Services};

/// The scoring model and catalog in force for one call.
#[derive(Debug, Clone)]
pub struct Context {
    pub model: ScoringModel,
    /// The etag of `model`, read with it: what lets a score use state
    /// derived under that model (the whole-history assessments,
    /// `store::assessments`), which the store checks is still in force in
    /// its own snapshot.
    pub etag: String,
    pub catalog: Vec<Question>,
}

impl Context {
    /// Reads the tenant's model and catalog (concurrently).
    pub async fn load(services: &Services, tenant: TenantId) -> ServiceResult<Context> {
        let db = services.db(tenant, 2).await?;
        let pool = &*db;
        let (catalog, (model, etag)) = tokio::try_join!(
            catalog::list_questions(pool, tenant),
            catalog::get_scoring_model(pool, tenant),
        )?;
        Ok(Context {
            model,
            etag,
            catalog,
        })
    }
}

/// The tenant's scoring model in force (for scores that need no catalog).
pub async fn scoring_model(services: &Services, tenant: TenantId) -> ServiceResult<ScoringModel> {
    let (model, _etag) =
        catalog::get_scoring_model(&*services.db(tenant, 1).await?, tenant).await?;
    Ok(model)
}

/// The tenant's scoring model in force and its etag (what reads that may
/// use state derived under a given model compare it with).
pub async fn scoring_model_and_etag(
    services: &Services,
    tenant: TenantId,
) -> ServiceResult<(ScoringModel, String)> {
    Ok(catalog::get_scoring_model(&*services.db(tenant, 1).await?, tenant).await?)
}

/// The confidence level of a score: the requested one (checked against
/// SPEC §5's range) or the model's.
pub fn confidence(requested: Option<f64>, model: &ScoringModel) -> ServiceResult<f64> {
    Ok(confidence_level(requested, model.confidence_level)?)
}
