//! The benchmark harness behind `gapscore-bench` (and its CI smoke test).
//!
//! One run, on one machine, reports side by side:
//! 1. ingest through `StreamSurveyResponses`/`StreamJourneys` (several
//!    concurrent streams) and unary 1,000-record batches;
//! 2. the limit: the same rows through binary `COPY` into the same schema;
//! 3. scoring latency at growing data sizes (every scoring read, the
//!    expectation gap, competitive gap and priority map of SPEC §16
//!    included), against a naive SQL aggregate;
//! 4. unary latency under 32 concurrent callers;
//! 5. the server's peak RSS during ingest and under load.
//!
//! Data comes from [`data::Generator`] with a fixed seed: six EXPERIENCE
//! answers per response, and answers in the other frames in fixed
//! proportions (see `data`). Levels are named by their EXPERIENCE answers,
//! the rows the existing reads score; ingest and COPY count every answer
//! row, framed ones included. Each figure is the median of several
//! repetitions after a warm-up.
//!
//! [`run`] goes through the phases in order: `ingest` (1, 2), `levels` and
//! `queries` (3), `load` (4); [`Rss`] samples the server throughout (5) and
//! `markdown` writes the report. [`records`] sends either kind of record
//! every way, [`copy`] is the COPY loader and [`child`] runs the server as a
//! child process for the binaries.

pub mod child;
pub mod copy;
pub mod data;
mod exact;
pub mod floor;
mod ingest;
mod levels;
mod load;
mod markdown;
mod queries;
pub mod records;
pub mod route;
pub mod rss;
mod standby;

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use sqlx::PgPool;

pub use self::{
    exact::ExactCheck,
    ingest::IngestResult,
    levels::Level,
    load::{LoadResult, WorkerOutput, WorkerSpec, worker_main},
    queries::{QueryResult, naive_gap_counts},
    rss::{Rss, proc_memory_kib},
    standby::{Counter, StandbyResult},
};
use crate::{client, store::tenants};
use data::Generator;

/// Records per `Submit*` call and per stream message.
pub const BATCH: usize = 1000;

/// What to run and how big.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    /// EXPERIENCE answers loaded in the scoring tenant at each scoring
    /// level, ascending (framed answers come with them).
    pub levels: Vec<u64>,
    /// Survey responses per ingest method and repetition (journeys: half).
    pub ingest_responses: u64,
    /// Repetitions of each ingest measurement (median reported).
    pub ingest_reps: usize,
    /// Concurrent `Stream*` calls.
    pub streams: usize,
    /// Concurrent unary `Submit*` callers.
    pub unary_callers: usize,
    /// Concurrent COPY sessions for bulk loading the levels (the ingest
    /// phase's COPYs use `streams` sessions, as many as ingest's workers).
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
    /// The binary whose hidden `load-worker` subcommand runs the
    /// GetCustomerRisk load in a separate process (the bench itself); the
    /// load runs in this process when unset.
    pub load_worker: Option<std::path::PathBuf>,
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
            load_worker: None,
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
            load_worker: None,
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

/// A bound on any one call, only so that a wedged call cannot hang the run
/// forever: a stream of the 10M-answer load runs for many minutes.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(3 * 3600);

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

/// Everything one run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub ingest: Vec<IngestResult>,
    pub scoring: Vec<QueryResult>,
    /// The data loaded for each scoring level.
    pub loads: Vec<Level>,
    pub load: Vec<LoadResult>,
    /// The perception-gap counts from the service equal the naive SQL's at
    /// every level: every check of `exact` matched.
    pub gap_matches_naive: bool,
    /// The exactness checks, each level before and after the rollup's fold.
    pub exact: Vec<ExactCheck>,
    /// The top level's reads on the primary and on the standby, when the
    /// server has one.
    pub standby: Option<StandbyResult>,
    pub peak_rss_mib: f64,
}

/// Creates a tenant and returns its id and key.
async fn tenant(pool: &PgPool, name: &str) -> anyhow::Result<(crate::domain::TenantId, String)> {
    let (t, key) = tenants::create_tenant(pool, name)
        .await
        .with_context(|| format!("cannot create tenant {name} (use a fresh database)"))?;
    Ok((crate::domain::TenantId(t.tenant_id), key.secret))
}

/// Runs the whole benchmark against `server`, whose database is `pool`
/// (migrated and otherwise empty); `standby` is the same database on the
/// server's read replica, if it has one. `log` receives progress lines.
pub async fn run(
    cfg: &Config,
    pool: &PgPool,
    standby: Option<&PgPool>,
    server: Server,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Report> {
    let rss = Rss::start(server.pid);
    let mut report = Report::default();
    let g = cfg.generator();

    // 1 + 2: ingest and the COPY limit, into their own tenant.
    let (ingest_tenant, ingest_key) = tenant(pool, "bench-ingest").await?;
    let ingest = client::connect(server.addr, &ingest_key, CALL_TIMEOUT).await?;
    let catalog = copy::catalog(pool, ingest_tenant).await?;
    report.ingest =
        ingest::ingest_phase(cfg, &g, pool, ingest_tenant, &ingest, &catalog, &rss, log).await?;

    // 3: scoring at each level.
    let (score_tenant, score_key) = tenant(pool, "bench-score").await?;
    let scoring = client::connect(server.addr, &score_key, CALL_TIMEOUT).await?;
    let mut loader = levels::Loader {
        cfg,
        g: &g,
        pool,
        tenant: score_tenant,
        catalog: &catalog,
        clients: &scoring,
        rss: &rss,
        responses: 0,
        journeys: 0,
    };
    for &answers in &cfg.levels {
        let mut level = loader.load(answers).await?;
        report
            .exact
            .extend(exact::check(pool, score_tenant, &scoring, answers, "before fold", log).await?);
        level.load_secs += loader.settle().await?;
        report
            .exact
            .extend(exact::check(pool, score_tenant, &scoring, answers, "after fold", log).await?);
        let how = if cfg.load_by_copy { "COPY" } else { "Stream*" };
        log(&format!(
            "level {answers} answers: {} responses ({} framed answers), {} journeys loaded by {how} in {:.1} s",
            level.responses, level.framed_answers, level.journeys, level.load_secs
        ));
        report.loads.push(level);
        // Asked for the primary: with a standby configured, this table is
        // the primary's; without one, the server has only the primary.
        let results = queries::scoring_phase(
            cfg,
            pool,
            score_tenant,
            &scoring,
            route::Route::Primary,
            answers,
            log,
        )
        .await?;
        report.scoring.extend(results);
    }

    // The top level's reads again, primary against standby.
    if let (Some(standby), Some(&top)) = (standby, cfg.levels.last()) {
        report.standby = Some(
            standby::standby_phase(cfg, pool, standby, score_tenant, &scoring, top, log).await?,
        );
    }

    // 4 + 5: unary latency under load at the top level.
    report.load = load::load_phase(
        cfg,
        &g,
        server,
        &score_key,
        &scoring,
        &ingest,
        loader.journeys,
        &rss,
        log,
    )
    .await?;
    report.peak_rss_mib = rss.hwm_mib();
    report.gap_matches_naive = !report.exact.is_empty() && report.exact.iter().all(|c| c.matches);
    Ok(report)
}

impl Report {
    /// What makes the run a failure: an exactness mismatch, a standby set
    /// that did not run on the standby.
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .exact
            .iter()
            .filter(|c| !c.matches)
            .map(|c| {
                format!(
                    "perception-gap counts differ from the naive SQL at {} answers, {}, {}: {}",
                    c.answers, c.state, c.case, c.detail
                )
            })
            .collect();
        if self.exact.is_empty() {
            out.push("no exactness check ran".to_owned());
        }
        if let Some(f) = self.standby.as_ref().and_then(|s| s.failure.clone()) {
            out.push(f);
        }
        out
    }
}
