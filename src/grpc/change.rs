//! `GetChange` (SPEC §10.4) over gRPC: the request as a
//! `service::change::ChangeQuery` (every missing field named at once), the
//! two windows and their change as protobuf.

use super::{convert, scoring::check_confidence, trend};
use crate::{
    domain::{TenantId, Violations},
    proto::v1::*,
    service::{
        ServiceError, ServiceResult, Services,
        change::{self as service, ChangeQuery},
        context::Context,
    },
};

/// `GetChange`.
pub async fn change(
    services: &Services,
    tenant: TenantId,
    request: GetChangeRequest,
) -> ServiceResult<GetChangeResponse> {
    let query = parse(&request)?;
    let ctx = Context::load(services, tenant).await?;
    let report = service::change_between(services, tenant, &query, &ctx).await?;
    Ok(GetChangeResponse {
        change: Some(trend::metric_change(
            &report.baseline,
            &report.current,
            report.change.as_ref(),
        )),
    })
}

fn parse(request: &GetChangeRequest) -> Result<ChangeQuery, ServiceError> {
    let mut v = Violations::default();
    let metric = trend::metric(
        &mut v,
        request.metric,
        &request.question,
        request.role,
        request.to_role,
    );
    let filter = request.filter.as_ref();
    if filter.and_then(|f| f.start_time.as_ref()).is_none() {
        v.add("filter.start_time", "is required: the current window");
    }
    if filter.and_then(|f| f.end_time.as_ref()).is_none() {
        v.add("filter.end_time", "is required: the current window");
    }
    let scope = convert::scope(&mut v, "filter", filter);
    let baseline_start = convert::check_timestamp(
        &mut v,
        "baseline_start_time",
        request.baseline_start_time.as_ref(),
        None,
    );
    let baseline_end = convert::check_timestamp(
        &mut v,
        "baseline_end_time",
        request.baseline_end_time.as_ref(),
        None,
    );
    let confidence = check_confidence(&mut v, request.confidence_level);
    v.into_result()?;
    Ok(ChangeQuery {
        metric: metric.expect("checked"),
        scope,
        baseline_start: baseline_start.expect("checked"),
        baseline_end: baseline_end.expect("checked"),
        confidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_name_every_missing_field() {
        let request = GetChangeRequest {
            metric: TrendMetric::GapPoints as i32,
            ..Default::default()
        };
        let Err(ServiceError::InvalidArgument(v)) = parse(&request) else {
            panic!("accepted")
        };
        let fields: Vec<_> = v.items().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "question",
                "role",
                "to_role",
                "filter.start_time",
                "filter.end_time",
                "baseline_start_time",
                "baseline_end_time"
            ]
        );
    }
}
