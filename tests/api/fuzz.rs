//! Property-based fuzzing of every RPC through the real server (issue "bad
//! input"): well-typed requests drawn from adversarial pools mixed with
//! valid values, and arbitrary bytes sent to every method path.
//!
//! Per case: the answer is never INTERNAL/UNKNOWN/DATA_LOSS (nor any code
//! the API does not document for bad input), every INVALID_ARGUMENT names
//! its fields, a rejected write leaves every table byte-for-byte unchanged,
//! an accepted batch stores exactly its records, and a stream stops at its
//! bad message with the earlier ones committed and nothing of the bad one.
//!
//! Cases per RPC: `GAPSCORE_FUZZ_CASES` (default 32). The codes observed
//! per RPC are printed (`cargo test --test api fuzz -- --nocapture`).

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Debug,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use gapscore::{proto::v1::*, service::page, store::loyalty::AtRiskKey};
use proptest::{
    collection::{btree_map, vec},
    option,
    prelude::*,
    sample::{Index, select, subsequence},
    test_runner::{Config, TestCaseError, TestRunner},
};
use prost::Message;
use prost::bytes::{Buf, BufMut};
use prost_types::Timestamp;
use sqlx::PgPool;
use tonic::{
    Code, Request, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    service::interceptor::InterceptedService,
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_types::StatusExt;

use crate::helpers::{TestApp, error_reason, snapshot, spawn_app, ts};

// ---------------------------------------------------------------- harness

/// The server's message limit (SPEC §8: 4 MiB).
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

fn cases() -> u32 {
    std::env::var("GAPSCORE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

/// Cases run and codes seen, per RPC.
#[derive(Default)]
struct Tally(Mutex<BTreeMap<&'static str, BTreeMap<String, u64>>>);

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

    fn print(&self, what: &str, started: Instant) {
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
async fn fuzz<S, F, Fut>(
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

/// The codes bad input may get. `len` is the request's encoded size.
fn acceptable(status: &Status, len: usize) -> Result<Code, TestCaseError> {
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

type Snapshot = BTreeMap<&'static str, (i64, String)>;

fn rows(s: &Snapshot, table: &str) -> i64 {
    s[table].0
}

/// Asserts `tables` are identical in both snapshots.
fn unchanged(before: &Snapshot, after: &Snapshot, tables: &[&str]) -> Result<(), TestCaseError> {
    for t in tables {
        prop_assert_eq!(&before[t], &after[t], "table {} changed", t);
    }
    Ok(())
}

const ALL_TABLES: [&str; 7] = [
    "answers",
    "journeys",
    "outcomes",
    "questions",
    "scoring_models",
    "survey_responses",
    "touchpoints",
];

/// The running server and what the checks need.
struct Ctx {
    app: TestApp,
    /// Key of a second tenant with its own data.
    other_key: String,
    /// Fresh id prefixes for stream cases.
    counter: AtomicU64,
}

impl Ctx {
    fn pool(&self) -> &PgPool {
        &self.app.pool
    }
    async fn snapshot(&self) -> Snapshot {
        snapshot(self.pool(), "").await
    }
}

/// Runs a call that must not write anything; returns its code.
async fn read_only<T>(
    ctx: &Ctx,
    len: usize,
    call: impl Future<Output = Result<T, Status>>,
) -> Result<Code, TestCaseError> {
    let before = ctx.snapshot().await;
    let result = call.await;
    unchanged(&before, &ctx.snapshot().await, &ALL_TABLES)?;
    match result {
        Ok(_) => Ok(Code::Ok),
        Err(status) => acceptable(&status, len),
    }
}

// ---------------------------------------------------------------- pools

const SQL: &str = "'; DROP TABLE answers; --";
const RATING: [(&str, i32, i32); 9] = [
    ("overall_experience", 1, 5),
    ("customer_centricity", 1, 5),
    ("speed", 1, 5),
    ("convenience", 1, 5),
    ("knowledgeable_help", 1, 5),
    ("friendly_support", 1, 5),
    ("ease", 1, 7),
    ("likelihood_to_recommend", 0, 10),
    ("csat", 1, 5),
];
const THEMES: [&str; 4] = [
    "do_well",
    "improve",
    "competitors_do_differently",
    "continue_or_start",
];
/// 10,000 years in seconds.
const TEN_THOUSAND_YEARS: i64 = 315_569_520_000;

/// Nine valid values for one adversarial one.
fn mix<T: Debug + Clone + 'static>(
    valid: impl Strategy<Value = T> + 'static,
    bad: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![9 => valid, 1 => bad].boxed()
}

/// Strings a server must survive.
fn nasty() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        Just("\0".to_owned()),
        Just("nul\0inside".to_owned()),
        Just("x".repeat(10_000)),
        Just("é".repeat(10_000)),
        Just(SQL.to_owned()),
        Just("' OR '1'='1".to_owned()),
        Just("\"; DELETE FROM survey_responses WHERE ''='".to_owned()),
        Just("%_\\%".to_owned()),
        Just("😀 Ünïcödé \u{202e}txet".to_owned()),
        Just("  Padded  ".to_owned()),
        Just("y".repeat(129)),
        "\\PC{0,24}",
        any::<String>(),
    ]
    .boxed()
}

/// Valid, collision-prone record ids (so re-sends update or are unchanged).
fn valid_id() -> BoxedStrategy<String> {
    "[a-z]{1,2}[0-9]{1,2}".boxed()
}

fn id() -> BoxedStrategy<String> {
    mix(
        valid_id(),
        prop_oneof![nasty(), Just("z".repeat(128)), Just("a b".to_owned())],
    )
}

fn customer_id() -> BoxedStrategy<String> {
    mix("c[0-9]", prop_oneof![nasty(), Just("c/1".to_owned())])
}

fn optional_id() -> BoxedStrategy<String> {
    mix(prop_oneof![Just(String::new()), "[a-z][0-9]"], nasty())
}

fn valid_key() -> BoxedStrategy<String> {
    "[a-z][a-z0-9_]{0,8}".boxed()
}

fn key() -> BoxedStrategy<String> {
    mix(
        valid_key(),
        prop_oneof![
            nasty(),
            Just("a".repeat(64)),
            Just("Update-Card".to_owned())
        ],
    )
}

/// Known and unknown question keys.
fn question_key() -> BoxedStrategy<String> {
    let known: Vec<String> = RATING
        .iter()
        .map(|q| q.0)
        .chain(THEMES)
        .map(str::to_owned)
        .collect();
    mix(
        select(known),
        prop_oneof![
            Just("no_such_question".to_owned()),
            Just("overall_experiance".to_owned()),
            Just("a".repeat(64)),
            nasty(),
        ],
    )
}

fn bad_int() -> BoxedStrategy<i32> {
    prop_oneof![
        Just(-1),
        Just(i32::MIN),
        Just(i32::MAX),
        Just(86_401),
        any::<i32>()
    ]
    .boxed()
}

fn int(valid: std::ops::RangeInclusive<i32>) -> BoxedStrategy<i32> {
    mix(valid, bad_int())
}

/// An enum field whose values are 1..=max (0 is UNSPECIFIED).
fn enum_value(max: i32) -> BoxedStrategy<i32> {
    mix(
        1..=max,
        prop_oneof![Just(0), Just(-1), Just(max + 1), bad_int()],
    )
}

fn bad_double() -> BoxedStrategy<f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-1.0),
        Just(-0.0),
        Just(1e308),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        any::<f64>(),
    ]
    .boxed()
}

fn confidence() -> BoxedStrategy<Option<f64>> {
    mix(
        option::of(prop_oneof![Just(0.5), Just(0.999), 0.5..0.999]),
        option::of(prop_oneof![Just(0.4999), Just(1.0), bad_double()]),
    )
}

fn stamp(seconds: i64, nanos: i32) -> Timestamp {
    Timestamp { seconds, nanos }
}

/// 2020-01-01 .. 2026-01-01.
fn valid_ts() -> BoxedStrategy<Timestamp> {
    (1_577_836_800i64..1_767_225_600, 0..1_000_000_000i32)
        .prop_map(|(s, n)| stamp(s, n))
        .boxed()
}

fn bad_ts() -> BoxedStrategy<Option<Timestamp>> {
    let now = chrono::Utc::now().timestamp();
    prop_oneof![
        Just(None),
        select(vec![
            TEN_THOUSAND_YEARS,
            -TEN_THOUSAND_YEARS,
            i64::MAX,
            i64::MIN,
            -62_135_596_800,
            -62_135_596_801,
            253_402_300_799,
            253_402_300_800,
            0,
            now + 240,
            now + 600,
            now + 86_400,
        ])
        .prop_map(|s| Some(stamp(s, 0))),
        select(vec![-1, 1_000_000_000, i32::MIN, i32::MAX]).prop_map(|n| Some(stamp(0, n))),
        (any::<i64>(), any::<i32>()).prop_map(|(s, n)| Some(stamp(s, n))),
    ]
    .boxed()
}

fn timestamp() -> BoxedStrategy<Option<Timestamp>> {
    mix(valid_ts().prop_map(Some), bad_ts())
}

/// Valid label values, quotes and SQL included: they must be stored literally.
fn valid_label_value() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[A-Za-z0-9 ]{1,10}",
        1 => Just(SQL.to_owned()),
        1 => Just("O'Brien \"quoted\" \\ %".to_owned()),
        1 => Just("😀 ü".to_owned()),
    ]
    .boxed()
}

fn valid_labels() -> BoxedStrategy<BTreeMap<String, String>> {
    btree_map("[a-z][a-z0-9_]{0,5}", valid_label_value(), 0..3).boxed()
}

fn labels() -> BoxedStrategy<BTreeMap<String, String>> {
    mix(
        valid_labels(),
        prop_oneof![
            btree_map(mix(valid_key(), nasty()), mix("[a-z]{1,5}", nasty()), 1..3),
            Just((0..17).map(|i| (format!("k{i}"), "v".to_owned())).collect()),
        ],
    )
}

fn filter() -> BoxedStrategy<Option<ScoreFilter>> {
    let valid = (
        option::of(valid_ts()),
        option::of(valid_ts()),
        valid_labels(),
        prop_oneof![Just(String::new()), "w[0-9]"],
        prop_oneof![Just(String::new()), "[a-z]{1,6}"],
    )
        .prop_map(|(mut start, mut end, labels, survey_id, intent)| {
            if let (Some(s), Some(e)) = (&mut start, &mut end)
                && (s.seconds, s.nanos) > (e.seconds, e.nanos)
            {
                std::mem::swap(s, e);
            }
            ScoreFilter {
                start_time: start,
                end_time: end,
                labels,
                survey_id,
                intent,
            }
        });
    let bad = (timestamp(), timestamp(), labels(), optional_id(), key()).prop_map(
        |(start_time, end_time, labels, survey_id, intent)| ScoreFilter {
            start_time,
            end_time,
            labels,
            survey_id,
            intent,
        },
    );
    mix(
        prop_oneof![1 => Just(None), 3 => valid.prop_map(Some)],
        bad.prop_map(Some),
    )
}

fn page_size() -> BoxedStrategy<i32> {
    mix(
        prop_oneof![0..=5, Just(1000)],
        prop_oneof![Just(1001), bad_int()],
    )
}

/// How a list request's page token is chosen.
#[derive(Debug, Clone)]
enum Token {
    /// The first page.
    Empty,
    /// Not a token.
    Junk(String),
    /// A genuine token of a different query of the same tenant.
    OtherQuery,
    /// A genuine token of another tenant.
    OtherTenant,
    /// A token forged with the right fingerprint and an arbitrary position
    /// (micros, id; or an at-risk key).
    Forged(i64, f64, String),
    /// The next_page_token of the same request's first page.
    Next,
}

fn token() -> BoxedStrategy<Token> {
    let micros = prop_oneof![
        3 => 1_577_836_800_000_000i64..1_767_225_600_000_000,
        1 => select(vec![
            i64::MAX,
            i64::MIN,
            0,
            -62_135_596_800_000_001,
            // Year -100,000 and 250,000: chrono's range, not PostgreSQL's.
            -3_217_000_000_000_000_000,
            7_830_000_000_000_000_000,
        ]),
        1 => any::<i64>(),
    ];
    prop_oneof![
        4 => Just(Token::Empty),
        1 => nasty().prop_map(Token::Junk),
        1 => "[A-Za-z0-9_-]{1,60}".prop_map(Token::Junk),
        1 => Just(Token::OtherQuery),
        1 => Just(Token::OtherTenant),
        2 => (micros, prop_oneof![0.0..100.0, bad_double()], mix(valid_id(), nasty()))
            .prop_map(|(m, x, id)| Token::Forged(m, x, id)),
        2 => Just(Token::Next),
    ]
    .boxed()
}

// ---------------------------------------------------------------- records

fn valid_answers() -> BoxedStrategy<Vec<Answer>> {
    let questions: Vec<(&'static str, Option<(i32, i32)>)> = RATING
        .iter()
        .map(|&(q, lo, hi)| (q, Some((lo, hi))))
        .chain(THEMES.iter().map(|&q| (q, None)))
        .collect();
    (
        subsequence(questions, 1..=4),
        vec(any::<u16>(), 4),
        vec(prop_oneof!["[a-z][a-z ]{0,11}", Just(SQL.to_owned())], 1..3),
        prop_oneof![
            Just(String::new()),
            Just(SQL.to_owned()),
            Just("O'Brien said \"no\"".to_owned()),
            "\\PC{0,40}",
        ],
    )
        .prop_map(|(questions, r, themes, comment)| {
            questions
                .iter()
                .enumerate()
                .map(|(i, (q, scale))| Answer {
                    question: (*q).to_owned(),
                    score: scale.map(|(lo, hi)| lo + i32::from(r[i]) % (hi - lo + 1)),
                    themes: if scale.is_none() {
                        themes.clone()
                    } else {
                        vec![]
                    },
                    comment: comment.clone(),
                })
                .collect()
        })
        .boxed()
}

fn wild_answer() -> BoxedStrategy<Answer> {
    (
        question_key(),
        prop_oneof![Just(None), int(0..=10).prop_map(Some)],
        vec(mix("[a-z]{1,8}", nasty()), 0..3),
        mix(
            Just(String::new()),
            prop_oneof![nasty(), Just("c".repeat(4000)), Just("c".repeat(4001))],
        ),
    )
        .prop_map(|(question, score, themes, comment)| Answer {
            question,
            score,
            themes,
            comment,
        })
        .boxed()
}

fn answers() -> BoxedStrategy<Vec<Answer>> {
    mix(
        valid_answers(),
        prop_oneof![
            vec(wild_answer(), 0..4),
            // The same question twice.
            valid_answers().prop_map(|mut a| {
                a.push(a[0].clone());
                a
            }),
            // 101 answers.
            valid_answers().prop_map(|a| a.iter().cycle().take(101).cloned().collect()),
        ],
    )
}

fn valid_survey_response() -> BoxedStrategy<SurveyResponse> {
    (
        valid_id(),
        1..=3i32,
        prop_oneof![Just(String::new()), "c[0-9]"],
        prop_oneof![Just(String::new()), "w[0-9]"],
        valid_ts(),
        valid_labels(),
        valid_answers(),
    )
        .prop_map(
            |(id, role, respondent_id, survey_id, at, labels, answers)| SurveyResponse {
                id,
                role,
                respondent_id,
                survey_id,
                submitted_at: Some(at),
                labels,
                answers,
            },
        )
        .boxed()
}

fn survey_response() -> BoxedStrategy<SurveyResponse> {
    (
        id(),
        enum_value(3),
        optional_id(),
        optional_id(),
        timestamp(),
        labels(),
        answers(),
    )
        .prop_map(
            |(id, role, respondent_id, survey_id, submitted_at, labels, answers)| SurveyResponse {
                id,
                role,
                respondent_id,
                survey_id,
                submitted_at,
                labels,
                answers,
            },
        )
        .boxed()
}

fn valid_touchpoint(customer: bool) -> BoxedStrategy<Touchpoint> {
    (
        1..=9i32,
        valid_ts(),
        0..=86_400i32,
        0..=86_400i32,
        0..=3i32,
        0..=50i32,
        any::<bool>(),
    )
        .prop_map(
            move |(channel, at, duration, wait, outcome, transfers, repeated)| Touchpoint {
                channel,
                initiator: if customer { 1 } else { 2 },
                occurred_at: Some(at),
                duration_seconds: duration,
                wait_seconds: wait,
                outcome: if customer { outcome.max(1) } else { outcome },
                transfers,
                repeated_information: repeated,
            },
        )
        .boxed()
}

fn valid_touchpoints() -> BoxedStrategy<Vec<Touchpoint>> {
    (
        valid_touchpoint(true),
        vec(
            prop_oneof![valid_touchpoint(true), valid_touchpoint(false)],
            0..3,
        ),
    )
        .prop_map(|(first, rest)| std::iter::once(first).chain(rest).collect())
        .boxed()
}

fn wild_touchpoint() -> BoxedStrategy<Touchpoint> {
    (
        enum_value(9),
        enum_value(2),
        timestamp(),
        int(0..=86_400),
        int(0..=86_400),
        mix(0..=3, bad_int()),
        int(0..=50),
        any::<bool>(),
    )
        .prop_map(
            |(channel, initiator, occurred_at, duration, wait, outcome, transfers, repeated)| {
                Touchpoint {
                    channel,
                    initiator,
                    occurred_at,
                    duration_seconds: duration,
                    wait_seconds: wait,
                    outcome,
                    transfers,
                    repeated_information: repeated,
                }
            },
        )
        .boxed()
}

fn touchpoints() -> BoxedStrategy<Vec<Touchpoint>> {
    mix(
        valid_touchpoints(),
        prop_oneof![
            vec(wild_touchpoint(), 0..4),
            valid_touchpoint(true).prop_map(|t| vec![t; 201]),
            // Company touchpoints only.
            vec(valid_touchpoint(false), 1..3),
        ],
    )
}

fn valid_journey() -> BoxedStrategy<Journey> {
    (
        valid_id(),
        "c[0-9]",
        "[a-z][a-z_]{0,10}",
        valid_labels(),
        valid_touchpoints(),
    )
        .prop_map(|(id, customer_id, intent, labels, touchpoints)| Journey {
            id,
            customer_id,
            intent,
            labels,
            touchpoints,
            effort_index: 0.0,
            effort_tier: 0,
        })
        .boxed()
}

fn journey() -> BoxedStrategy<Journey> {
    (
        id(),
        customer_id(),
        key(),
        labels(),
        touchpoints(),
        // Output-only fields the server must ignore.
        mix(Just(0.0), bad_double()),
        mix(Just(0), bad_int()),
    )
        .prop_map(
            |(id, customer_id, intent, labels, touchpoints, effort_index, effort_tier)| Journey {
                id,
                customer_id,
                intent,
                labels,
                touchpoints,
                effort_index,
                effort_tier,
            },
        )
        .boxed()
}

fn outcome() -> BoxedStrategy<Outcome> {
    (
        id(),
        customer_id(),
        enum_value(4),
        any::<bool>(),
        timestamp(),
    )
        .prop_map(|(id, customer_id, kind, occurred, observed_at)| Outcome {
            id,
            customer_id,
            kind,
            occurred,
            observed_at,
        })
        .boxed()
}

/// Mostly 1-3 records; sometimes none, a duplicated id, 1,000 or 1,001.
fn batch<T: Debug + Clone + 'static>(
    record: BoxedStrategy<T>,
    get_id: fn(&T) -> String,
    set_id: fn(&mut T, String),
) -> BoxedStrategy<Vec<T>> {
    let copies = move |r: T, n: usize| -> Vec<T> {
        (0..n)
            .map(|i| {
                let mut c = r.clone();
                set_id(&mut c, format!("bulk{i}"));
                c
            })
            .collect()
    };
    prop_oneof![
        30 => vec(record.clone(), 1..4),
        1 => Just(Vec::new()),
        2 => vec(record.clone(), 2..4).prop_map(move |mut b| {
            let first = get_id(&b[0]);
            set_id(b.last_mut().unwrap(), first);
            b
        }),
        1 => record.clone().prop_map(move |r| copies(r, 1000)),
        1 => record.prop_map(move |r| copies(r, 1001)),
    ]
    .boxed()
}

fn survey_batch() -> BoxedStrategy<Vec<SurveyResponse>> {
    batch(survey_response(), |r| r.id.clone(), |r, id| r.id = id)
}

fn journey_batch() -> BoxedStrategy<Vec<Journey>> {
    batch(journey(), |j| j.id.clone(), |j, id| j.id = id)
}

fn outcome_batch() -> BoxedStrategy<Vec<Outcome>> {
    batch(outcome(), |o| o.id.clone(), |o, id| o.id = id)
}

fn question() -> BoxedStrategy<Option<Question>> {
    let q = (
        mix(
            prop_oneof![3 => "q[a-z]{1,3}", 1 => select(vec!["speed".to_owned(), "improve".to_owned()])],
            nasty(),
        ),
        enum_value(2),
        mix(
            prop_oneof!["[A-Za-z ?]{0,30}", Just(SQL.to_owned())],
            prop_oneof![nasty(), Just("t".repeat(1001))],
        ),
        int(-3..=3),
        int(3..=12),
        int(0..=6),
        option::of(int(-3..=2)),
        any::<bool>(),
    )
        .prop_map(
            |(key, kind, text, scale_min, scale_max, favorable_min, unfavorable_max, built_in)| {
                Question {
                    key,
                    kind,
                    text,
                    scale_min,
                    scale_max,
                    favorable_min,
                    unfavorable_max,
                    built_in,
                }
            },
        );
    mix(q.prop_map(Some), Just(None))
}

fn weights() -> BoxedStrategy<Option<EffortWeights>> {
    let w = || mix(0.0..50.0, bad_double());
    let all = ((w(), w(), w(), w(), w()), (w(), w(), w(), w())).prop_map(
        |((a, b, c, d, e), (f, g, h, i))| EffortWeights {
            extra_contact: a,
            channel_switch: b,
            failed_self_service: c,
            transfer: d,
            repeated_information: e,
            minute: f,
            free_minutes: g,
            time_cap: h,
            unresolved: i,
        },
    );
    mix(all.prop_map(Some), Just(None))
}

fn priors() -> BoxedStrategy<Vec<OutcomePrior>> {
    let mean = || mix(0.0..=1.0, bad_double());
    let valid = (vec(mean(), 4), vec(mean(), 4)).prop_map(|(low, high)| {
        (1..=4)
            .map(|k| OutcomePrior {
                kind: k,
                low_mean: low[k as usize - 1],
                high_mean: high[k as usize - 1],
            })
            .collect()
    });
    let wild = vec(
        (enum_value(4), mean(), mean()).prop_map(|(kind, low_mean, high_mean)| OutcomePrior {
            kind,
            low_mean,
            high_mean,
        }),
        0..6,
    );
    mix(valid, wild)
}

/// How UpdateScoringModel's etag is chosen.
#[derive(Debug, Clone)]
enum Etag {
    Current,
    Given(String),
}

fn model() -> BoxedStrategy<(Option<ScoringModel>, Etag)> {
    let m = (
        int(1..=20),
        mix(0.5..=0.999, bad_double()),
        weights(),
        mix(1.0..40.0, bad_double()),
        mix(50.0..=100.0, bad_double()),
        mix(1.0..200.0, bad_double()),
        priors(),
    )
        .prop_map(
            |(min_group_size, confidence_level, weights, low, high, prior_strength, priors)| {
                ScoringModel {
                    min_group_size,
                    confidence_level,
                    weights,
                    low_effort_below: low,
                    high_effort_from: high,
                    prior_strength,
                    priors,
                    etag: String::new(),
                }
            },
        );
    (
        mix(m.prop_map(Some), Just(None)),
        mix(Just(Etag::Current), nasty().prop_map(Etag::Given)),
    )
        .boxed()
}

// ---------------------------------------------------------------- ingest checks

/// A unary batch: rejected means every table unchanged; accepted means the
/// counts add up, the new rows are exactly the inserted records, and each
/// record reads back as sent (labels and comments literally).
async fn check_submit_survey(
    ctx: &Ctx,
    responses: Vec<SurveyResponse>,
) -> Result<Code, TestCaseError> {
    let request = SubmitSurveyResponsesRequest {
        responses: responses.clone(),
    };
    let len = request.encoded_len();
    let before = ctx.snapshot().await;
    let result = ctx.app.survey().submit_survey_responses(request).await;
    let after = ctx.snapshot().await;
    let counts = match result {
        Err(status) => {
            unchanged(&before, &after, &ALL_TABLES)?;
            return acceptable(&status, len);
        }
        Ok(r) => r.into_inner().counts.expect("counts"),
    };
    unchanged(
        &before,
        &after,
        &[
            "journeys",
            "touchpoints",
            "outcomes",
            "questions",
            "scoring_models",
        ],
    )?;
    let n = responses.len() as i64;
    prop_assert_eq!(counts.inserted + counts.updated + counts.unchanged, n);
    prop_assert_eq!(
        rows(&after, "survey_responses") - rows(&before, "survey_responses"),
        counts.inserted
    );
    let ids: Vec<String> = responses.iter().map(|r| r.id.clone()).collect();
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM answers a JOIN survey_responses s USING (tenant_id, rid) \
         WHERE s.tenant_id = $1 AND s.id = ANY($2)",
    )
    .bind(ctx.app.tenant.0)
    .bind(&ids)
    .fetch_one(ctx.pool())
    .await
    .unwrap();
    let sent: usize = responses.iter().map(|r| r.answers.len()).sum();
    prop_assert_eq!(stored, sent as i64);
    if counts.inserted == n {
        prop_assert_eq!(
            rows(&after, "answers") - rows(&before, "answers"),
            sent as i64
        );
    }
    if responses.len() <= 10 {
        for r in &responses {
            let back = ctx
                .app
                .survey()
                .get_survey_response(GetSurveyResponseRequest { id: r.id.clone() })
                .await
                .map_err(|s| TestCaseError::fail(format!("get {:?}: {s:?}", r.id)))?
                .into_inner()
                .response
                .unwrap();
            prop_assert_eq!(&back.labels, &r.labels);
            prop_assert_eq!(back.role, r.role);
            prop_assert_eq!(&back.respondent_id, &r.respondent_id);
            let comments = |a: &[Answer]| {
                a.iter()
                    .map(|a| (a.question.clone(), a.score, a.comment.clone()))
                    .collect::<BTreeSet<_>>()
            };
            prop_assert_eq!(comments(&back.answers), comments(&r.answers));
        }
    }
    Ok(Code::Ok)
}

async fn check_submit_journeys(ctx: &Ctx, journeys: Vec<Journey>) -> Result<Code, TestCaseError> {
    let request = SubmitJourneysRequest {
        journeys: journeys.clone(),
    };
    let len = request.encoded_len();
    let before = ctx.snapshot().await;
    let result = ctx.app.journeys().submit_journeys(request).await;
    let after = ctx.snapshot().await;
    let counts = match result {
        Err(status) => {
            unchanged(&before, &after, &ALL_TABLES)?;
            return acceptable(&status, len);
        }
        Ok(r) => r.into_inner().counts.expect("counts"),
    };
    unchanged(
        &before,
        &after,
        &[
            "survey_responses",
            "answers",
            "outcomes",
            "questions",
            "scoring_models",
        ],
    )?;
    let n = journeys.len() as i64;
    prop_assert_eq!(counts.inserted + counts.updated + counts.unchanged, n);
    prop_assert_eq!(
        rows(&after, "journeys") - rows(&before, "journeys"),
        counts.inserted
    );
    let ids: Vec<String> = journeys.iter().map(|j| j.id.clone()).collect();
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM touchpoints t JOIN journeys j USING (tenant_id, jid) \
         WHERE j.tenant_id = $1 AND j.id = ANY($2)",
    )
    .bind(ctx.app.tenant.0)
    .bind(&ids)
    .fetch_one(ctx.pool())
    .await
    .unwrap();
    let sent: usize = journeys.iter().map(|j| j.touchpoints.len()).sum();
    prop_assert_eq!(stored, sent as i64);
    if journeys.len() <= 10 {
        for j in &journeys {
            let back = ctx
                .app
                .journeys()
                .get_journey(GetJourneyRequest { id: j.id.clone() })
                .await
                .map_err(|s| TestCaseError::fail(format!("get {:?}: {s:?}", j.id)))?
                .into_inner()
                .journey
                .unwrap();
            prop_assert_eq!(&back.labels, &j.labels);
            prop_assert_eq!(&back.customer_id, &j.customer_id);
            prop_assert_eq!(&back.intent, &j.intent);
            prop_assert_eq!(back.touchpoints.len(), j.touchpoints.len());
            prop_assert!((0.0..=100.0).contains(&back.effort_index));
        }
    }
    Ok(Code::Ok)
}

async fn check_submit_outcomes(ctx: &Ctx, outcomes: Vec<Outcome>) -> Result<Code, TestCaseError> {
    let request = SubmitOutcomesRequest {
        outcomes: outcomes.clone(),
    };
    let len = request.encoded_len();
    let before = ctx.snapshot().await;
    let result = ctx.app.outcomes().submit_outcomes(request).await;
    let after = ctx.snapshot().await;
    let counts = match result {
        Err(status) => {
            unchanged(&before, &after, &ALL_TABLES)?;
            return acceptable(&status, len);
        }
        Ok(r) => r.into_inner().counts.expect("counts"),
    };
    unchanged(
        &before,
        &after,
        &[
            "survey_responses",
            "answers",
            "journeys",
            "touchpoints",
            "questions",
            "scoring_models",
        ],
    )?;
    let n = outcomes.len() as i64;
    prop_assert_eq!(counts.inserted + counts.updated + counts.unchanged, n);
    prop_assert_eq!(
        rows(&after, "outcomes") - rows(&before, "outcomes"),
        counts.inserted
    );
    for o in outcomes.iter().take(10) {
        let (customer_id, kind, occurred): (String, i16, bool) = sqlx::query_as(
            "SELECT customer_id, kind, occurred FROM outcomes WHERE tenant_id = $1 AND id = $2",
        )
        .bind(ctx.app.tenant.0)
        .bind(&o.id)
        .fetch_one(ctx.pool())
        .await
        .unwrap();
        prop_assert_eq!(
            (customer_id, i32::from(kind), occurred),
            (o.customer_id.clone(), o.kind, o.occurred)
        );
    }
    Ok(Code::Ok)
}

/// Valid messages around one arbitrary message.
#[derive(Debug, Clone)]
struct StreamCase<T> {
    before: Vec<Vec<T>>,
    wild: Option<Vec<T>>,
    after: Vec<Vec<T>>,
}

fn stream_case<T: Debug + Clone + 'static>(
    valid: BoxedStrategy<T>,
    wild: BoxedStrategy<Vec<T>>,
) -> BoxedStrategy<StreamCase<T>> {
    (
        vec(vec(valid.clone(), 1..4), 0..3),
        option::weighted(0.8, wild),
        vec(vec(valid, 1..4), 0..2),
    )
        .prop_map(|(before, wild, after)| StreamCase {
            before,
            wild,
            after,
        })
        .boxed()
}

/// What a stream of messages did, for [`check_stream_outcome`].
struct StreamRun {
    /// Fresh-id records in the valid messages before the arbitrary one.
    records_before: i64,
    /// Fresh-id records in all valid messages.
    records_all: i64,
    /// Index of the arbitrary message, if any.
    wild_at: Option<usize>,
    messages: usize,
    wild_len: usize,
}

/// Renames the valid messages' records to fresh ids `prefix…`.
fn fresh_ids<T>(case: &mut StreamCase<T>, prefix: &str, set_id: fn(&mut T, String)) -> StreamRun {
    let mut i = 0;
    let mut rename = |batches: &mut Vec<Vec<T>>| {
        let mut n = 0;
        for b in batches {
            for r in b {
                set_id(r, format!("{prefix}{i}"));
                i += 1;
                n += 1;
            }
        }
        n
    };
    let records_before = rename(&mut case.before);
    let records_after = rename(&mut case.after);
    StreamRun {
        records_before,
        records_all: records_before + records_after,
        wild_at: case.wild.as_ref().map(|_| case.before.len()),
        messages: case.before.len() + usize::from(case.wild.is_some()) + case.after.len(),
        wild_len: 0,
    }
}

/// The documented stream behaviour (SPEC §3.2): each message is committed
/// on arrival; an invalid one ends the call with INVALID_ARGUMENT naming
/// `messages[i]`, earlier messages stay, it and later ones are not stored.
async fn check_stream_outcome(
    ctx: &Ctx,
    run: &StreamRun,
    table: &str,
    prefix: &str,
    before: &Snapshot,
    result: Result<(i64, IngestCounts), Status>,
) -> Result<Code, TestCaseError> {
    let fresh: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table} WHERE id LIKE $1"
    )))
    .bind(format!("{prefix}%"))
    .fetch_one(ctx.pool())
    .await
    .unwrap();
    let after = snapshot(ctx.pool(), prefix).await;
    match result {
        Ok((messages, counts)) => {
            prop_assert_eq!(messages, run.messages as i64);
            prop_assert!(counts.inserted >= run.records_all);
            prop_assert_eq!(fresh, run.records_all);
            Ok(Code::Ok)
        }
        Err(status) => {
            let Some(k) = run.wild_at else {
                return Err(TestCaseError::fail(format!(
                    "a stream of valid messages failed: {status:?}"
                )));
            };
            if status.code() == Code::InvalidArgument {
                let fields = crate::helpers::violation_fields(&status);
                let prefix = format!("messages[{k}].");
                prop_assert!(
                    !fields.is_empty() && fields.iter().all(|f| f.starts_with(&prefix)),
                    "fields {:?} do not all name message {}",
                    fields,
                    k
                );
            } else {
                acceptable(&status, run.wild_len)?;
            }
            prop_assert_eq!(fresh, run.records_before, "messages before the bad one");
            unchanged(before, &after, &ALL_TABLES)?;
            Ok(status.code())
        }
    }
}

async fn check_stream_survey(
    ctx: &Ctx,
    mut case: StreamCase<SurveyResponse>,
) -> Result<Code, TestCaseError> {
    let prefix = format!("fz{}-", ctx.counter.fetch_add(1, Ordering::Relaxed));
    let mut run = fresh_ids(&mut case, &prefix, |r, id| r.id = id);
    let wild = case
        .wild
        .map(|responses| StreamSurveyResponsesRequest { responses });
    run.wild_len = wild.as_ref().map_or(0, |w| w.encoded_len());
    let messages: Vec<StreamSurveyResponsesRequest> = case
        .before
        .into_iter()
        .map(|responses| StreamSurveyResponsesRequest { responses })
        .chain(wild)
        .chain(
            case.after
                .into_iter()
                .map(|responses| StreamSurveyResponsesRequest { responses }),
        )
        .collect();
    let before = snapshot(ctx.pool(), &prefix).await;
    let result = ctx
        .app
        .survey()
        .stream_survey_responses(tokio_stream::iter(messages))
        .await
        .map(|r| {
            let r = r.into_inner();
            (r.messages, r.counts.unwrap_or_default())
        });
    check_stream_outcome(ctx, &run, "survey_responses", &prefix, &before, result).await
}

async fn check_stream_journeys(
    ctx: &Ctx,
    mut case: StreamCase<Journey>,
) -> Result<Code, TestCaseError> {
    let prefix = format!("fz{}-", ctx.counter.fetch_add(1, Ordering::Relaxed));
    let mut run = fresh_ids(&mut case, &prefix, |j, id| j.id = id);
    let wild = case.wild.map(|journeys| StreamJourneysRequest { journeys });
    run.wild_len = wild.as_ref().map_or(0, |w| w.encoded_len());
    let messages: Vec<StreamJourneysRequest> = case
        .before
        .into_iter()
        .map(|journeys| StreamJourneysRequest { journeys })
        .chain(wild)
        .chain(
            case.after
                .into_iter()
                .map(|journeys| StreamJourneysRequest { journeys }),
        )
        .collect();
    let before = snapshot(ctx.pool(), &prefix).await;
    let result = ctx
        .app
        .journeys()
        .stream_journeys(tokio_stream::iter(messages))
        .await
        .map(|r| {
            let r = r.into_inner();
            (r.messages, r.counts.unwrap_or_default())
        });
    check_stream_outcome(ctx, &run, "journeys", &prefix, &before, result).await
}

// ---------------------------------------------------------------- list checks

/// The window start no generated request uses: requests with it are "another query".
fn other_query_filter() -> Option<ScoreFilter> {
    Some(ScoreFilter {
        start_time: Some(ts("2019-06-01T00:00:00Z")),
        ..Default::default()
    })
}

/// 1-128 characters of [A-Za-z0-9._:-]: a position id a stored record can have.
fn is_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// What the paginated RPCs have in common.
trait ListRpc: Clone + Debug + Message + Default {
    fn set_page(&mut self, size: i32, token: String);
    fn page_size(&self) -> i32;
    fn set_filter(&mut self, filter: Option<ScoreFilter>);
    /// The query a page token is bound to (as the server computes it).
    fn fingerprint_query(&self) -> Self;
    /// The position a forged token carries.
    fn forged_key(micros: i64, index: f64, id: String) -> serde_json::Value {
        let _ = index;
        serde_json::json!([micros, id])
    }
    /// Whether a forged position is one the server must accept.
    fn forged_is_sane(micros: i64, index: f64, id: &str) -> bool {
        let _ = index;
        (1_577_836_800_000_000..1_767_225_600_000_000).contains(&micros) && is_id(id)
    }
    /// Returns the ids of the page and the next token.
    fn call(
        &self,
        app: &TestApp,
        key: &str,
    ) -> impl Future<Output = Result<(Vec<String>, String), Status>>;
}

impl ListRpc for ListSurveyResponsesRequest {
    fn set_page(&mut self, size: i32, token: String) {
        (self.page_size, self.page_token) = (size, token);
    }
    fn page_size(&self) -> i32 {
        self.page_size
    }
    fn set_filter(&mut self, filter: Option<ScoreFilter>) {
        self.filter = filter;
    }
    fn fingerprint_query(&self) -> Self {
        let mut q = self.clone();
        q.set_page(0, String::new());
        if let Some(f) = &mut q.filter {
            f.intent.clear();
        }
        q
    }
    async fn call(&self, app: &TestApp, key: &str) -> Result<(Vec<String>, String), Status> {
        let r = app
            .survey_as(Some(key))
            .list_survey_responses(self.clone())
            .await?
            .into_inner();
        Ok((
            r.responses.into_iter().map(|x| x.id).collect(),
            r.next_page_token,
        ))
    }
}

impl ListRpc for ListJourneysRequest {
    fn set_page(&mut self, size: i32, token: String) {
        (self.page_size, self.page_token) = (size, token);
    }
    fn page_size(&self) -> i32 {
        self.page_size
    }
    fn set_filter(&mut self, filter: Option<ScoreFilter>) {
        self.filter = filter;
    }
    fn fingerprint_query(&self) -> Self {
        let mut q = self.clone();
        q.set_page(0, String::new());
        q
    }
    async fn call(&self, app: &TestApp, key: &str) -> Result<(Vec<String>, String), Status> {
        let r = app
            .journeys_as(Some(key))
            .list_journeys(self.clone())
            .await?
            .into_inner();
        Ok((
            r.journeys.into_iter().map(|x| x.id).collect(),
            r.next_page_token,
        ))
    }
}

impl ListRpc for ListOutcomesRequest {
    fn set_page(&mut self, size: i32, token: String) {
        (self.page_size, self.page_token) = (size, token);
    }
    fn page_size(&self) -> i32 {
        self.page_size
    }
    fn set_filter(&mut self, filter: Option<ScoreFilter>) {
        self.filter = filter;
    }
    fn fingerprint_query(&self) -> Self {
        let mut q = self.clone();
        q.set_page(0, String::new());
        q
    }
    async fn call(&self, app: &TestApp, key: &str) -> Result<(Vec<String>, String), Status> {
        let r = app
            .outcomes_as(Some(key))
            .list_outcomes(self.clone())
            .await?
            .into_inner();
        Ok((
            r.outcomes.into_iter().map(|x| x.id).collect(),
            r.next_page_token,
        ))
    }
}

impl ListRpc for ListAtRiskCustomersRequest {
    fn set_page(&mut self, size: i32, token: String) {
        (self.page_size, self.page_token) = (size, token);
    }
    fn page_size(&self) -> i32 {
        self.page_size
    }
    fn set_filter(&mut self, filter: Option<ScoreFilter>) {
        self.filter = filter;
    }
    fn fingerprint_query(&self) -> Self {
        let mut q = self.clone();
        q.set_page(0, String::new());
        if q.min_tier == 0 {
            q.min_tier = EffortTier::High as i32;
        }
        q
    }
    fn forged_key(micros: i64, index: f64, id: String) -> serde_json::Value {
        serde_json::to_value(AtRiskKey {
            tier: (micros % 5) as i32,
            worst_effort_index: index,
            customer_id: id,
        })
        .unwrap_or(serde_json::Value::Null)
    }
    fn forged_is_sane(micros: i64, index: f64, id: &str) -> bool {
        (1..=3).contains(&(micros % 5)) && (0.0..=100.0).contains(&index) && is_id(id)
    }
    async fn call(&self, app: &TestApp, key: &str) -> Result<(Vec<String>, String), Status> {
        let r = app
            .customers_as(Some(key))
            .list_at_risk_customers(self.clone())
            .await?
            .into_inner();
        Ok((
            r.customers.into_iter().map(|x| x.customer_id).collect(),
            r.next_page_token,
        ))
    }
}

/// What a list request with a chosen token must do once the request itself
/// is known to be valid (its first page was served).
#[derive(Debug)]
enum Expect {
    /// INVALID_ARGUMENT naming exactly `page_token`.
    Foreign,
    /// Served when sane, otherwise served or rejected at `page_token`.
    Forged { sane: bool },
    /// Served, without repeating the first page.
    Next,
}

/// A list request with a chosen token; nothing is ever written.
async fn check_list<R: ListRpc>(
    ctx: &Ctx,
    request: R,
    token: Token,
) -> Result<Code, TestCaseError> {
    let before = ctx.snapshot().await;
    let len = request.encoded_len();
    let first = request.call(&ctx.app, &ctx.app.key).await;
    let attempt: Option<(String, Expect)> = match token {
        Token::Empty => None,
        Token::Junk(t) if t.is_empty() => None,
        Token::Junk(t) => Some((t, Expect::Foreign)),
        Token::OtherQuery => {
            let mut source = R::default();
            source.set_filter(other_query_filter());
            source.set_page(1, String::new());
            let (_, t) = source
                .call(&ctx.app, &ctx.app.key)
                .await
                .map_err(|s| TestCaseError::fail(format!("source query: {s:?}")))?;
            prop_assert!(
                !t.is_empty(),
                "the seed data gives the source query 2 pages"
            );
            Some((t, Expect::Foreign))
        }
        Token::OtherTenant => {
            // The same query as the other tenant if it has 2 pages there,
            // else the other tenant's default query.
            let mut same = request.clone();
            same.set_page(1, String::new());
            let t = match same.call(&ctx.app, &ctx.other_key).await {
                Ok((_, t)) if !t.is_empty() => t,
                _ => {
                    let mut source = R::default();
                    source.set_page(1, String::new());
                    source
                        .call(&ctx.app, &ctx.other_key)
                        .await
                        .map_err(|s| TestCaseError::fail(format!("other tenant: {s:?}")))?
                        .1
                }
            };
            prop_assert!(!t.is_empty(), "the other tenant has 2 pages");
            Some((t, Expect::Foreign))
        }
        Token::Forged(micros, index, id) => {
            let fp = page::fingerprint(ctx.app.tenant.0, &request.fingerprint_query());
            let sane = R::forged_is_sane(micros, index, &id);
            let t = page::encode(&fp, &R::forged_key(micros, index, id));
            Some((t, Expect::Forged { sane }))
        }
        Token::Next => match &first {
            Ok((_, t)) if !t.is_empty() => Some((t.clone(), Expect::Next)),
            _ => None,
        },
    };
    let second = match &attempt {
        Some((t, _)) => {
            let mut r = request.clone();
            r.set_page(request.page_size(), t.clone());
            Some(r.call(&ctx.app, &ctx.app.key).await)
        }
        None => None,
    };
    unchanged(&before, &ctx.snapshot().await, &ALL_TABLES)?;
    let (page1, second, expect) = match (first, second, attempt) {
        (Err(s), None, _) => return acceptable(&s, len),
        // The request itself is invalid: the token changes nothing.
        (Err(s), Some(second), _) => {
            acceptable(&s, len)?;
            let s2 = second.expect_err("an invalid request stays invalid");
            return acceptable(&s2, len);
        }
        (Ok(_), None, _) => return Ok(Code::Ok),
        (Ok((page1, _)), Some(second), Some((_, expect))) => (page1, second, expect),
        (Ok(_), Some(_), None) => unreachable!(),
    };
    match (expect, second) {
        (Expect::Foreign, Ok(_)) => Err(TestCaseError::fail("a foreign page token was accepted")),
        (Expect::Foreign | Expect::Forged { sane: false }, Err(s)) => {
            prop_assert_eq!(crate::helpers::violation_fields(&s), ["page_token"]);
            Ok(s.code())
        }
        (Expect::Forged { sane: true }, Err(s)) => Err(TestCaseError::fail(format!(
            "a well-formed token of this query was rejected: {s:?}"
        ))),
        (Expect::Forged { .. }, Ok(_)) => Ok(Code::Ok),
        (Expect::Next, Ok((page2, _))) => {
            let one: BTreeSet<&String> = page1.iter().collect();
            prop_assert!(
                page2.iter().all(|id| !one.contains(id)),
                "the next page repeats the first: {:?} / {:?}",
                page1,
                page2
            );
            Ok(Code::Ok)
        }
        (Expect::Next, Err(s)) => Err(TestCaseError::fail(format!("the next page failed: {s:?}"))),
    }
}

// ---------------------------------------------------------------- seed data

/// Records of "seed-" ids (which no strategy generates) for customers
/// seed-c1 and seed-c2, so every list query has pages to walk and tokens to
/// steal, for `key`.
async fn seed(app: &TestApp, key: &str) {
    let at = |day: u32| ts(&format!("2025-03-{day:02}T10:00:00Z"));
    let responses = (1..=4)
        .map(|i| SurveyResponse {
            id: format!("seed-r{i}"),
            role: 1 + (i % 3),
            respondent_id: format!("seed-c{}", 1 + i % 2),
            submitted_at: Some(at(i as u32)),
            answers: vec![Answer {
                question: "ease".into(),
                score: Some(1 + i),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    app.survey_as(Some(key))
        .submit_survey_responses(SubmitSurveyResponsesRequest { responses })
        .await
        .expect("seed responses");
    let journeys = (1..=4)
        .map(|i| {
            let mut j = crate::journeys::card_update_journey(&format!("seed-j{i}"), "seed-c1");
            j.customer_id = format!("seed-c{}", 1 + i % 2);
            j
        })
        .collect();
    app.journeys_as(Some(key))
        .submit_journeys(SubmitJourneysRequest { journeys })
        .await
        .expect("seed journeys");
    let outcomes = (1..=4)
        .map(|i| Outcome {
            id: format!("seed-o{i}"),
            customer_id: format!("seed-c{}", 1 + i % 2),
            kind: 1 + (i % 4),
            occurred: i % 2 == 0,
            observed_at: Some(at(i as u32)),
        })
        .collect();
    app.outcomes_as(Some(key))
        .submit_outcomes(SubmitOutcomesRequest { outcomes })
        .await
        .expect("seed outcomes");
}

async fn start(pool: PgPool) -> Arc<Ctx> {
    let app = spawn_app(pool).await;
    let other_key = app.add_tenant("globex").await;
    seed(&app, &app.key).await;
    seed(&app, &other_key).await;
    Arc::new(Ctx {
        app,
        other_key,
        counter: AtomicU64::new(0),
    })
}

/// The server is still up and serving: health SERVING and a valid call works.
async fn assert_healthy(ctx: &Ctx) {
    assert!(!ctx.app.server.is_finished(), "the server task ended");
    let status = HealthClient::new(ctx.app.channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::Serving);
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

// ---------------------------------------------------------------- well-typed

/// `fuzz` with a per-case check `|ctx, value| future` over the shared context.
macro_rules! fuzz_rpc {
    ($ctx:expr, $tally:expr, $rpc:literal, $strategy:expr, |$c:ident, $v:pat_param| $body:expr) => {{
        let shared = $ctx.clone();
        fuzz(
            $tally,
            $rpc,
            || $strategy,
            move |value| {
                let shared = shared.clone();
                async move {
                    let $c: &Ctx = &shared;
                    let $v = value;
                    $body
                }
            },
        )
        .await
    }};
}

#[sqlx::test]
async fn fuzz_well_typed_requests_to_every_rpc(pool: PgPool) {
    let started = Instant::now();
    let ctx = start(pool).await;
    let tally = Arc::new(Tally::default());

    // Ingest, unary and streamed.
    fuzz_rpc!(
        ctx,
        &tally,
        "SurveyService/SubmitSurveyResponses",
        survey_batch(),
        |c, v| check_submit_survey(c, v).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "SurveyService/StreamSurveyResponses",
        stream_case(valid_survey_response(), survey_batch()),
        |c, v| check_stream_survey(c, v).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "JourneyService/SubmitJourneys",
        journey_batch(),
        |c, v| check_submit_journeys(c, v).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "JourneyService/StreamJourneys",
        stream_case(valid_journey(), journey_batch()),
        |c, v| check_stream_journeys(c, v).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "OutcomeService/SubmitOutcomes",
        outcome_batch(),
        |c, v| check_submit_outcomes(c, v).await
    );

    // Catalog.
    fuzz_rpc!(
        ctx,
        &tally,
        "CatalogService/ListQuestions",
        Just(()),
        |c, ()| {
            read_only(
                c,
                0,
                c.app.catalog().list_questions(ListQuestionsRequest {}),
            )
            .await
        }
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "CatalogService/GetScoringModel",
        Just(()),
        |c, ()| {
            read_only(
                c,
                0,
                c.app.catalog().get_scoring_model(GetScoringModelRequest {}),
            )
            .await
        }
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "CatalogService/UpsertQuestion",
        question(),
        |c, v| check_upsert_question(c, v).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "CatalogService/UpdateScoringModel",
        model(),
        |c, v| check_update_model(c, v).await
    );

    // Reads.
    fuzz_rpc!(
        ctx,
        &tally,
        "SurveyService/GetSurveyResponse",
        id(),
        |c, id| {
            let r = GetSurveyResponseRequest { id };
            read_only(c, r.encoded_len(), c.app.survey().get_survey_response(r)).await
        }
    );
    fuzz_rpc!(ctx, &tally, "JourneyService/GetJourney", id(), |c, id| {
        let r = GetJourneyRequest { id };
        read_only(c, r.encoded_len(), c.app.journeys().get_journey(r)).await
    });
    fuzz_rpc!(
        ctx,
        &tally,
        "SurveyService/ListSurveyResponses",
        (
            filter(),
            mix(0..=3, bad_int()),
            optional_id(),
            page_size(),
            token()
        )
            .prop_map(|(filter, role, respondent_id, page_size, token)| (
                ListSurveyResponsesRequest {
                    filter,
                    role,
                    respondent_id,
                    page_size,
                    page_token: String::new(),
                },
                token
            )),
        |c, (r, t)| check_list(c, r, t).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "JourneyService/ListJourneys",
        (
            filter(),
            mix(Just(String::new()), customer_id()),
            page_size(),
            token()
        )
            .prop_map(|(filter, customer_id, page_size, token)| (
                ListJourneysRequest {
                    filter,
                    customer_id,
                    page_size,
                    page_token: String::new(),
                },
                token
            )),
        |c, (r, t)| check_list(c, r, t).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "OutcomeService/ListOutcomes",
        (
            filter(),
            mix(Just(String::new()), customer_id()),
            mix(0..=4, bad_int()),
            page_size(),
            token()
        )
            .prop_map(|(filter, customer_id, kind, page_size, token)| (
                ListOutcomesRequest {
                    filter,
                    customer_id,
                    kind,
                    page_size,
                    page_token: String::new(),
                },
                token
            )),
        |c, (r, t)| check_list(c, r, t).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "CustomerService/ListAtRiskCustomers",
        (filter(), mix(0..=3, bad_int()), page_size(), token()).prop_map(
            |(filter, min_tier, page_size, token)| (
                ListAtRiskCustomersRequest {
                    filter,
                    min_tier,
                    page_size,
                    page_token: String::new(),
                },
                token
            )
        ),
        |c, (r, t)| check_list(c, r, t).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "CustomerService/GetCustomerRisk",
        (
            mix(prop_oneof!["c[0-9]", Just("seed-c1".to_owned())], nasty()),
            filter(),
            confidence()
        )
            .prop_map(
                |(customer_id, filter, confidence_level)| GetCustomerRiskRequest {
                    customer_id,
                    filter,
                    confidence_level,
                }
            ),
        |c, r| read_only(c, r.encoded_len(), c.app.customers().get_customer_risk(r)).await
    );

    // Scoring.
    fuzz_rpc!(
        ctx,
        &tally,
        "ScoringService/GetPerceptionGap",
        (
            filter(),
            vec(question_key(), 0..3),
            confidence(),
            mix(prop_oneof![Just(String::new()), valid_key()], nasty())
        )
            .prop_map(|(filter, questions, confidence_level, group_by)| {
                GetPerceptionGapRequest {
                    filter,
                    questions,
                    confidence_level,
                    group_by,
                }
            }),
        |c, r| read_only(c, r.encoded_len(), c.app.scoring().get_perception_gap(r)).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "ScoringService/GetEffortIndex",
        (filter(), confidence()).prop_map(|(filter, confidence_level)| GetEffortIndexRequest {
            filter,
            confidence_level
        }),
        |c, r| read_only(c, r.encoded_len(), c.app.scoring().get_effort_index(r)).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "ScoringService/GetLoyaltyRisk",
        (filter(), confidence()).prop_map(|(filter, confidence_level)| GetLoyaltyRiskRequest {
            filter,
            confidence_level
        }),
        |c, r| read_only(c, r.encoded_len(), c.app.scoring().get_loyalty_risk(r)).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "ScoringService/GetScorecard",
        filter().prop_map(|filter| GetScorecardRequest { filter }),
        |c, r| read_only(c, r.encoded_len(), c.app.scoring().get_scorecard(r)).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "ScoringService/GetTrend",
        trend_request(),
        |c, r| read_only(c, r.encoded_len(), c.app.scoring().get_trend(r)).await
    );

    // Erasure last: it removes what the other checks look at.
    fuzz_rpc!(
        ctx,
        &tally,
        "CustomerService/DeleteCustomerData",
        customer_id(),
        |c, v| check_delete(c, v).await
    );

    assert_healthy(&ctx).await;
    tally.print("well-typed", started);
}

/// Windows of at most 90 days when valid (a trend scores every bucket),
/// with every other field from the pools.
fn trend_request() -> BoxedStrategy<GetTrendRequest> {
    let window =
        (valid_ts(), 1i64..90 * 86_400, valid_labels()).prop_map(|(start, span, labels)| {
            Some(ScoreFilter {
                end_time: Some(stamp(start.seconds + span, start.nanos)),
                start_time: Some(start),
                labels,
                ..Default::default()
            })
        });
    (
        enum_value(7),
        enum_value(3),
        mix(window, filter()),
        mix(question_key(), Just(String::new())),
        enum_value(3),
        enum_value(3),
        confidence(),
    )
        .prop_map(
            |(metric, bucket, filter, question, role, to_role, confidence_level)| GetTrendRequest {
                metric,
                bucket,
                filter,
                question,
                role,
                to_role,
                confidence_level,
            },
        )
        .boxed()
}

async fn check_upsert_question(
    ctx: &Ctx,
    question: Option<Question>,
) -> Result<Code, TestCaseError> {
    let request = UpsertQuestionRequest {
        question: question.clone(),
    };
    let len = request.encoded_len();
    let before = ctx.snapshot().await;
    let result = ctx.app.catalog().upsert_question(request).await;
    let after = ctx.snapshot().await;
    let mut others = ALL_TABLES.to_vec();
    others.retain(|t| *t != "questions");
    unchanged(&before, &after, &others)?;
    match result {
        Err(status) => {
            unchanged(&before, &after, &["questions"])?;
            acceptable(&status, len)
        }
        Ok(r) => {
            let stored = r.into_inner().question.unwrap();
            let sent = question.unwrap();
            prop_assert_eq!(&stored.key, &sent.key);
            prop_assert_eq!(&stored.text, &sent.text, "text stored literally");
            let listed = ctx
                .app
                .catalog()
                .list_questions(ListQuestionsRequest {})
                .await
                .unwrap()
                .into_inner();
            prop_assert!(listed.questions.contains(&stored));
            Ok(Code::Ok)
        }
    }
}

async fn check_update_model(
    ctx: &Ctx,
    (model, etag): (Option<ScoringModel>, Etag),
) -> Result<Code, TestCaseError> {
    let current = ctx
        .app
        .catalog()
        .get_scoring_model(GetScoringModelRequest {})
        .await
        .unwrap()
        .into_inner()
        .model
        .unwrap();
    let model = model.map(|mut m| {
        m.etag = match &etag {
            Etag::Current => current.etag.clone(),
            Etag::Given(e) => e.clone(),
        };
        m
    });
    let request = UpdateScoringModelRequest { model };
    let len = request.encoded_len();
    let before = ctx.snapshot().await;
    let result = ctx.app.catalog().update_scoring_model(request).await;
    let after = ctx.snapshot().await;
    let mut others = ALL_TABLES.to_vec();
    others.retain(|t| *t != "scoring_models");
    unchanged(&before, &after, &others)?;
    match result {
        Err(status) => {
            unchanged(&before, &after, &["scoring_models"])?;
            acceptable(&status, len)
        }
        Ok(r) => {
            let stored = r.into_inner().model.unwrap();
            prop_assert_ne!(&stored.etag, &current.etag);
            let read = ctx
                .app
                .catalog()
                .get_scoring_model(GetScoringModelRequest {})
                .await
                .unwrap()
                .into_inner()
                .model
                .unwrap();
            prop_assert_eq!(read, stored);
            Ok(Code::Ok)
        }
    }
}

async fn check_delete(ctx: &Ctx, customer_id: String) -> Result<Code, TestCaseError> {
    let request = DeleteCustomerDataRequest {
        customer_id: customer_id.clone(),
    };
    let len = request.encoded_len();
    let before = ctx.snapshot().await;
    let result = ctx.app.customers().delete_customer_data(request).await;
    let after = ctx.snapshot().await;
    unchanged(&before, &after, &["questions", "scoring_models"])?;
    match result {
        Err(status) => {
            unchanged(&before, &after, &ALL_TABLES)?;
            acceptable(&status, len)
        }
        Ok(r) => {
            let r = r.into_inner();
            prop_assert_eq!(
                rows(&before, "survey_responses") - rows(&after, "survey_responses"),
                r.survey_responses_deleted
            );
            prop_assert_eq!(
                rows(&before, "journeys") - rows(&after, "journeys"),
                r.journeys_deleted
            );
            prop_assert_eq!(
                rows(&before, "outcomes") - rows(&after, "outcomes"),
                r.outcomes_deleted
            );
            Ok(Code::Ok)
        }
    }
}

// ---------------------------------------------------------------- arbitrary bytes

/// Sends and receives raw message bytes: the request body is whatever the
/// test chose, framed by gRPC.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut bytes = vec![0; src.remaining()];
        src.copy_to_slice(&mut bytes);
        Ok(Some(bytes))
    }
}

/// Calls `path` with `body` as the (only) request message.
pub(crate) async fn raw_call(
    app: &TestApp,
    path: &'static str,
    streaming: bool,
    body: Vec<u8>,
) -> Result<Vec<u8>, Status> {
    let service = InterceptedService::new(app.channel.clone(), TestApp::bearer(Some(&app.key)));
    let mut grpc = tonic::client::Grpc::new(service).max_decoding_message_size(64 << 20);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::from_static(path);
    let response = if streaming {
        grpc.client_streaming(Request::new(tokio_stream::iter(vec![body])), path, RawCodec)
            .await?
    } else {
        grpc.unary(Request::new(body), path, RawCodec).await?
    };
    Ok(response.into_inner())
}

/// Every method path, whether it is client-streaming, and a valid request
/// to mutate.
fn methods() -> Vec<(&'static str, bool, Vec<u8>)> {
    let response = SurveyResponse {
        id: "raw1".into(),
        role: 3,
        submitted_at: Some(ts("2025-01-01T00:00:00Z")),
        labels: BTreeMap::from([("region".into(), "emea".into())]),
        answers: vec![Answer {
            question: "speed".into(),
            score: Some(3),
            comment: "ok".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let journey = crate::journeys::card_update_journey("raw-j1", "c1");
    let outcome = Outcome {
        id: "raw-o1".into(),
        customer_id: "c1".into(),
        kind: 1,
        occurred: true,
        observed_at: Some(ts("2025-01-01T00:00:00Z")),
    };
    let filter = other_query_filter();
    let e = |m: &dyn Fn() -> Vec<u8>| m();
    vec![
        (
            "/gapscore.v1.SurveyService/SubmitSurveyResponses",
            false,
            e(&|| {
                SubmitSurveyResponsesRequest {
                    responses: vec![response.clone()],
                }
                .encode_to_vec()
            }),
        ),
        (
            "/gapscore.v1.SurveyService/StreamSurveyResponses",
            true,
            e(&|| {
                StreamSurveyResponsesRequest {
                    responses: vec![response.clone()],
                }
                .encode_to_vec()
            }),
        ),
        (
            "/gapscore.v1.SurveyService/GetSurveyResponse",
            false,
            GetSurveyResponseRequest {
                id: "seed-r1".into(),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.SurveyService/ListSurveyResponses",
            false,
            ListSurveyResponsesRequest {
                filter: filter.clone(),
                page_size: 2,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.JourneyService/SubmitJourneys",
            false,
            SubmitJourneysRequest {
                journeys: vec![journey.clone()],
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.JourneyService/StreamJourneys",
            true,
            StreamJourneysRequest {
                journeys: vec![journey],
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.JourneyService/GetJourney",
            false,
            GetJourneyRequest {
                id: "seed-j1".into(),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.JourneyService/ListJourneys",
            false,
            ListJourneysRequest {
                filter: filter.clone(),
                page_size: 2,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.OutcomeService/SubmitOutcomes",
            false,
            SubmitOutcomesRequest {
                outcomes: vec![outcome],
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.OutcomeService/ListOutcomes",
            false,
            ListOutcomesRequest {
                filter: filter.clone(),
                page_size: 2,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.CustomerService/GetCustomerRisk",
            false,
            GetCustomerRiskRequest {
                customer_id: "seed-c1".into(),
                filter: filter.clone(),
                confidence_level: Some(0.9),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.CustomerService/ListAtRiskCustomers",
            false,
            ListAtRiskCustomersRequest {
                filter: filter.clone(),
                min_tier: 1,
                page_size: 1,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.CustomerService/DeleteCustomerData",
            false,
            DeleteCustomerDataRequest {
                customer_id: "raw-c9".into(),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.ScoringService/GetPerceptionGap",
            false,
            GetPerceptionGapRequest {
                filter: filter.clone(),
                questions: vec!["speed".into()],
                confidence_level: Some(0.9),
                group_by: "region".into(),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.ScoringService/GetEffortIndex",
            false,
            GetEffortIndexRequest {
                filter: filter.clone(),
                confidence_level: Some(0.9),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.ScoringService/GetLoyaltyRisk",
            false,
            GetLoyaltyRiskRequest {
                filter: filter.clone(),
                confidence_level: Some(0.9),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.ScoringService/GetScorecard",
            false,
            GetScorecardRequest {
                filter: filter.clone(),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.ScoringService/GetTrend",
            false,
            GetTrendRequest {
                metric: 4,
                bucket: 2,
                filter: Some(ScoreFilter {
                    start_time: Some(ts("2025-01-01T00:00:00Z")),
                    end_time: Some(ts("2025-03-01T00:00:00Z")),
                    ..Default::default()
                }),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.CatalogService/ListQuestions",
            false,
            Vec::new(),
        ),
        (
            "/gapscore.v1.CatalogService/UpsertQuestion",
            false,
            UpsertQuestionRequest {
                question: Some(Question {
                    key: "raw_q".into(),
                    kind: 1,
                    text: "Raw?".into(),
                    scale_min: 1,
                    scale_max: 5,
                    favorable_min: 4,
                    unfavorable_max: Some(2),
                    built_in: false,
                }),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.CatalogService/GetScoringModel",
            false,
            Vec::new(),
        ),
        (
            "/gapscore.v1.CatalogService/UpdateScoringModel",
            false,
            UpdateScoringModelRequest {
                model: Some(ScoringModel {
                    min_group_size: 5,
                    confidence_level: 0.95,
                    weights: Some(EffortWeights {
                        extra_contact: 15.0,
                        channel_switch: 10.0,
                        failed_self_service: 10.0,
                        transfer: 10.0,
                        repeated_information: 10.0,
                        minute: 0.5,
                        free_minutes: 5.0,
                        time_cap: 30.0,
                        unresolved: 30.0,
                    }),
                    low_effort_below: 20.0,
                    high_effort_from: 50.0,
                    prior_strength: 50.0,
                    priors: (1..=4)
                        .map(|kind| OutcomePrior {
                            kind,
                            low_mean: 0.2,
                            high_mean: 0.4,
                        })
                        .collect(),
                    etag: "stale".into(),
                }),
            }
            .encode_to_vec(),
        ),
    ]
}

/// How the bytes of a case are made from the method's valid request.
#[derive(Debug, Clone)]
enum Bytes {
    Random(Vec<u8>),
    Truncated(Index),
    Flipped(Index, u8),
    Appended(Vec<u8>),
    /// A string (or nested message) field 1 holding invalid UTF-8.
    InvalidUtf8,
    /// A length prefix far beyond the message.
    HugeLength,
    /// Groups nested far beyond prost's recursion limit.
    DeepNesting,
}

fn bytes_case() -> BoxedStrategy<Bytes> {
    prop_oneof![
        3 => vec(any::<u8>(), 0..64).prop_map(Bytes::Random),
        1 => vec(any::<u8>(), 0..4096).prop_map(Bytes::Random),
        2 => any::<Index>().prop_map(Bytes::Truncated),
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Bytes::Flipped(i, b)),
        2 => vec(any::<u8>(), 1..32).prop_map(Bytes::Appended),
        1 => Just(Bytes::InvalidUtf8),
        1 => Just(Bytes::HugeLength),
        1 => Just(Bytes::DeepNesting),
    ]
    .boxed()
}

fn make_bytes(valid: &[u8], case: &Bytes) -> Vec<u8> {
    match case {
        Bytes::Random(b) => b.clone(),
        Bytes::Truncated(i) if valid.is_empty() => vec![i.index(256) as u8],
        Bytes::Truncated(i) => valid[..i.index(valid.len())].to_vec(),
        Bytes::Flipped(_, b) if valid.is_empty() => vec![*b],
        Bytes::Flipped(i, b) => {
            let mut v = valid.to_vec();
            let at = i.index(v.len());
            v[at] ^= b.max(&1);
            v
        }
        Bytes::Appended(extra) => [valid, extra].concat(),
        // Field 1 (length-delimited) of 7 bytes: a field 1 of 3 bytes that
        // are not UTF-8, then the same bytes directly.
        Bytes::InvalidUtf8 => [
            valid,
            &[0x0a, 0x05, 0x0a, 0x03, 0xff, 0xfe, 0xfd],
            &[0x0a, 0x03, 0xc3, 0x28, 0xa0],
        ]
        .concat(),
        Bytes::HugeLength => [
            valid,
            &[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        ]
        .concat(),
        Bytes::DeepNesting => [vec![0x0b; 10_000], vec![0x0c; 10_000]].concat(),
    }
}

#[sqlx::test]
async fn fuzz_arbitrary_bytes_to_every_rpc(pool: PgPool) {
    let started = Instant::now();
    let ctx = start(pool).await;
    let tally = Arc::new(Tally::default());
    for (path, streaming, valid) in methods() {
        // The valid request itself is served (so mutations start from a
        // message the server accepts).
        raw_call(&ctx.app, path, streaming, valid.clone())
            .await
            .or_else(|s| {
                if matches!(s.code(), Code::NotFound | Code::Aborted) {
                    Ok(vec![])
                } else {
                    Err(s)
                }
            })
            .unwrap_or_else(|s| panic!("{path}: the valid request fails: {s:?}"));
        let rpc: &'static str = path.trim_start_matches("/gapscore.v1.");
        let c = ctx.clone();
        fuzz(&tally, rpc, bytes_case, move |case: Bytes| {
            let ctx = c.clone();
            let body = make_bytes(&valid, &case);
            async move {
                let before = ctx.snapshot().await;
                let len = body.len();
                let result = raw_call(&ctx.app, path, streaming, body).await;
                match result {
                    Ok(_) => Ok(Code::Ok),
                    Err(status) => {
                        unchanged(&before, &ctx.snapshot().await, &ALL_TABLES)?;
                        acceptable(&status, len)
                    }
                }
            }
        })
        .await;
    }
    assert_healthy(&ctx).await;
    tally.print("arbitrary bytes", started);
}
