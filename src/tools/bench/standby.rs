//! The scoring reads at the top level twice: asked to run on the primary
//! (`x-gapscore-consistency: primary`) and left to the server, which sends
//! them to its read replica (`--database-read-url`, a streaming standby).
//!
//! Where the reads ran is proved, not assumed: the standby's own count of
//! the statements it executed in the benchmark database is read before and
//! after each set. With `pg_stat_statements` (loaded on the standby, as
//! `scripts/bench-standby` does) the count is exact per statement, and the
//! statements that are not the service's reads — the server's replay-lag
//! check, the harness's own counting, the naive baseline (marked by an
//! alias) — are left out: the primary set must execute none on the standby,
//! the standby set at least one per call. Without it, the fallback is the
//! standby's `pg_stat_database.xact_commit`, read after the statistics'
//! idle flush interval; it also counts the server's lag checks, so only the
//! standby set is judged (at least one transaction per call).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::PgPool;

use super::{
    Config,
    queries::{self, QueryResult},
    route::Route,
};
use crate::{client::Clients, domain::TenantId, store};

/// How the standby's executed statements are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// `pg_stat_statements` calls of the service's read statements.
    Statements,
    /// `pg_stat_database.xact_commit` of the benchmark database.
    Commits,
}

impl Counter {
    pub fn describe(self) -> &'static str {
        match self {
            Counter::Statements => {
                "statements executed on the standby (pg_stat_statements calls, the server's \
                 lag checks and the naive baseline left out)"
            }
            Counter::Commits => {
                "transactions committed on the standby (pg_stat_database.xact_commit, read after \
                 the statistics' flush interval; includes the server's lag checks)"
            }
        }
    }
}

/// The two sets and the proof of where they ran.
#[derive(Debug, Clone)]
pub struct StandbyResult {
    pub answers: u64,
    pub primary: Vec<QueryResult>,
    pub standby: Vec<QueryResult>,
    pub counter: Counter,
    /// The standby's count over each set.
    pub on_standby_during_primary: i64,
    pub on_standby_during_standby: i64,
    /// Service calls of each set (warm-ups included).
    pub calls_primary: usize,
    pub calls_standby: usize,
    /// Why the proof failed, if it did.
    pub failure: Option<String>,
}

/// PostgreSQL's statistics flush interval for idle backends (PGSTAT_IDLE_INTERVAL)
/// plus a margin: after it, every session's counts are in `pg_stat_database`.
const STATS_FLUSH: Duration = Duration::from_secs(11);

async fn detect(standby: &PgPool) -> Counter {
    match sqlx::query("SELECT 1 FROM pg_stat_statements LIMIT 1")
        .fetch_optional(standby)
        .await
    {
        Ok(_) => Counter::Statements,
        Err(_) => Counter::Commits,
    }
}

async fn count(standby: &PgPool, counter: Counter) -> anyhow::Result<i64> {
    Ok(match counter {
        Counter::Statements => sqlx::query_scalar(
            "SELECT coalesce(sum(s.calls), 0)::bigint
             FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
             WHERE d.datname = current_database()
               AND s.query ILIKE '%from%'
               AND s.query NOT ILIKE '%pg_stat_%'
               AND s.query NOT ILIKE '%pg_last_wal_replay_lsn%'
               AND s.query NOT ILIKE '%bench_naive_question%'",
        )
        .fetch_one(standby)
        .await
        .context("pg_stat_statements on the standby")?,
        Counter::Commits => {
            tokio::time::sleep(STATS_FLUSH).await;
            sqlx::query_scalar(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
            )
            .fetch_one(standby)
            .await
            .context("pg_stat_database on the standby")?
        }
    })
}

/// Waits until the standby has replayed everything the primary has written
/// so far.
async fn caught_up(primary: &PgPool, standby: &PgPool) -> anyhow::Result<()> {
    let target = store::wal_position(primary).await?;
    let started = Instant::now();
    loop {
        match store::replayed_position(standby).await? {
            Some(replayed) if replayed >= target => return Ok(()),
            Some(_) => {}
            None => bail!("the --database-read-url server is not a standby (not in recovery)"),
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!("the standby did not catch up with the primary within 5 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until a read left to the server runs on the standby (the server
/// marks its replica usable at its next lag check).
async fn reads_reach_standby(
    standby: &PgPool,
    counter: Counter,
    clients: &Clients,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let before = count(standby, counter).await?;
        super::route::scoring(clients, Route::Default)
            .get_effort_index(crate::proto::v1::GetEffortIndexRequest {
                filter: Some(queries::span_filter(&[])),
                ..Default::default()
            })
            .await?;
        if count(standby, counter).await? > before {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("no read left to the server ran on the standby within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Times the scoring set on the primary and on the standby at `answers`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn standby_phase(
    cfg: &Config,
    primary: &PgPool,
    standby: &PgPool,
    tenant: TenantId,
    clients: &Clients,
    answers: u64,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<StandbyResult> {
    let counter = detect(standby).await;
    log(&format!("standby: counting {counter:?}"));
    caught_up(primary, standby).await?;
    reads_reach_standby(standby, counter, clients).await?;

    let c0 = count(standby, counter).await?;
    let on_primary =
        queries::scoring_phase(cfg, primary, tenant, clients, Route::Primary, answers, log).await?;
    let c1 = count(standby, counter).await?;
    let on_standby =
        queries::scoring_phase(cfg, standby, tenant, clients, Route::Default, answers, log).await?;
    let c2 = count(standby, counter).await?;

    let (during_primary, during_standby) = (c1 - c0, c2 - c1);
    let (calls_primary, calls_standby) = (
        queries::service_calls(&on_primary),
        queries::service_calls(&on_standby),
    );
    let naive_standby: i64 = on_standby
        .iter()
        .filter(|r| r.query == queries::NAIVE && r.error.is_none())
        .map(|r| r.calls as i64 + 2)
        .sum();
    let mut failure = None;
    let served = match counter {
        Counter::Statements => during_standby,
        // Each naive baseline call is one transaction of its own there.
        Counter::Commits => during_standby - naive_standby,
    };
    if served < calls_standby as i64 {
        failure = Some(format!(
            "the standby set made {calls_standby} service calls but the standby counted only \
             {served}: the reads did not run there"
        ));
    }
    if counter == Counter::Statements && during_primary != 0 {
        failure = Some(format!(
            "{during_primary} service statements ran on the standby during the set asked to run \
             on the primary"
        ));
    }
    if let Some(f) = &failure {
        log(&format!("standby: FAILED: {f}"));
    }
    log(&format!(
        "standby: {during_primary} counted during the primary set ({calls_primary} calls), \
         {during_standby} during the standby set ({calls_standby} calls)"
    ));
    Ok(StandbyResult {
        answers,
        primary: on_primary,
        standby: on_standby,
        counter,
        on_standby_during_primary: during_primary,
        on_standby_during_standby: during_standby,
        calls_primary,
        calls_standby,
        failure,
    })
}
