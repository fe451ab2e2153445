//! The framed answers' rollup (`frame_daily`, migration 0021) stays exact
//! on every write path: for random sequences of submits with EXPERIENCE,
//! EXPECTATION, IMPORTANCE and COMPETITOR answers, changed and identical
//! re-sends, erasures, tenant clears and folds — all through the real
//! server, with a second tenant sharing every id — the paired sums and the
//! moments read from the rollup (whole days) plus raw edge days equal those
//! computed from the raw framed answers joined to their EXPERIENCE answers,
//! for aligned, unaligned, half-open and sub-day windows, with and without
//! `survey_id`, before and after folding.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use gapscore::proto::v1::*;
use proptest::{prelude::*, strategy::ValueTree, test_runner::TestRunner};
use sqlx::PgPool;

use crate::helpers::{
    framed,
    histories::{self, Histories, Record},
    internals::{
        FrameMoments, FrameQuery, PairedSums, Scope, StoredFrame, StoredRole, TenantId, Window,
        frame_store, rollup,
    },
    rating, spawn_app, versus,
};

/// Questions of the built-in catalog with their scales.
const QUESTIONS: [(&str, i32, i32); 3] = [
    ("overall_experience", 1, 5),
    ("likelihood_to_recommend", 0, 10),
    ("ease", 1, 7),
];
const SURVEYS: [Option<&str>; 3] = [None, Some("w1"), Some("w2")];
const CUSTOMERS: [&str; 3] = ["cust-0", "cust-1", "cust-2"];
const COMPETITORS: [&str; 2] = ["acme", "zeta"];
const FRAMES: [StoredFrame; 3] = [
    StoredFrame::Expectation,
    StoredFrame::Importance,
    StoredFrame::Competitor,
];

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
}

/// One question's answers in one response: each an index into the
/// question's scale, or unanswered.
#[derive(Debug, Clone, Default)]
struct Scores {
    experience: Option<u8>,
    expectation: Option<u8>,
    importance: Option<u8>,
    competitors: [Option<u8>; 2],
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
    questions: [Scores; 3],
}

type Op = histories::Op<Resp>;

fn score() -> impl Strategy<Value = Option<u8>> {
    prop::option::weighted(0.6, 0u8..11)
}

fn scores() -> impl Strategy<Value = Scores> {
    (score(), score(), score(), score(), score()).prop_map(|(e, x, i, a, z)| Scores {
        experience: e,
        expectation: x,
        importance: i,
        competitors: [a, z],
    })
}

fn resp() -> impl Strategy<Value = Resp> {
    (
        0u8..12,
        0u8..3,
        0u8..3,
        0u32..5 * 24 * 60,
        0u8..3,
        prop::array::uniform3(scores()),
    )
        .prop_map(|(id, role, customer, minute, survey, questions)| Resp {
            id,
            role,
            customer,
            minute,
            survey,
            questions,
        })
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
        let mut answers = Vec::new();
        for ((question, min, max), s) in QUESTIONS.iter().zip(&self.questions) {
            let on_scale = |i: u8| min + i32::from(i) % (max - min + 1);
            if let Some(i) = s.experience {
                answers.push(rating(question, on_scale(i)));
            }
            if let Some(i) = s.expectation {
                answers.push(framed(question, AnswerFrame::Expectation, on_scale(i)));
            }
            if let Some(i) = s.importance {
                answers.push(framed(question, AnswerFrame::Importance, on_scale(i)));
            }
            for (competitor, i) in COMPETITORS.iter().zip(s.competitors) {
                if let Some(i) = i {
                    answers.push(versus(question, competitor, on_scale(i)));
                }
            }
        }
        if answers.is_empty() {
            // A response needs an answer.
            answers.push(rating("overall_experience", 3));
        }
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
            answers,
            ..Default::default()
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

fn sorted_pairs(mut rows: Vec<PairedSums>) -> Vec<PairedSums> {
    rows.sort_by(|a, b| (&a.question, &a.competitor).cmp(&(&b.question, &b.competitor)));
    rows
}

fn sorted_moments(mut rows: Vec<FrameMoments>) -> Vec<FrameMoments> {
    rows.sort_by(|a, b| (&a.question, a.role).cmp(&(&b.question, b.role)));
    rows
}

/// Asserts rollup + edges == raw rows, for paired sums (every role) and
/// moments, for every window, survey, frame, with and without a question
/// list and (COMPETITOR) a competitor. Returns the rows compared.
async fn assert_rollup_exact(pool: &PgPool, tenant: TenantId, context: &str) -> usize {
    let some_questions: Vec<String> = vec![QUESTIONS[1].0.to_owned(), "unknown".to_owned()];
    let mut compared = 0;
    for (w, window) in windows().into_iter().enumerate() {
        // A question list on two windows (open, unaligned) is enough to
        // show it is applied on both parts; every window reads all.
        let lists: &[Option<&[String]>] = if w == 0 || w == 2 {
            &[None, Some(&some_questions[..])]
        } else {
            &[None]
        };
        for survey in SURVEYS {
            let scope = Scope {
                window,
                survey_id: survey.map(str::to_owned),
                ..Scope::default()
            };
            for frame in FRAMES {
                let competitors: &[Option<&str>] = if frame == StoredFrame::Competitor {
                    &[None, Some("acme")]
                } else {
                    &[None]
                };
                for &competitor in competitors {
                    for &questions in lists {
                        let q = FrameQuery {
                            scope: &scope,
                            frame,
                            questions,
                            competitor,
                        };
                        let what = format!(
                            "{context}: window {window:?}, survey {survey:?}, {frame:?}, \
                             {competitor:?}, {questions:?}"
                        );
                        for role in StoredRole::ALL {
                            let from_rollup = sorted_pairs(
                                frame_store::rollup_paired_sums(pool, tenant, q, role)
                                    .await
                                    .unwrap(),
                            );
                            let from_raw = sorted_pairs(
                                frame_store::raw_paired_sums(pool, tenant, q, role)
                                    .await
                                    .unwrap(),
                            );
                            assert_eq!(from_rollup, from_raw, "paired, {role:?}, {what}");
                            compared += from_raw.len();
                        }
                        let from_rollup = sorted_moments(
                            frame_store::rollup_moments(pool, tenant, q).await.unwrap(),
                        );
                        let from_raw = sorted_moments(
                            frame_store::raw_moments(pool, tenant, q).await.unwrap(),
                        );
                        assert_eq!(from_rollup, from_raw, "moments, {what}");
                        compared += from_raw.len();
                    }
                }
            }
        }
    }
    compared
}

#[sqlx::test]
async fn frame_rollup_equals_the_raw_rows_under_random_histories(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let histories = Histories {
        cases: histories::cases("GAPSCORE_FRAME_ROLLUP_CASES", 8),
        customers: &CUSTOMERS,
        other_every: 3,
    };
    let check = async |tenant, context: String| assert_rollup_exact(&pool, tenant, &context).await;
    histories
        .run(&app, prop::collection::vec(op(), 1..20), check)
        .await;
}

/// The rows and the sums of a tenant's `frame_daily`.
async fn frame_rows(pool: &PgPool, tenant: TenantId) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT count(*), coalesce(sum(answers), 0)::bigint,
                coalesce(sum(sum_sq_difference), 0)::bigint
         FROM frame_daily WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .fetch_one(pool)
    .await
    .unwrap()
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
        questions: [
            Scores {
                experience: Some(4),
                expectation: Some(1),
                ..Scores::default()
            },
            Scores::default(),
            Scores::default(),
        ],
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
    // Insert, then change the experience score twice (the expectation
    // stays): +1, then (−1, +1) twice, each time paired with the
    // experience score of its own version of the response.
    submit(r.clone()).await;
    for e in [0, 2] {
        let mut changed = r.clone();
        changed.questions[0].experience = Some(e);
        submit(changed).await;
    }
    // The last version: experience 3 (index 2 on 1-5), expectation 2.
    let (deltas, total, squares) = frame_rows(&pool, app.tenant).await;
    assert_eq!((total, squares), (1, 1), "one pair stands, (3 − 2)²");
    assert_eq!(deltas, 5, "1 insert + 2 × (delete, insert) deltas");
    let folded_before = rollup::compact(&pool, app.tenant).await.unwrap();
    assert!(folded_before >= 4, "{folded_before}");
    assert_eq!(frame_rows(&pool, app.tenant).await, (1, 1, 1));

    app.customers()
        .delete_customer_data(DeleteCustomerDataRequest {
            customer_id: "cust-0".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        frame_rows(&pool, app.tenant).await,
        (2, 0, 0),
        "the erasure's −1 delta, paired like the +1"
    );
    rollup::compact(&pool, app.tenant).await.unwrap();
    assert_eq!(
        frame_rows(&pool, app.tenant).await,
        (0, 0, 0),
        "a zero key leaves no row"
    );
    assert_eq!(rollup::compact(&pool, app.tenant).await.unwrap(), 0);
}

/// The reads the services use go through the rollup without labels and
/// through the raw rows with them; both agree with the raw rows.
#[sqlx::test]
async fn label_filtered_scopes_read_the_raw_rows(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let mut runner = TestRunner::deterministic();
    let batch: Vec<Resp> = prop::collection::vec(resp(), 30..40)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    let mut by_id = BTreeMap::new();
    for (n, r) in batch.into_iter().enumerate() {
        by_id.insert(n, r);
    }
    let responses: Vec<SurveyResponse> = by_id
        .iter()
        .map(|(n, r)| SurveyResponse {
            id: format!("l{n}"),
            labels: BTreeMap::from([("region".to_owned(), ["emea", "apac"][n % 2].to_owned())]),
            ..r.to_proto()
        })
        .collect();
    app.survey()
        .submit_survey_responses(SubmitSurveyResponsesRequest { responses })
        .await
        .expect("batch accepted");
    let labelled = Scope {
        labels: Some(serde_json::json!({"region": "emea"})),
        ..Scope::default()
    };
    let all = Scope::default();
    for frame in FRAMES {
        let q = |scope| FrameQuery {
            scope,
            frame,
            questions: None,
            competitor: None,
        };
        let emea = frame_store::paired_sums(&pool, app.tenant, q(&labelled), StoredRole::Customer)
            .await
            .unwrap();
        let raw_emea =
            frame_store::raw_paired_sums(&pool, app.tenant, q(&labelled), StoredRole::Customer)
                .await
                .unwrap();
        assert_eq!(sorted_pairs(emea.clone()), sorted_pairs(raw_emea));
        let whole = frame_store::paired_sums(&pool, app.tenant, q(&all), StoredRole::Customer)
            .await
            .unwrap();
        let n = |rows: &[PairedSums]| rows.iter().map(|r| r.respondents).sum::<i64>();
        assert!(n(&emea) <= n(&whole), "{frame:?}: a filter only removes");
        let moments = frame_store::moments(&pool, app.tenant, q(&labelled))
            .await
            .unwrap();
        let raw = frame_store::raw_moments(&pool, app.tenant, q(&labelled))
            .await
            .unwrap();
        assert_eq!(sorted_moments(moments), sorted_moments(raw));
    }
}
