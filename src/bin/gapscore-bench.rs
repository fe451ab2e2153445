//! `gapscore-bench`: the benchmark harness (see BENCHMARKS.md).
//!
//! ```sh
//! cargo build --release --bins
//! target/release/gapscore-bench --scale 10m --out bench-report.md
//! target/release/gapscore-bench --smoke
//! ```
//!
//! Drops and recreates the benchmark database (never the default or test
//! databases), runs `gapscore serve` from the same directory as a child
//! process (so its RSS can be sampled), runs [`gapscore::tools::bench::run`] and
//! prints the report.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Parser;
use gapscore::tools::bench::{self, Config, Server, child};

/// Benchmark gapscore against the COPY limit of its own store.
#[derive(Debug, Parser)]
#[command(name = "gapscore-bench")]
struct Args {
    /// The benchmark database; it is DROPPED and recreated.
    #[arg(
        long,
        env = "GAPSCORE_BENCH_DATABASE_URL",
        default_value = "postgres://localhost:5432/gapscore_bench"
    )]
    database_url: String,
    /// The same cluster's streaming standby (hot standby): the server gets
    /// it as `--database-read-url`, and the top level's scoring reads are
    /// timed on the primary and on it (see `scripts/bench-standby`).
    #[arg(long)]
    database_read_url: Option<String>,
    /// Largest scoring level in answers: 100k, 1m or 10m (levels 100k, 1m,
    /// 10m up to it).
    #[arg(long, default_value = "1m")]
    scale: String,
    /// Everything at tiny scale, in seconds.
    #[arg(long)]
    smoke: bool,
    /// Survey responses per ingest method and repetition.
    #[arg(long)]
    ingest_responses: Option<u64>,
    /// Ingest repetitions.
    #[arg(long)]
    ingest_reps: Option<usize>,
    /// Seconds of each latency-under-load measurement.
    #[arg(long)]
    load_seconds: Option<u64>,
    /// The `gapscore` binary to run (default: next to this one).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Also write the Markdown report here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Keep the benchmark database afterwards (default: drop it).
    #[arg(long)]
    keep_database: bool,
    /// Load the scoring levels by COPY rather than through the server's
    /// streams (quicker; no RSS figure for the large ingest).
    #[arg(long)]
    load_by_copy: bool,
}

fn parse_scale(s: &str) -> anyhow::Result<u64> {
    let s = s.to_ascii_lowercase();
    let (num, mult) = if let Some(n) = s.strip_suffix('m') {
        (n, 1_000_000)
    } else if let Some(n) = s.strip_suffix('k') {
        (n, 1_000)
    } else {
        (s.as_str(), 1)
    };
    Ok(num.parse::<u64>().context("--scale like 100k, 1m, 10m")? * mult)
}

/// The hidden `load-worker` subcommand: a [`bench::WorkerSpec`] as JSON on
/// stdin, a [`bench::WorkerOutput`] as JSON on stdout.
async fn load_worker() -> anyhow::Result<()> {
    let mut input = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)?;
    let spec: bench::WorkerSpec = serde_json::from_str(&input).context("the worker spec")?;
    let out = bench::worker_main(spec).await?;
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("load-worker") {
        return load_worker().await;
    }
    let args = Args::parse();
    let mut cfg = if args.smoke {
        Config::smoke()
    } else {
        Config::full(parse_scale(&args.scale)?)
    };
    if let Some(n) = args.ingest_responses {
        cfg.ingest_responses = n;
    }
    if let Some(n) = args.ingest_reps {
        cfg.ingest_reps = n;
    }
    if let Some(n) = args.load_seconds {
        cfg.load_duration = Duration::from_secs(n);
    }
    cfg.load_by_copy = args.load_by_copy;
    // The GetCustomerRisk load runs in a separate process: this binary.
    cfg.load_worker = Some(std::env::current_exe()?);
    let bin = child::server_bin(args.server_bin)?;

    let pool = child::scratch_database(&args.database_url, "bench", 8).await?;
    let standby = match &args.database_read_url {
        Some(url) => Some(child::standby_database(&pool, url).await?),
        None => None,
    };
    // Whole-window scoring at 10M answers can take longer than the
    // default 30 s request timeout.
    // The harness folds the rollup itself after each level, so that the
    // state before the fold is checked for exactness too.
    let mut env = vec![
        ("GAPSCORE_REQUEST_TIMEOUT_SECS", "600"),
        ("GAPSCORE_ROLLUP_COMPACT_INTERVAL_MS", "86400000"),
    ];
    if let Some(url) = &args.database_read_url {
        env.push(("GAPSCORE_DATABASE_READ_URL", url));
    }
    let (child, addr) = child::spawn_server(&bin, &args.database_url, &env).await?;
    let server = Server {
        addr,
        pid: child.0.id(),
    };
    let started = Instant::now();
    let log = |line: &str| eprintln!("[{:>7.1}s] {line}", started.elapsed().as_secs_f64());
    log(&format!("config: {cfg:?}"));
    let result = bench::run(&cfg, &pool, standby.as_ref(), server, &log).await;
    drop(child);
    pool.close().await;
    if let Some(standby) = standby {
        standby.close().await;
    }
    if !args.keep_database {
        child::drop_database(&args.database_url).await?;
    }
    let report = result?;
    let md = report.to_markdown();
    println!("{md}");
    if let Some(out) = args.out {
        std::fs::write(&out, &md)?;
    }
    let failures = report.failures();
    if !failures.is_empty() {
        for f in &failures {
            log(&format!("FAILED: {f}"));
        }
        anyhow::bail!("the benchmark's judge found {} failure(s)", failures.len());
    }
    log("done");
    Ok(())
}
