//! `gapscore.v1.CatalogService`: questions and the scoring model.

use tonic::{Request, Response, Status};

use super::{
    ApiError, AppState, tenant,
    validate::{Violations, check_key, check_text},
};
use crate::{
    proto::v1::{catalog_service_server::CatalogService, *},
    store::catalog::{self as store, KIND_RATING, KIND_THEMES, OutcomePriorMeans, UpsertOutcome},
};

/// Implements `CatalogService`.
#[derive(Clone)]
pub struct CatalogServiceImpl {
    pub state: AppState,
}

fn question_to_proto(q: store::Question) -> Question {
    Question {
        key: q.key,
        kind: i32::from(q.kind),
        text: q.text,
        scale_min: q.scale_min,
        scale_max: q.scale_max,
        favorable_min: q.favorable_min,
        unfavorable_max: q.unfavorable_max,
        built_in: q.built_in,
    }
}

/// Validates a custom question (SPEC §4) into its stored form.
fn question_from_proto(q: Option<Question>) -> Result<store::Question, ApiError> {
    let Some(q) = q else {
        return Err(ApiError::invalid("question", "is required"));
    };
    let mut v = Violations::default();
    check_key(&mut v, "question.key", &q.key);
    check_text(&mut v, "question.text", &q.text, 1000);
    let kind = match QuestionKind::try_from(q.kind) {
        Ok(QuestionKind::Rating) => KIND_RATING,
        Ok(QuestionKind::Themes) => KIND_THEMES,
        _ => {
            v.add(
                "question.kind",
                "must be QUESTION_KIND_RATING or QUESTION_KIND_THEMES",
            );
            0
        }
    };
    if kind == KIND_RATING {
        if q.scale_min >= q.scale_max {
            v.add("question.scale_max", "must be greater than scale_min");
        } else if i64::from(q.scale_max) - i64::from(q.scale_min) > 100 {
            v.add(
                "question.scale_max",
                "the scale may span at most 100 points",
            );
        }
        if q.favorable_min < q.scale_min || q.favorable_min > q.scale_max {
            v.add("question.favorable_min", "must lie within the scale");
        }
        if let Some(unfav) = q.unfavorable_max {
            if unfav >= q.favorable_min {
                v.add(
                    "question.unfavorable_max",
                    "must be less than favorable_min",
                );
            } else if unfav < q.scale_min {
                v.add("question.unfavorable_max", "must lie within the scale");
            }
        }
    } else if kind == KIND_THEMES
        && (q.scale_min != 0
            || q.scale_max != 0
            || q.favorable_min != 0
            || q.unfavorable_max.is_some())
    {
        v.add("question.scale_min", "THEMES questions have no scale");
    }
    v.into_result()?;
    let rating = kind == KIND_RATING;
    Ok(store::Question {
        key: q.key,
        kind,
        text: q.text,
        scale_min: if rating { q.scale_min } else { 0 },
        scale_max: if rating { q.scale_max } else { 0 },
        favorable_min: if rating { q.favorable_min } else { 0 },
        unfavorable_max: if rating { q.unfavorable_max } else { None },
        built_in: false,
    })
}

/// The four outcome kinds in the order the model lists them.
const OUTCOME_KINDS: [OutcomeKind; 4] = [
    OutcomeKind::NegativeWordOfMouth,
    OutcomeKind::Disloyalty,
    OutcomeKind::Repurchase,
    OutcomeKind::SpendIncrease,
];

fn prior_of(model: &store::ScoringModel, kind: OutcomeKind) -> OutcomePriorMeans {
    match kind {
        OutcomeKind::NegativeWordOfMouth => model.negative_word_of_mouth,
        OutcomeKind::Disloyalty => model.disloyalty,
        OutcomeKind::Repurchase => model.repurchase,
        OutcomeKind::SpendIncrease | OutcomeKind::Unspecified => model.spend_increase,
    }
}

/// The stored model as its protobuf message.
pub fn model_to_proto(model: &store::ScoringModel, etag: String) -> ScoringModel {
    let w = &model.weights;
    ScoringModel {
        min_group_size: model.min_group_size,
        confidence_level: model.confidence_level,
        weights: Some(EffortWeights {
            extra_contact: w.extra_contact,
            channel_switch: w.channel_switch,
            failed_self_service: w.failed_self_service,
            transfer: w.transfer,
            repeated_information: w.repeated_information,
            minute: w.minute,
            free_minutes: w.free_minutes,
            time_cap: w.time_cap,
            unresolved: w.unresolved,
        }),
        low_effort_below: model.low_effort_below,
        high_effort_from: model.high_effort_from,
        prior_strength: model.prior_strength,
        priors: OUTCOME_KINDS
            .iter()
            .map(|&kind| {
                let p = prior_of(model, kind);
                OutcomePrior {
                    kind: kind as i32,
                    low_mean: p.low,
                    high_mean: p.high,
                }
            })
            .collect(),
        etag,
    }
}

/// Largest effort weight and prior strength accepted. Far above any useful
/// value (the effort index is capped at 100), low enough that no effort sum
/// overflows a double: PostgreSQL raises an error on float overflow, so a
/// model with weights near f64::MAX made every effort query of the tenant
/// fail with INTERNAL.
const MAX_MODEL_NUMBER: f64 = 1_000_000.0;

/// Validates a complete model (SPEC §7.5): weights ≥ 0, thresholds
/// 0 < low ≤ high ≤ 100, means in [0, 1], prior_strength > 0, and every
/// outcome kind's prior given exactly once.
fn model_from_proto(m: &ScoringModel) -> Result<store::ScoringModel, ApiError> {
    let mut v = Violations::default();
    if m.min_group_size < 1 {
        v.add("model.min_group_size", "must be at least 1");
    }
    if !(0.5..=0.999).contains(&m.confidence_level) {
        v.add("model.confidence_level", "must be between 0.5 and 0.999");
    }
    let weights = match &m.weights {
        None => {
            v.add("model.weights", "is required");
            store::EffortWeights::default()
        }
        Some(w) => {
            let all = [
                ("extra_contact", w.extra_contact),
                ("channel_switch", w.channel_switch),
                ("failed_self_service", w.failed_self_service),
                ("transfer", w.transfer),
                ("repeated_information", w.repeated_information),
                ("minute", w.minute),
                ("free_minutes", w.free_minutes),
                ("time_cap", w.time_cap),
                ("unresolved", w.unresolved),
            ];
            for (name, value) in all {
                if !(0.0..=MAX_MODEL_NUMBER).contains(&value) {
                    v.add(
                        format!("model.weights.{name}"),
                        "must be a number from 0 to 1,000,000",
                    );
                }
            }
            store::EffortWeights {
                extra_contact: w.extra_contact,
                channel_switch: w.channel_switch,
                failed_self_service: w.failed_self_service,
                transfer: w.transfer,
                repeated_information: w.repeated_information,
                minute: w.minute,
                free_minutes: w.free_minutes,
                time_cap: w.time_cap,
                unresolved: w.unresolved,
            }
        }
    };
    let (low, high) = (m.low_effort_below, m.high_effort_from);
    if !(low > 0.0 && low <= 100.0) {
        v.add(
            "model.low_effort_below",
            "must satisfy 0 < low_effort_below ≤ high_effort_from ≤ 100",
        );
    }
    if !(high >= low && high <= 100.0) {
        v.add(
            "model.high_effort_from",
            "must satisfy 0 < low_effort_below ≤ high_effort_from ≤ 100",
        );
    }
    if !(m.prior_strength > 0.0 && m.prior_strength <= MAX_MODEL_NUMBER) {
        v.add(
            "model.prior_strength",
            "must be greater than 0 and at most 1,000,000",
        );
    }
    let mut priors: [Option<OutcomePriorMeans>; 4] = [None; 4];
    for (i, p) in m.priors.iter().enumerate() {
        let slot = OUTCOME_KINDS.iter().position(|k| *k as i32 == p.kind);
        let Some(slot) = slot else {
            v.add(
                format!("model.priors[{i}].kind"),
                "must be a known outcome kind",
            );
            continue;
        };
        if priors[slot].is_some() {
            v.add(format!("model.priors[{i}].kind"), "appears more than once");
        }
        for (name, mean) in [("low_mean", p.low_mean), ("high_mean", p.high_mean)] {
            if !(0.0..=1.0).contains(&mean) {
                v.add(
                    format!("model.priors[{i}].{name}"),
                    "must be between 0 and 1",
                );
            }
        }
        priors[slot] = Some(OutcomePriorMeans {
            low: p.low_mean,
            high: p.high_mean,
        });
    }
    for (slot, kind) in OUTCOME_KINDS.iter().enumerate() {
        if priors[slot].is_none() {
            v.add(
                "model.priors",
                format!("needs a prior for {}", kind.as_str_name()),
            );
        }
    }
    v.into_result()?;
    let [nwom, disloyalty, repurchase, spend] = priors.map(|p| p.expect("checked above"));
    Ok(store::ScoringModel {
        min_group_size: m.min_group_size,
        confidence_level: m.confidence_level,
        weights,
        low_effort_below: low,
        high_effort_from: high,
        prior_strength: m.prior_strength,
        negative_word_of_mouth: nwom,
        disloyalty,
        repurchase,
        spend_increase: spend,
    })
}

#[tonic::async_trait]
impl CatalogService for CatalogServiceImpl {
    async fn list_questions(
        &self,
        request: Request<ListQuestionsRequest>,
    ) -> Result<Response<ListQuestionsResponse>, Status> {
        let tenant = tenant(&request)?;
        let questions = store::list_questions(&self.state.pool, tenant)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(ListQuestionsResponse {
            questions: questions.into_iter().map(question_to_proto).collect(),
        }))
    }

    async fn upsert_question(
        &self,
        request: Request<UpsertQuestionRequest>,
    ) -> Result<Response<UpsertQuestionResponse>, Status> {
        let tenant = tenant(&request)?;
        let question = question_from_proto(request.into_inner().question)?;
        let outcome = store::upsert_question(&self.state.pool, tenant, &question)
            .await
            .map_err(ApiError::from)?;
        let created = match outcome {
            UpsertOutcome::Created => true,
            UpsertOutcome::Updated => false,
            UpsertOutcome::BuiltIn => {
                return Err(ApiError::FailedPrecondition {
                    reason: "BUILT_IN_QUESTION",
                    message: format!(
                        "{:?} is a built-in question and cannot be changed",
                        question.key
                    ),
                }
                .into());
            }
            UpsertOutcome::ScaleLocked => {
                return Err(ApiError::FailedPrecondition {
                    reason: "QUESTION_HAS_ANSWERS",
                    message: format!(
                        "{:?} already has answers; its kind and scale cannot change (create a new question key)",
                        question.key
                    ),
                }
                .into());
            }
        };
        Ok(Response::new(UpsertQuestionResponse {
            question: Some(question_to_proto(question)),
            created,
        }))
    }

    async fn get_scoring_model(
        &self,
        request: Request<GetScoringModelRequest>,
    ) -> Result<Response<GetScoringModelResponse>, Status> {
        let tenant = tenant(&request)?;
        let (model, etag) = store::get_scoring_model(&self.state.pool, tenant)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(GetScoringModelResponse {
            model: Some(model_to_proto(&model, etag)),
        }))
    }

    async fn update_scoring_model(
        &self,
        request: Request<UpdateScoringModelRequest>,
    ) -> Result<Response<UpdateScoringModelResponse>, Status> {
        let tenant = tenant(&request)?;
        let Some(proposed) = request.into_inner().model else {
            return Err(ApiError::invalid("model", "is required").into());
        };
        if proposed.etag.is_empty() {
            return Err(ApiError::invalid(
                "model.etag",
                "is required: send the etag of GetScoringModel",
            )
            .into());
        }
        let model = model_from_proto(&proposed)?;
        match store::update_scoring_model(&self.state.pool, tenant, &model, &proposed.etag)
            .await
            .map_err(ApiError::from)?
        {
            Some(etag) => Ok(Response::new(UpdateScoringModelResponse { model: Some(model_to_proto(&model, etag)) })),
            None => Err(ApiError::Aborted {
                reason: "STALE_ETAG",
                message: "the scoring model changed since it was read; get it again and re-apply the change".into(),
            }
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_model_round_trips_through_protobuf() {
        let model = store::ScoringModel::default();
        let proto = model_to_proto(&model, "x".into());
        assert_eq!(model_from_proto(&proto).unwrap(), model);
    }

    #[test]
    fn invalid_models_name_every_field() {
        let mut proto = model_to_proto(&store::ScoringModel::default(), "x".into());
        proto.low_effort_below = 0.0;
        proto.prior_strength = -1.0;
        proto.weights.as_mut().unwrap().transfer = -1.0;
        proto.priors[0].high_mean = 1.5;
        proto.priors.pop();
        proto.weights.as_mut().unwrap().minute = 1e308;
        let Err(ApiError::InvalidArgument(v)) = model_from_proto(&proto) else {
            panic!("accepted")
        };
        let fields: Vec<_> = v.items().iter().map(|(f, _)| f.clone()).collect();
        for f in [
            "model.low_effort_below",
            "model.prior_strength",
            "model.weights.transfer",
            "model.weights.minute",
            "model.priors[0].high_mean",
            "model.priors",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
        }
    }
}
