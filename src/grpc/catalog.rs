//! `gapscore.v1.CatalogService`: questions and the scoring model. Each RPC
//! converts its message (shape only), calls `service::catalog` and converts
//! the answer; the rules live in `domain::question` and `domain::model`.

use super::routes;
use crate::{
    domain::{
        Numbered, TenantId,
        enums::{OutcomeKind as DomainOutcomeKind, QuestionKind as DomainQuestionKind},
        model::{self, ProposedModel, ProposedPrior},
        question::{self, ProposedQuestion},
    },
    proto::v1::{catalog_service_server::CatalogService, *},
    service::{ServiceError, ServiceResult, Services, catalog as service},
};

/// Implements `CatalogService`.
#[derive(Clone)]
pub struct CatalogServiceImpl {
    pub state: Services,
}

fn question_to_proto(q: question::Question) -> Question {
    Question {
        key: q.key,
        kind: q.kind.number(),
        text: q.text,
        scale_min: q.scale_min,
        scale_max: q.scale_max,
        favorable_min: q.favorable_min,
        unfavorable_max: q.unfavorable_max,
        built_in: q.built_in,
    }
}

fn question_from_proto(q: Question) -> ProposedQuestion {
    ProposedQuestion {
        key: q.key,
        kind: DomainQuestionKind::from_number(q.kind),
        text: q.text,
        scale_min: q.scale_min,
        scale_max: q.scale_max,
        favorable_min: q.favorable_min,
        unfavorable_max: q.unfavorable_max,
    }
}

/// The nine effort weights, copied field by field: the proto message and
/// the domain struct name them alike.
macro_rules! copy_weights {
    ($w:expr => $($ty:ident)::+) => {
        $($ty)::+ {
            extra_contact: $w.extra_contact,
            channel_switch: $w.channel_switch,
            failed_self_service: $w.failed_self_service,
            transfer: $w.transfer,
            repeated_information: $w.repeated_information,
            minute: $w.minute,
            free_minutes: $w.free_minutes,
            time_cap: $w.time_cap,
            unresolved: $w.unresolved,
        }
    };
}

/// The stored model as its protobuf message, priors in
/// [`DomainOutcomeKind::ALL`] order.
pub fn model_to_proto(model: &model::ScoringModel, etag: String) -> ScoringModel {
    ScoringModel {
        min_group_size: model.min_group_size,
        confidence_level: model.confidence_level,
        weights: Some(copy_weights!(model.weights => EffortWeights)),
        low_effort_below: model.low_effort_below,
        high_effort_from: model.high_effort_from,
        prior_strength: model.prior_strength,
        priors: DomainOutcomeKind::ALL
            .iter()
            .map(|&kind| {
                let p = model.prior(kind);
                OutcomePrior {
                    kind: kind.number(),
                    low_mean: p.low,
                    high_mean: p.high,
                }
            })
            .collect(),
        etag,
        risk_window_days: Some(model.risk_window_days),
        event_retention_days: Some(model.event_retention_days),
        holdout_share: model.holdout_share,
    }
}

fn model_from_proto(m: &ScoringModel) -> ProposedModel {
    ProposedModel {
        min_group_size: m.min_group_size,
        confidence_level: m.confidence_level,
        weights: m
            .weights
            .as_ref()
            .map(|w| copy_weights!(w => model::EffortWeights)),
        low_effort_below: m.low_effort_below,
        high_effort_from: m.high_effort_from,
        prior_strength: m.prior_strength,
        priors: m
            .priors
            .iter()
            .map(|p| ProposedPrior {
                kind: DomainOutcomeKind::from_number(p.kind),
                means: model::OutcomePriorMeans {
                    low: p.low_mean,
                    high: p.high_mean,
                },
            })
            .collect(),
        risk_window_days: m.risk_window_days,
        event_retention_days: m.event_retention_days,
        holdout_share: m.holdout_share,
    }
}

routes! {
    impl CatalogService for CatalogServiceImpl {
        list_questions(ListQuestionsRequest) -> ListQuestionsResponse = questions;
        upsert_question(UpsertQuestionRequest) -> UpsertQuestionResponse = upsert;
        get_scoring_model(GetScoringModelRequest) -> GetScoringModelResponse = scoring_model;
        update_scoring_model(UpdateScoringModelRequest) -> UpdateScoringModelResponse = update_model;
    }
}

/// `ListQuestions`.
async fn questions(
    services: &Services,
    tenant: TenantId,
    _request: ListQuestionsRequest,
) -> ServiceResult<ListQuestionsResponse> {
    let questions = service::list_questions(services, tenant).await?;
    Ok(ListQuestionsResponse {
        questions: questions.into_iter().map(question_to_proto).collect(),
    })
}

/// `UpsertQuestion`.
async fn upsert(
    services: &Services,
    tenant: TenantId,
    request: UpsertQuestionRequest,
) -> ServiceResult<UpsertQuestionResponse> {
    let Some(question) = request.question else {
        return Err(ServiceError::invalid("question", "is required"));
    };
    let (question, created) =
        service::upsert_question(services, tenant, question_from_proto(question)).await?;
    Ok(UpsertQuestionResponse {
        question: Some(question_to_proto(question)),
        created,
    })
}

/// `GetScoringModel`.
async fn scoring_model(
    services: &Services,
    tenant: TenantId,
    _request: GetScoringModelRequest,
) -> ServiceResult<GetScoringModelResponse> {
    let (model, etag) = service::get_scoring_model(services, tenant).await?;
    Ok(GetScoringModelResponse {
        model: Some(model_to_proto(&model, etag)),
    })
}

/// `UpdateScoringModel`.
async fn update_model(
    services: &Services,
    tenant: TenantId,
    request: UpdateScoringModelRequest,
) -> ServiceResult<UpdateScoringModelResponse> {
    let Some(proposed) = request.model else {
        return Err(ServiceError::invalid("model", "is required"));
    };
    if proposed.etag.is_empty() {
        return Err(ServiceError::invalid(
            "model.etag",
            "is required: send the etag of GetScoringModel",
        ));
    }
    let (model, etag) = service::update_scoring_model(
        services,
        tenant,
        model_from_proto(&proposed),
        &proposed.etag,
    )
    .await?;
    Ok(UpdateScoringModelResponse {
        model: Some(model_to_proto(&model, etag)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_model_round_trips_through_protobuf() {
        let model = model::ScoringModel::default();
        let proto = model_to_proto(&model, "x".into());
        assert_eq!(model_from_proto(&proto), ProposedModel::from(&model));
        assert_eq!(model_from_proto(&proto).validate("model"), Ok(model));
    }

    #[test]
    fn unknown_kinds_stay_unknown() {
        let mut proto = model_to_proto(&model::ScoringModel::default(), "x".into());
        proto.priors[1].kind = 0;
        proto.priors[2].kind = 99;
        let kinds: Vec<_> = model_from_proto(&proto)
            .priors
            .iter()
            .map(|p| p.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                Some(DomainOutcomeKind::NegativeWordOfMouth),
                None,
                None,
                Some(DomainOutcomeKind::SpendIncrease)
            ]
        );
        let q = question_from_proto(Question {
            kind: QuestionKind::Unspecified as i32,
            ..Default::default()
        });
        assert_eq!(q.kind, None);
    }
}
