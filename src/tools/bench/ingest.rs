//! Phases 1 and 2: ingest through `Stream*` (several concurrent streams)
//! and unary `Submit*` batches, against two limits: the same rows by binary
//! COPY into a minimal schema (the floor, [`super::floor`]), and into the
//! service's own schema. Both COPYs run with as many sessions as ingest has
//! streams.

use std::{
    ops::Range,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{
    Config,
    data::Generator,
    median, percentile_ms,
    records::{Journeys, Kind, Responses, batches},
    rss::Rss,
};
use crate::{client::Clients, domain::TenantId, domain::question::Question};

/// One ingest method's result: medians over repetitions; latencies pooled.
#[derive(Debug, Clone, Default)]
pub struct IngestResult {
    pub method: String,
    pub records_per_s: f64,
    /// Answer rows, EXPERIENCE and framed (responses), or touchpoints
    /// (journeys) per second.
    pub rows_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub peak_rss_mib: f64,
}

/// The ingest methods, in the report's order.
pub const METHODS: [&str; 4] = ["stream", "unary", FLOOR, OWN_SCHEMA];
/// The floor: binary COPY into the minimal schema.
pub const FLOOR: &str = "COPY floor (minimal schema)";
/// Binary COPY into the service's own schema.
pub const OWN_SCHEMA: &str = "COPY into our own schema";

/// One method's measurements over the repetitions.
#[derive(Default)]
struct Samples {
    records_per_s: Vec<f64>,
    rows_per_s: Vec<f64>,
    latencies: Vec<Duration>,
    peak_rss_mib: f64,
}

impl Samples {
    fn add(&mut self, records: u64, rows: u64, elapsed: Duration, lat: Vec<Duration>, peak: f64) {
        self.records_per_s
            .push(records as f64 / elapsed.as_secs_f64());
        self.rows_per_s.push(rows as f64 / elapsed.as_secs_f64());
        self.latencies.extend(lat);
        self.peak_rss_mib = self.peak_rss_mib.max(peak);
    }

    fn result(mut self, method: String) -> IngestResult {
        self.latencies.sort();
        IngestResult {
            method,
            records_per_s: median(&mut self.records_per_s),
            rows_per_s: median(&mut self.rows_per_s),
            p50_ms: percentile_ms(&self.latencies, 50.0),
            p99_ms: percentile_ms(&self.latencies, 99.0),
            peak_rss_mib: self.peak_rss_mib,
        }
    }
}

/// What every measurement of the phase shares.
struct Phase<'a> {
    cfg: &'a Config,
    g: &'a Generator,
    pool: &'a PgPool,
    tenant: TenantId,
    clients: &'a Clients,
    catalog: &'a [Question],
    rss: &'a Rss,
}

/// Ingest through streams, unary batches and COPY; medians of `ingest_reps`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn ingest_phase(
    cfg: &Config,
    g: &Generator,
    pool: &PgPool,
    tenant: TenantId,
    clients: &Clients,
    catalog: &[Question],
    rss: &Rss,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Vec<IngestResult>> {
    super::floor::create_schema(pool).await?;
    let phase = Phase {
        cfg,
        g,
        pool,
        tenant,
        clients,
        catalog,
        rss,
    };
    let (n, nj) = (cfg.ingest_responses, cfg.ingest_responses / 2);
    let mut responses = <[Samples; 4]>::default();
    let mut journeys = <[Samples; 4]>::default();
    for rep in 0..cfg.ingest_reps as u64 {
        phase
            .repetition::<Responses>(rep * n..(rep + 1) * n, &mut responses)
            .await?;
        phase
            .repetition::<Journeys>(rep * nj..(rep + 1) * nj, &mut journeys)
            .await?;
        log(&format!(
            "ingest repetition {} of {} done",
            rep + 1,
            cfg.ingest_reps
        ));
    }
    Ok(results::<Responses>(responses)
        .chain(results::<Journeys>(journeys))
        .collect())
}

fn results<K: Kind>(samples: [Samples; 4]) -> impl Iterator<Item = IngestResult> {
    METHODS
        .into_iter()
        .zip(samples)
        .map(|(method, s)| s.result(format!("{}: {method}", K::NAME)))
}

impl Phase<'_> {
    /// The records of `range` by each method (each with its own ids).
    async fn repetition<K: Kind>(
        &self,
        range: Range<u64>,
        samples: &mut [Samples; 4],
    ) -> anyhow::Result<()> {
        let Phase { cfg, g, rss, .. } = *self;
        let n = range.end - range.start;
        let [streamed, unary, copied] = K::INGEST_PREFIXES;

        // Streams.
        let stream_batches = batches::<K>(g, streamed, range.clone());
        let rows: u64 = stream_batches.iter().flatten().map(K::rows).sum();
        let workers = deal(
            stream_batches.into_iter().map(K::message).collect(),
            cfg.streams,
        );
        rss.start_phase();
        let (streams, intervals) = timed_streams(workers);
        let started = Instant::now();
        let tasks = streams
            .into_iter()
            .map(|s| tokio::spawn(K::stream(self.clients, s)))
            .collect();
        let lat = finish_streams(tasks, intervals).await?;
        let elapsed = started.elapsed();
        samples[0].add(n, rows, elapsed, lat, rss.phase_peak_mib());

        // Unary batches.
        let workers = deal(batches::<K>(g, unary, range.clone()), cfg.unary_callers);
        rss.start_phase();
        let c = self.clients.clone();
        let (elapsed, lat) = run_unary(workers, move |records| K::submit(&c, records)).await?;
        samples[1].add(n, rows, elapsed, lat, rss.phase_peak_mib());

        // The same rows normalized, before either COPY's clock starts.
        let normalized: Vec<_> = batches::<K>(g, copied, range.clone())
            .iter()
            .map(|b| K::normalize(self.catalog, b))
            .collect();

        // The floor: ids and payloads made before the clock starts.
        let payloads: Vec<_> = normalized
            .iter()
            .zip((range.start as i64 + 1..).step_by(super::BATCH))
            .map(|(records, first_id)| K::floor(self.tenant, first_id, records))
            .collect();
        let workers = deal(payloads, cfg.streams);
        let p = self.pool.clone();
        let (elapsed, lat) = run_unary(workers, move |payloads| {
            let p = p.clone();
            async move {
                super::floor::write(&p, payloads)
                    .await
                    .map(|_| ())
                    .map_err(|e| Status::internal(e.to_string()))
            }
        })
        .await?;
        samples[2].add(n, rows, elapsed, lat, 0.0);

        // COPY into our own schema, with its indexes, keys and rollup.
        let workers = deal(normalized, cfg.streams);
        let (p, tenant) = (self.pool.clone(), self.tenant);
        let (elapsed, lat) = run_unary(workers, move |records| {
            let p = p.clone();
            async move {
                K::copy(&p, tenant, &records)
                    .await
                    .map(|_| ())
                    .map_err(|e| Status::internal(e.to_string()))
            }
        })
        .await?;
        samples[3].add(n, rows, elapsed, lat, 0.0);
        Ok(())
    }
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

fn timed_streams<M: Send + 'static>(workers: Vec<Vec<M>>) -> (Vec<ReceiverStream<M>>, Intervals) {
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
            ReceiverStream::new(rx)
        })
        .collect();
    (streams, intervals)
}

/// Waits for the stream tasks; returns the sorted intervals.
async fn finish_streams(
    tasks: Vec<JoinHandle<Result<(), Status>>>,
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
