//! The perception-gap rollup (`gap_daily`) stays exact on every write
//! path (each appends its own deltas, migration 0020): for random
//! sequences of submits, edits, identical re-sends, erasures, tenant
//! clears and compactions, and for concurrent ingest against compaction
//! and re-sends against erasures — all through the real server — the
//! histograms read from the rollup (whole days) plus raw edge days equal
//! the histograms computed from the raw answer rows alone, for aligned,
//! unaligned, half-open and sub-day windows, with and without `survey_id`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use gapscore::proto::v1::*;
use proptest::{prelude::*, strategy::ValueTree, test_runner::TestRunner};
use sqlx::PgPool;

use crate::helpers::{
    histories::{self, Histories, Record},
    internals::{GapQuery, Scope, ScoreCount, TenantId, Window, gap, rollup},
    spawn_app,
};

/// Questions of the built-in catalog with their scales.
const QUESTIONS: [(&str, i32, i32); 3] = [
    ("overall_experience", 1, 5),
    ("likelihood_to_recommend", 0, 10),
    ("ease", 1, 7),
];
const SURVEYS: [Option<&str>; 3] = [None, Some("w1"), Some("w2")];
const CUSTOMERS: [&str; 3] = ["cust-0", "cust-1", "cust-2"];

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
}

/// One generated response: which id, who, when and what.
#[derive(Debug, Clone)]
struct Resp {
    id: u8,
    role: u8,
    customer: u8,
    /// Minutes after `base()`, over five days.
    minute: u32,
    survey: u8,
    region: u8,
    /// Per question: `None` (unanswered) or an index into its scale.
    scores: [Option<u8>; 3],
}

type Op = histories::Op<Resp>;

fn resp() -> impl Strategy<Value = Resp> {
    (
        0u8..12,
        0u8..3,
        0u8..3,
        0u32..5 * 24 * 60,
        0u8..3,
        0u8..2,
        prop::array::uniform3(prop::option::weighted(0.8, 0u8..11)),
    )
        .prop_map(
            |(id, role, customer, minute, survey, region, scores)| Resp {
                id,
                role,
                customer,
                minute,
                survey,
                region,
                scores,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec(resp(), 1..6).prop_map(Op::Submit),
        2 => any::<u8>().prop_map(Op::Resend),
        1 => (0u8..3).prop_map(Op::Erase),
        1 => Just(Op::Clear),
        2 => Just(Op::Compact),
    ]
}

impl Record for Resp {
    fn id(&self) -> u8 {
        self.id
    }

    fn to_proto(&self) -> SurveyResponse {
        let role = [
            RespondentRole::Leadership,
            RespondentRole::Staff,
            RespondentRole::Customer,
        ][self.role as usize];
        let answers: Vec<Answer> = QUESTIONS
            .iter()
            .zip(self.scores)
            .filter_map(|((question, min, max), score)| {
                score.map(|s| Answer {
                    question: (*question).into(),
                    score: Some(min + i32::from(s) % (max - min + 1)),
                    ..Default::default()
                })
            })
            .collect();
        let at = base() + Duration::minutes(i64::from(self.minute));
        SurveyResponse {
            id: format!("r{}", self.id),
            role: role as i32,
            respondent_id: if role == RespondentRole::Customer {
                CUSTOMERS[self.customer as usize].into()
            } else {
                String::new()
            },
            survey_id: SURVEYS[self.survey as usize].unwrap_or_default().to_owned(),
            submitted_at: Some(prost_types::Timestamp {
                seconds: at.timestamp(),
                nanos: 0,
            }),
            labels: BTreeMap::from([(
                "region".to_owned(),
                ["emea", "apac"][self.region as usize].to_owned(),
            )]),
            answers: if answers.is_empty() {
                // A response needs an answer.
                vec![Answer {
                    question: "overall_experience".into(),
                    score: Some(3),
                    ..Default::default()
                }]
            } else {
                answers
            },
        }
    }
}

/// Windows to compare: open, aligned, unaligned, half-open and sub-day.
fn windows() -> Vec<Window> {
    let b = base();
    let h = Duration::hours;
    [
        (None, None),
        (Some(b), Some(b + Duration::days(5))),
        (Some(b + h(7)), Some(b + h(77))),
        (Some(b + Duration::days(1)), Some(b + Duration::days(3))),
        (Some(b + h(30)), None),
        (None, Some(b + h(50))),
        (Some(b + h(49)), Some(b + h(53))),
        (Some(b + h(23)), Some(b + h(25))),
    ]
    .into_iter()
    .map(|(start, end)| Window { start, end })
    .collect()
}

fn sorted(mut rows: Vec<ScoreCount>) -> Vec<ScoreCount> {
    rows.sort_by(|a, b| (&a.question, a.role, a.score).cmp(&(&b.question, b.role, b.score)));
    rows
}

/// Asserts rollup + edges == raw answers for every window and survey.
async fn assert_rollup_exact(pool: &PgPool, tenant: TenantId, context: &str) -> usize {
    let questions: Vec<String> = QUESTIONS.iter().map(|(q, _, _)| (*q).to_owned()).collect();
    let mut compared = 0;
    for window in windows() {
        for survey in SURVEYS {
            let scope = Scope {
                window,
                survey_id: survey.map(str::to_owned),
                ..Scope::default()
            };
            let q = GapQuery {
                scope: &scope,
                questions: &questions,
                group_by: None,
            };
            let from_rollup = sorted(gap::rollup_histograms(pool, tenant, q).await.unwrap());
            let from_raw = sorted(gap::raw_histograms(pool, tenant, q).await.unwrap());
            assert_eq!(
                from_rollup, from_raw,
                "{context}: window {window:?}, survey {survey:?}"
            );
            compared += from_raw.len();
        }
    }
    compared
}

#[sqlx::test]
async fn rollup_histograms_equal_the_raw_answers_under_random_histories(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let histories = Histories {
        cases: histories::cases("GAPSCORE_ROLLUP_CASES", 24),
        customers: &CUSTOMERS,
        other_every: 3,
    };
    let check = async |tenant, context: String| assert_rollup_exact(&pool, tenant, &context).await;
    histories
        .run(&app, prop::collection::vec(op(), 1..24), check)
        .await;
}

#[sqlx::test]
async fn folding_leaves_one_row_per_key_and_drops_zeroes(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let r = Resp {
        id: 1,
        role: 2,
        customer: 0,
        minute: 600,
        survey: 1,
        region: 0,
        scores: [Some(4), None, None],
    };
    let submit = |r: Resp| {
        let mut client = app.survey();
        async move {
            client
                .submit_survey_responses(SubmitSurveyResponsesRequest {
                    responses: vec![r.to_proto()],
                })
                .await
                .unwrap()
        }
    };
    // Insert, edit the score three times, then erase: +1, −1+1 (×3), −1.
    submit(r.clone()).await;
    for s in [1, 2, 3] {
        submit(Resp {
            scores: [Some(s), None, None],
            ..r.clone()
        })
        .await;
    }
    let rows = |pool: PgPool| async move {
        sqlx::query_as::<_, (i64, i64)>(
            "SELECT count(*), coalesce(sum(answers), 0)::bigint FROM gap_daily WHERE tenant_id = $1",
        )
        .bind(app.tenant.0)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let (deltas, total) = rows(pool.clone()).await;
    assert_eq!(total, 1, "one answer stands");
    assert_eq!(deltas, 7, "1 insert + 3 × (delete, insert) deltas");
    // As many again in the label-set rollup, which mirrors gap_daily, and
    // in the complete cases' rollup (`case_daily`), whose one key here is
    // the CUSTOMER response's one question.
    assert_eq!(rollup::compact(&pool, app.tenant).await.unwrap(), 18);
    assert_eq!(rows(pool.clone()).await, (1, 1));
    let months = |pool: PgPool| async move {
        sqlx::query_as::<_, (i64, i64)>(
            "SELECT count(*), coalesce(sum(answers), 0)::bigint FROM gap_label_month
             WHERE tenant_id = $1",
        )
        .bind(app.tenant.0)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    // The month grain kept the one month that does not sum to zero.
    assert_eq!(months(pool.clone()).await, (1, 1));

    app.customers()
        .delete_customer_data(DeleteCustomerDataRequest {
            customer_id: "cust-0".into(),
        })
        .await
        .unwrap();
    assert_eq!(rows(pool.clone()).await, (2, 0), "the erasure's −1 delta");
    rollup::compact(&pool, app.tenant).await.unwrap();
    assert_eq!(rows(pool.clone()).await, (0, 0), "a zero sum leaves no row");
    assert_eq!(months(pool.clone()).await, (0, 0), "nor in the month grain");
    assert_eq!(rollup::compact(&pool, app.tenant).await.unwrap(), 0);
}

#[sqlx::test]
async fn concurrent_ingest_and_compaction_stay_exact(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let mut runner = TestRunner::deterministic();
    let batches: Vec<Vec<Resp>> = (0..16)
        .map(|_| {
            prop::collection::vec(resp(), 20..40)
                .new_tree(&mut runner)
                .unwrap()
                .current()
        })
        .collect();
    let mut tasks = Vec::new();
    for (n, batch) in batches.into_iter().enumerate() {
        let mut client = app.survey();
        tasks.push(tokio::spawn(async move {
            // Distinct ids per task, so every batch is an insert.
            let mut by_id = BTreeMap::new();
            for r in batch {
                by_id.insert(r.id, r);
            }
            let responses = by_id
                .values()
                .map(|r| SurveyResponse {
                    id: format!("t{n}-{}", r.id),
                    ..r.to_proto()
                })
                .collect();
            client
                .submit_survey_responses(SubmitSurveyResponsesRequest { responses })
                .await
                .map(|_| ())
        }));
    }
    let compactor = {
        let (pool, tenant) = (pool.clone(), app.tenant);
        tokio::spawn(async move {
            for _ in 0..20 {
                rollup::compact(&pool, tenant).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    for task in tasks {
        task.await.unwrap().expect("batch accepted");
    }
    compactor.await.unwrap();
    assert!(assert_rollup_exact(&pool, app.tenant, "concurrent").await > 0);
    rollup::compact(&pool, app.tenant).await.unwrap();
    assert_rollup_exact(&pool, app.tenant, "concurrent, compacted").await;
}

/// Re-sends that change responses' scores and move them between
/// respondents race erasures of those respondents and the compactor. The
/// erasure appends its deltas in a statement that runs after it has
/// locked the responses, so whatever a re-send committed meanwhile is what
/// it subtracts: the rollup stays exact under any interleaving.
#[sqlx::test]
async fn concurrent_resends_and_erasures_stay_exact(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let mut runner = TestRunner::deterministic();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let batches: Vec<Vec<Resp>> = (0..8)
            .map(|_| {
                prop::collection::vec(resp(), 4..10)
                    .new_tree(&mut runner)
                    .unwrap()
                    .current()
            })
            .collect();
        let mut client = app.survey();
        tasks.push(tokio::spawn(async move {
            for batch in batches {
                // The same twelve ids in every task: re-sends and edits
                // of each other's responses, customers changing hands.
                let by_id: BTreeMap<u8, Resp> = batch.into_iter().map(|r| (r.id, r)).collect();
                let responses = by_id.values().map(Resp::to_proto).collect();
                client
                    .submit_survey_responses(SubmitSurveyResponsesRequest { responses })
                    .await?;
            }
            Ok::<_, tonic::Status>(())
        }));
    }
    let eraser = {
        let mut client = app.customers();
        tokio::spawn(async move {
            for n in 0..12 {
                client
                    .delete_customer_data(DeleteCustomerDataRequest {
                        customer_id: CUSTOMERS[n % CUSTOMERS.len()].into(),
                    })
                    .await?;
            }
            Ok::<_, tonic::Status>(())
        })
    };
    let compactor = {
        let (pool, tenant) = (pool.clone(), app.tenant);
        tokio::spawn(async move {
            for _ in 0..10 {
                rollup::compact(&pool, tenant).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    for task in tasks {
        task.await.unwrap().expect("batch accepted");
    }
    eraser.await.unwrap().expect("erasure accepted");
    compactor.await.unwrap();
    assert!(assert_rollup_exact(&pool, app.tenant, "re-sends and erasures").await > 0);
    rollup::compact(&pool, app.tenant).await.unwrap();
    assert_rollup_exact(&pool, app.tenant, "re-sends and erasures, compacted").await;
}
