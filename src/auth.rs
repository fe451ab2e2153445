//! Authentication as an async tower layer: `authorization: Bearer <key>` is
//! resolved to a tenant before any handler runs.
//!
//! Health and reflection need no key, so load balancers and `grpcurl list`
//! work without credentials. Missing, malformed, unknown and revoked keys all
//! get the same `UNAUTHENTICATED`, so a caller learns nothing about which
//! keys exist. Keys are looked up on every call (an indexed primary-key
//! read), which makes revocation take effect immediately; a client stream,
//! one call however long it stays open, checks its key again from time to
//! time through the [`Credential`] the layer attaches.
//!
//! The layer reads through the server's small control pool, which tenant
//! queries never use, so authentication never waits behind them.

use std::sync::Arc;

use sqlx::PgPool;
use tonic::Status;

use crate::{
    layer::{Check, check_layer},
    service::{ServiceError, pool_probe::PoolProbe},
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

/// Authenticates every call but health and reflection; see the module docs.
#[derive(Clone)]
pub struct AuthLayer {
    pool: PgPool,
    /// Tells an exhausted pool from an unreachable database.
    probe: Arc<PoolProbe>,
}

impl AuthLayer {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            probe: Arc::default(),
        }
    }
}

check_layer!(AuthLayer);

/// The key a call was authenticated with, to check it again later.
#[derive(Clone)]
pub struct Credential {
    pool: PgPool,
    key: Arc<str>,
    tenant: crate::domain::TenantId,
}

impl Credential {
    /// Whether the key still authenticates the same tenant (not revoked,
    /// tenant not deleted).
    pub async fn still_valid(&self) -> Result<bool, StoreError> {
        Ok(store::tenants::authenticate(&self.pool, &self.key).await? == Some(self.tenant))
    }
}

impl Check for AuthLayer {
    type Guard = ();

    /// Puts the caller's [`TenantId`](crate::domain::TenantId) in the
    /// request's extensions and the `rpc` span.
    async fn check<B: Send + 'static>(
        &self,
        mut request: http::Request<B>,
    ) -> Result<(http::Request<B>, ()), Status> {
        if is_public(request.uri().path()) {
            return Ok((request, ()));
        }
        let key = bearer_key(&request).ok_or_else(unauthenticated)?;
        match store::tenants::authenticate(&self.pool, key).await {
            Ok(Some(tenant)) => {
                tracing::Span::current().record("tenant", tenant.0);
                let credential = Credential {
                    pool: self.pool.clone(),
                    key: key.into(),
                    tenant,
                };
                request.extensions_mut().insert(tenant);
                request.extensions_mut().insert(credential);
                Ok((request, ()))
            }
            Ok(None) => Err(unauthenticated()),
            Err(err) => Err(Status::from(ServiceError::Store(
                self.probe.explain(&self.pool, err).await,
            ))),
        }
    }
}

/// The one answer to every missing, malformed, unknown or revoked key, so a
/// caller cannot tell them apart.
pub fn unauthenticated() -> Status {
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
