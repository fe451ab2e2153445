//! `spawn_app`: the production server on a random port, with a tenant and a
//! key, plus authenticated clients.
#![allow(dead_code)]

use std::{collections::BTreeMap, net::SocketAddr};

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

/// Row count and an MD5 of every row of one table.
pub type TableDigest = (i64, String);

/// A digest of every table a request can write (all tenants), so a test can
/// tell "nothing changed" from "rows were replaced". Survey responses,
/// journeys and outcomes whose id starts with `exclude_prefix` (and their
/// answers and touchpoints) are left out; `""` excludes nothing.
pub async fn snapshot(pool: &PgPool, exclude_prefix: &str) -> BTreeMap<&'static str, TableDigest> {
    // '' LIKE-matches only the empty id, which is never stored.
    let pattern = if exclude_prefix.is_empty() {
        String::new()
    } else {
        format!("{exclude_prefix}%")
    };
    let digest = "count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')";
    let excluded = [
        (
            "survey_responses",
            format!("SELECT {digest} FROM survey_responses t WHERE NOT t.id LIKE $1"),
        ),
        (
            "answers",
            format!(
                "SELECT {digest} FROM answers t WHERE NOT EXISTS (SELECT 1 FROM survey_responses s \
                 WHERE s.tenant_id = t.tenant_id AND s.rid = t.rid AND s.id LIKE $1)"
            ),
        ),
        (
            "journeys",
            format!("SELECT {digest} FROM journeys t WHERE NOT t.id LIKE $1"),
        ),
        (
            "touchpoints",
            format!(
                "SELECT {digest} FROM touchpoints t WHERE NOT EXISTS (SELECT 1 FROM journeys j \
                 WHERE j.tenant_id = t.tenant_id AND j.jid = t.jid AND j.id LIKE $1)"
            ),
        ),
        (
            "outcomes",
            format!("SELECT {digest} FROM outcomes t WHERE NOT t.id LIKE $1"),
        ),
    ];
    let mut tables = BTreeMap::new();
    for (table, sql) in excluded {
        let row: TableDigest = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&pattern)
            .fetch_one(pool)
            .await
            .expect("digest query");
        tables.insert(table, row);
    }
    for table in ["questions", "scoring_models"] {
        let row: TableDigest = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {digest} FROM {table} t"
        )))
        .fetch_one(pool)
        .await
        .expect("digest query");
        tables.insert(table, row);
    }
    tables
}
