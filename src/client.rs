//! Clients of a running gapscore server, as the benchmark, the soak and the
//! tests call it: every call carries `authorization: Bearer <key>`
//! ([`Bearer`]), and one [`Clients`] hands out a typed client per service
//! over one HTTP/2 connection.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue, errors::InvalidMetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint},
};

use crate::proto::v1::{
    catalog_service_client::CatalogServiceClient, customer_service_client::CustomerServiceClient,
    journey_service_client::JourneyServiceClient, outcome_service_client::OutcomeServiceClient,
    scoring_service_client::ScoringServiceClient, survey_service_client::SurveyServiceClient,
};

/// Adds `authorization: Bearer <key>` to every call; [`Bearer::none`] adds
/// nothing, for calls made without a key.
#[derive(Debug, Clone, Default)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    /// The header for `key`; an error when the key is not printable ASCII.
    pub fn new(key: &str) -> Result<Self, InvalidMetadataValue> {
        Ok(Self(Some(format!("Bearer {key}").parse()?)))
    }

    /// No header.
    pub fn none() -> Self {
        Self(None)
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A channel whose calls carry a [`Bearer`].
pub type Authed = InterceptedService<Channel, Bearer>;

/// The largest message a client sends or accepts: far above the server's
/// default limit, so the server's limit is the one a caller meets (a whole
/// `GetPerceptionGap` over many questions and groups can be tens of MiB).
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// Clients of every service for one key over one connection. Cloning is
/// cheap and shares the connection.
#[derive(Debug, Clone)]
pub struct Clients {
    channel: Channel,
    bearer: Bearer,
}

/// Connects over plaintext HTTP/2 to `addr` as the holder of `key`; every
/// call is bounded by `call_timeout`.
pub async fn connect(
    addr: SocketAddr,
    key: &str,
    call_timeout: Duration,
) -> anyhow::Result<Clients> {
    let channel = Endpoint::from_shared(format!("http://{addr}"))?
        .timeout(call_timeout)
        .connect()
        .await
        .with_context(|| format!("cannot reach the server at {addr}"))?;
    Ok(Clients::new(channel, Bearer::new(key)?))
}

/// Connects to the server at `url` (`http://` or `https://`) as the holder
/// of `key`; over https the server's certificate must be signed by
/// `ca_pem`. Every call is bounded by `call_timeout`.
pub async fn connect_url(
    url: &str,
    key: &str,
    ca_pem: Option<Vec<u8>>,
    call_timeout: Duration,
) -> anyhow::Result<Clients> {
    let mut endpoint = Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("{url:?} is not a server URL"))?
        .timeout(call_timeout);
    match (url.starts_with("https://"), ca_pem) {
        (true, Some(pem)) => {
            let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem));
            endpoint = endpoint.tls_config(tls)?;
        }
        (true, None) => anyhow::bail!("an https server URL needs --ca-cert"),
        (false, Some(_)) => anyhow::bail!("--ca-cert is for an https server URL"),
        (false, None) => {}
    }
    let channel = endpoint
        .connect()
        .await
        .with_context(|| format!("cannot reach the server at {url}"))?;
    let bearer = Bearer::new(key).context("the API key is not printable ASCII")?;
    Ok(Clients::new(channel, bearer))
}

impl Clients {
    pub fn new(channel: Channel, bearer: Bearer) -> Self {
        Self { channel, bearer }
    }

    /// The same connection with another key (or none).
    pub fn with_bearer(&self, bearer: Bearer) -> Self {
        Self::new(self.channel.clone(), bearer)
    }

    pub fn authed(&self) -> Authed {
        InterceptedService::new(self.channel.clone(), self.bearer.clone())
    }
}

/// `Clients::survey()` and the others: each service's client, with
/// [`MAX_MESSAGE_BYTES`] both ways.
macro_rules! service_clients {
    ($($name:ident: $client:ident),+ $(,)?) => {
        impl Clients {$(
            pub fn $name(&self) -> $client<Authed> {
                $client::new(self.authed())
                    .max_encoding_message_size(MAX_MESSAGE_BYTES)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
            }
        )+}
    };
}

service_clients! {
    survey: SurveyServiceClient,
    journeys: JourneyServiceClient,
    outcomes: OutcomeServiceClient,
    customers: CustomerServiceClient,
    scoring: ScoringServiceClient,
    catalog: CatalogServiceClient,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorization(mut bearer: Bearer) -> Option<String> {
        let request = bearer.call(Request::new(())).unwrap();
        request
            .metadata()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn bearer_adds_the_key_or_nothing() {
        assert_eq!(
            authorization(Bearer::new("gsk_a_b").unwrap()).as_deref(),
            Some("Bearer gsk_a_b")
        );
        assert_eq!(authorization(Bearer::none()), None);
        assert!(Bearer::new("line\nbreak").is_err());
    }
}
