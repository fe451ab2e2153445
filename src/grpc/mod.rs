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
    match rpc(services, tenant, I::from_request(request)).await {
        Ok(response) => Ok(Response::new(response)),
        Err(err) => Err(err.into_status(services).await),
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
