//! `gapscore.v1.OutcomeService`.

use std::collections::HashMap;

use tonic::{Request, Response, Status};

use super::{
    ApiError, ApiResult, AppState, convert,
    validate::{Violations, check_id, check_timestamp, utc_to_timestamp},
};
use crate::{
    proto::v1::{outcome_service_server::OutcomeService, *},
    service::page,
    store::{outcomes as db, tenants::TenantId},
};

/// At most this many outcomes per request.
pub const MAX_OUTCOMES: usize = 1000;
/// How far in the future `observed_at` may be (clock skew).
const MAX_FUTURE_MINUTES: i64 = 5;

/// Implements `OutcomeService`.
#[derive(Clone)]
pub struct OutcomeServiceImpl {
    pub state: AppState,
}

#[tonic::async_trait]
impl OutcomeService for OutcomeServiceImpl {
    async fn submit_outcomes(
        &self,
        request: Request<SubmitOutcomesRequest>,
    ) -> Result<Response<SubmitOutcomesResponse>, Status> {
        let tenant = super::tenant(&request)?;
        let outcomes =
            check_outcomes(&request.get_ref().outcomes).map_err(ApiError::InvalidArgument)?;
        let written = db::upsert_outcomes(&self.state.pool, tenant, &outcomes).await;
        self.state.calibration.wrote(tenant);
        let counts = written.map_err(ApiError::from)?;
        Ok(Response::new(SubmitOutcomesResponse {
            counts: Some(IngestCounts {
                inserted: counts.inserted,
                updated: counts.updated,
                unchanged: counts.unchanged,
            }),
        }))
    }

    async fn list_outcomes(
        &self,
        request: Request<ListOutcomesRequest>,
    ) -> Result<Response<ListOutcomesResponse>, Status> {
        let tenant = super::tenant(&request)?;
        Ok(Response::new(
            list(&self.state.pool, tenant, request.into_inner()).await?,
        ))
    }
}

/// Validates a batch of 1-1,000 outcomes, reporting every violation under
/// `outcomes[i]`, and converts the valid batch for the store. Timestamps are
/// truncated to the microseconds PostgreSQL keeps, so a re-send of the same
/// record compares equal to what is stored.
pub fn check_outcomes(outcomes: &[Outcome]) -> Result<Vec<db::Outcome>, Violations> {
    let mut v = Violations::default();
    if outcomes.is_empty() {
        v.add("outcomes", "at least 1 outcome is required");
    } else if outcomes.len() > MAX_OUTCOMES {
        v.add(
            "outcomes",
            format!("at most {MAX_OUTCOMES} outcomes are allowed per request"),
        );
    }
    let mut first_index: HashMap<&str, usize> = HashMap::with_capacity(outcomes.len());
    let mut out = Vec::with_capacity(outcomes.len());
    for (i, o) in outcomes.iter().enumerate() {
        let before = v.len();
        let path = format!("outcomes[{i}]");
        check_id(&mut v, &format!("{path}.id"), &o.id);
        if !o.id.is_empty() {
            if let Some(first) = first_index.get(o.id.as_str()) {
                v.add(
                    format!("{path}.id"),
                    format!("duplicates outcomes[{first}].id; an id may appear once per request"),
                );
            } else {
                first_index.insert(&o.id, i);
            }
        }
        check_id(&mut v, &format!("{path}.customer_id"), &o.customer_id);
        match OutcomeKind::try_from(o.kind) {
            Ok(OutcomeKind::Unspecified) => v.add(format!("{path}.kind"), "is required"),
            Ok(_) => {}
            Err(_) => v.add(
                format!("{path}.kind"),
                format!("{} is not a known OutcomeKind", o.kind),
            ),
        }
        let observed_at = check_timestamp(
            &mut v,
            &format!("{path}.observed_at"),
            o.observed_at.as_ref(),
            Some(chrono::Duration::minutes(MAX_FUTURE_MINUTES)),
        );
        if v.len() != before {
            continue;
        }
        let Some(observed_at) = observed_at else {
            continue;
        };
        out.push(db::Outcome {
            id: o.id.clone(),
            customer_id: o.customer_id.clone(),
            kind: o.kind as i16,
            occurred: o.occurred,
            observed_at: chrono::DateTime::from_timestamp_micros(observed_at.timestamp_micros())
                .unwrap_or(observed_at),
        });
    }
    if v.is_empty() { Ok(out) } else { Err(v) }
}

async fn list(
    pool: &sqlx::PgPool,
    tenant: TenantId,
    request: ListOutcomesRequest,
) -> ApiResult<ListOutcomesResponse> {
    let mut v = Violations::default();
    let default_filter = ScoreFilter::default();
    let filter = request.filter.as_ref().unwrap_or(&default_filter);
    let window = convert::window(&mut v, "filter", filter);
    // Outcomes carry no labels, survey or intent: a filter on them would
    // silently match everything, so it is rejected instead.
    if !filter.labels.is_empty() {
        v.add("filter.labels", "does not apply to outcomes");
    }
    if !filter.survey_id.is_empty() {
        v.add("filter.survey_id", "does not apply to outcomes");
    }
    if !filter.intent.is_empty() {
        v.add("filter.intent", "does not apply to outcomes");
    }
    let customer_id = (!request.customer_id.is_empty()).then(|| request.customer_id.clone());
    if let Some(c) = &customer_id {
        check_id(&mut v, "customer_id", c);
    }
    let kind = match OutcomeKind::try_from(request.kind) {
        Ok(OutcomeKind::Unspecified) => None,
        Ok(_) => Some(request.kind as i16),
        Err(_) => {
            v.add(
                "kind",
                format!("{} is not a known OutcomeKind", request.kind),
            );
            None
        }
    };
    let limit = page::page_size(request.page_size).unwrap_or_else(|_| {
        v.add("page_size", "must not be negative");
        0
    });
    v.into_result()?;

    let fingerprint = page::fingerprint(
        tenant.0,
        &ListOutcomesRequest {
            page_size: 0,
            page_token: String::new(),
            ..request.clone()
        },
    );
    let after = page::decode_time_position(&fingerprint, &request.page_token)?
        .map(|(observed_at, id)| db::OutcomeCursor { observed_at, id });

    let db_filter = db::OutcomeFilter {
        window,
        customer_id,
        kind,
    };
    let (outcomes, more) =
        db::list_outcomes(pool, tenant, &db_filter, after.as_ref(), limit).await?;
    let next_page_token = match (more, outcomes.last()) {
        (true, Some(last)) => page::encode(
            &fingerprint,
            &(last.observed_at.timestamp_micros(), last.id.clone()),
        ),
        _ => String::new(),
    };
    Ok(ListOutcomesResponse {
        outcomes: outcomes
            .into_iter()
            .map(|o| Outcome {
                id: o.id,
                customer_id: o.customer_id,
                kind: i32::from(o.kind),
                occurred: o.occurred,
                observed_at: Some(utc_to_timestamp(o.observed_at)),
            })
            .collect(),
        next_page_token,
    })
}
