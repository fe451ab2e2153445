//! Faults under load: a network partition between the service and
//! PostgreSQL (the TCP proxy), a database crash and restart (a private
//! cluster), and SIGTERM to the real binary, each during concurrent
//! `StreamSurveyResponses` streams and unary `SubmitSurveyResponses` /
//! `SubmitJourneys` calls.
//!
//! Every batch carries ids of its own, so afterwards the database (read
//! directly, not through the service) tells, batch by batch, what was
//! stored: every acknowledged record exactly once, every batch wholly
//! present or wholly absent, each record with all its answers/touchpoints.
//! The figures are printed (`cargo test --test api faults -- --nocapture`)
//! and published in RELIABILITY.md.

use std::{
    collections::{BTreeMap, HashMap},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use gapscore::proto::v1::{
    Channel as TouchChannel, IngestCounts, Initiator, Journey, RespondentRole,
    StreamSurveyResponsesRequest, SubmitJourneysRequest, SubmitSurveyResponsesRequest,
    SurveyResponse, TouchpointOutcome, survey_service_client::SurveyServiceClient,
};
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt;

use crate::{
    cluster::Cluster,
    helpers::{
        Authed, Clients, TestApp,
        app::wait_for_health,
        child::ChildServer,
        error_reason,
        internals::{create_tenant, migrate},
        rating, response, spawn_app, tp,
    },
    proxy::Proxy,
};

/// Records per unary call and per stream message.
const BATCH: usize = 10;
/// Messages per stream before it is closed and a new one opened.
const MESSAGES_PER_STREAM: usize = 6;
/// Pause between stream messages and between unary calls of one caller.
const PACE: Duration = Duration::from_millis(60);
/// The client's deadline for a unary call; a call still running at its
/// deadline is abandoned and counted as hung.
const DEADLINE: Duration = Duration::from_secs(5);
/// The client's deadline for a whole stream.
const STREAM_DEADLINE: Duration = Duration::from_secs(10);
/// How long the fault lasts.
const OUTAGE: Duration = Duration::from_secs(3);
/// The service must serve again this soon after the database returns.
const RECOVERY: Duration = Duration::from_secs(5);
/// Concurrent callers.
const STREAMS: usize = 3;
const SURVEY_CALLERS: usize = 4;
const JOURNEY_CALLERS: usize = 4;
/// Answers per survey response and touchpoints per journey: a record stored
/// with fewer was stored in part.
const ANSWERS: i64 = 3;
const TOUCHPOINTS: i64 = 2;

// ------------------------------------------------------------------ records

fn survey_record(id: &str) -> SurveyResponse {
    let answers = vec![
        rating("overall_experience", 4),
        rating("ease", 3),
        rating("likelihood_to_recommend", 9),
    ];
    SurveyResponse {
        respondent_id: "cust-1".into(),
        ..response(
            id,
            RespondentRole::Customer,
            "2026-01-01T00:00:00Z",
            answers,
        )
    }
}

fn journey_record(id: &str) -> Journey {
    Journey {
        id: id.into(),
        customer_id: "cust-1".into(),
        intent: "update_payment_method".into(),
        labels: BTreeMap::new(),
        touchpoints: vec![
            tp(
                TouchChannel::Web,
                Initiator::Customer,
                "2026-01-01T00:00:00Z",
                300,
                0,
                TouchpointOutcome::Unresolved,
            ),
            tp(
                TouchChannel::Phone,
                Initiator::Customer,
                "2026-01-01T00:10:00Z",
                400,
                120,
                TouchpointOutcome::Resolved,
            ),
        ],
        effort_index: 0.0,
        effort_tier: 0,
    }
}

fn batch_ids(prefix: &str) -> Vec<String> {
    (0..BATCH).map(|r| format!("{prefix}-r{r}")).collect()
}

// ------------------------------------------------------------------- ledger

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Survey,
    Journey,
}

#[derive(Debug)]
enum Outcome {
    /// OK, with the records the server reported inserted.
    Ok {
        inserted: i64,
    },
    Failed(Status),
    /// Still running at the client's deadline.
    Hung,
}

/// One call as the client saw it.
#[derive(Debug)]
struct Call {
    rpc: &'static str,
    kind: Kind,
    /// Since the load started.
    started: Duration,
    ended: Duration,
    /// The ids of each batch (unary call) or message (stream) sent.
    batches: Vec<Vec<String>>,
    outcome: Outcome,
}

impl Call {
    fn ok(&self) -> bool {
        matches!(self.outcome, Outcome::Ok { .. })
    }
    fn took(&self) -> Duration {
        self.ended - self.started
    }
}

/// Streams of `MESSAGES_PER_STREAM` messages, one after the other, until
/// stopped.
async fn stream_caller(
    client: SurveyServiceClient<Authed>,
    tag: String,
    epoch: Instant,
    stop: watch::Receiver<bool>,
) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut n = 0;
    while !*stop.borrow() {
        let started = epoch.elapsed();
        let mut batches: Vec<Vec<String>> = Vec::new();
        let result = tokio::time::timeout(STREAM_DEADLINE, async {
            let (tx, rx) = mpsc::channel(1);
            let mut client = client.clone();
            let call = client.stream_survey_responses(ReceiverStream::new(rx));
            tokio::pin!(call);
            let send = async {
                // Owned here: dropping it at the end ends the request stream.
                let tx = tx;
                for m in 0..MESSAGES_PER_STREAM {
                    let ids = batch_ids(&format!("{tag}-c{n}-m{m}"));
                    let message = StreamSurveyResponsesRequest {
                        responses: ids.iter().map(|id| survey_record(id)).collect(),
                    };
                    if tx.send(message).await.is_err() {
                        return;
                    }
                    batches.push(ids);
                    tokio::time::sleep(PACE).await;
                }
            };
            tokio::select! {
                result = &mut call => result,
                () = send => call.await,
            }
        })
        .await;
        let outcome = match result {
            Ok(Ok(response)) => {
                let response = response.into_inner();
                assert_eq!(
                    response.messages as usize,
                    batches.len(),
                    "an OK stream acknowledges every message sent"
                );
                Outcome::Ok {
                    inserted: response.counts.unwrap_or_default().inserted,
                }
            }
            Ok(Err(status)) => Outcome::Failed(status),
            Err(_) => Outcome::Hung,
        };
        calls.push(Call {
            rpc: "StreamSurveyResponses",
            kind: Kind::Survey,
            started,
            ended: epoch.elapsed(),
            batches,
            outcome,
        });
        n += 1;
    }
    calls
}

/// Unary 10-record batches, one after the other, until stopped.
async fn unary_caller(
    kind: Kind,
    clients: Clients,
    tag: String,
    epoch: Instant,
    stop: watch::Receiver<bool>,
) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut n = 0;
    while !*stop.borrow() {
        let ids = batch_ids(&format!("{tag}-c{n}"));
        let started = epoch.elapsed();
        let (rpc, result) = submit(kind, &clients, &ids).await;
        calls.push(Call {
            rpc,
            kind,
            started,
            ended: epoch.elapsed(),
            batches: vec![ids],
            outcome: result,
        });
        n += 1;
        tokio::time::sleep(PACE).await;
    }
    calls
}

/// One unary submit of `ids` within [`DEADLINE`].
async fn submit(kind: Kind, clients: &Clients, ids: &[String]) -> (&'static str, Outcome) {
    match kind {
        Kind::Survey => {
            let request = SubmitSurveyResponsesRequest {
                responses: ids.iter().map(|id| survey_record(id)).collect(),
            };
            let mut client = clients.survey();
            let call = client.submit_survey_responses(request);
            (
                "SubmitSurveyResponses",
                within_deadline(call, |r| r.counts).await,
            )
        }
        Kind::Journey => {
            let request = SubmitJourneysRequest {
                journeys: ids.iter().map(|id| journey_record(id)).collect(),
            };
            let mut client = clients.journeys();
            let call = client.submit_journeys(request);
            ("SubmitJourneys", within_deadline(call, |r| r.counts).await)
        }
    }
}

/// The outcome of a unary submit `call` given [`DEADLINE`]; `counts` picks
/// the counts out of its response.
async fn within_deadline<R>(
    call: impl Future<Output = Result<tonic::Response<R>, Status>>,
    counts: impl FnOnce(R) -> Option<IngestCounts>,
) -> Outcome {
    match tokio::time::timeout(DEADLINE, call).await {
        Ok(Ok(response)) => Outcome::Ok {
            inserted: counts(response.into_inner()).unwrap_or_default().inserted,
        },
        Ok(Err(status)) => Outcome::Failed(status),
        Err(_) => Outcome::Hung,
    }
}

/// Concurrent streams and unary callers running until [`Load::finish`].
struct Load {
    epoch: Instant,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Call>>>,
}

impl Load {
    fn start(clients: &Clients) -> Load {
        let epoch = Instant::now();
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        for w in 0..STREAMS {
            tasks.push(tokio::spawn(stream_caller(
                clients.survey(),
                format!("st{w}"),
                epoch,
                stopped.clone(),
            )));
        }
        for (kind, callers, tag) in [
            (Kind::Survey, SURVEY_CALLERS, "us"),
            (Kind::Journey, JOURNEY_CALLERS, "uj"),
        ] {
            for w in 0..callers {
                tasks.push(tokio::spawn(unary_caller(
                    kind,
                    clients.clone(),
                    format!("{tag}{w}"),
                    epoch,
                    stopped.clone(),
                )));
            }
        }
        Load { epoch, stop, tasks }
    }

    /// Stops the callers and returns every call once all have settled.
    async fn finish(self) -> Vec<Call> {
        self.stop.send_replace(true);
        let mut calls = Vec::new();
        for task in self.tasks {
            calls.extend(task.await.expect("caller task"));
        }
        calls
    }
}

// ------------------------------------------------------------------ checks

/// What the database holds, compared with what the clients were told.
#[derive(Debug, Default)]
struct Figures {
    calls: usize,
    ok_calls: usize,
    failed_calls: usize,
    hung_calls: usize,
    /// Failed calls by code and reason.
    failures: BTreeMap<String, usize>,
    slowest_failure: Duration,
    batches: usize,
    acked_records: usize,
    found_records: usize,
    /// Batches of failed calls found stored (whole): earlier messages of a
    /// failed stream, or a commit whose reply was lost.
    committed_despite_failure: usize,
    /// Per RPC: calls, OK, failed, records acknowledged, records found.
    per_rpc: BTreeMap<&'static str, [usize; 5]>,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "calls {} (ok {}, failed {}, hung {}), failures {:?}, slowest failure {:?}, \
             batches {}, records acknowledged {}, found {} (exactly once: yes), \
             partial batches 0, failed-call batches found whole {}; per RPC \
             [calls, ok, failed, records acknowledged, records found]: {:?}",
            self.calls,
            self.ok_calls,
            self.failed_calls,
            self.hung_calls,
            self.failures,
            self.slowest_failure,
            self.batches,
            self.acked_records,
            self.found_records,
            self.committed_despite_failure,
            self.per_rpc
        )
    }
}

/// Stored ids of the tenant with the number of their child rows: one row
/// per stored record (grouped by its row key, not its id), so an id stored
/// twice comes back twice.
async fn stored(pool: &PgPool, tenant: i64, kind: Kind) -> HashMap<String, i64> {
    let sql = match kind {
        Kind::Survey => {
            "SELECT r.id, count(a.question) FROM survey_responses r \
             LEFT JOIN answers a ON a.tenant_id = r.tenant_id AND a.rid = r.rid \
             WHERE r.tenant_id = $1 GROUP BY r.rid, r.id"
        }
        Kind::Journey => {
            "SELECT j.id, count(t.seq) FROM journeys j \
             LEFT JOIN touchpoints t ON t.tenant_id = j.tenant_id AND t.jid = j.jid \
             WHERE j.tenant_id = $1 GROUP BY j.jid, j.id"
        }
    };
    let rows: Vec<(String, i64)> = sqlx::query_as(sql)
        .bind(tenant)
        .fetch_all(pool)
        .await
        .expect("read the stored records directly");
    let total = rows.len();
    let map: HashMap<_, _> = rows.into_iter().collect();
    assert_eq!(map.len(), total, "an id is stored more than once");
    map
}

/// Checks the database against the calls and returns the figures.
async fn verify(pool: &PgPool, tenant: i64, calls: &[Call]) -> Figures {
    let mut surveys = stored(pool, tenant, Kind::Survey).await;
    let mut journeys = stored(pool, tenant, Kind::Journey).await;
    let mut figures = Figures {
        calls: calls.len(),
        ..Figures::default()
    };
    for call in calls {
        let (found_in, children) = match call.kind {
            Kind::Survey => (&mut surveys, ANSWERS),
            Kind::Journey => (&mut journeys, TOUCHPOINTS),
        };
        let mut found_in_call = 0;
        for batch in &call.batches {
            let mut found = 0;
            for id in batch {
                if let Some(rows) = found_in.remove(id) {
                    assert_eq!(rows, children, "{id} is stored without all its rows");
                    found += 1;
                }
            }
            assert!(
                found == 0 || found == batch.len(),
                "{} stored {found} of the {} records of a batch ({}): {call:?}",
                call.rpc,
                batch.len(),
                batch[0]
            );
            if call.ok() {
                assert_eq!(found, batch.len(), "acknowledged but not stored: {call:?}");
            } else if found > 0 {
                figures.committed_despite_failure += 1;
            }
            found_in_call += found;
            figures.batches += 1;
        }
        figures.found_records += found_in_call;
        let rpc = figures.per_rpc.entry(call.rpc).or_default();
        rpc[0] += 1;
        rpc[4] += found_in_call;
        match &call.outcome {
            Outcome::Ok { inserted } => {
                let sent: usize = call.batches.iter().map(Vec::len).sum();
                assert_eq!(*inserted as usize, sent, "{call:?}");
                figures.ok_calls += 1;
                figures.acked_records += sent;
                rpc[1] += 1;
                rpc[3] += sent;
            }
            Outcome::Failed(status) => {
                rpc[2] += 1;
                figures.failed_calls += 1;
                *figures
                    .failures
                    .entry(format!("{:?}/{}", status.code(), error_reason(status)))
                    .or_default() += 1;
                figures.slowest_failure = figures.slowest_failure.max(call.took());
            }
            Outcome::Hung => figures.hung_calls += 1,
        }
    }
    assert!(
        surveys.is_empty() && journeys.is_empty(),
        "records stored that no call sent: {surveys:?} {journeys:?}"
    );
    figures
}

/// Every failure is UNAVAILABLE with reason DATABASE_UNAVAILABLE, and no
/// call ran into its deadline.
fn assert_failures_are_database_unavailable(calls: &[Call]) {
    for call in calls {
        match &call.outcome {
            Outcome::Ok { .. } => {}
            Outcome::Failed(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{call:?}");
                assert_eq!(error_reason(status), "DATABASE_UNAVAILABLE", "{call:?}");
                assert!(
                    status.get_details_retry_info().is_some(),
                    "UNAVAILABLE without RetryInfo: {call:?}"
                );
            }
            Outcome::Hung => panic!("a call was still running at its deadline: {call:?}"),
        }
    }
}

// ------------------------------------------------------------------ health

/// Time until a fresh one-record submit succeeds; panics after `within`.
/// Every attempt is returned as a call so the checks cover it too.
async fn first_success(
    clients: &Clients,
    epoch: Instant,
    within: Duration,
) -> (Duration, Vec<Call>) {
    let started = Instant::now();
    let mut attempts = Vec::new();
    loop {
        let ids = vec![format!("probe-{}", attempts.len())];
        let at = epoch.elapsed();
        let (rpc, outcome) = submit(Kind::Survey, clients, &ids).await;
        let ok = matches!(outcome, Outcome::Ok { .. });
        attempts.push(Call {
            rpc,
            kind: Kind::Survey,
            started: at,
            ended: epoch.elapsed(),
            batches: vec![ids],
            outcome,
        });
        if ok {
            return (started.elapsed(), attempts);
        }
        assert!(
            started.elapsed() < within,
            "no call succeeded within {within:?} of the database's return: {attempts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ------------------------------------------------------------------ outages

/// How the database goes away.
enum Fault {
    /// The proxy drops every connection and refuses new ones.
    Partition(Proxy),
    /// `pg_ctl stop -m immediate`, then `pg_ctl start` (crash recovery).
    Crash(Arc<Cluster>),
}

impl Fault {
    async fn inject(&self) {
        match self {
            Fault::Partition(proxy) => proxy.cut(),
            Fault::Crash(cluster) => pg_ctl(cluster, Cluster::crash).await,
        }
    }
    async fn restore(&self) {
        match self {
            Fault::Partition(proxy) => proxy.restore(),
            Fault::Crash(cluster) => pg_ctl(cluster, Cluster::start).await,
        }
    }
}

/// `step` of `cluster` (a blocking `pg_ctl`), off the async threads.
async fn pg_ctl(cluster: &Arc<Cluster>, step: fn(&Cluster)) {
    let cluster = cluster.clone();
    tokio::task::spawn_blocking(move || step(&cluster))
        .await
        .unwrap()
}

/// Runs the load, injects `fault` for [`OUTAGE`], restores it, and checks
/// health, recovery and what was stored (through `direct`, a pool that does
/// not go through the fault).
async fn outage_under_load(app: &TestApp, fault: Fault, direct: impl AsyncFn() -> PgPool) {
    let name = match fault {
        Fault::Partition(_) => "network partition",
        Fault::Crash(_) => "database crash + restart",
    };
    wait_for_health(&app.channel, ServingStatus::Serving, Duration::from_secs(5)).await;
    let load = Load::start(&app.clients);
    let epoch = load.epoch;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let injected = Instant::now();
    fault.inject().await;
    let at_fault = epoch.elapsed();
    let not_serving = wait_for_health(&app.channel, ServingStatus::NotServing, OUTAGE).await;
    tokio::time::sleep(OUTAGE.saturating_sub(injected.elapsed())).await;

    fault.restore().await;
    let restored = Instant::now();
    let at_restore = epoch.elapsed();
    let serving = wait_for_health(&app.channel, ServingStatus::Serving, RECOVERY).await;
    let (_, probes) = first_success(&app.clients, epoch, RECOVERY).await;
    let served = restored.elapsed();
    assert!(
        served < RECOVERY,
        "served again only {served:?} after the database returned"
    );
    // The load runs on after the recovery.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut calls = load.finish().await;
    calls.extend(probes);
    assert_failures_are_database_unavailable(&calls);
    let figures = verify(&direct().await, app.tenant.0, &calls).await;

    let during = calls
        .iter()
        .filter(|c| c.ended > at_fault && c.started < at_restore)
        .count();
    assert!(
        figures.failed_calls > 0,
        "no call failed: the fault was not felt"
    );
    assert!(
        calls.iter().any(|c| c.ok() && c.ended < at_fault),
        "calls succeed before the fault"
    );
    assert!(
        calls.iter().any(|c| c.ok() && c.started > at_restore),
        "calls succeed after the recovery"
    );
    for rpc in [
        "StreamSurveyResponses",
        "SubmitSurveyResponses",
        "SubmitJourneys",
    ] {
        assert!(
            calls.iter().any(|c| c.rpc == rpc && c.ok()),
            "no {rpc} succeeded"
        );
    }
    eprintln!(
        "FAULT {name} for {OUTAGE:?}: health NOT_SERVING after {not_serving:?}; \
         after the database returned: health SERVING after {serving:?}, first successful \
         call completed after {served:?}; calls overlapping the outage {during}; {figures}"
    );
}

/// The service's pool: short acquire timeout so calls fail fast during an
/// outage, enough connections for the load.
fn service_pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(1))
}

#[sqlx::test]
async fn faults_network_partition_during_streams_and_unary_load(pool: PgPool) {
    let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let options = (*pool.connect_options())
        .clone()
        .host("127.0.0.1")
        .port(proxy.addr.port());
    let service_pool = service_pool_options().connect_with(options).await.unwrap();
    let app = spawn_app(service_pool).await;
    let direct = pool.clone();
    outage_under_load(&app, Fault::Partition(proxy), async || direct.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_database_crash_and_restart_during_streams_and_unary_load() {
    let cluster = Arc::new(
        tokio::task::spawn_blocking(Cluster::create)
            .await
            .expect("a private PostgreSQL cluster (initdb/pg_ctl as postgres)"),
    );
    let service_pool = service_pool_options()
        .connect_with(cluster.connect_options())
        .await
        .unwrap();
    migrate(&service_pool).await.unwrap();
    let mut app = spawn_app(service_pool).await;
    let options = cluster.connect_options();
    outage_under_load(&app, Fault::Crash(cluster.clone()), async || {
        PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options.clone())
            .await
            .expect("the restarted cluster")
    })
    .await;
    // Stop the service before the cluster goes away.
    app.shutdown.take().unwrap().send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), &mut app.server).await;
}

// ----------------------------------------------------------------- SIGTERM

#[sqlx::test]
async fn faults_sigterm_during_streams_and_unary_load_exits_cleanly(pool: PgPool) {
    const GRACE_SECS: u64 = 3;
    let (tenant, key) = create_tenant(&pool, "acme").await;
    let mut server = ChildServer::start(
        &pool,
        &[
            ("GAPSCORE_SHUTDOWN_GRACE_SECS", GRACE_SECS.to_string()),
            ("GAPSCORE_DB_ACQUIRE_TIMEOUT_MS", "1000".to_owned()),
        ],
    )
    .await;
    let channel = server.channel.clone();

    let load = Load::start(&Clients::new(channel.clone(), TestApp::bearer(Some(&key))));
    let epoch = load.epoch;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let signalled = Instant::now();
    let at_signal = epoch.elapsed();
    let kill = Command::new("kill")
        .args(["-TERM", &server.process.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let limit = Duration::from_secs(GRACE_SECS) + Duration::from_secs(2);
    let status = loop {
        if let Some(status) = server.process.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < limit,
            "still running {limit:?} after SIGTERM (grace period {GRACE_SECS} s)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let exited_after = signalled.elapsed();
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");

    let calls = load.finish().await;
    for call in &calls {
        match &call.outcome {
            Outcome::Ok { .. } => {}
            // Refused or cut by the stopping server: retryable, never a
            // server-side error and never half-committed (checked below).
            Outcome::Failed(status) => assert!(
                matches!(status.code(), Code::Unavailable | Code::Cancelled),
                "{call:?}"
            ),
            Outcome::Hung => panic!("a call was still running at its deadline: {call:?}"),
        }
    }
    let completed_in_flight: Vec<&Call> = calls
        .iter()
        .filter(|c| c.ok() && c.started < at_signal && c.ended > at_signal)
        .collect();
    assert!(
        !completed_in_flight.is_empty(),
        "no call in flight at SIGTERM completed"
    );
    let in_flight = calls
        .iter()
        .filter(|c| c.started < at_signal && c.ended > at_signal)
        .count();
    let figures = verify(&pool, tenant.0, &calls).await;
    assert!(figures.ok_calls > 0);
    for call in &calls {
        if let Outcome::Failed(status) = &call.outcome
            && status.code() != Code::Unavailable
        {
            eprintln!(
                "SIGTERM: {} started at {:+.3} s from the signal, failed with {:?}: {}",
                call.rpc,
                call.started.as_secs_f64() - at_signal.as_secs_f64(),
                status.code(),
                status.message()
            );
        }
    }
    eprintln!(
        "FAULT SIGTERM (grace {GRACE_SECS} s): exit code 0 after {exited_after:?}; \
         calls in flight at the signal {in_flight}, of which completed OK {} ({} streams); {figures}",
        completed_in_flight.len(),
        completed_in_flight
            .iter()
            .filter(|c| c.rpc == "StreamSurveyResponses")
            .count()
    );
}
