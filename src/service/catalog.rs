//! The question catalog and the scoring model: list and upsert questions,
//! read and replace the model under its etag.

use super::{ServiceError, ServiceResult, Services};
use crate::{
    domain::{
        TenantId,
        model::{ProposedModel, ScoringModel},
        question::{ProposedQuestion, Question},
    },
    store::catalog::{self as store, UpsertOutcome},
};

/// Every question of the tenant, ordered by key.
pub async fn list_questions(services: &Services, tenant: TenantId) -> ServiceResult<Vec<Question>> {
    Ok(store::list_questions(&*services.db(tenant, 1).await?, tenant).await?)
}

/// Creates or changes a custom question; returns it as stored and whether
/// it is new. Built-in questions cannot change, nor can the kind or scale
/// of a question that has answers.
pub async fn upsert_question(
    services: &Services,
    tenant: TenantId,
    proposed: ProposedQuestion,
) -> ServiceResult<(Question, bool)> {
    let question = proposed.validate("question")?;
    let created = match store::upsert_question(&*services.db(tenant, 1).await?, tenant, &question)
        .await?
    {
        UpsertOutcome::Created => true,
        UpsertOutcome::Updated => false,
        UpsertOutcome::BuiltIn => {
            return Err(ServiceError::FailedPrecondition {
                reason: "BUILT_IN_QUESTION",
                message: format!(
                    "{:?} is a built-in question and cannot be changed",
                    question.key
                ),
            });
        }
        UpsertOutcome::ScaleLocked => {
            return Err(ServiceError::FailedPrecondition {
                reason: "QUESTION_HAS_ANSWERS",
                message: format!(
                    "{:?} already has answers; its kind and scale cannot change (create a new question key)",
                    question.key
                ),
            });
        }
    };
    Ok((question, created))
}

/// The model in force with its etag (empty for a tenant without a stored
/// model, which scores with the defaults).
pub async fn get_scoring_model(
    services: &Services,
    tenant: TenantId,
) -> ServiceResult<(ScoringModel, String)> {
    Ok(store::get_scoring_model(&*services.db(tenant, 1).await?, tenant).await?)
}

/// Replaces the model if `etag` is the one last read; returns the model
/// and its new etag.
pub async fn update_scoring_model(
    services: &Services,
    tenant: TenantId,
    proposed: ProposedModel,
    etag: &str,
) -> ServiceResult<(ScoringModel, String)> {
    let model = proposed.validate("model")?;
    // An etag with a NUL is none this service issued (they are hex), and
    // PostgreSQL cannot compare it: it is stale like any other.
    let updated = if etag.contains('\0') {
        None
    } else {
        store::update_scoring_model(&*services.db(tenant, 1).await?, tenant, &model, etag).await?
    };
    match updated {
        Some(etag) => Ok((model, etag)),
        None => Err(ServiceError::Aborted {
            reason: "STALE_ETAG",
            message:
                "the scoring model changed since it was read; get it again and re-apply the change"
                    .into(),
        }),
    }
}
