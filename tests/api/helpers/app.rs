//! `spawn_app`: the production server on a random port, with a tenant and a
//! key, plus authenticated clients and the calls most tests make.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use gapscore::{
    client::{Authed, Bearer, Clients},
    proto::v1::{
        DeleteCustomerDataRequest, DeleteCustomerDataResponse, GetScoringModelRequest,
        IngestCounts, Journey, ListJourneysRequest, ListOutcomesRequest, ListQuestionsRequest,
        ListSurveyResponsesRequest, Outcome, OutcomeKind, Question, RespondentRole, ScoringModel,
        SubmitJourneysRequest, SubmitOutcomesRequest, SubmitSurveyResponsesRequest, SurveyResponse,
        Touchpoint, UpdateScoringModelRequest, catalog_service_client::CatalogServiceClient,
        customer_service_client::CustomerServiceClient,
        journey_service_client::JourneyServiceClient, outcome_service_client::OutcomeServiceClient,
        scoring_service_client::ScoringServiceClient, survey_service_client::SurveyServiceClient,
    },
};
use sqlx::PgPool;
use tonic::{
    Status,
    transport::{Channel, Endpoint},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::{
    fixtures::{ease_response, journey_from, label_map, outcome},
    internals::{Application, ServeArgs, TenantId, create_tenant, telemetry},
};

/// A running server and the tenant "acme" with its key.
pub struct TestApp {
    pub addr: SocketAddr,
    pub pool: PgPool,
    pub tenant: TenantId,
    pub key: String,
    pub channel: Channel,
    /// Clients of every service as acme, over `channel`.
    pub clients: Clients,
    /// Sending on it starts a graceful shutdown (SIGTERM in production).
    pub shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The server task; it ends when the server has shut down.
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Logs go to stdout when `TEST_LOG` is set, nowhere otherwise.
fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        telemetry::init(telemetry::LogFormat::Pretty, "info", std::io::stdout);
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
    let (tenant, key) = create_tenant(&pool, "acme").await;
    let endpoint = Endpoint::from_shared(format!("http://{addr}")).unwrap();
    // A TLS server does not speak plaintext: the channel then only serves to
    // show that (see `tls.rs`), so it must not be required to connect.
    let channel = if tls {
        endpoint.connect_lazy()
    } else {
        endpoint.connect().await.expect("server reachable")
    };
    let clients = Clients::new(channel.clone(), TestApp::bearer(Some(&key)));
    TestApp {
        addr,
        pool,
        tenant,
        key,
        channel,
        clients,
        shutdown: Some(shutdown),
        server,
    }
}

impl TestApp {
    /// Creates another tenant and returns its key.
    pub async fn add_tenant(&self, name: &str) -> String {
        create_tenant(&self.pool, name).await.1
    }

    /// The interceptor for `key` (None: no `authorization` header).
    pub fn bearer(key: Option<&str>) -> Bearer {
        key.map_or_else(Bearer::none, |k| Bearer::new(k).expect("ascii key"))
    }

    /// Clients of every service with `key` (None: no key), over `channel`.
    pub fn clients_as(&self, key: Option<&str>) -> Clients {
        self.clients.with_bearer(Self::bearer(key))
    }
}

/// `TestApp::survey()` (as acme) and `TestApp::survey_as(key)`, and so on
/// for every service: the library's [`Clients`].
macro_rules! service_clients {
    ($($name:ident, $name_as:ident: $client:ident;)+) => {
        impl TestApp {$(
            pub fn $name(&self) -> $client<Authed> {
                self.clients.$name()
            }
            pub fn $name_as(&self, key: Option<&str>) -> $client<Authed> {
                self.clients_as(key).$name()
            }
        )+}
    };
}

service_clients! {
    survey, survey_as: SurveyServiceClient;
    journeys, journeys_as: JourneyServiceClient;
    outcomes, outcomes_as: OutcomeServiceClient;
    customers, customers_as: CustomerServiceClient;
    scoring, scoring_as: ScoringServiceClient;
    catalog, catalog_as: CatalogServiceClient;
}

impl TestApp {
    /// `SurveyService.SubmitSurveyResponses` as acme.
    pub async fn submit_responses(
        &self,
        responses: Vec<SurveyResponse>,
    ) -> Result<IngestCounts, Status> {
        self.submit_responses_as(&self.key, responses).await
    }
    /// `SurveyService.SubmitSurveyResponses` with `key`.
    pub async fn submit_responses_as(
        &self,
        key: &str,
        responses: Vec<SurveyResponse>,
    ) -> Result<IngestCounts, Status> {
        self.survey_as(Some(key))
            .submit_survey_responses(SubmitSurveyResponsesRequest { responses })
            .await
            .map(|r| r.into_inner().counts.expect("counts are always set"))
    }

    /// `JourneyService.SubmitJourneys` as acme.
    pub async fn submit_journeys(&self, journeys: Vec<Journey>) -> Result<IngestCounts, Status> {
        self.submit_journeys_as(&self.key, journeys).await
    }
    /// `JourneyService.SubmitJourneys` with `key`.
    pub async fn submit_journeys_as(
        &self,
        key: &str,
        journeys: Vec<Journey>,
    ) -> Result<IngestCounts, Status> {
        self.journeys_as(Some(key))
            .submit_journeys(SubmitJourneysRequest { journeys })
            .await
            .map(|r| r.into_inner().counts.expect("counts are always set"))
    }

    /// `OutcomeService.SubmitOutcomes` as acme.
    pub async fn submit_outcomes(&self, outcomes: Vec<Outcome>) -> Result<IngestCounts, Status> {
        self.submit_outcomes_as(&self.key, outcomes).await
    }
    /// `OutcomeService.SubmitOutcomes` with `key`.
    pub async fn submit_outcomes_as(
        &self,
        key: &str,
        outcomes: Vec<Outcome>,
    ) -> Result<IngestCounts, Status> {
        self.outcomes_as(Some(key))
            .submit_outcomes(SubmitOutcomesRequest { outcomes })
            .await
            .map(|r| r.into_inner().counts.expect("counts are always set"))
    }

    /// `CustomerService.DeleteCustomerData` with `key` (None: no key).
    pub async fn erase(
        &self,
        key: Option<&str>,
        customer_id: &str,
    ) -> Result<DeleteCustomerDataResponse, Status> {
        Ok(self
            .customers_as(key)
            .delete_customer_data(DeleteCustomerDataRequest {
                customer_id: customer_id.into(),
            })
            .await?
            .into_inner())
    }

    /// acme's question catalog (`CatalogService.ListQuestions`).
    pub async fn questions(&self) -> Vec<Question> {
        self.catalog()
            .list_questions(ListQuestionsRequest {})
            .await
            .expect("ListQuestions")
            .into_inner()
            .questions
    }

    /// acme's scoring model in force.
    pub async fn scoring_model(&self) -> ScoringModel {
        self.scoring_model_as(&self.key).await
    }

    /// The scoring model in force for the tenant of `key`.
    pub async fn scoring_model_as(&self, key: &str) -> ScoringModel {
        self.catalog_as(Some(key))
            .get_scoring_model(GetScoringModelRequest {})
            .await
            .expect("GetScoringModel")
            .into_inner()
            .model
            .expect("a model")
    }

    /// Reads acme's scoring model, changes it with `edit` and stores it
    /// (with the etag just read); returns the stored model.
    pub async fn update_scoring_model(&self, edit: impl FnOnce(&mut ScoringModel)) -> ScoringModel {
        let mut model = self.scoring_model().await;
        edit(&mut model);
        self.catalog()
            .update_scoring_model(UpdateScoringModelRequest { model: Some(model) })
            .await
            .expect("UpdateScoringModel")
            .into_inner()
            .model
            .expect("the stored model")
    }

    /// Every survey response id `request` lists, following page tokens.
    pub async fn list_all_responses(&self, request: ListSurveyResponsesRequest) -> Vec<String> {
        let mut request = request;
        let mut ids = Vec::new();
        loop {
            let page = self
                .survey()
                .list_survey_responses(request.clone())
                .await
                .expect("ListSurveyResponses")
                .into_inner();
            assert!(page.responses.len() <= max_page(request.page_size));
            ids.extend(page.responses.into_iter().map(|r| r.id));
            if page.next_page_token.is_empty() {
                return ids;
            }
            request.page_token = page.next_page_token;
        }
    }

    /// Every journey id `request` lists, following page tokens.
    pub async fn list_all_journeys(&self, request: ListJourneysRequest) -> Vec<String> {
        let mut request = request;
        let mut ids = Vec::new();
        loop {
            let page = self
                .journeys()
                .list_journeys(request.clone())
                .await
                .expect("ListJourneys")
                .into_inner();
            assert!(page.journeys.len() <= max_page(request.page_size));
            ids.extend(page.journeys.into_iter().map(|j| j.id));
            if page.next_page_token.is_empty() {
                return ids;
            }
            request.page_token = page.next_page_token;
        }
    }

    /// Every outcome `request` lists, following page tokens.
    pub async fn list_all_outcomes(&self, request: ListOutcomesRequest) -> Vec<Outcome> {
        let mut request = request;
        let mut all = Vec::new();
        loop {
            let page = self
                .outcomes()
                .list_outcomes(request.clone())
                .await
                .expect("ListOutcomes")
                .into_inner();
            assert!(page.outcomes.len() <= max_page(request.page_size));
            all.extend(page.outcomes);
            if page.next_page_token.is_empty() {
                return all;
            }
            request.page_token = page.next_page_token;
        }
    }
}

/// The most records a page of `page_size` may hold (AIP-158: default 50,
/// at most 1,000).
fn max_page(page_size: i32) -> usize {
    match page_size {
        0 => 50,
        n => n.clamp(1, 1000) as usize,
    }
}

/// Records submitted one call at a time as one tenant, for tests that
/// build a population line by line; every call must succeed.
pub struct Data<'a> {
    app: &'a TestApp,
    key: String,
}

impl TestApp {
    /// Submits records as acme.
    pub fn data(&self) -> Data<'_> {
        self.data_as(&self.key)
    }
    /// Submits records with `key`.
    pub fn data_as(&self, key: &str) -> Data<'_> {
        Data {
            app: self,
            key: key.to_owned(),
        }
    }
}

impl Data<'_> {
    /// Journeys through `JourneyService.SubmitJourneys`.
    pub async fn journeys(&self, journeys: Vec<Journey>) {
        self.app
            .submit_journeys_as(&self.key, journeys)
            .await
            .expect("SubmitJourneys");
    }

    /// [`journey_from`]: `touchpoints` a minute apart from `start`, intent
    /// `update_payment_method`, no labels.
    pub async fn journey(
        &self,
        id: &str,
        customer_id: &str,
        start: &str,
        touchpoints: &[Touchpoint],
    ) {
        self.journeys(vec![journey_from(id, customer_id, start, touchpoints)])
            .await;
    }

    /// Like [`Data::journey`] with an intent and labels.
    pub async fn journey_with(
        &self,
        (id, customer_id, intent): (&str, &str, &str),
        labels: &[(&str, &str)],
        start: &str,
        touchpoints: &[Touchpoint],
    ) {
        self.journeys(vec![Journey {
            intent: intent.into(),
            labels: label_map(labels),
            ..journey_from(id, customer_id, start, touchpoints)
        }])
        .await;
    }

    /// Responses through `SurveyService.SubmitSurveyResponses`.
    pub async fn responses(&self, responses: Vec<SurveyResponse>) {
        self.app
            .submit_responses_as(&self.key, responses)
            .await
            .expect("SubmitSurveyResponses");
    }

    /// [`ease_response`]: a CUSTOMER `ease` answer without labels or survey.
    pub async fn ease(&self, id: &str, customer_id: &str, at: &str, score: i32) {
        self.responses(vec![ease_response(id, customer_id, at, score)])
            .await;
    }

    /// An `ease` answer of any role, respondent, survey and labels.
    pub async fn ease_with(
        &self,
        (id, role, respondent_id): (&str, RespondentRole, &str),
        (survey_id, labels): (&str, &[(&str, &str)]),
        at: &str,
        score: i32,
    ) {
        self.responses(vec![SurveyResponse {
            role: role as i32,
            survey_id: survey_id.into(),
            labels: label_map(labels),
            ..ease_response(id, respondent_id, at, score)
        }])
        .await;
    }

    /// An outcome through `OutcomeService.SubmitOutcomes`.
    pub async fn outcome(
        &self,
        id: &str,
        customer_id: &str,
        kind: OutcomeKind,
        occurred: bool,
        observed_at: &str,
    ) {
        self.app
            .submit_outcomes_as(
                &self.key,
                vec![Outcome {
                    occurred,
                    ..outcome(id, customer_id, kind, observed_at)
                }],
            )
            .await
            .expect("SubmitOutcomes");
    }
}

/// The health service's answer for `service` (`""`: the server), `None`
/// while it does not answer.
pub async fn health(channel: &Channel, service: &str) -> Option<ServingStatus> {
    let response = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .ok()?;
    Some(response.into_inner().status())
}

/// Time until health reports `want` for the server; panics after `within`.
pub async fn wait_for_health(channel: &Channel, want: ServingStatus, within: Duration) -> Duration {
    wait_for_health_of(channel, "", want, within).await
}

/// Time until health reports `want` for `service`; panics after `within`.
pub async fn wait_for_health_of(
    channel: &Channel,
    service: &str,
    want: ServingStatus,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        if health(channel, service).await == Some(want) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "health of {service:?} did not become {want:?} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
