//! `GetKeyDrivers` (SPEC §11) over gRPC: the request as a
//! `service::drivers::KeyDriversQuery` (its filter converted here, every
//! other field checked by the service, all violations reported at once),
//! the model as protobuf.

use super::{convert, scoring::signed};
use crate::{
    domain::{TenantId, Violations},
    proto::v1::*,
    service::{
        ServiceResult, Services,
        context::Context,
        drivers::{self as service, KeyDrivers, KeyDriversQuery},
    },
};

/// `GetKeyDrivers`.
pub async fn key_drivers(
    services: &Services,
    tenant: TenantId,
    request: GetKeyDriversRequest,
) -> ServiceResult<GetKeyDriversResponse> {
    let ctx = Context::load(services, tenant).await?;
    let mut v = Violations::default();
    let scope = convert::scope(&mut v, "filter", request.filter.as_ref());
    let query = KeyDriversQuery {
        scope,
        outcome_question: request.outcome_question,
        driver_questions: request.driver_questions,
        confidence: request.confidence_level,
        bootstrap_samples: request.bootstrap_samples,
        seed: request.seed,
    };
    let model = service::key_drivers(services, tenant, &query, v, &ctx).await?;
    Ok(response(&model))
}

/// The protobuf form of a key-driver model.
pub fn response(m: &KeyDrivers) -> GetKeyDriversResponse {
    GetKeyDriversResponse {
        outcome_question: m.outcome_question.clone(),
        cases: signed(m.cases),
        r_squared: m.r_squared,
        drivers: m
            .drivers
            .iter()
            .map(|d| KeyDriver {
                question: d.question.clone(),
                raw_weight: d.weight.raw_weight,
                rescaled_weight: d.weight.rescaled_weight,
                raw_weight_ci: d.raw_weight_ci.map(Into::into),
                varies: d.weight.varies,
                leadership_gap_points: d.leadership_gap_points,
                staff_gap_points: d.staff_gap_points,
                priority: d.priority,
            })
            .collect(),
        bootstrap_samples: i32::try_from(m.bootstrap_samples).unwrap_or(i32::MAX),
        bootstrap_skipped: i32::try_from(m.bootstrap_skipped).unwrap_or(i32::MAX),
        bootstrap_cases: signed(m.bootstrap_cases),
        seed: m.seed,
        confidence_level: m.confidence,
        min_group_size: i32::try_from(m.min_group_size).unwrap_or(i32::MAX),
    }
}
