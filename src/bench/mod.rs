//! The benchmark harness behind `gapscore-bench` (and its CI smoke test).
//!
//! One run, on one machine, reports side by side:
//! 1. ingest through `StreamSurveyResponses`/`StreamJourneys` (several
//!    concurrent streams) and unary 1,000-record batches;
//! 2. the limit: the same rows through binary `COPY` into the same schema;
//! 3. scoring latency at growing data sizes, against a naive SQL aggregate;
//! 4. unary latency under 32 concurrent callers;
//! 5. the server's peak RSS during ingest and under load.
//!
//! Data comes from [`data::Generator`] with a fixed seed. Each figure is the
//! median of several repetitions after a warm-up.

pub mod child;
pub mod copy;
pub mod data;

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use sqlx::PgPool;
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint},
};

use crate::{
    grpc::validate::utc_to_timestamp,
    proto::v1::{
        customer_service_client::CustomerServiceClient,
        journey_service_client::JourneyServiceClient, outcome_service_client::OutcomeServiceClient,
        scoring_service_client::ScoringServiceClient, survey_service_client::SurveyServiceClient,
        *,
    },
    service::journeys::check_journeys,
    store::{catalog::Question, tenants},
};
use data::Generator;

/// Records per `Submit*` call and per stream message.
pub const BATCH: usize = 1000;

/// What to run and how big.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    /// Answers loaded in the scoring tenant at each scoring level, ascending.
    pub levels: Vec<u64>,
    /// Survey responses per ingest method and repetition (journeys: half).
    pub ingest_responses: u64,
    /// Repetitions of each ingest measurement (median reported).
    pub ingest_reps: usize,
    /// Concurrent `Stream*` calls.
    pub streams: usize,
    /// Concurrent unary `Submit*` callers.
    pub unary_callers: usize,
    /// Concurrent COPY sessions for the limit and for bulk loading.
    pub copy_sessions: usize,
    /// Callers for the latency-under-load measurements.
    pub load_callers: usize,
    /// Duration of each latency-under-load measurement.
    pub load_duration: Duration,
    /// Scoring calls per query after the warm-up: at least `min_reps`, then
    /// until `max_reps` or `query_budget` is spent.
    pub min_reps: usize,
    pub max_reps: usize,
    pub query_budget: Duration,
    /// Load the scoring levels by binary COPY instead of through
    /// `Stream*` (faster to set up; then the server's RSS during the
    /// large ingest is not measured).
    pub load_by_copy: bool,
}

impl Config {
    /// The full run up to `max_answers` answers (levels 100k, 1M, 10M up to
    /// it).
    pub fn full(max_answers: u64) -> Self {
        let levels = [100_000u64, 1_000_000, 10_000_000]
            .into_iter()
            .filter(|l| *l <= max_answers)
            .collect::<Vec<_>>();
        Self {
            seed: 20_261_105,
            levels: if levels.is_empty() {
                vec![max_answers]
            } else {
                levels
            },
            ingest_responses: 40_000,
            ingest_reps: 3,
            streams: 4,
            unary_callers: 4,
            copy_sessions: 2,
            load_callers: 32,
            load_duration: Duration::from_secs(15),
            min_reps: 5,
            max_reps: 21,
            query_budget: Duration::from_secs(30),
            load_by_copy: false,
        }
    }

    /// Everything at tiny scale, in seconds: for CI.
    pub fn smoke() -> Self {
        Self {
            seed: 20_261_105,
            levels: vec![600, 3_000],
            ingest_responses: 1_000,
            ingest_reps: 1,
            streams: 2,
            unary_callers: 2,
            copy_sessions: 2,
            load_callers: 8,
            load_duration: Duration::from_millis(200),
            min_reps: 2,
            max_reps: 3,
            query_budget: Duration::from_secs(1),
            load_by_copy: false,
        }
    }

    fn top_responses(&self) -> u64 {
        self.levels.last().copied().unwrap_or(0) / 6
    }

    /// One population of customers for every level: a quarter of the
    /// top level's responses.
    fn generator(&self) -> Generator {
        Generator {
            seed: self.seed,
            customers: (self.top_responses() / 4).max(50),
        }
    }
}

/// The server under test: where it listens and which process to watch.
#[derive(Debug, Clone, Copy)]
pub struct Server {
    pub addr: SocketAddr,
    pub pid: u32,
}

/// Adds `authorization: Bearer <key>` to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

type Authed = InterceptedService<Channel, Bearer>;

/// Clients of one tenant over one HTTP/2 connection.
#[derive(Clone)]
struct Clients {
    channel: Channel,
    bearer: Bearer,
}

impl Clients {
    async fn connect(addr: SocketAddr, key: &str) -> anyhow::Result<Self> {
        // A stream of the 10M-answer load runs for many minutes: the bound
        // is only there so a wedged call cannot hang the run forever.
        let channel = Endpoint::from_shared(format!("http://{addr}"))?
            .timeout(Duration::from_secs(3 * 3600))
            .connect()
            .await
            .context("cannot reach the server")?;
        Ok(Self {
            channel,
            bearer: Bearer(format!("Bearer {key}").parse()?),
        })
    }
    fn authed(&self) -> Authed {
        InterceptedService::new(self.channel.clone(), self.bearer.clone())
    }
    fn survey(&self) -> SurveyServiceClient<Authed> {
        SurveyServiceClient::new(self.authed()).max_encoding_message_size(8 << 20)
    }
    fn journeys(&self) -> JourneyServiceClient<Authed> {
        JourneyServiceClient::new(self.authed()).max_encoding_message_size(8 << 20)
    }
    fn outcomes(&self) -> OutcomeServiceClient<Authed> {
        OutcomeServiceClient::new(self.authed())
    }
    fn customers(&self) -> CustomerServiceClient<Authed> {
        CustomerServiceClient::new(self.authed())
    }
    fn scoring(&self) -> ScoringServiceClient<Authed> {
        ScoringServiceClient::new(self.authed()).max_decoding_message_size(64 << 20)
    }
}

/// Samples a process's resident set (VmRSS) every 20 ms; tracks the peak
/// since the last [`Rss::start_phase`].
pub struct Rss {
    pid: u32,
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

/// `VmRSS` and `VmHWM` of a process, KiB (0 when unreadable).
pub fn proc_memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

impl Rss {
    pub fn start(pid: u32) -> Self {
        let peak_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak_kib.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(proc_memory_kib(pid).0, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self {
            pid,
            peak_kib,
            stop,
        }
    }
    /// Resets the phase peak to the current RSS.
    pub fn start_phase(&self) {
        self.peak_kib
            .store(proc_memory_kib(self.pid).0, Ordering::Relaxed);
    }
    /// Peak RSS since [`Rss::start_phase`], MiB.
    pub fn phase_peak_mib(&self) -> f64 {
        self.peak_kib
            .load(Ordering::Relaxed)
            .max(proc_memory_kib(self.pid).0) as f64
            / 1024.0
    }
    pub fn current_mib(&self) -> f64 {
        proc_memory_kib(self.pid).0 as f64 / 1024.0
    }
    pub fn hwm_mib(&self) -> f64 {
        proc_memory_kib(self.pid).1 as f64 / 1024.0
    }
}

impl Drop for Rss {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Nearest-rank percentile of sorted durations, milliseconds.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1].as_secs_f64() * 1e3
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// One ingest method's result: medians over repetitions; latencies pooled.
#[derive(Debug, Clone, Default)]
pub struct IngestResult {
    pub method: String,
    pub records_per_s: f64,
    /// Answers (responses) or touchpoints (journeys) per second.
    pub rows_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub peak_rss_mib: f64,
}

/// One scoring query at one level.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    pub query: String,
    pub answers: u64,
    pub calls: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

/// One latency-under-load measurement.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    pub call: String,
    pub callers: usize,
    pub calls: usize,
    pub errors: usize,
    pub per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub peak_rss_mib: f64,
}

/// Everything one run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub ingest: Vec<IngestResult>,
    pub scoring: Vec<QueryResult>,
    /// Per level: (answers, responses, journeys, load seconds, server
    /// peak RSS MiB during the load when it went through the server).
    pub loads: Vec<(u64, u64, u64, f64, Option<f64>)>,
    pub load: Vec<LoadResult>,
    /// The perception-gap counts from the service equal the naive SQL's at
    /// every level.
    pub gap_matches_naive: bool,
    pub peak_rss_mib: f64,
}

/// Creates a tenant and returns its id and key.
async fn tenant(pool: &PgPool, name: &str) -> anyhow::Result<(tenants::TenantId, String)> {
    let (t, key) = tenants::create_tenant(pool, name)
        .await
        .with_context(|| format!("cannot create tenant {name} (use a fresh database)"))?;
    Ok((tenants::TenantId(t.tenant_id), key.secret))
}

/// Validated, normalized records exactly as ingest stores them.
fn normalize_responses(
    catalog: &[Question],
    batch: &[SurveyResponse],
) -> Vec<crate::store::responses::ResponseRecord> {
    let map = catalog.iter().map(|q| (q.key.as_str(), q)).collect();
    crate::service::survey::check_batch(
        &batch.iter().cloned().map(Into::into).collect::<Vec<_>>(),
        &map,
    )
    .expect("generated responses are valid")
}

fn normalize_journeys(batch: &[Journey]) -> Vec<crate::store::journeys::NewJourney> {
    check_journeys(&batch.iter().cloned().map(Into::into).collect::<Vec<_>>())
        .expect("generated journeys are valid")
}

/// Runs the whole benchmark against `server`, whose database is `pool`
/// (migrated and otherwise empty). `log` receives progress lines.
pub async fn run(
    cfg: &Config,
    pool: &PgPool,
    server: Server,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Report> {
    let rss = Rss::start(server.pid);
    let mut report = Report::default();
    let g = cfg.generator();

    // 1 + 2: ingest and the COPY limit, into their own tenant.
    let (ingest_tenant, ingest_key) = tenant(pool, "bench-ingest").await?;
    let ingest = Clients::connect(server.addr, &ingest_key).await?;
    let catalog = copy::catalog(pool, ingest_tenant).await?;
    report.ingest =
        ingest_phase(cfg, &g, pool, ingest_tenant, &ingest, &catalog, &rss, log).await?;

    // 3: scoring at each level, loaded by COPY.
    let (score_tenant, score_key) = tenant(pool, "bench-score").await?;
    let scoring = Clients::connect(server.addr, &score_key).await?;
    report.gap_matches_naive = true;
    let (mut responses, mut journeys) = (0u64, 0u64);
    for &answers in &cfg.levels {
        let target = answers / 6;
        let target_journeys = target / 3;
        let started = Instant::now();
        let load_rss = if cfg.load_by_copy {
            bulk_load(
                cfg,
                &g,
                pool,
                score_tenant,
                &catalog,
                responses..target,
                journeys..target_journeys,
            )
            .await?;
            None
        } else {
            rss.start_phase();
            stream_load(
                cfg,
                &g,
                &scoring,
                responses..target,
                journeys..target_journeys,
            )
            .await?;
            Some(rss.phase_peak_mib())
        };
        // Outcomes for calibration: one per 20 journeys, through the API.
        let outcomes: Vec<Outcome> = (journeys / 20..target_journeys / 20)
            .map(|i| g.outcome("o", i))
            .collect();
        for chunk in outcomes.chunks(BATCH) {
            scoring
                .outcomes()
                .submit_outcomes(SubmitOutcomesRequest {
                    outcomes: chunk.to_vec(),
                })
                .await?;
        }
        // What the server's compactor does within seconds of a load.
        crate::store::rollup::compact(pool, score_tenant).await?;
        sqlx::query(
            "VACUUM (ANALYZE) survey_responses, answers, gap_daily, journeys, touchpoints, outcomes",
        )
        .execute(pool)
        .await?;
        let load_secs = started.elapsed().as_secs_f64();
        (responses, journeys) = (target, target_journeys);
        let how = if cfg.load_by_copy { "COPY" } else { "Stream*" };
        log(&format!(
            "level {answers} answers: {responses} responses, {journeys} journeys loaded by {how} in {load_secs:.1} s"
        ));
        report
            .loads
            .push((answers, responses, journeys, load_secs, load_rss));
        let (results, matches) =
            scoring_phase(cfg, pool, score_tenant, &scoring, answers, log).await?;
        report.gap_matches_naive &= matches;
        report.scoring.extend(results);
    }

    // 4 + 5: unary latency under load at the top level.
    report.load = load_phase(cfg, &g, &scoring, &ingest, journeys, &rss, log).await?;
    report.peak_rss_mib = rss.hwm_mib();
    Ok(report)
}

/// Pre-generated messages of `count` records from `start`, `BATCH` each.
fn response_batches(
    g: &Generator,
    prefix: &str,
    range: std::ops::Range<u64>,
) -> Vec<Vec<SurveyResponse>> {
    let all: Vec<SurveyResponse> = range.map(|i| g.response(prefix, i)).collect();
    all.chunks(BATCH).map(<[_]>::to_vec).collect()
}

fn journey_batches(g: &Generator, prefix: &str, range: std::ops::Range<u64>) -> Vec<Vec<Journey>> {
    let all: Vec<Journey> = range.map(|i| g.journey(prefix, i)).collect();
    all.chunks(BATCH).map(<[_]>::to_vec).collect()
}

/// Splits `batches` round-robin over `n` workers.
fn deal<T>(batches: Vec<T>, n: usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = (0..n.max(1)).map(|_| Vec::new()).collect();
    let len = out.len();
    for (i, b) in batches.into_iter().enumerate() {
        out[i % len].push(b);
    }
    out
}

/// Each worker's messages as a client stream that records the intervals
/// between messages being taken by the transport (with HTTP/2 flow control,
/// the server's per-message pace).
type Intervals = Arc<Mutex<Vec<Duration>>>;

fn timed_streams<M: Send + 'static>(
    workers: Vec<Vec<M>>,
) -> (Vec<tokio_stream::wrappers::ReceiverStream<M>>, Intervals) {
    let intervals: Intervals = Arc::new(Mutex::new(Vec::new()));
    let streams = workers
        .into_iter()
        .map(|messages| {
            // A channel of one slot: a send completes when the transport has
            // taken the previous message.
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            let intervals = intervals.clone();
            tokio::spawn(async move {
                let mut last = Instant::now();
                for m in messages {
                    if tx.send(m).await.is_err() {
                        break;
                    }
                    let now = Instant::now();
                    intervals.lock().expect("not poisoned").push(now - last);
                    last = now;
                }
            });
            tokio_stream::wrappers::ReceiverStream::new(rx)
        })
        .collect();
    (streams, intervals)
}

/// Waits for the stream tasks; returns the sorted intervals.
async fn finish_streams(
    tasks: Vec<tokio::task::JoinHandle<Result<(), Status>>>,
    intervals: Intervals,
) -> anyhow::Result<Vec<Duration>> {
    for t in tasks {
        t.await??;
    }
    let mut all = std::mem::take(&mut *intervals.lock().expect("not poisoned"));
    all.sort();
    Ok(all)
}

/// Runs each worker's calls one after another; returns the elapsed time and
/// every call's latency.
async fn run_unary<M, F, Fut>(
    workers: Vec<Vec<M>>,
    call: F,
) -> anyhow::Result<(Duration, Vec<Duration>)>
where
    M: Send + 'static,
    F: Fn(M) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), Status>> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for messages in workers {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(messages.len());
            for m in messages {
                let t = Instant::now();
                call(m).await?;
                lat.push(t.elapsed());
            }
            Ok::<_, Status>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort();
    Ok((started.elapsed(), all))
}

/// Per method: records/s and rows/s of each repetition, every latency, and
/// the peak server RSS.
type IngestSamples = (Vec<f64>, Vec<f64>, Vec<Duration>, f64);

/// Ingest through streams, unary batches and COPY; medians of `ingest_reps`.
#[allow(clippy::too_many_arguments)]
async fn ingest_phase(
    cfg: &Config,
    g: &Generator,
    pool: &PgPool,
    tenant: tenants::TenantId,
    clients: &Clients,
    catalog: &[Question],
    rss: &Rss,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Vec<IngestResult>> {
    let n = cfg.ingest_responses;
    let nj = n / 2;
    // method -> (records/s per rep, rows/s per rep, latencies, peak rss)
    let mut acc: BTreeMap<&str, IngestSamples> = BTreeMap::new();
    let mut record = |method: &'static str,
                      records: u64,
                      rows: u64,
                      elapsed: Duration,
                      lat: Vec<Duration>,
                      peak: f64| {
        let e = acc.entry(method).or_default();
        e.0.push(records as f64 / elapsed.as_secs_f64());
        e.1.push(rows as f64 / elapsed.as_secs_f64());
        e.2.extend(lat);
        e.3 = e.3.max(peak);
    };
    for rep in 0..cfg.ingest_reps {
        let range = (rep as u64) * n..(rep as u64 + 1) * n;
        let jrange = (rep as u64) * nj..(rep as u64 + 1) * nj;

        // Streams of survey responses.
        let batches = response_batches(g, "s", range.clone());
        let answers: u64 = batches
            .iter()
            .flatten()
            .map(|r| r.answers.len() as u64)
            .sum();
        let workers = deal(
            batches
                .into_iter()
                .map(|responses| StreamSurveyResponsesRequest { responses })
                .collect(),
            cfg.streams,
        );
        rss.start_phase();
        let (streams, intervals) = timed_streams(workers);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for s in streams {
            let mut client = clients.survey();
            tasks.push(tokio::spawn(async move {
                client
                    .stream_survey_responses(tonic::Request::new(s))
                    .await
                    .map(|_| ())
            }));
        }
        let lat = finish_streams(tasks, intervals).await?;
        let elapsed = started.elapsed();
        record(
            "responses: stream",
            n,
            answers,
            elapsed,
            lat,
            rss.phase_peak_mib(),
        );

        // Unary batches of survey responses.
        let batches = response_batches(g, "u", range.clone());
        let workers = deal(batches, cfg.unary_callers);
        rss.start_phase();
        let c = clients.clone();
        let (elapsed, lat) = run_unary(workers, move |responses| {
            let mut client = c.survey();
            async move {
                client
                    .submit_survey_responses(SubmitSurveyResponsesRequest { responses })
                    .await
                    .map(|_| ())
            }
        })
        .await?;
        record(
            "responses: unary",
            n,
            answers,
            elapsed,
            lat,
            rss.phase_peak_mib(),
        );

        // The limit: the same rows by COPY, normalized before the clock starts.
        let batches: Vec<_> = response_batches(g, "c", range.clone())
            .iter()
            .map(|b| normalize_responses(catalog, b))
            .collect();
        let workers = deal(batches, cfg.copy_sessions);
        let p = pool.clone();
        let (elapsed, lat) = run_unary(workers, move |records| {
            let p = p.clone();
            async move {
                copy::copy_responses(&p, tenant, &records)
                    .await
                    .map(|_| ())
                    .map_err(|e| Status::internal(e.to_string()))
            }
        })
        .await?;
        record("responses: COPY", n, answers, elapsed, lat, 0.0);

        // Journeys: stream, unary, COPY.
        let batches = journey_batches(g, "sj", jrange.clone());
        let touchpoints: u64 = batches
            .iter()
            .flatten()
            .map(|j| j.touchpoints.len() as u64)
            .sum();
        let workers = deal(
            batches
                .into_iter()
                .map(|journeys| StreamJourneysRequest { journeys })
                .collect(),
            cfg.streams,
        );
        rss.start_phase();
        let (streams, intervals) = timed_streams(workers);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for s in streams {
            let mut client = clients.journeys();
            tasks.push(tokio::spawn(async move {
                client
                    .stream_journeys(tonic::Request::new(s))
                    .await
                    .map(|_| ())
            }));
        }
        let lat = finish_streams(tasks, intervals).await?;
        let elapsed = started.elapsed();
        record(
            "journeys: stream",
            nj,
            touchpoints,
            elapsed,
            lat,
            rss.phase_peak_mib(),
        );

        let workers = deal(journey_batches(g, "uj", jrange.clone()), cfg.unary_callers);
        rss.start_phase();
        let c = clients.clone();
        let (elapsed, lat) = run_unary(workers, move |journeys| {
            let mut client = c.journeys();
            async move {
                client
                    .submit_journeys(SubmitJourneysRequest { journeys })
                    .await
                    .map(|_| ())
            }
        })
        .await?;
        record(
            "journeys: unary",
            nj,
            touchpoints,
            elapsed,
            lat,
            rss.phase_peak_mib(),
        );

        let batches: Vec<_> = journey_batches(g, "cj", jrange.clone())
            .iter()
            .map(|b| normalize_journeys(b))
            .collect();
        let workers = deal(batches, cfg.copy_sessions);
        let p = pool.clone();
        let (elapsed, lat) = run_unary(workers, move |records| {
            let p = p.clone();
            async move {
                copy::copy_journeys(&p, tenant, &records)
                    .await
                    .map(|_| ())
                    .map_err(|e| Status::internal(e.to_string()))
            }
        })
        .await?;
        record("journeys: COPY", nj, touchpoints, elapsed, lat, 0.0);
        log(&format!(
            "ingest repetition {} of {} done",
            rep + 1,
            cfg.ingest_reps
        ));
    }
    let order = [
        "responses: stream",
        "responses: unary",
        "responses: COPY",
        "journeys: stream",
        "journeys: unary",
        "journeys: COPY",
    ];
    Ok(order
        .iter()
        .map(|m| {
            let (mut rec, mut rows, mut lat, peak) = acc.remove(m).unwrap_or_default();
            lat.sort();
            IngestResult {
                method: (*m).to_owned(),
                records_per_s: median(&mut rec),
                rows_per_s: median(&mut rows),
                p50_ms: percentile_ms(&lat, 50.0),
                p99_ms: percentile_ms(&lat, 99.0),
                peak_rss_mib: peak,
            }
        })
        .collect())
}

/// Loads responses and journeys of the given index ranges by COPY, with
/// `copy_sessions` concurrent sessions of 5,000 records per transaction.
async fn bulk_load(
    cfg: &Config,
    g: &Generator,
    pool: &PgPool,
    tenant: tenants::TenantId,
    catalog: &[Question],
    responses: std::ops::Range<u64>,
    journeys: std::ops::Range<u64>,
) -> anyhow::Result<()> {
    const CHUNK: u64 = 5_000;
    let sessions = cfg.copy_sessions.max(1) as u64;
    let mut tasks = Vec::new();
    for s in 0..sessions {
        let (pool, g, catalog) = (pool.clone(), *g, catalog.to_vec());
        let (responses, journeys) = (responses.clone(), journeys.clone());
        tasks.push(tokio::spawn(async move {
            let mut start = responses.start + s * CHUNK;
            while start < responses.end {
                let end = (start + CHUNK).min(responses.end);
                let batch: Vec<_> = (start..end).map(|i| g.response("b", i)).collect();
                let records: Vec<_> = batch
                    .chunks(BATCH)
                    .flat_map(|b| normalize_responses(&catalog, b))
                    .collect();
                copy::copy_responses(&pool, tenant, &records).await?;
                start += sessions * CHUNK;
            }
            let mut start = journeys.start + s * CHUNK;
            while start < journeys.end {
                let end = (start + CHUNK).min(journeys.end);
                let batch: Vec<_> = (start..end).map(|i| g.journey("b", i)).collect();
                let records: Vec<_> = batch.chunks(BATCH).flat_map(normalize_journeys).collect();
                copy::copy_journeys(&pool, tenant, &records).await?;
                start += sessions * CHUNK;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// Loads responses and journeys through `StreamSurveyResponses` and
/// `StreamJourneys` on `cfg.streams` concurrent streams each, generating
/// every 1,000-record message just before it is sent, so neither side holds
/// more than a message per stream: the server's RSS during a 10-million-
/// answer ingest is then a property of the server alone. The records are
/// the ones `bulk_load` would COPY (same prefix and indexes).
async fn stream_load(
    cfg: &Config,
    g: &Generator,
    clients: &Clients,
    responses: std::ops::Range<u64>,
    journeys: std::ops::Range<u64>,
) -> anyhow::Result<()> {
    let n = cfg.streams.max(1) as u64;
    let batch = BATCH as u64;
    let mut tasks: Vec<tokio::task::JoinHandle<Result<(), Status>>> = Vec::new();
    for s in 0..n {
        let g = *g;
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let range = responses.clone();
        tokio::spawn(async move {
            let mut start = range.start + s * batch;
            while start < range.end {
                let end = (start + batch).min(range.end);
                let responses = (start..end).map(|i| g.response("b", i)).collect();
                if tx
                    .send(StreamSurveyResponsesRequest { responses })
                    .await
                    .is_err()
                {
                    break;
                }
                start += n * batch;
            }
        });
        let mut client = clients.survey();
        tasks.push(tokio::spawn(async move {
            client
                .stream_survey_responses(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .map(|_| ())
        }));

        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let range = journeys.clone();
        tokio::spawn(async move {
            let mut start = range.start + s * batch;
            while start < range.end {
                let end = (start + batch).min(range.end);
                let journeys = (start..end).map(|i| g.journey("b", i)).collect();
                if tx.send(StreamJourneysRequest { journeys }).await.is_err() {
                    break;
                }
                start += n * batch;
            }
        });
        let mut client = clients.journeys();
        tasks.push(tokio::spawn(async move {
            client
                .stream_journeys(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .map(|_| ())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

fn span_filter(labels: &[(&str, &str)]) -> ScoreFilter {
    ScoreFilter {
        start_time: Some(utc_to_timestamp(data::span_start())),
        end_time: Some(utc_to_timestamp(data::span_end())),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        survey_id: String::new(),
        intent: String::new(),
    }
}

/// (question, role) -> (respondents, favorable when not suppressed).
type GapCounts = BTreeMap<(String, i16), (i64, Option<i64>)>;

/// The naive baseline: perception-gap counts by a plain aggregate over the
/// raw answer rows of the window.
pub async fn naive_gap_counts(
    pool: &PgPool,
    tenant: tenants::TenantId,
) -> anyhow::Result<GapCounts> {
    let rows: Vec<(String, i16, i64, i64)> = sqlx::query_as(
        "SELECT a.question, a.role, count(*), count(*) FILTER (WHERE a.score >= q.favorable_min)
         FROM answers a JOIN questions q ON q.tenant_id = a.tenant_id AND q.key = a.question
         WHERE a.tenant_id = $1 AND a.submitted_at >= $2 AND a.submitted_at < $3
           AND a.score IS NOT NULL
         GROUP BY a.question, a.role",
    )
    .bind(tenant.0)
    .bind(data::span_start())
    .bind(data::span_end())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(q, r, n, f)| ((q, r), (n, Some(f))))
        .collect())
}

fn service_gap_counts(response: &GetPerceptionGapResponse) -> GapCounts {
    let mut out = GapCounts::new();
    for q in response.overall.iter().flat_map(|o| &o.questions) {
        for r in &q.roles {
            if r.respondents > 0 {
                out.insert(
                    (q.question.clone(), r.role as i16),
                    (r.respondents, (!r.suppressed).then_some(r.favorable)),
                );
            }
        }
    }
    out
}

/// Times `call` after two warm-up calls: at least `min_reps` calls, then
/// until `max_reps` or the budget is spent.
async fn time_query<F, Fut>(cfg: &Config, mut call: F) -> anyhow::Result<(usize, f64, f64)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    for _ in 0..2 {
        call().await?;
    }
    let started = Instant::now();
    let mut lat = Vec::new();
    while lat.len() < cfg.min_reps
        || (lat.len() < cfg.max_reps && started.elapsed() < cfg.query_budget)
    {
        let t = Instant::now();
        call().await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    Ok((
        lat.len(),
        percentile_ms(&lat, 50.0),
        percentile_ms(&lat, 95.0),
    ))
}

/// Every scoring query at one level; and whether the service's gap counts
/// equal the naive SQL's.
async fn scoring_phase(
    cfg: &Config,
    pool: &PgPool,
    tenant: tenants::TenantId,
    clients: &Clients,
    answers: u64,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<(Vec<QueryResult>, bool)> {
    let mut out = Vec::new();
    let gap = |labels: &[(&str, &str)], group_by: &str| GetPerceptionGapRequest {
        filter: Some(span_filter(labels)),
        questions: vec![],
        confidence_level: None,
        group_by: group_by.to_owned(),
    };
    let service = clients
        .scoring()
        .get_perception_gap(gap(&[], ""))
        .await?
        .into_inner();
    let matches = service_gap_counts(&service) == naive_gap_counts(pool, tenant).await?;
    if !matches {
        log(&format!(
            "WARNING: perception-gap counts differ from the naive SQL at {answers} answers"
        ));
    }
    macro_rules! measure {
        ($name:expr, $body:expr) => {{
            let (calls, p50, p95) = time_query(cfg, || async {
                $body;
                anyhow::Ok(())
            })
            .await?;
            log(&format!(
                "{answers} answers: {} p50 {p50:.1} ms p95 {p95:.1} ms ({calls} calls)",
                $name
            ));
            out.push(QueryResult {
                query: $name.to_owned(),
                answers,
                calls,
                p50_ms: p50,
                p95_ms: p95,
            });
        }};
    }
    measure!("GetScorecard", {
        clients
            .scoring()
            .get_scorecard(GetScorecardRequest {
                filter: Some(span_filter(&[])),
            })
            .await?;
    });
    measure!("GetPerceptionGap", {
        clients.scoring().get_perception_gap(gap(&[], "")).await?;
    });
    measure!("GetPerceptionGap labels", {
        clients
            .scoring()
            .get_perception_gap(gap(&[("region", "emea")], ""))
            .await?;
    });
    measure!("GetPerceptionGap group_by", {
        clients
            .scoring()
            .get_perception_gap(gap(&[], "region"))
            .await?;
    });
    measure!("naive SQL gap counts", {
        naive_gap_counts(pool, tenant).await?;
    });
    measure!("GetEffortIndex", {
        clients
            .scoring()
            .get_effort_index(GetEffortIndexRequest {
                filter: Some(span_filter(&[])),
                ..Default::default()
            })
            .await?;
    });
    measure!("GetLoyaltyRisk", {
        clients
            .scoring()
            .get_loyalty_risk(GetLoyaltyRiskRequest {
                filter: Some(span_filter(&[])),
                ..Default::default()
            })
            .await?;
    });
    Ok((out, matches))
}

/// Calls `call(worker, i)` from `callers` tasks for `duration`.
async fn run_load<F, Fut>(
    callers: usize,
    duration: Duration,
    call: F,
) -> (usize, usize, Duration, Vec<Duration>)
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), Status>> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..callers {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut i) = (Vec::new(), 0usize, 0u64);
            while started.elapsed() < duration {
                let t = Instant::now();
                match call(w, i).await {
                    Ok(()) => lat.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
                i += 1;
            }
            (lat, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    all.sort();
    (all.len(), errors, elapsed, all)
}

/// GetCustomerRisk and SubmitSurveyResponses(10) at `load_callers`.
async fn load_phase(
    cfg: &Config,
    g: &Generator,
    scoring: &Clients,
    ingest: &Clients,
    journeys: u64,
    rss: &Rss,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Vec<LoadResult>> {
    let mut out = Vec::new();
    // Customers with journeys, drawn by a seeded index.
    let customers: Arc<Vec<String>> = Arc::new(
        (0..1000u64)
            .map(|i| {
                g.journey("b", (i.wrapping_mul(7_919) + 13) % journeys.max(1))
                    .customer_id
            })
            .collect(),
    );
    let c = scoring.clone();
    // Warm-up.
    for id in customers.iter().take(20) {
        c.customers()
            .get_customer_risk(GetCustomerRiskRequest {
                customer_id: id.clone(),
                ..Default::default()
            })
            .await?;
    }
    rss.start_phase();
    let ids = customers.clone();
    let (calls, errors, elapsed, lat) =
        run_load(cfg.load_callers, cfg.load_duration, move |w, i| {
            let mut client = c.customers();
            let id = ids[((w as u64 * 31 + i * 17) % ids.len() as u64) as usize].clone();
            async move {
                client
                    .get_customer_risk(GetCustomerRiskRequest {
                        customer_id: id,
                        ..Default::default()
                    })
                    .await
                    .map(|_| ())
            }
        })
        .await;
    out.push(LoadResult {
        call: "GetCustomerRisk".into(),
        callers: cfg.load_callers,
        calls,
        errors,
        per_s: calls as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile_ms(&lat, 50.0),
        p99_ms: percentile_ms(&lat, 99.0),
        peak_rss_mib: rss.phase_peak_mib(),
    });

    rss.start_phase();
    let c = ingest.clone();
    let g2 = *g;
    let (calls, errors, elapsed, lat) =
        run_load(cfg.load_callers, cfg.load_duration, move |w, i| {
            let mut client = c.survey();
            let base = (w as u64) * 10_000_000 + i * 10;
            let responses = (base..base + 10).map(|k| g2.response("l", k)).collect();
            async move {
                client
                    .submit_survey_responses(SubmitSurveyResponsesRequest { responses })
                    .await
                    .map(|_| ())
            }
        })
        .await;
    out.push(LoadResult {
        call: "SubmitSurveyResponses (10 records)".into(),
        callers: cfg.load_callers,
        calls,
        errors,
        per_s: calls as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile_ms(&lat, 50.0),
        p99_ms: percentile_ms(&lat, 99.0),
        peak_rss_mib: rss.phase_peak_mib(),
    });
    for r in &out {
        log(&format!(
            "{} at {} callers: {:.0}/s p50 {:.1} ms p99 {:.1} ms ({} errors)",
            r.call, r.callers, r.per_s, r.p50_ms, r.p99_ms, r.errors
        ));
    }
    Ok(out)
}

impl Report {
    /// The report as Markdown tables.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let copy_rate = self
            .ingest
            .iter()
            .find(|r| r.method == "responses: COPY")
            .map(|r| r.rows_per_s);
        let jcopy_rate = self
            .ingest
            .iter()
            .find(|r| r.method == "journeys: COPY")
            .map(|r| r.rows_per_s);
        let _ = writeln!(s, "### Ingest (records of 1,000 per message or call)\n");
        let _ = writeln!(
            s,
            "| method | records/s | rows/s (answers or touchpoints) | vs COPY | per message p50 ms | p99 ms | server peak RSS MiB |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
        for r in &self.ingest {
            let base = if r.method.starts_with("journeys") {
                jcopy_rate
            } else {
                copy_rate
            };
            let ratio = base.map_or(String::from("-"), |b| {
                format!("{:.0}%", r.rows_per_s / b * 100.0)
            });
            let rss = if r.peak_rss_mib > 0.0 {
                format!("{:.1}", r.peak_rss_mib)
            } else {
                "-".into()
            };
            let _ = writeln!(
                s,
                "| {} | {:.0} | {:.0} | {} | {:.1} | {:.1} | {} |",
                r.method, r.records_per_s, r.rows_per_s, ratio, r.p50_ms, r.p99_ms, rss
            );
        }
        let _ = writeln!(s, "\n### Data loaded for scoring\n");
        let _ = writeln!(
            s,
            "| answers | responses | journeys | loaded by | load + VACUUM ANALYZE s | server peak RSS MiB |"
        );
        let _ = writeln!(s, "|---:|---:|---:|---|---:|---:|");
        for (a, r, j, secs, rss) in &self.loads {
            let (how, rss) = match rss {
                Some(mib) => ("Stream* (4+4 streams)", format!("{mib:.1}")),
                None => ("COPY", "-".to_owned()),
            };
            let _ = writeln!(s, "| {a} | {r} | {j} | {how} | {secs:.1} | {rss} |");
        }
        let _ = writeln!(s, "\n### Scoring latency, whole 2-year window (ms)\n");
        let levels: Vec<u64> = self.loads.iter().map(|l| l.0).collect();
        let _ = write!(s, "| query |");
        for l in &levels {
            let _ = write!(s, " p50 @{} | p95 @{} |", short(*l), short(*l));
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "|---|{}", "---:|---:|".repeat(levels.len()));
        let mut queries: Vec<&str> = Vec::new();
        for q in &self.scoring {
            if !queries.contains(&q.query.as_str()) {
                queries.push(&q.query);
            }
        }
        for q in &queries {
            let _ = write!(s, "| {q} |");
            for l in &levels {
                match self
                    .scoring
                    .iter()
                    .find(|r| r.query == *q && r.answers == *l)
                {
                    Some(r) => {
                        let _ = write!(s, " {:.1} | {:.1} |", r.p50_ms, r.p95_ms);
                    }
                    None => {
                        let _ = write!(s, " - | - |");
                    }
                }
            }
            let _ = writeln!(s);
        }
        let p50 = |q: &str, l: u64| {
            self.scoring
                .iter()
                .find(|r| r.query == q && r.answers == l)
                .map(|r| r.p50_ms)
        };
        let _ = writeln!(
            s,
            "\n| ratio | {} |",
            levels
                .iter()
                .map(|l| short(*l))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(s, "|---|{}", "---:|".repeat(levels.len()));
        let _ = write!(s, "| naive SQL p50 / GetPerceptionGap p50 |");
        for l in &levels {
            match (p50("naive SQL gap counts", *l), p50("GetPerceptionGap", *l)) {
                (Some(n), Some(g)) => {
                    let _ = write!(s, " {:.2}× |", n / g);
                }
                _ => {
                    let _ = write!(s, " - |");
                }
            }
        }
        let _ = writeln!(s);
        if let Some(first) = levels.first() {
            let _ = write!(s, "| GetScorecard p50 / p50 @{} |", short(*first));
            for l in &levels {
                match (p50("GetScorecard", *l), p50("GetScorecard", *first)) {
                    (Some(a), Some(b)) => {
                        let _ = write!(s, " {:.2}× |", a / b);
                    }
                    _ => {
                        let _ = write!(s, " - |");
                    }
                }
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(
            s,
            "\nPerception-gap counts from the service equal the naive SQL at every level: **{}**",
            if self.gap_matches_naive { "yes" } else { "NO" }
        );
        let _ = writeln!(s, "\n### Unary latency under load (top level loaded)\n");
        let _ = writeln!(
            s,
            "| call | callers | calls | errors | calls/s | p50 ms | p99 ms | server peak RSS MiB |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.load {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} |",
                r.call, r.callers, r.calls, r.errors, r.per_s, r.p50_ms, r.p99_ms, r.peak_rss_mib
            );
        }
        let _ = writeln!(
            s,
            "\nServer peak RSS over the whole run (VmHWM): **{:.1} MiB**",
            self.peak_rss_mib
        );
        s
    }
}

fn short(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}
