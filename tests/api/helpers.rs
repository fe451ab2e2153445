//! `spawn_app`: the production server on a random port, with a tenant and a
//! key, plus authenticated clients.
#![allow(dead_code)]

use std::net::SocketAddr;

use gapscore::{
    config::ServeArgs,
    proto::v1::{
        catalog_service_client::CatalogServiceClient,
        customer_service_client::CustomerServiceClient,
        journey_service_client::JourneyServiceClient, outcome_service_client::OutcomeServiceClient,
        scoring_service_client::ScoringServiceClient, survey_service_client::SurveyServiceClient,
    },
    startup::Application,
    store::tenants::{self, TenantId},
};
use sqlx::PgPool;
use tonic::{
    Code, Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint},
};
use tonic_types::StatusExt;

/// Adds `authorization: Bearer <key>` to every call.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

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

pub type Authed = InterceptedService<Channel, Bearer>;

/// A running server and the tenant "acme" with its key.
pub struct TestApp {
    pub addr: SocketAddr,
    pub pool: PgPool,
    pub tenant: TenantId,
    pub key: String,
    pub channel: Channel,
    /// Sending on it starts a graceful shutdown (SIGTERM in production).
    pub shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The server task; it ends when the server has shut down.
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Logs go to stdout when `TEST_LOG` is set, nowhere otherwise.
fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        gapscore::telemetry::init(
            gapscore::telemetry::LogFormat::Pretty,
            "info",
            std::io::stdout,
        );
    }
}

/// Starts the server on a random port against `pool` (already migrated by
/// `#[sqlx::test]`) and creates tenant "acme".
pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, |_| {}).await
}

/// Like [`spawn_app`], with server settings adjusted by `configure`.
pub async fn spawn_app_with(pool: PgPool, configure: impl FnOnce(&mut ServeArgs)) -> TestApp {
    init_logs();
    let mut args = ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        health_interval_ms: 200,
        ..ServeArgs::default()
    };
    configure(&mut args);
    let tls = args.tls_cert.is_some();
    let app = Application::build(args, pool.clone())
        .await
        .expect("server builds");
    let addr = app.local_addr();
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stop.await;
    }));
    let (tenant, key) = tenants::create_tenant(&pool, "acme")
        .await
        .expect("tenant created");
    let endpoint = Endpoint::from_shared(format!("http://{addr}")).unwrap();
    // A TLS server does not speak plaintext: the channel then only serves to
    // show that (see `tls.rs`), so it must not be required to connect.
    let channel = if tls {
        endpoint.connect_lazy()
    } else {
        endpoint.connect().await.expect("server reachable")
    };
    TestApp {
        addr,
        pool,
        tenant: TenantId(tenant.tenant_id),
        key: key.secret,
        channel,
        shutdown: Some(shutdown),
        server,
    }
}

impl TestApp {
    /// Creates another tenant and returns its key.
    pub async fn add_tenant(&self, name: &str) -> String {
        tenants::create_tenant(&self.pool, name)
            .await
            .expect("tenant created")
            .1
            .secret
    }

    pub fn bearer(key: Option<&str>) -> Bearer {
        Bearer(key.map(|k| format!("Bearer {k}").parse().expect("ascii key")))
    }

    fn authed(&self, key: Option<&str>) -> Authed {
        InterceptedService::new(self.channel.clone(), Self::bearer(key))
    }

    pub fn survey(&self) -> SurveyServiceClient<Authed> {
        self.survey_as(Some(&self.key))
    }
    pub fn survey_as(&self, key: Option<&str>) -> SurveyServiceClient<Authed> {
        SurveyServiceClient::new(self.authed(key)).max_decoding_message_size(64 << 20)
    }
    pub fn journeys(&self) -> JourneyServiceClient<Authed> {
        self.journeys_as(Some(&self.key))
    }
    pub fn journeys_as(&self, key: Option<&str>) -> JourneyServiceClient<Authed> {
        JourneyServiceClient::new(self.authed(key)).max_decoding_message_size(64 << 20)
    }
    pub fn outcomes(&self) -> OutcomeServiceClient<Authed> {
        self.outcomes_as(Some(&self.key))
    }
    pub fn outcomes_as(&self, key: Option<&str>) -> OutcomeServiceClient<Authed> {
        OutcomeServiceClient::new(self.authed(key))
    }
    pub fn customers(&self) -> CustomerServiceClient<Authed> {
        self.customers_as(Some(&self.key))
    }
    pub fn customers_as(&self, key: Option<&str>) -> CustomerServiceClient<Authed> {
        CustomerServiceClient::new(self.authed(key))
    }
    pub fn scoring(&self) -> ScoringServiceClient<Authed> {
        self.scoring_as(Some(&self.key))
    }
    pub fn scoring_as(&self, key: Option<&str>) -> ScoringServiceClient<Authed> {
        ScoringServiceClient::new(self.authed(key))
    }
    pub fn catalog(&self) -> CatalogServiceClient<Authed> {
        self.catalog_as(Some(&self.key))
    }
    pub fn catalog_as(&self, key: Option<&str>) -> CatalogServiceClient<Authed> {
        CatalogServiceClient::new(self.authed(key))
    }
}

/// The field paths of a `BadRequest` detail, asserting the code first.
pub fn violation_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("INVALID_ARGUMENT carries a BadRequest")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

/// The `ErrorInfo` reason of a status.
pub fn error_reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

/// A protobuf timestamp from RFC 3339.
pub fn ts(rfc3339: &str) -> prost_types::Timestamp {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).expect("valid RFC 3339");
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}
