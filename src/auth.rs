//! Authentication as an async tower layer: `authorization: Bearer <key>` is
//! resolved to a tenant before any handler runs.
//!
//! Health and reflection need no key, so load balancers and `grpcurl list`
//! work without credentials. Missing, malformed, unknown and revoked keys all
//! get the same `UNAUTHENTICATED`, so a caller learns nothing about which
//! keys exist. Keys are looked up on every call (an indexed primary-key
//! read), which makes revocation take effect immediately.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use sqlx::PgPool;
use tonic::Status;
use tower::{Layer, Service};

use crate::{
    grpc::ApiError,
    store::{self, StoreError},
};

/// Paths served without a key.
pub fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
        || path.starts_with("/grpc.reflection.v1.ServerReflection/")
        || path.starts_with("/grpc.reflection.v1alpha.ServerReflection/")
}

/// Extracts the key from `authorization: Bearer <key>`.
fn bearer_key<B>(request: &http::Request<B>) -> Option<&str> {
    let value = request
        .headers()
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim())
        .filter(|k| !k.is_empty())
}

/// Adds [`Auth`] around every service.
#[derive(Clone)]
pub struct AuthLayer {
    pool: PgPool,
}

impl AuthLayer {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            pool: self.pool.clone(),
        }
    }
}

/// The authenticating service; see the module docs.
#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    pool: PgPool,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B, R> Service<http::Request<B>> for Auth<S>
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

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone that was driven to readiness serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let pool = self.pool.clone();
        Box::pin(async move {
            if is_public(request.uri().path()) {
                return inner.call(request).await;
            }
            let Some(key) = bearer_key(&request) else {
                return Ok(unauthenticated().into_http());
            };
            match store::tenants::authenticate(&pool, key).await {
                Ok(Some(tenant)) => {
                    tracing::Span::current().record("tenant", tenant.0);
                    request.extensions_mut().insert(tenant);
                    inner.call(request).await
                }
                Ok(None) => Ok(unauthenticated().into_http()),
                Err(err @ StoreError::Unavailable(_)) | Err(err @ StoreError::Internal(_)) => {
                    Ok(Status::from(ApiError::Store(err)).into_http())
                }
            }
        })
    }
}

/// The one answer to every missing, malformed, unknown or revoked key, so a
/// caller cannot tell them apart.
fn unauthenticated() -> Status {
    use tonic_types::{ErrorDetails, StatusExt};
    let mut details = ErrorDetails::new();
    details.set_error_info(
        "UNAUTHENTICATED",
        crate::grpc::error::DOMAIN,
        std::collections::HashMap::new(),
    );
    Status::with_error_details(
        tonic::Code::Unauthenticated,
        "missing or invalid API key: send the metadata `authorization: Bearer <key>` \
         (grpcurl: -H \"authorization: Bearer $KEY\"); `gapscore tenant create NAME` prints a \
         tenant's first key and `gapscore key create --tenant NAME` another",
        details,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_keys_are_parsed_case_insensitively() {
        let req = http::Request::builder()
            .header("authorization", "bearer gsk_x_y")
            .body(())
            .unwrap();
        assert_eq!(bearer_key(&req), Some("gsk_x_y"));
        let req = http::Request::builder()
            .header("authorization", "Basic abc")
            .body(())
            .unwrap();
        assert_eq!(bearer_key(&req), None);
        let req = http::Request::builder().body(()).unwrap();
        assert_eq!(bearer_key(&req), None);
    }

    #[test]
    fn only_health_and_reflection_are_public() {
        assert!(is_public("/grpc.health.v1.Health/Check"));
        assert!(is_public(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
        ));
        assert!(!is_public("/gapscore.v1.SurveyService/GetSurveyResponse"));
    }
}
