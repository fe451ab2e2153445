//! Where a timed read is asked to run: the server's default (the read
//! replica while it is usable, else the primary) or the primary, by the
//! per-call metadata `x-gapscore-consistency: primary` (SPEC §15).

use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
};

use crate::{
    client::{Authed, Clients, MAX_MESSAGE_BYTES},
    grpc::CONSISTENCY_HEADER,
    proto::v1::{
        customer_service_client::CustomerServiceClient,
        scoring_service_client::ScoringServiceClient,
    },
};

/// Where a set of reads is asked to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Route {
    /// No consistency header: the server's choice (the standby when one is
    /// configured and usable).
    #[default]
    Default,
    /// `x-gapscore-consistency: primary`.
    Primary,
}

impl Route {
    pub fn name(self) -> &'static str {
        match self {
            Route::Default => "default",
            Route::Primary => "primary",
        }
    }
}

/// Adds the consistency header of its route to every call.
#[derive(Debug, Clone)]
pub struct Consistency(Option<MetadataValue<Ascii>>);

impl Interceptor for Consistency {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            request.metadata_mut().insert(CONSISTENCY_HEADER, v.clone());
        }
        Ok(request)
    }
}

/// A connection whose calls carry a key and a route.
pub type Routed = InterceptedService<Authed, Consistency>;

fn routed(clients: &Clients, route: Route) -> Routed {
    let header = match route {
        Route::Default => None,
        Route::Primary => Some(MetadataValue::from_static("primary")),
    };
    InterceptedService::new(clients.authed(), Consistency(header))
}

/// The scoring service, every call asked to run where `route` says.
pub fn scoring(clients: &Clients, route: Route) -> ScoringServiceClient<Routed> {
    ScoringServiceClient::new(routed(clients, route))
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
}

/// The customer service, every call asked to run where `route` says.
pub fn customers(clients: &Clients, route: Route) -> CustomerServiceClient<Routed> {
    CustomerServiceClient::new(routed(clients, route))
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
}
