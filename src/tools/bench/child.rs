//! What the benchmark and the soak share around the server they measure:
//! a scratch database they may drop, and the release `gapscore serve`
//! running as a child process (so its `/proc/PID/status` can be sampled).

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::store;

/// Drops the database of `url` if it exists.
pub async fn drop_database(url: &str) -> anyhow::Result<()> {
    let options = store::connect_options(url)?;
    let name = options.get_database().unwrap_or_default().to_owned();
    let mut admin = options.clone().database("postgres").connect().await?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    admin.close().await?;
    Ok(())
}

/// Drops and creates the database of `url`, whose name must contain
/// `marker` (a guard against dropping a real database by mistake).
pub async fn recreate_database(url: &str, marker: &str) -> anyhow::Result<()> {
    let options = store::connect_options(url)?;
    let name = options
        .get_database()
        .context("the URL names no database")?
        .to_owned();
    if !name.contains(marker) {
        bail!("refusing to drop {name:?}: its name must contain {marker:?}");
    }
    drop_database(url).await?;
    store::ensure_database(url).await
}

/// Recreates the database of `url` (see [`recreate_database`]), migrates
/// it and returns a pool of `max_connections` on it.
pub async fn scratch_database(
    url: &str,
    marker: &str,
    max_connections: u32,
) -> anyhow::Result<PgPool> {
    recreate_database(url, marker).await?;
    let pool = store::connect_lazy(
        url,
        &store::PoolConfig {
            max_connections,
            acquire_timeout: Duration::from_secs(30),
            statement_timeout: None,
        },
    )?;
    store::migrate(&pool).await?;
    Ok(pool)
}

/// `explicit`, or else the `gapscore` binary next to the running one.
pub fn server_bin(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match explicit {
        Some(bin) => Ok(bin),
        None => Ok(std::env::current_exe()?
            .parent()
            .context("no directory")?
            .join("gapscore")),
    }
}

/// The server process; killed on drop if still running.
pub struct ChildServer(pub Child);

impl Drop for ChildServer {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `bin serve` against `url` on a free local port with `env` added
/// (logging warnings only), and waits until it listens.
pub async fn spawn_server(
    bin: &Path,
    url: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<(ChildServer, SocketAddr)> {
    let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let child = Command::new(bin)
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("GAPSCORE_LISTEN", addr.to_string())
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
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

/// The benchmark database on a streaming standby of `primary`'s cluster:
/// `pg_stat_statements` created on the primary when the cluster loads it
/// (the standby replays the extension, and its statement counts prove
/// where reads ran), then a pool on `url` once the standby has replayed
/// the freshly created database.
pub async fn standby_database(primary: &PgPool, url: &str) -> anyhow::Result<PgPool> {
    // Best effort: without the library preloaded the view is unusable and
    // the harness counts transactions instead.
    let _ = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(primary)
        .await;
    let options = store::connect_options(url).context("--database-read-url")?;
    let started = Instant::now();
    loop {
        match sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
        {
            Ok(pool) => return Ok(pool),
            Err(e) if started.elapsed() > Duration::from_secs(60) => {
                return Err(e).context("cannot connect to the standby's benchmark database");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}
