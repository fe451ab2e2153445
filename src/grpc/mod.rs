//! The gRPC transport. Each RPC: the tenant the auth layer resolved, the
//! request converted to domain types (every violation collected), one
//! `service` call, and the result converted back to protobuf. The
//! `*ServiceImpl` trait impls are routing tables ([`routes!`]: each RPC
//! one line naming its handler); each RPC's conversions live in the module
//! named after what it serves, and `error` maps a `ServiceError` to a
//! `tonic::Status` in one place.

pub mod catalog;
pub mod change;
pub mod competition;
pub mod convert;
pub mod customer;
pub mod drivers;
pub mod effort;
pub mod error;
pub mod events;
pub mod expectation;
pub mod follow_ups;
pub mod gap;
pub mod ingest;
pub mod journey;
pub mod loyalty;
pub mod outcome;
pub mod priority;
pub mod scorecard;
pub mod scoring;
pub mod survey;
pub mod trend;
pub mod webhook;

use tonic::{Request, Response, Status};

use crate::{domain::TenantId, service::Services};

/// The tenant the auth layer resolved for this call.
pub fn tenant<T>(request: &Request<T>) -> Result<TenantId, tonic::Status> {
    request
        .extensions()
        .get::<TenantId>()
        .copied()
        .ok_or_else(|| tonic::Status::unauthenticated("missing API key"))
}

/// What a handler takes from its request: the message itself, or for a
/// client stream an [`ingest::ClientStream`] that also carries what the
/// layers attached to the call (its limits, the caller's credential).
pub trait FromRequest<M>: Sized {
    fn from_request(request: Request<M>) -> Self;
}

impl<M> FromRequest<M> for M {
    fn from_request(request: Request<M>) -> Self {
        request.into_inner()
    }
}

/// Serves one RPC: `rpc` with the tenant the auth layer resolved and the
/// request message (for a client stream, the stream); its error (a
/// `ServiceError`, or the `Status` of a broken stream) becomes the
/// call's status, a pool timeout first resolved by [`Services::explain`].
pub async fn serve<M, I, R, E>(
    services: &Services,
    request: Request<M>,
    rpc: impl AsyncFnOnce(&Services, TenantId, I) -> Result<R, E>,
) -> Result<Response<R>, Status>
where
    I: FromRequest<M>,
    E: error::CallError,
{
    let tenant = tenant(&request)?;
    let services = &match consistency(request.metadata())? {
        Consistency::Primary => services.primary_reads(),
        Consistency::Any => services.clone(),
    };
    match rpc(services, tenant, I::from_request(request)).await {
        Ok(response) => Ok(Response::new(response)),
        Err(err) => Err(err.into_status(services).await),
    }
}

/// The metadata key by which a call asks where its reads go.
pub const CONSISTENCY_HEADER: &str = "x-gapscore-consistency";

/// Where a call's reads may go (SPEC §15's read-after-write policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// The read replica while it is usable (within its lag bound), else the
    /// primary: the default.
    Any,
    /// The primary: the call sees every write committed before it started.
    Primary,
}

/// The call's [`CONSISTENCY_HEADER`]: absent or `any`, or `primary`;
/// anything else is INVALID_ARGUMENT naming the header.
pub fn consistency(metadata: &tonic::metadata::MetadataMap) -> Result<Consistency, Status> {
    match metadata.get(CONSISTENCY_HEADER).map(|v| v.to_str()) {
        None | Some(Ok("any")) => Ok(Consistency::Any),
        Some(Ok("primary")) => Ok(Consistency::Primary),
        Some(_) => {
            let mut v = crate::domain::Violations::default();
            v.add(CONSISTENCY_HEADER, "must be `primary` or `any`");
            Err(crate::service::ServiceError::InvalidArgument(v).into())
        }
    }
}

/// Implements a tonic service trait as a routing table: each line
/// `method(Request) -> Response = handler;` is the trait method that
/// [`serve`]s `handler`, an `async fn(&Services, TenantId, Request)`.
/// Items after the table (a server stream's type and method, which do not
/// fit the unary shape) go into the impl as written.
macro_rules! routes {
    (impl $service:ident for $server:ty {
        $($method:ident($request:ty) -> $response:ty = $handler:path;)*
    } $($item:item)*) => {
        #[tonic::async_trait]
        impl $service for $server {
            $(
                async fn $method(
                    &self,
                    request: tonic::Request<$request>,
                ) -> Result<tonic::Response<$response>, tonic::Status> {
                    $crate::grpc::serve(&self.state, request, $handler).await
                }
            )*
            $($item)*
        }
    };
}
pub(crate) use routes;
