//! `gapscore-soak`: a bounded soak of mixed load against the release server
//! (see RELIABILITY.md). Not run in CI.
//!
//! ```sh
//! cargo build --release --bins
//! target/release/gapscore-soak --seconds 600
//! ```
//!
//! Drops and recreates the soak database (its name must contain "soak"),
//! runs `gapscore serve` from the same directory as a child process, and for
//! `--seconds` runs at once: client streams (`StreamSurveyResponses`), unary
//! `SubmitSurveyResponses` and `SubmitJourneys`, and scoring reads
//! (`GetPerceptionGap`, `GetScorecard`, `GetCustomerRisk`). Writers cycle
//! through a fixed window of ids, changing each record on every lap, so every
//! call writes (inserts on the first lap, updates afterwards) while the data
//! stays the same size and scoring latency stays comparable over the run.
//!
//! Every `--interval` seconds it samples the server's RSS (`/proc/PID`) and
//! prints calls and errors of the interval; at the end it stops the server
//! with SIGTERM, prints a Markdown summary and exits non-zero on any error,
//! on an unclean server exit, or if the server died.

use std::{
    path::PathBuf,
    process::{Command, ExitCode},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Parser;
use gapscore::{
    client::{self, Clients},
    proto::v1::{
        GetCustomerRiskRequest, GetPerceptionGapRequest, GetScorecardRequest,
        StreamSurveyResponsesRequest, SubmitJourneysRequest,
    },
    store::tenants,
    tools::bench::{
        child,
        data::Generator,
        proc_memory_kib,
        records::{Journeys, Kind, Responses},
    },
};
use tonic::Status;

/// A bounded soak of mixed load; exits non-zero on any error.
#[derive(Debug, Parser)]
#[command(name = "gapscore-soak")]
struct Args {
    /// Seconds of load.
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 10)]
    interval: u64,
    /// The soak database; it is DROPPED and recreated.
    #[arg(
        long,
        env = "GAPSCORE_SOAK_DATABASE_URL",
        default_value = "postgres://localhost:5432/gapscore_soak"
    )]
    database_url: String,
    /// The `gapscore` binary to run (default: next to this one).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Keep the soak database afterwards (default: drop it).
    #[arg(long)]
    keep_database: bool,
}

/// Concurrent callers and their pace.
const STREAMS: usize = 2;
const STREAM_MESSAGES: u64 = 20;
const STREAM_BATCH: u64 = 50;
const SURVEY_CALLERS: usize = 2;
const SURVEY_BATCH: u64 = 50;
const JOURNEY_CALLERS: usize = 1;
const JOURNEY_BATCH: u64 = 20;
const SCORING_CALLERS: usize = 3;
/// Ids each writer cycles through.
const WINDOW: u64 = 10_000;
const JOURNEY_WINDOW: u64 = 5_000;
const WRITE_PAUSE: Duration = Duration::from_millis(200);
const READ_PAUSE: Duration = Duration::from_millis(100);

/// Calls, errors and the slowest call, per kind of call.
#[derive(Default)]
struct Counter {
    calls: AtomicU64,
    errors: AtomicU64,
    max_us: AtomicU64,
}

impl Counter {
    fn record(&self, started: Instant, result: Result<(), Status>, what: &str) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.max_us
            .fetch_max(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        if let Err(status) = result {
            let n = self.errors.fetch_add(1, Ordering::Relaxed);
            if n < 5 {
                eprintln!("error in {what}: {status:?}");
            }
        }
    }
}

/// Counters per kind: streams, unary writes, scoring reads.
#[derive(Default)]
struct Stats {
    streams: Counter,
    writes: Counter,
    reads: Counter,
    records: AtomicU64,
}

/// Totals at one sample.
#[derive(Clone, Copy, Default)]
struct Snapshot {
    streams: u64,
    writes: u64,
    reads: u64,
    errors: u64,
    records: u64,
}

impl Stats {
    fn snapshot(&self) -> Snapshot {
        let c = |c: &Counter| c.calls.load(Ordering::Relaxed);
        let e = |c: &Counter| c.errors.load(Ordering::Relaxed);
        Snapshot {
            streams: c(&self.streams),
            writes: c(&self.writes),
            reads: c(&self.reads),
            errors: e(&self.streams) + e(&self.writes) + e(&self.reads),
            records: self.records.load(Ordering::Relaxed),
        }
    }
    /// The slowest call of each kind since the last call, ms.
    fn take_max_ms(&self) -> (f64, f64, f64) {
        let t = |c: &Counter| c.max_us.swap(0, Ordering::Relaxed) as f64 / 1000.0;
        (t(&self.streams), t(&self.writes), t(&self.reads))
    }
}

/// Survey response `index` of a writer's window, changed on every lap.
fn response(g: &Generator, prefix: &str, n: u64) -> gapscore::proto::v1::SurveyResponse {
    let mut r = g.response(prefix, n % WINDOW);
    r.survey_id = format!("lap-{}", n / WINDOW);
    r
}

fn journey(g: &Generator, prefix: &str, n: u64) -> gapscore::proto::v1::Journey {
    let mut j = g.journey(prefix, n % JOURNEY_WINDOW);
    j.labels
        .insert("lap".into(), (n / JOURNEY_WINDOW).to_string());
    j
}

/// The kinds of caller, each a loop of [`Load`].
#[derive(Clone, Copy)]
enum Caller {
    Stream,
    SurveyWriter,
    JourneyWriter,
    ScoringReader,
}

/// How many of each kind of caller run at once.
const CALLERS: [(Caller, usize); 4] = [
    (Caller::Stream, STREAMS),
    (Caller::SurveyWriter, SURVEY_CALLERS),
    (Caller::JourneyWriter, JOURNEY_CALLERS),
    (Caller::ScoringReader, SCORING_CALLERS),
];

struct Load {
    g: Generator,
    clients: Clients,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
}

impl Load {
    fn spawn(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        for (caller, count) in CALLERS {
            for w in 0..count {
                let load = self.clone();
                tasks.push(tokio::spawn(async move {
                    match caller {
                        Caller::Stream => load.streams(w).await,
                        Caller::SurveyWriter => load.surveys(w).await,
                        Caller::JourneyWriter => load.journeys(w).await,
                        Caller::ScoringReader => load.reads(w).await,
                    }
                }));
            }
        }
        tasks
    }

    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }

    async fn streams(&self, w: usize) {
        let prefix = format!("st{w}");
        let mut client = self.clients.survey();
        let mut n = 0u64;
        while self.running() {
            let first = n;
            n += STREAM_MESSAGES * STREAM_BATCH;
            let (g, p) = (self.g, prefix.clone());
            let messages = async_stream::stream! {
                for m in 0..STREAM_MESSAGES {
                    let base = first + m * STREAM_BATCH;
                    let responses = (base..base + STREAM_BATCH).map(|k| response(&g, &p, k)).collect();
                    yield StreamSurveyResponsesRequest { responses };
                    tokio::time::sleep(WRITE_PAUSE).await;
                }
            };
            let started = Instant::now();
            let result = client.stream_survey_responses(messages).await;
            if let Ok(r) = &result {
                let counts = r.get_ref().counts.unwrap_or_default();
                self.stats.records.fetch_add(
                    (counts.inserted + counts.updated + counts.unchanged) as u64,
                    Ordering::Relaxed,
                );
            }
            self.stats
                .streams
                .record(started, result.map(|_| ()), "StreamSurveyResponses");
        }
    }

    async fn surveys(&self, w: usize) {
        let prefix = format!("us{w}");
        self.unary_writes::<Responses>("SubmitSurveyResponses", &prefix, SURVEY_BATCH, response)
            .await;
    }

    async fn journeys(&self, w: usize) {
        let prefix = format!("uj{w}");
        self.unary_writes::<Journeys>("SubmitJourneys", &prefix, JOURNEY_BATCH, journey)
            .await;
    }

    /// Sends `record(g, prefix, n)` for every `n` from 0, `batch` a call,
    /// one call after another with a pause, until stopped.
    async fn unary_writes<K: Kind>(
        &self,
        what: &str,
        prefix: &str,
        batch: u64,
        record: fn(&Generator, &str, u64) -> K::Record,
    ) {
        let mut n = 0u64;
        while self.running() {
            let records = (n..n + batch).map(|k| record(&self.g, prefix, k)).collect();
            n += batch;
            let started = Instant::now();
            let result = K::submit(&self.clients, records).await;
            if result.is_ok() {
                self.stats.records.fetch_add(batch, Ordering::Relaxed);
            }
            self.stats.writes.record(started, result, what);
            tokio::time::sleep(WRITE_PAUSE).await;
        }
    }

    async fn reads(&self, w: usize) {
        let mut scoring = self.clients.scoring();
        let mut customers = self.clients.customers();
        let mut i = w as u64;
        while self.running() {
            let started = Instant::now();
            let (what, result) = match i % 3 {
                0 => (
                    "GetPerceptionGap",
                    scoring
                        .get_perception_gap(GetPerceptionGapRequest::default())
                        .await
                        .map(|_| ()),
                ),
                1 => (
                    "GetScorecard",
                    scoring
                        .get_scorecard(GetScorecardRequest::default())
                        .await
                        .map(|_| ()),
                ),
                _ => {
                    // A customer with journeys (the journey writer's window
                    // is loaded before the timed run).
                    let k = (i.wrapping_mul(7_919)) % JOURNEY_WINDOW;
                    let customer_id = self.g.journey("uj0", k).customer_id;
                    (
                        "GetCustomerRisk",
                        customers
                            .get_customer_risk(GetCustomerRiskRequest {
                                customer_id,
                                ..Default::default()
                            })
                            .await
                            .map(|_| ()),
                    )
                }
            };
            self.stats.reads.record(started, result, what);
            i += 1;
            tokio::time::sleep(READ_PAUSE).await;
        }
    }
}

/// Loads the first lap of the journey window, so every customer the reads
/// ask for exists from the start.
async fn preload(load: &Load) -> anyhow::Result<()> {
    let mut client = load.clients.journeys();
    for base in (0..JOURNEY_WINDOW).step_by(1000) {
        let journeys = (base..base + 1000)
            .map(|k| load.g.journey("uj0", k))
            .collect();
        client
            .submit_journeys(SubmitJourneysRequest { journeys })
            .await
            .context("preloading journeys")?;
    }
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the soak; `Ok(false)` when it saw an error.
async fn run(args: Args) -> anyhow::Result<bool> {
    let bin = child::server_bin(args.server_bin)?;
    let pool = child::scratch_database(&args.database_url, "soak", 2).await?;
    let (_, key) = tenants::create_tenant(&pool, "soak").await?;
    pool.close().await;

    let (mut child, addr) = child::spawn_server(
        &bin,
        &args.database_url,
        &[("GAPSCORE_SHUTDOWN_GRACE_SECS", "10")],
    )
    .await?;
    let pid = child.0.id();
    let clients = client::connect(addr, &key.secret, Duration::from_secs(60)).await?;
    let load = Arc::new(Load {
        g: Generator {
            seed: 20_261_130,
            customers: 20_000,
        },
        clients,
        stats: Arc::new(Stats::default()),
        stop: Arc::new(AtomicBool::new(false)),
    });
    preload(&load).await?;

    let duration = Duration::from_secs(args.seconds);
    let interval = Duration::from_secs(args.interval.max(1));
    let started = Instant::now();
    let tasks = load.spawn();
    let (rss0, _) = proc_memory_kib(pid);
    println!(
        "soak: {} s of {STREAMS} streams, {SURVEY_CALLERS}+{JOURNEY_CALLERS} unary writers, \
         {SCORING_CALLERS} scoring readers against {addr} (pid {pid}); RSS at start {:.1} MiB\n",
        args.seconds,
        mib(rss0)
    );
    println!(
        "| t s | RSS MiB | streams | unary writes | scoring reads | records written | errors | slowest stream / write / read ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut samples: Vec<(u64, u64)> = Vec::new();
    let mut last = Snapshot::default();
    let mut server_died = false;
    let mut next = started + interval;
    while started.elapsed() < duration {
        tokio::time::sleep_until(next.into()).await;
        next += interval;
        if child.0.try_wait()?.is_some() {
            eprintln!("the server exited during the soak");
            server_died = true;
            break;
        }
        let (rss, _) = proc_memory_kib(pid);
        let now = load.stats.snapshot();
        let (s_ms, w_ms, r_ms) = load.stats.take_max_ms();
        let t = started.elapsed().as_secs();
        samples.push((t, rss));
        println!(
            "| {t} | {:.1} | {} | {} | {} | {} | {} | {s_ms:.0} / {w_ms:.0} / {r_ms:.0} |",
            mib(rss),
            now.streams - last.streams,
            now.writes - last.writes,
            now.reads - last.reads,
            now.records - last.records,
            now.errors - last.errors,
        );
        last = now;
    }
    load.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await?;
    }
    let total = load.stats.snapshot();
    let (_, hwm) = proc_memory_kib(pid);

    // Stop the server as an orchestrator would and expect a clean exit.
    let stopping = Instant::now();
    let exit = if server_died {
        None
    } else {
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        loop {
            if let Some(status) = child.0.try_wait()? {
                break Some(status);
            }
            if stopping.elapsed() > Duration::from_secs(15) {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    if !args.keep_database {
        child::drop_database(&args.database_url).await?;
    }

    // Flat memory: compare the first minute's samples (warm-up) with the last
    // minute's.
    let window = (60 / args.interval.max(1)).max(1) as usize;
    let avg =
        |s: &[(u64, u64)]| s.iter().map(|(_, r)| mib(*r)).sum::<f64>() / s.len().max(1) as f64;
    let first = avg(&samples[..window.min(samples.len())]);
    let last_avg = avg(&samples[samples.len().saturating_sub(window)..]);
    let max = samples.iter().map(|(_, r)| mib(*r)).fold(0.0, f64::max);
    let min_after_warmup = samples
        .iter()
        .skip(window.min(samples.len().saturating_sub(1)))
        .map(|(_, r)| mib(*r))
        .fold(f64::INFINITY, f64::min);
    println!();
    println!("| figure | value |");
    println!("|---|---:|");
    println!("| duration | {:.0} s |", started.elapsed().as_secs_f64());
    println!("| streams completed | {} |", total.streams);
    println!("| unary writes | {} |", total.writes);
    println!("| scoring reads | {} |", total.reads);
    println!(
        "| records written (inserted or updated) | {} |",
        total.records
    );
    println!("| errors | {} |", total.errors);
    println!("| RSS mean, first minute | {first:.1} MiB |");
    println!("| RSS mean, last minute | {last_avg:.1} MiB |");
    println!("| RSS min after the first minute / max | {min_after_warmup:.1} / {max:.1} MiB |");
    println!("| RSS high-water mark (VmHWM) | {:.1} MiB |", mib(hwm));
    println!(
        "| exit after SIGTERM | {} |",
        match exit {
            Some(s) => format!("{s} after {:.2} s", stopping.elapsed().as_secs_f64()),
            None => "no clean exit".into(),
        }
    );
    let clean_exit = exit.is_some_and(|s| s.success());
    Ok(total.errors == 0 && !server_died && clean_exit)
}
