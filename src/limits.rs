//! Overload protection, as two tower layers.
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
//! Both count calls, not records: a `Stream*` upload is one call however
//! long it runs, and it holds its in-flight slot until it ends.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};
use tokio::sync::Semaphore;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tower::{Layer, Service};

use crate::{auth::is_public, grpc::error::DOMAIN, store::tenants::TenantId};

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

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

impl<S> Layer<S> for InFlightLayer {
    type Service = InFlight<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InFlight {
            inner,
            layer: self.clone(),
        }
    }
}

/// See [`InFlightLayer`].
#[derive(Clone)]
pub struct InFlight<S> {
    inner: S,
    layer: InFlightLayer,
}

impl<S, B, R> Service<http::Request<B>> for InFlight<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if is_public(request.uri().path()) {
            return Box::pin(inner.call(request));
        }
        match self.layer.permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let response = inner.call(request);
                Box::pin(async move {
                    let response = response.await;
                    drop(permit);
                    response
                })
            }
            Err(_) => {
                let limit = self.layer.limit;
                Box::pin(async move {
                    Ok(resource_exhausted(
                        format!("the server is overloaded ({limit} calls in flight); retry later"),
                        "OVERLOADED",
                        HashMap::from([("max_in_flight".to_owned(), limit.to_string())]),
                        OVERLOAD_RETRY_DELAY,
                    )
                    .into_http())
                })
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

impl<S> Layer<S> for TenantRateLimitLayer {
    type Service = TenantRateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TenantRateLimit {
            inner,
            layer: self.clone(),
        }
    }
}

/// See [`TenantRateLimitLayer`].
#[derive(Clone)]
pub struct TenantRateLimit<S> {
    inner: S,
    layer: TenantRateLimitLayer,
}

impl<S, B, R> Service<http::Request<B>> for TenantRateLimit<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        // Public paths carry no tenant and are not limited.
        if let Some(tenant) = request.extensions().get::<TenantId>()
            && let Err(status) = self.layer.check(tenant)
        {
            return Box::pin(async move { Ok(status.into_http()) });
        }
        Box::pin(inner.call(request))
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
    fn no_limit_by_default() {
        let layer = TenantRateLimitLayer::new(None, None);
        for _ in 0..10_000 {
            assert!(layer.check(&TenantId(1)).is_ok());
        }
    }
}
