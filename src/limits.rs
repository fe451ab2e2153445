//! Overload protection and fairness, as tower layers (checks of
//! [`crate::layer`]).
//!
//! - [`InFlightLayer`]: a global bound on calls being served at once, across
//!   every connection. A call beyond it is answered at once with
//!   `RESOURCE_EXHAUSTED` (reason `OVERLOADED`, with a `RetryInfo`) instead
//!   of queueing, so a burst cannot grow memory or latency without bound.
//!   Health and reflection are exempt, so probes keep answering under load.
//! - [`TenantRateLimitLayer`]: an optional per-tenant rate limit (a GCRA
//!   token bucket from `governor`, keyed by tenant), applied after
//!   authentication, so one noisy tenant cannot starve the others. A call
//!   beyond it is `RESOURCE_EXHAUSTED` with reason `RATE_LIMITED` and a
//!   `RetryInfo` saying when the next call would be admitted.
//!
//! - [`TenantBudgetLayer`]: per-tenant budgets (SPEC §14) of calls in
//!   flight and of open client streams, after authentication. A call
//!   beyond its tenant's budget is answered at once `RESOURCE_EXHAUSTED`
//!   with reason `TENANT_BUDGET_EXHAUSTED`, the budget named in the
//!   metadata and a `RetryInfo`; other tenants are unaffected. (The third
//!   budget, database connections, is taken where the pool is used:
//!   `service::budget`.)
//!
//! They count calls, not records: a `Stream*` upload is one call however
//! long it runs, and it holds its slots until it ends — which its idle
//! timeout and maximum lifetime bound (`grpc::ingest::StreamLimits`, which
//! [`TenantBudgetLayer`] attaches to each stream).

use std::{collections::HashMap, num::NonZeroU32, sync::Arc, time::Duration};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{
    auth::is_public,
    domain::TenantId,
    grpc::{error::DOMAIN, ingest::StreamLimits},
    layer::{Check, Guard, check_layer},
    service::budget::{BUDGET_RETRY_DELAY, BudgetExhausted, TenantSemaphores},
};

/// How long an overloaded server asks callers to wait before retrying.
const OVERLOAD_RETRY_DELAY: Duration = Duration::from_secs(1);

fn resource_exhausted(
    message: String,
    reason: &str,
    metadata: HashMap<String, String>,
    retry_after: Duration,
) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, DOMAIN, metadata);
    details.set_retry_info(Some(retry_after));
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

/// Bounds the calls in flight across all connections; see the module docs.
#[derive(Clone)]
pub struct InFlightLayer {
    permits: Arc<Semaphore>,
    limit: u32,
}

impl InFlightLayer {
    pub fn new(limit: u32) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit as usize)),
            limit,
        }
    }
}

check_layer!(InFlightLayer, TenantRateLimitLayer, TenantBudgetLayer);

/// A call's in-flight slot, released when the call has answered.
impl Guard for OwnedSemaphorePermit {}

impl Check for InFlightLayer {
    type Guard = Option<OwnedSemaphorePermit>;

    async fn check<B: Send + 'static>(
        &self,
        request: http::Request<B>,
    ) -> Result<(http::Request<B>, Self::Guard), Status> {
        if is_public(request.uri().path()) {
            return Ok((request, None));
        }
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => Ok((request, Some(permit))),
            Err(_) => {
                let limit = self.limit;
                Err(resource_exhausted(
                    format!("the server is overloaded ({limit} calls in flight); retry later"),
                    "OVERLOADED",
                    HashMap::from([("max_in_flight".to_owned(), limit.to_string())]),
                    OVERLOAD_RETRY_DELAY,
                ))
            }
        }
    }
}

/// Rate-limits each tenant; a pass-through when no limit is configured.
/// Must sit inside the authentication layer, which puts the [`TenantId`]
/// in the request's extensions.
#[derive(Clone)]
pub struct TenantRateLimitLayer {
    limiter: Option<Arc<DefaultKeyedRateLimiter<TenantId>>>,
    per_second: u32,
    burst: u32,
}

impl TenantRateLimitLayer {
    /// `per_second` calls a second per tenant with bursts of `burst` (default
    /// one second's worth); no limit when `per_second` is `None`.
    pub fn new(per_second: Option<NonZeroU32>, burst: Option<NonZeroU32>) -> Self {
        match per_second {
            None => Self {
                limiter: None,
                per_second: 0,
                burst: 0,
            },
            Some(rate) => {
                let burst = burst.unwrap_or(rate);
                Self {
                    limiter: Some(Arc::new(RateLimiter::keyed(
                        Quota::per_second(rate).allow_burst(burst),
                    ))),
                    per_second: rate.get(),
                    burst: burst.get(),
                }
            }
        }
    }

    /// Whether the tenant may make a call now; otherwise the status to answer.
    /// (The [`Check`] impl asks this of the request's tenant.)
    fn check(&self, tenant: &TenantId) -> Result<(), Status> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(tenant).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            // Whole milliseconds, at least one, so a client never spins.
            let wait = Duration::from_millis((wait.as_millis() as u64).max(1));
            resource_exhausted(
                format!(
                    "rate limit of {} calls per second (burst {}) exceeded; retry in {} ms",
                    self.per_second,
                    self.burst,
                    wait.as_millis()
                ),
                "RATE_LIMITED",
                HashMap::from([
                    ("calls_per_second".to_owned(), self.per_second.to_string()),
                    ("burst".to_owned(), self.burst.to_string()),
                ]),
                wait,
            )
        })
    }
}

impl Check for TenantRateLimitLayer {
    type Guard = ();

    async fn check<B: Send + 'static>(
        &self,
        request: http::Request<B>,
    ) -> Result<(http::Request<B>, ()), Status> {
        // Public paths carry no tenant and are not limited.
        if let Some(tenant) = request.extensions().get::<TenantId>() {
            TenantRateLimitLayer::check(self, tenant)?;
        }
        Ok((request, ()))
    }
}

/// Whether `path` is a client-streaming upload (`Stream*`), which counts
/// against the open-stream budget instead of the calls-in-flight one.
pub fn is_client_stream(path: &str) -> bool {
    path.starts_with("/gapscore.v1.")
        && path
            .rsplit('/')
            .next()
            .is_some_and(|method| method.starts_with("Stream"))
}

/// Per-tenant budgets of calls in flight and open streams; see the module
/// docs. Must sit inside the authentication layer.
#[derive(Clone)]
pub struct TenantBudgetLayer {
    calls: Arc<TenantSemaphores>,
    streams: Arc<TenantSemaphores>,
    stream_limits: StreamLimits,
}

impl TenantBudgetLayer {
    pub fn new(max_in_flight: u32, max_streams: u32, stream_limits: StreamLimits) -> Self {
        Self {
            calls: Arc::new(TenantSemaphores::new(max_in_flight)),
            streams: Arc::new(TenantSemaphores::new(max_streams)),
            stream_limits,
        }
    }
}

impl Check for TenantBudgetLayer {
    type Guard = Option<OwnedSemaphorePermit>;

    async fn check<B: Send + 'static>(
        &self,
        mut request: http::Request<B>,
    ) -> Result<(http::Request<B>, Self::Guard), Status> {
        // Public paths carry no tenant and have no budget.
        let Some(&tenant) = request.extensions().get::<TenantId>() else {
            return Ok((request, None));
        };
        let stream = is_client_stream(request.uri().path());
        let (budget, name, what) = if stream {
            (&self.streams, "open_streams", "open streams")
        } else {
            (&self.calls, "calls_in_flight", "calls in flight")
        };
        let permit = budget.try_acquire(tenant).ok_or_else(|| {
            Status::from(BudgetExhausted {
                budget: name,
                what,
                limit: budget.limit(),
                retry_after: BUDGET_RETRY_DELAY,
            })
        })?;
        if stream {
            request.extensions_mut().insert(self.stream_limits);
        }
        Ok((request, Some(permit)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_are_limited_separately_with_a_retry_delay() {
        let layer = TenantRateLimitLayer::new(NonZeroU32::new(1), NonZeroU32::new(2));
        let (a, b) = (TenantId(1), TenantId(2));
        assert!(layer.check(&a).is_ok());
        assert!(layer.check(&a).is_ok());
        let status = layer.check(&a).unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.get_details_error_info().unwrap().reason,
            "RATE_LIMITED"
        );
        let retry = status
            .get_details_retry_info()
            .unwrap()
            .retry_delay
            .unwrap();
        assert!(
            retry > Duration::ZERO && retry <= Duration::from_secs(1),
            "{retry:?}"
        );
        assert!(layer.check(&b).is_ok(), "another tenant is unaffected");
    }

    #[test]
    fn only_uploads_are_client_streams() {
        assert!(is_client_stream(
            "/gapscore.v1.SurveyService/StreamSurveyResponses"
        ));
        assert!(is_client_stream(
            "/gapscore.v1.JourneyService/StreamJourneys"
        ));
        assert!(!is_client_stream(
            "/gapscore.v1.JourneyService/SubmitJourneys"
        ));
        assert!(!is_client_stream("/grpc.health.v1.Health/Watch"));
    }

    #[test]
    fn no_limit_by_default() {
        let layer = TenantRateLimitLayer::new(None, None);
        for _ in 0..10_000 {
            assert!(layer.check(&TenantId(1)).is_ok());
        }
    }
}
