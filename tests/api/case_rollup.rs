//! The complete-case rollup (`case_daily`, migration 0023) stays exact on
//! every write path: for random sequences of submits (every role, several
//! surveys, days and question sets, a custom scale far from zero, unscored
//! and framed answers beside the scored ones, now and then a response too
//! wide for the rollup's sums), changed and identical re-sends, erasures,
//! tenant clears and folds — all through the real server, with a second
//! tenant sharing every id — the key drivers' complete-case sums read
//! from the rollup (whole days) plus raw edge days equal those computed
//! from the raw answers, for several variable lists and for open,
//! aligned, unaligned, half-open, sub-day and across-midnight windows,
//! with and without `survey_id`, before and after folding. A wide row
//! among the whole days makes the read fall back to the raw answers.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gapscore::proto::v1::*;
use proptest::prelude::*;
use sqlx::PgPool;

use crate::helpers::{
    TestApp, framed,
    histories::{self, Histories, Record},
    internals::{
        CompleteCaseSums, Scope, TenantId, Variable, Window, case_rollup, drivers_store, rollup,
    },
    rating, spawn_app, sql, themes,
};

/// The questions the records answer, with their scales: built-in ones and
/// `shifted`, a custom scale far from zero (its shift matters).
const QUESTIONS: [(&str, i32, i32); 5] = [
    ("overall_experience", 1, 5),
    ("likelihood_to_recommend", 0, 10),
    ("ease", 1, 7),
    ("speed", 1, 5),
    ("shifted", -40, 60),
];
/// What a wide response answers besides [`QUESTIONS`]: the other built-in
/// RATING questions and the custom `w1`..`w8` (1-5), 18 scored answers in
/// all, more than `MAX_CASE_WIDTH`.
const WIDE_EXTRA: [&str; 13] = [
    "customer_centricity",
    "convenience",
    "knowledgeable_help",
    "friendly_support",
    "csat",
    "w1",
    "w2",
    "w3",
    "w4",
    "w5",
    "w6",
    "w7",
    "w8",
];
const SURVEYS: [Option<&str>; 3] = [None, Some("w1"), Some("w2")];
const CUSTOMERS: [&str; 3] = ["cust-0", "cust-1", "cust-2"];

/// Variable lists, drivers then outcome, as indexes into [`QUESTIONS`].
const LISTS: [&[usize]; 5] = [&[0], &[2, 3, 0], &[1, 4, 2, 0], &[3, 4], &[0, 2, 3, 4, 1]];

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
    /// Per question of [`QUESTIONS`], an index into its scale, or
    /// unanswered.
    scores: [Option<u8>; 5],
    /// Also a THEMES answer and an EXPECTATION answer (neither is a case's).
    extras: bool,
    /// Every question of [`QUESTIONS`] and [`WIDE_EXTRA`] answered.
    wide: bool,
}

type Op = histories::Op<Resp>;

fn resp() -> impl Strategy<Value = Resp> {
    (
        0u8..12,
        prop_oneof![1 => 0u8..2, 3 => Just(2u8)],
        0u8..3,
        0u32..5 * 24 * 60,
        0u8..3,
        prop::array::uniform5(prop::option::weighted(0.7, 0u8..101)),
        any::<bool>(),
        prop::bool::weighted(0.04),
    )
        .prop_map(
            |(id, role, customer, minute, survey, scores, extras, wide)| Resp {
                id,
                role,
                customer,
                minute,
                survey,
                scores,
                extras,
                wide,
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
        let mut answers = Vec::new();
        for ((question, min, max), s) in QUESTIONS.iter().zip(self.scores) {
            let s = if self.wide { s.or(Some(3)) } else { s };
            if let Some(i) = s {
                answers.push(rating(question, min + i32::from(i) % (max - min + 1)));
            }
        }
        if self.wide {
            for (n, question) in WIDE_EXTRA.iter().enumerate() {
                answers.push(rating(question, 1 + (n as i32 + i32::from(self.id)) % 5));
            }
        }
        if self.extras {
            answers.push(themes("do_well", &["speed"]));
            answers.push(framed("ease", AnswerFrame::Expectation, 5));
        }
        if answers.is_empty() {
            // A response needs an answer.
            answers.push(themes("improve", &["price"]));
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

/// The custom questions the records answer, created as the tenant of
/// `key`.
async fn add_custom_questions(app: &TestApp, key: &str) {
    let custom = |key: &str, min: i32, max: i32| Question {
        key: key.into(),
        kind: QuestionKind::Rating as i32,
        text: "Custom".into(),
        scale_min: min,
        scale_max: max,
        favorable_min: max,
        unfavorable_max: Some(min),
        built_in: false,
    };
    let mut catalog = app.catalog_as(Some(key));
    let mut questions = vec![custom("shifted", -40, 60)];
    questions.extend((1..=8).map(|n| custom(&format!("w{n}"), 1, 5)));
    for question in questions {
        catalog
            .upsert_question(UpsertQuestionRequest {
                question: Some(question),
            })
            .await
            .expect("custom question created");
    }
}

/// Windows to compare: open, aligned, unaligned, whole days, half-open
/// both ways, sub-day and across midnight.
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

/// The variables of `list`: (outcome, drivers).
fn variables(list: &[usize]) -> (Variable<'static>, Vec<Variable<'static>>) {
    let v = |i: usize| Variable {
        question: QUESTIONS[i].0,
        scale_min: QUESTIONS[i].1,
    };
    let (outcome, drivers) = list.split_last().unwrap();
    (v(*outcome), drivers.iter().map(|&i| v(i)).collect())
}

/// Rows of the tenant's `case_daily` without sums (wide keys).
async fn wide_rows(pool: &PgPool, tenant: TenantId) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM case_daily WHERE tenant_id = $1 AND sums IS NULL")
        .bind(tenant.0)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// What [`assert_rollup_exact`] saw: cases compared, reads the rollup
/// answered, reads that fell back to the raw answers.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    cases: usize,
    rollup: usize,
    fallback: usize,
}

/// Asserts rollup + edges == raw answers for every window, survey and
/// variable list, through `complete_case_sums` (what the services call)
/// and through the rollup read itself; a read the rollup declines must
/// have a wide row to decline for.
async fn assert_rollup_exact(pool: &PgPool, tenant: TenantId, context: &str) -> Seen {
    // The rows themselves: per key and term, what the answers say.
    let drift: Vec<(String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT questions::text, i, sum(v)::bigint FROM (
             SELECT tenant_id, day, survey_id, questions, i, v FROM ({}) a
             UNION ALL
             SELECT tenant_id, day, survey_id, questions, i, -v FROM ({}) r
         ) d
         WHERE tenant_id = $1
         GROUP BY day, survey_id, questions, i HAVING sum(v) <> 0",
        sql::case_terms_from_answers("true"),
        sql::CASE_DAILY_TERMS
    )))
    .bind(tenant.0)
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(drift.is_empty(), "{context}: case_daily drifts: {drift:?}");
    let wide = wide_rows(pool, tenant).await;
    let mut seen = Seen::default();
    for window in windows() {
        for survey in SURVEYS {
            let scope = Scope {
                window,
                survey_id: survey.map(str::to_owned),
                ..Scope::default()
            };
            for list in LISTS {
                let (outcome, drivers) = variables(list);
                let what = format!("{context}: window {window:?}, survey {survey:?}, {list:?}");
                let raw =
                    drivers_store::raw_complete_case_sums(pool, tenant, &scope, outcome, &drivers)
                        .await
                        .unwrap();
                let served =
                    drivers_store::complete_case_sums(pool, tenant, &scope, outcome, &drivers)
                        .await
                        .unwrap();
                assert_eq!(served, raw, "served, {what}");
                match drivers_store::rollup_complete_case_sums(
                    pool, tenant, &scope, outcome, &drivers,
                )
                .await
                .unwrap()
                {
                    Some(from_rollup) => {
                        assert_eq!(from_rollup, raw, "rollup, {what}");
                        seen.rollup += 1;
                    }
                    None => {
                        assert!(wide > 0, "declined without a wide row, {what}");
                        seen.fallback += 1;
                    }
                }
                seen.cases += raw.cases as usize;
            }
        }
    }
    seen
}

#[sqlx::test]
async fn case_rollup_equals_the_raw_answers_under_random_histories(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let histories = Histories {
        cases: histories::cases("GAPSCORE_CASE_ROLLUP_CASES", 8),
        customers: &CUSTOMERS,
        other_every: 3,
    };
    let total = std::cell::Cell::new(Seen::default());
    let check = async |tenant, context: String| {
        let seen = assert_rollup_exact(&pool, tenant, &context).await;
        let t = total.get();
        total.set(Seen {
            cases: t.cases + seen.cases,
            rollup: t.rollup + seen.rollup,
            fallback: t.fallback + seen.fallback,
        });
        seen.cases
    };
    let prepare = async |key: &str| add_custom_questions(&app, key).await;
    histories
        .run_prepared(&app, prop::collection::vec(op(), 1..20), prepare, check)
        .await;
    let total = total.get();
    eprintln!("{total:?}");
    assert!(total.rollup > 0, "the rollup answered no read: {total:?}");
}

/// The rows of a tenant's `case_daily`, in key order: (compacted, day,
/// survey, questions, cases, sums, products).
type CaseRow = (
    bool,
    chrono::NaiveDate,
    Option<String>,
    Vec<String>,
    i64,
    Option<Vec<i64>>,
    Option<Vec<i64>>,
);

async fn case_rows(pool: &PgPool, tenant: TenantId) -> Vec<CaseRow> {
    sqlx::query_as(
        "SELECT compacted, day, survey_id, questions, cases, sums, products FROM case_daily
         WHERE tenant_id = $1 ORDER BY compacted, day, survey_id, questions, cases",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await
    .unwrap()
}

fn customer_response(id: &str, at: &str, survey: &str, answers: Vec<Answer>) -> SurveyResponse {
    SurveyResponse {
        id: id.into(),
        role: RespondentRole::Customer as i32,
        respondent_id: "cust-0".into(),
        survey_id: survey.into(),
        submitted_at: Some(crate::helpers::ts(at)),
        answers,
        ..Default::default()
    }
}

#[sqlx::test]
async fn folding_leaves_one_row_per_key_and_drops_zeroes(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let tenant = app.tenant;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let key = |q: &[&str]| q.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // Two responses of one key (speed and ease, listed in byte order
    // whatever the answers' order), one of another, one STAFF (no case).
    app.submit_responses(vec![
        customer_response(
            "a",
            "2026-03-02T08:00:00Z",
            "w1",
            vec![rating("speed", 4), rating("ease", 7)],
        ),
        customer_response(
            "b",
            "2026-03-02T20:00:00Z",
            "w1",
            vec![rating("ease", 2), rating("speed", 1)],
        ),
        customer_response(
            "c",
            "2026-03-02T09:00:00Z",
            "w1",
            vec![rating("likelihood_to_recommend", 0)],
        ),
        SurveyResponse {
            role: RespondentRole::Staff as i32,
            respondent_id: String::new(),
            ..customer_response("s", "2026-03-02T09:00:00Z", "w1", vec![rating("speed", 5)])
        },
    ])
    .await
    .unwrap();
    // Change `a`: ease 7 -> 5 (a −1 and a +1 delta of the same key).
    app.submit_responses(vec![customer_response(
        "a",
        "2026-03-02T08:00:00Z",
        "w1",
        vec![rating("speed", 4), rating("ease", 5)],
    )])
    .await
    .unwrap();
    let pending = case_rows(&pool, tenant).await;
    assert_eq!(pending.len(), 4, "{pending:?}");
    assert!(pending.iter().all(|r| !r.0));

    rollup::compact(&pool, tenant).await.unwrap();
    // Shifts: ease and speed by 1, likelihood_to_recommend by 0. Key
    // (ease, speed): a = (4, 3), b = (1, 0); products (ease², ease·speed,
    // speed²) = (16 + 1, 12 + 0, 9 + 0).
    assert_eq!(
        case_rows(&pool, tenant).await,
        vec![
            (
                true,
                day,
                Some("w1".into()),
                key(&["ease", "speed"]),
                2,
                Some(vec![5, 3]),
                Some(vec![17, 12, 9]),
            ),
            (
                true,
                day,
                Some("w1".into()),
                key(&["likelihood_to_recommend"]),
                1,
                Some(vec![0]),
                Some(vec![0]),
            ),
        ]
    );

    // Erase the customer: every key goes to zero and, folded, away.
    app.customers()
        .delete_customer_data(DeleteCustomerDataRequest {
            customer_id: "cust-0".into(),
        })
        .await
        .unwrap();
    let erased = case_rows(&pool, tenant).await;
    assert_eq!(erased.len(), 4, "two folded rows and their −1 deltas");
    assert!(rollup::compact(&pool, tenant).await.unwrap() >= 4);
    assert_eq!(
        case_rows(&pool, tenant).await,
        vec![],
        "zero keys leave no row"
    );
    assert_eq!(rollup::compact(&pool, tenant).await.unwrap(), 0);
}

#[sqlx::test]
async fn a_wide_response_sends_the_read_to_the_raw_answers(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let tenant = app.tenant;
    add_custom_questions(&app, &app.key).await;
    let narrow = Resp {
        id: 1,
        role: 2,
        customer: 1,
        minute: 24 * 60 + 600,
        survey: 0,
        scores: [Some(3), Some(8), Some(4), Some(2), Some(90)],
        extras: false,
        wide: false,
    };
    let wide = Resp {
        id: 2,
        customer: 0,
        scores: [Some(1), None, Some(6), None, Some(7)],
        wide: true,
        ..narrow.clone()
    };
    assert!(
        wide.to_proto().answers.len() > case_rollup::MAX_CASE_WIDTH,
        "the wide response is wide"
    );
    app.submit_responses(vec![narrow.to_proto(), wide.to_proto()])
        .await
        .unwrap();
    rollup::compact(&pool, tenant).await.unwrap();
    let rows = case_rows(&pool, tenant).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let wide_row = rows.iter().find(|r| r.5.is_none()).expect("a wide row");
    assert_eq!((wide_row.3.len(), wide_row.4, &wide_row.6), (18, 1, &None));

    let (outcome, drivers) = variables(&[2, 4, 0]);
    let whole_days = Scope::default();
    let raw = drivers_store::raw_complete_case_sums(&pool, tenant, &whole_days, outcome, &drivers)
        .await
        .unwrap();
    assert_eq!(raw.cases, 2);
    assert_eq!(
        drivers_store::rollup_complete_case_sums(&pool, tenant, &whole_days, outcome, &drivers)
            .await
            .unwrap(),
        None,
        "the wide row matches: the rollup declines"
    );
    assert_eq!(
        drivers_store::complete_case_sums(&pool, tenant, &whole_days, outcome, &drivers)
            .await
            .unwrap(),
        raw
    );
    // Whole days without the wide row: the rollup answers (here, no case).
    let before = Scope {
        window: Window {
            start: None,
            end: Some(base() + Duration::days(1)),
        },
        ..Scope::default()
    };
    assert_eq!(
        drivers_store::rollup_complete_case_sums(&pool, tenant, &before, outcome, &drivers)
            .await
            .unwrap(),
        Some(CompleteCaseSums {
            cases: 0,
            sums: vec![0; 3],
            products: vec![0; 9],
        }),
    );
    // More variables than a row with sums can hold: declined at once.
    let many: Vec<Variable<'_>> = QUESTIONS
        .iter()
        .map(|q| q.0)
        .chain(WIDE_EXTRA.iter().copied())
        .take(case_rollup::MAX_CASE_WIDTH + 1)
        .map(|question| Variable {
            question,
            scale_min: 0,
        })
        .collect();
    let (outcome_many, drivers_many) = many.split_last().unwrap();
    assert_eq!(
        drivers_store::rollup_complete_case_sums(
            &pool,
            tenant,
            &whole_days,
            *outcome_many,
            drivers_many
        )
        .await
        .unwrap(),
        None
    );

    // Erase the wide response's customer and fold: the rollup answers
    // again, and agrees.
    app.customers()
        .delete_customer_data(DeleteCustomerDataRequest {
            customer_id: CUSTOMERS[0].into(),
        })
        .await
        .unwrap();
    rollup::compact(&pool, tenant).await.unwrap();
    let raw = drivers_store::raw_complete_case_sums(&pool, tenant, &whole_days, outcome, &drivers)
        .await
        .unwrap();
    assert_eq!(raw.cases, 1);
    assert_eq!(
        drivers_store::rollup_complete_case_sums(&pool, tenant, &whole_days, outcome, &drivers)
            .await
            .unwrap(),
        Some(raw)
    );
}
