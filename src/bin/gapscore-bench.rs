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
//! process (so its RSS can be sampled), runs [`gapscore::bench::run`] and
//! prints the report.

use std::{
    net::{SocketAddr, TcpListener},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Parser;
use gapscore::{
    bench::{self, Config, Server},
    store,
};
use sqlx::{ConnectOptions, Connection};

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

async fn recreate_database(url: &str) -> anyhow::Result<()> {
    let options = store::connect_options(url)?;
    let name = options
        .get_database()
        .context("the URL names no database")?
        .to_owned();
    if !name.contains("bench") {
        bail!("refusing to drop {name:?}: the benchmark database's name must contain \"bench\"");
    }
    let mut admin = options.clone().database("postgres").connect().await?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    admin.close().await?;
    store::ensure_database(url).await
}

async fn drop_database(url: &str) -> anyhow::Result<()> {
    let options = store::connect_options(url)?;
    let name = options.get_database().unwrap_or_default().to_owned();
    let mut admin = options.clone().database("postgres").connect().await?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    Ok(())
}

struct ChildServer(Child);

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn spawn_server(bin: &PathBuf, url: &str) -> anyhow::Result<(ChildServer, SocketAddr)> {
    let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let child = Command::new(bin)
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("GAPSCORE_LISTEN", addr.to_string())
        // Whole-window scoring at 10M answers can take longer than the
        // default 30 s request timeout before optimization.
        .env("GAPSCORE_REQUEST_TIMEOUT_SECS", "600")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| {
            format!(
                "cannot start {} (build it with `cargo build --release --bins`)",
                bin.display()
            )
        })?;
    let child = ChildServer(child);
    let started = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the server did not start listening on {addr}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((child, addr))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
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
    let bin = match args.server_bin {
        Some(b) => b,
        None => std::env::current_exe()?
            .parent()
            .context("no directory")?
            .join("gapscore"),
    };

    recreate_database(&args.database_url).await?;
    let pool = store::connect_lazy(
        &args.database_url,
        &store::PoolConfig {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(30),
        },
    )?;
    store::migrate(&pool).await?;
    let (child, addr) = spawn_server(&bin, &args.database_url).await?;
    let server = Server {
        addr,
        pid: child.0.id(),
    };
    let started = Instant::now();
    let log = |line: &str| eprintln!("[{:>7.1}s] {line}", started.elapsed().as_secs_f64());
    log(&format!("config: {cfg:?}"));
    let result = bench::run(&cfg, &pool, server, &log).await;
    drop(child);
    pool.close().await;
    if !args.keep_database {
        drop_database(&args.database_url).await?;
    }
    let report = result?;
    let md = report.to_markdown();
    println!("{md}");
    if let Some(out) = args.out {
        std::fs::write(&out, &md)?;
    }
    log("done");
    Ok(())
}
