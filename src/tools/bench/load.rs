//! Phases 4 and 5: unary latency under load at the top level, reads
//! (`GetCustomerRisk`) and small writes (`SubmitSurveyResponses` of 10
//! records), with the server's peak RSS meanwhile.
//!
//! The read load runs, when [`Config::load_worker`] names a binary, in a
//! separate OS process: `gapscore-bench load-worker` (a hidden subcommand)
//! reads a [`WorkerSpec`] as JSON on stdin, runs the callers on its own
//! runtime and prints a [`WorkerOutput`] as JSON on stdout, so the
//! client's CPU is not the harness's and its latencies are its own.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tonic::Status;

use super::{Config, data::Generator, percentile_ms, rss::Rss};
use crate::{
    client::Clients,
    proto::v1::{GetCustomerRiskRequest, SubmitSurveyResponsesRequest},
};

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
    /// The callers ran in a separate OS process.
    pub separate_process: bool,
}

/// Calls `call(worker, i)` from `cfg.load_callers` tasks for
/// `cfg.load_duration`, measuring the server's peak RSS meanwhile.
async fn measure<F, Fut>(cfg: &Config, rss: &Rss, name: &str, call: F) -> LoadResult
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), Status>> + Send,
{
    let (n, duration) = (cfg.load_callers, cfg.load_duration);
    rss.start_phase();
    let started = Instant::now();
    let (all, errors) = callers(n, duration, call).await;
    let elapsed = started.elapsed();
    LoadResult {
        call: name.to_owned(),
        callers: n,
        calls: all.len(),
        errors,
        per_s: all.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile_ms(&all, 50.0),
        p99_ms: percentile_ms(&all, 99.0),
        peak_rss_mib: rss.phase_peak_mib(),
        separate_process: false,
    }
}

/// Calls `call(worker, i)` from `callers` tasks for `duration`; the sorted
/// latencies of the successful calls and the number of errors.
async fn callers<F, Fut>(callers: usize, duration: Duration, call: F) -> (Vec<Duration>, usize)
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
    let (mut all, mut errors) = (Vec::<Duration>::new(), 0);
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    all.sort();
    (all, errors)
}

/// What a load worker process is asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerSpec {
    pub addr: std::net::SocketAddr,
    pub key: String,
    pub customers: Vec<String>,
    pub callers: usize,
    pub duration_ms: u64,
}

/// What a load worker process measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerOutput {
    /// Every successful call's latency, microseconds.
    pub latencies_us: Vec<u64>,
    pub errors: usize,
    pub elapsed_ms: f64,
    /// The worker's own CPU time (user + system), ms, from `/proc/self/stat`.
    pub cpu_ms: f64,
}

/// `GetCustomerRisk` callers: each call picks a customer by a seeded index.
fn risk_call(
    c: &Clients,
    customers: Arc<Vec<String>>,
) -> impl Fn(
    usize,
    u64,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Status>> + Send>>
+ Clone
+ Send
+ 'static {
    let c = c.clone();
    move |w, i| {
        let mut client = c.customers();
        let id = customers[((w as u64 * 31 + i * 17) % customers.len() as u64) as usize].clone();
        Box::pin(async move {
            client
                .get_customer_risk(GetCustomerRiskRequest {
                    customer_id: id,
                    ..Default::default()
                })
                .await
                .map(|_| ())
        })
    }
}

/// The load worker's body (`gapscore-bench load-worker`): warm-up, then
/// the callers for the duration.
pub async fn worker_main(spec: WorkerSpec) -> anyhow::Result<WorkerOutput> {
    let c = crate::client::connect(spec.addr, &spec.key, super::CALL_TIMEOUT).await?;
    let customers = Arc::new(spec.customers);
    warm_up(&c, &customers).await?;
    let call = risk_call(&c, customers);
    let started = Instant::now();
    let (lat, errors) = callers(spec.callers, Duration::from_millis(spec.duration_ms), call).await;
    Ok(WorkerOutput {
        latencies_us: lat.iter().map(|d| d.as_micros() as u64).collect(),
        errors,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        cpu_ms: own_cpu_ms(),
    })
}

/// This process's user + system CPU time, ms (0 when unreadable).
fn own_cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after ')'.
    (ticks(11) + ticks(12)) * 10.0
}

async fn warm_up(c: &Clients, customers: &[String]) -> anyhow::Result<()> {
    for id in customers.iter().take(20) {
        c.customers()
            .get_customer_risk(GetCustomerRiskRequest {
                customer_id: id.clone(),
                ..Default::default()
            })
            .await?;
    }
    Ok(())
}

/// Runs `spec` in a separate process (`bin load-worker`) and turns what it
/// measured into a [`LoadResult`], the server's RSS sampled meanwhile.
async fn measure_in_process(
    bin: &std::path::Path,
    spec: &WorkerSpec,
    rss: &Rss,
) -> anyhow::Result<(LoadResult, f64)> {
    use std::io::Write as _;
    let mut child = std::process::Command::new(bin)
        .arg("load-worker")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start the load worker {}", bin.display()))?;
    let mut stdin = child.stdin.take().context("worker stdin")?;
    stdin.write_all(&serde_json::to_vec(spec)?)?;
    drop(stdin);
    rss.start_phase();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
    anyhow::ensure!(
        output.status.success(),
        "the load worker failed: {}",
        output.status
    );
    let out = output.stdout;
    let w: WorkerOutput = serde_json::from_slice(&out).context("the load worker's output")?;
    let mut all: Vec<Duration> = w
        .latencies_us
        .iter()
        .map(|&u| Duration::from_micros(u))
        .collect();
    all.sort();
    Ok((
        LoadResult {
            call: "GetCustomerRisk".to_owned(),
            callers: spec.callers,
            calls: all.len(),
            errors: w.errors,
            per_s: all.len() as f64 / (w.elapsed_ms / 1e3),
            p50_ms: percentile_ms(&all, 50.0),
            p99_ms: percentile_ms(&all, 99.0),
            peak_rss_mib: rss.phase_peak_mib(),
            separate_process: true,
        },
        w.cpu_ms,
    ))
}

/// GetCustomerRisk and SubmitSurveyResponses(10) at `load_callers`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn load_phase(
    cfg: &Config,
    g: &Generator,
    server: super::Server,
    score_key: &str,
    scoring: &Clients,
    ingest: &Clients,
    journeys: u64,
    rss: &Rss,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Vec<LoadResult>> {
    // Customers with journeys, drawn by a seeded index.
    let customers: Arc<Vec<String>> = Arc::new(
        (0..1000u64)
            .map(|i| {
                g.journey("b", (i.wrapping_mul(7_919) + 13) % journeys.max(1))
                    .customer_id
            })
            .collect(),
    );
    let reads = match &cfg.load_worker {
        Some(bin) => {
            let spec = WorkerSpec {
                addr: server.addr,
                key: score_key.to_owned(),
                customers: customers.to_vec(),
                callers: cfg.load_callers,
                duration_ms: cfg.load_duration.as_millis() as u64,
            };
            let (result, cpu_ms) = measure_in_process(bin, &spec, rss).await?;
            log(&format!(
                "GetCustomerRisk load ran in a separate process ({cpu_ms:.0} ms of its CPU)"
            ));
            result
        }
        None => {
            warm_up(scoring, &customers).await?;
            measure(cfg, rss, "GetCustomerRisk", risk_call(scoring, customers)).await
        }
    };

    let (c, g) = (ingest.clone(), *g);
    let writes = measure(
        cfg,
        rss,
        "SubmitSurveyResponses (10 records)",
        move |w, i| {
            let mut client = c.survey();
            let base = (w as u64) * 10_000_000 + i * 10;
            let responses = (base..base + 10).map(|k| g.response("l", k)).collect();
            async move {
                client
                    .submit_survey_responses(SubmitSurveyResponsesRequest { responses })
                    .await
                    .map(|_| ())
            }
        },
    )
    .await;
    let out = vec![reads, writes];
    for r in &out {
        log(&format!(
            "{} at {} callers: {:.0}/s p50 {:.1} ms p99 {:.1} ms ({} errors)",
            r.call, r.callers, r.per_s, r.p50_ms, r.p99_ms, r.errors
        ));
    }
    Ok(out)
}
