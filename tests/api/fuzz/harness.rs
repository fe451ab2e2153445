//! The runner: proptest driven from the async tests, the tally of codes,
//! the codes bad input may get, the shared context and its seed data.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex, atomic::AtomicU64},
    time::Instant,
};

use gapscore::proto::v1::*;
use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};
use sqlx::PgPool;
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt;

use crate::helpers::{
    Snapshot, TestApp, app::health, card_update_journey, error_reason, rating, response, snapshot,
    spawn_app_with, ts,
};

/// The server's message limit (SPEC §8: 4 MiB).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Cases per RPC: `GAPSCORE_FUZZ_CASES`, 32 by default (what CI runs).
pub fn cases() -> u32 {
    std::env::var("GAPSCORE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

/// Cases run and codes seen, per RPC.
#[derive(Default)]
pub struct Tally(Mutex<BTreeMap<&'static str, BTreeMap<String, u64>>>);

impl Tally {
    fn record(&self, rpc: &'static str, code: Code) {
        *self
            .0
            .lock()
            .unwrap()
            .entry(rpc)
            .or_default()
            .entry(format!("{code:?}"))
            .or_default() += 1;
    }

    pub fn print(&self, what: &str, started: Instant) {
        let tally = self.0.lock().unwrap();
        let total: u64 = tally.values().flat_map(|c| c.values()).sum();
        eprintln!(
            "fuzz ({what}): {} RPCs, {total} cases ({} per RPC, GAPSCORE_FUZZ_CASES), {:.1} s",
            tally.len(),
            cases(),
            started.elapsed().as_secs_f64()
        );
        for (rpc, codes) in tally.iter() {
            let n: u64 = codes.values().sum();
            let codes: Vec<String> = codes.iter().map(|(c, k)| format!("{c} {k}")).collect();
            eprintln!("  {rpc:<48} {n:>6}  {}", codes.join(", "));
        }
    }
}

/// Runs `check` on `cases()` values of the strategy with proptest (which
/// shrinks a failure to a minimal request). proptest is synchronous: the
/// runner lives on a blocking thread and drives each async check with the
/// test runtime's handle.
pub async fn fuzz<S, F, Fut>(
    tally: &Arc<Tally>,
    rpc: &'static str,
    strategy: impl FnOnce() -> S + Send + 'static,
    check: F,
) where
    S: Strategy,
    F: Fn(S::Value) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Code, TestCaseError>>,
{
    let handle = tokio::runtime::Handle::current();
    let tally = tally.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut runner = TestRunner::new(Config {
            cases: cases(),
            failure_persistence: None,
            max_shrink_iters: 200,
            ..Config::default()
        });
        runner
            .run(&strategy(), |value| {
                let code = handle.block_on(check(value))?;
                tally.record(rpc, code);
                Ok(())
            })
            .map_err(|e| {
                let mut e = e.to_string();
                e.truncate(20_000);
                e
            })
    })
    .await
    .expect("the runner thread");
    if let Err(e) = result {
        panic!("{rpc}: {e}");
    }
}

/// `fuzz` with a per-case check `|ctx, value| future` over the shared context.
macro_rules! fuzz_rpc {
    ($ctx:expr, $tally:expr, $rpc:literal, $strategy:expr, |$c:ident, $v:pat_param| $body:expr) => {{
        let shared = $ctx.clone();
        $crate::fuzz::harness::fuzz(
            $tally,
            $rpc,
            || $strategy,
            move |value| {
                let shared = shared.clone();
                async move {
                    let $c: &$crate::fuzz::harness::Ctx = &shared;
                    let $v = value;
                    $body
                }
            },
        )
        .await
    }};
}
pub(crate) use fuzz_rpc;

/// The codes bad input may get. `len` is the request's encoded size.
pub fn acceptable(status: &Status, len: usize) -> Result<Code, TestCaseError> {
    match status.code() {
        Code::InvalidArgument => {
            let fields = status
                .get_details_bad_request()
                .map(|b| b.field_violations.len())
                .unwrap_or(0);
            prop_assert!(
                fields > 0 || error_reason(status) == "MALFORMED_MESSAGE",
                "INVALID_ARGUMENT without a field or MALFORMED_MESSAGE: {status:?}"
            );
        }
        Code::NotFound | Code::FailedPrecondition | Code::Aborted => {}
        // tonic's answer to a message over the limit.
        Code::OutOfRange if len > MAX_MESSAGE_BYTES => {}
        _ => prop_assert!(false, "undocumented answer to bad input: {status:?}"),
    }
    Ok(status.code())
}

pub fn rows(s: &Snapshot, table: &str) -> i64 {
    s[table].0
}

/// Asserts every table is identical in both snapshots except `written`
/// (which the call may change).
pub fn unchanged_except(
    before: &Snapshot,
    after: &Snapshot,
    written: &[&str],
) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (table, digest) in before {
        if !written.contains(&table.as_str()) {
            prop_assert_eq!(digest, &after[table], "table {} changed", table);
        }
    }
    Ok(())
}

/// Asserts every table is identical in both snapshots.
pub fn unchanged(before: &Snapshot, after: &Snapshot) -> Result<(), TestCaseError> {
    unchanged_except(before, after, &[])
}

/// The tables a survey ingest writes (the rollups follow the answers, a
/// new label set is interned, the whole-history assessments and their
/// tier counts follow the respondents' ease answers, and the respondents'
/// kept journey efforts are rewritten with them).
pub const SURVEY_TABLES: [&str; 11] = [
    "survey_responses",
    "answers",
    "gap_daily",
    "case_daily",
    "gap_label_rollup",
    "gap_label_month",
    "label_sets",
    "assessments",
    "tier_count_log",
    "journey_efforts",
    "journey_effort_daily",
];
/// The tables a journey ingest writes (the channel rollup follows the
/// touchpoints, the whole-history assessments, their tier counts and the
/// kept journey efforts and their rollup the journeys).
pub const JOURNEY_TABLES: [&str; 7] = [
    "journeys",
    "touchpoints",
    "effort_daily",
    "assessments",
    "tier_count_log",
    "journey_efforts",
    "journey_effort_daily",
];

/// The running server and what the checks need.
pub struct Ctx {
    pub app: TestApp,
    /// Key of a second tenant with its own data and catalog.
    pub other_key: String,
    /// Fresh id prefixes for stream cases.
    pub counter: AtomicU64,
}

impl Ctx {
    pub fn pool(&self) -> &PgPool {
        &self.app.pool
    }
    pub async fn snapshot(&self) -> Snapshot {
        snapshot(self.pool(), "").await
    }
}

/// Runs a call that must not write anything; returns its code, and checks
/// a successful answer with `check`.
pub async fn read_checked<T>(
    ctx: &Ctx,
    len: usize,
    call: impl Future<Output = Result<tonic::Response<T>, Status>>,
    check: impl FnOnce(&T) -> Result<(), TestCaseError>,
) -> Result<Code, TestCaseError> {
    let before = ctx.snapshot().await;
    let result = call.await;
    unchanged(&before, &ctx.snapshot().await)?;
    match result {
        Ok(answer) => {
            check(answer.get_ref())?;
            Ok(Code::Ok)
        }
        Err(status) => acceptable(&status, len),
    }
}

/// Runs a call that must not write anything; returns its code.
pub async fn read_only<T>(
    ctx: &Ctx,
    len: usize,
    call: impl Future<Output = Result<tonic::Response<T>, Status>>,
) -> Result<Code, TestCaseError> {
    read_checked(ctx, len, call, |_| Ok(())).await
}

/// The window start no generated request uses: requests with it are "another query".
pub fn other_query_filter() -> Option<ScoreFilter> {
    Some(ScoreFilter {
        start_time: Some(ts("2019-06-01T00:00:00Z")),
        ..Default::default()
    })
}

/// Records of "seed-" ids (which no strategy generates) for customers
/// seed-c1 and seed-c2, so every list query has pages to walk and tokens to
/// steal, for `key`.
async fn seed(app: &TestApp, key: &str) {
    let d = app.data_as(key);
    let roles = [
        RespondentRole::Leadership,
        RespondentRole::Staff,
        RespondentRole::Customer,
    ];
    let responses = (1..=4)
        .map(|i| SurveyResponse {
            respondent_id: format!("seed-c{}", 1 + i % 2),
            ..response(
                &format!("seed-r{i}"),
                roles[i % 3],
                &format!("2025-03-{i:02}T10:00:00Z"),
                vec![rating("ease", 1 + i as i32)],
            )
        })
        .collect();
    d.responses(responses).await;
    let journeys = (1..=4)
        .map(|i| card_update_journey(&format!("seed-j{i}"), &format!("seed-c{}", 1 + i % 2)))
        .collect();
    d.journeys(journeys).await;
    let kinds = [
        OutcomeKind::Repurchase,
        OutcomeKind::SpendIncrease,
        OutcomeKind::NegativeWordOfMouth,
        OutcomeKind::Disloyalty,
    ];
    for i in 1..=4 {
        let at = format!("2025-03-{i:02}T10:00:00Z");
        let (id, customer) = (format!("seed-o{i}"), format!("seed-c{}", 1 + i % 2));
        d.outcome(&id, &customer, kinds[i % 4], i % 2 == 0, &at)
            .await;
    }
}

/// The server (its rollup compactor quiet, so only requests change the
/// tables), acme and globex with the seed data; globex also has a custom
/// question and scoring model, so a catalog read of the wrong tenant shows.
pub async fn start(pool: PgPool) -> Arc<Ctx> {
    // Background writers stay quiet (the rollup compactor, the outbox
    // upkeep), so a table that changed was changed by the call.
    let app = spawn_app_with(pool, |args| {
        args.rollup_compact_interval_ms = 3_600_000;
        args.event_upkeep_interval_ms = 3_600_000;
    })
    .await;
    let other_key = app.add_tenant("globex").await;
    seed(&app, &app.key).await;
    seed(&app, &other_key).await;
    app.catalog_as(Some(&other_key))
        .upsert_question(UpsertQuestionRequest {
            question: Some(Question {
                key: "globex_only".into(),
                kind: QuestionKind::Rating as i32,
                text: "Globex's own question".into(),
                scale_min: 1,
                scale_max: 5,
                favorable_min: 4,
                unfavorable_max: Some(2),
                built_in: false,
            }),
        })
        .await
        .expect("globex's question");
    let mut model = app
        .catalog_as(Some(&other_key))
        .get_scoring_model(GetScoringModelRequest {})
        .await
        .expect("globex's model")
        .into_inner()
        .model
        .unwrap();
    model.min_group_size = 7;
    app.catalog_as(Some(&other_key))
        .update_scoring_model(UpdateScoringModelRequest { model: Some(model) })
        .await
        .expect("globex's model updated");
    Arc::new(Ctx {
        app,
        other_key,
        counter: AtomicU64::new(0),
    })
}

/// The server is still up and serving: health SERVING and a valid call works.
pub async fn assert_healthy(ctx: &Ctx) {
    assert!(!ctx.app.server.is_finished(), "the server task ended");
    let status = health(&ctx.app.channel, "").await;
    assert_eq!(status, Some(ServingStatus::Serving));
    let listed = ctx
        .app
        .survey()
        .list_survey_responses(ListSurveyResponsesRequest {
            filter: other_query_filter(),
            ..Default::default()
        })
        .await
        .expect("a valid call succeeds")
        .into_inner();
    assert!(listed.responses.len() >= 4, "{listed:?}");
}
