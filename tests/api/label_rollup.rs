//! The label-set level of the gap rollup (`label_sets`, `gap_label_rollup`,
//! migration 0017) stays exact: for random sequences of submits (re-sends
//! with changed labels, scores, times and surveys included), identical
//! re-sends, erasures, tenant clears and compactions through the real
//! server, label-filtered and grouped histograms read from the label-set
//! rollup (its month grain `gap_label_month`, migration 0022, included)
//! plus raw edge days equal those computed from the raw answer rows alone,
//! for aligned, unaligned, half-open, sub-day and month-spanning windows,
//! with and without `survey_id`; and past the label-set bound the raw path
//! answers.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use gapscore::proto::v1::*;
use proptest::prelude::*;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{
    histories::{self, Histories, Record},
    internals::{GapQuery, Scope, ScoreCount, TenantId, Window, gap, rollup},
    spawn_app,
};

const QUESTIONS: [(&str, i32, i32); 2] = [("overall_experience", 1, 5), ("ease", 1, 7)];
const SURVEYS: [Option<&str>; 2] = [None, Some("w1")];
const CUSTOMERS: [&str; 2] = ["cust-0", "cust-1"];
const REGIONS: [Option<&str>; 3] = [Some("emea"), Some("apac"), None];
const PLANS: [Option<&str>; 3] = [Some("pro"), Some("free"), None];

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
}

#[derive(Debug, Clone)]
struct Resp {
    id: u8,
    role: u8,
    customer: u8,
    /// Minutes after `base()` (moved by `shift`), over four days.
    minute: u32,
    /// Days added to `minute`: 0, or a month before or after (so the
    /// history spans three calendar months).
    shift: i64,
    survey: u8,
    region: u8,
    plan: u8,
    scores: [Option<u8>; 2],
}

type Op = histories::Op<Resp>;

fn resp() -> impl Strategy<Value = Resp> {
    (
        (0u8..10, 0u8..3, 0u8..2),
        (
            0u32..4 * 24 * 60,
            prop_oneof![4 => Just(0i64), 1 => Just(-25), 1 => Just(35)],
        ),
        0u8..2,
        0u8..3,
        0u8..3,
        prop::array::uniform2(prop::option::weighted(0.85, 0u8..7)),
    )
        .prop_map(
            |((id, role, customer), (minute, shift), survey, region, plan, scores)| Resp {
                id,
                role,
                customer,
                minute,
                shift,
                survey,
                region,
                plan,
                scores,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        7 => prop::collection::vec(resp(), 1..6).prop_map(Op::Submit),
        1 => (0u8..2).prop_map(Op::Erase),
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
        let mut answers: Vec<Answer> = QUESTIONS
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
        if answers.is_empty() {
            answers.push(Answer {
                question: "overall_experience".into(),
                score: Some(3),
                ..Default::default()
            });
        }
        let mut labels = BTreeMap::new();
        if let Some(region) = REGIONS[self.region as usize] {
            labels.insert("region".to_owned(), region.to_owned());
        }
        if let Some(plan) = PLANS[self.plan as usize] {
            labels.insert("plan".to_owned(), plan.to_owned());
        }
        let at = base() + Duration::days(self.shift) + Duration::minutes(i64::from(self.minute));
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
            labels,
            answers,
        }
    }
}

/// Open, aligned, unaligned, half-open and sub-day windows, and windows
/// holding whole months (aligned to them, or not).
fn windows() -> Vec<Window> {
    let b = base();
    let h = Duration::hours;
    let at =
        |m: u32, d: u32, hour: u32| Some(Utc.with_ymd_and_hms(2026, m, d, hour, 0, 0).unwrap());
    [
        (at(2, 1, 0), at(5, 1, 0)),
        (at(2, 4, 13), at(4, 7, 5)),
        (at(3, 1, 0), None),
        (None, at(4, 1, 0)),
        (at(2, 1, 0), at(3, 31, 0)),
        (None, None),
        (Some(b), Some(b + Duration::days(4))),
        (Some(b + h(7)), Some(b + h(77))),
        (Some(b + h(30)), None),
        (None, Some(b + h(50))),
        (Some(b + h(23)), Some(b + h(25))),
    ]
    .into_iter()
    .map(|(start, end)| Window { start, end })
    .collect()
}

/// Label filters: one label, another, both, the empty-set side of a
/// missing label, and a value no response has.
fn filters() -> Vec<Option<serde_json::Value>> {
    vec![
        None,
        Some(json!({"region": "emea"})),
        Some(json!({"plan": "pro"})),
        Some(json!({"region": "emea", "plan": "pro"})),
        Some(json!({"region": "nowhere"})),
    ]
}

fn sorted(mut rows: Vec<ScoreCount>) -> Vec<ScoreCount> {
    rows.sort_by(|a, b| {
        (&a.group_value, &a.question, a.role, a.score).cmp(&(
            &b.group_value,
            &b.question,
            b.role,
            b.score,
        ))
    });
    rows
}

/// Asserts label-set rollup + edges == raw answers for every window,
/// survey, label filter and `group_by`, and that a bound below the sets
/// in scope falls back to the raw path with the same result.
async fn assert_label_rollup_exact(pool: &PgPool, tenant: TenantId, context: &str) -> usize {
    let questions: Vec<String> = QUESTIONS.iter().map(|(q, _, _)| (*q).to_owned()).collect();
    let sets: i64 = sqlx::query_scalar("SELECT count(*) FROM label_sets WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_one(pool)
        .await
        .unwrap();
    let mut compared = 0;
    for window in windows() {
        for survey in SURVEYS {
            for labels in filters() {
                for group_by in [None, Some("region"), Some("plan"), Some("absent")] {
                    if labels.is_none() && group_by.is_none() {
                        continue; // gap_daily's path, see rollup.rs
                    }
                    let scope = Scope {
                        window,
                        labels: labels.clone(),
                        survey_id: survey.map(str::to_owned),
                        ..Scope::default()
                    };
                    let q = GapQuery {
                        scope: &scope,
                        questions: &questions,
                        group_by,
                    };
                    let at = format!(
                        "{context}: window {window:?}, survey {survey:?}, labels {labels:?}, \
                         group_by {group_by:?}"
                    );
                    let raw = sorted(gap::raw_histograms(pool, tenant, q).await.unwrap());
                    let fast = gap::label_rollup_histograms(pool, tenant, q, gap::MAX_LABEL_SETS)
                        .await
                        .unwrap()
                        .unwrap_or_else(|| panic!("{at}: {sets} sets fit the bound"));
                    assert_eq!(sorted(fast), raw, "{at}");
                    let served = gap::rating_histograms(pool, tenant, q).await.unwrap();
                    assert_eq!(sorted(served), raw, "{at}: rating_histograms");
                    // A bound of one set: the raw path answers whenever
                    // more than one set is in scope, and exactly.
                    let bounded = gap::label_rollup_histograms(pool, tenant, q, 1)
                        .await
                        .unwrap();
                    if labels.is_none() && sets > 1 {
                        assert!(bounded.is_none(), "{at}: {sets} sets exceed a bound of 1");
                    }
                    if let Some(rows) = bounded {
                        assert_eq!(sorted(rows), raw, "{at}: bound 1, within it");
                    }
                    let fallback = gap::rating_histograms_bounded(pool, tenant, q, 1)
                        .await
                        .unwrap();
                    assert_eq!(sorted(fallback), raw, "{at}: bound 1");
                    compared += raw.len();
                }
            }
        }
    }
    compared
}

#[sqlx::test]
async fn label_rollup_histograms_equal_the_raw_answers_under_random_histories(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let histories = Histories {
        cases: histories::cases("GAPSCORE_ROLLUP_CASES", 8),
        customers: &CUSTOMERS,
        other_every: 2,
    };
    let check =
        async |tenant, context: String| assert_label_rollup_exact(&pool, tenant, &context).await;
    histories
        .run(&app, prop::collection::vec(op(), 1..14), check)
        .await;
}

/// A re-send that moves a response to another label set moves its counts
/// (the old set's row goes negative until folded), and an erasure removes
/// them; sets are interned once per tenant, `{}` for no labels.
#[sqlx::test]
async fn a_changed_label_set_moves_the_counts_and_sets_are_interned_once(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let r = Resp {
        id: 1,
        role: 2,
        customer: 0,
        minute: 600,
        shift: 0,
        survey: 0,
        region: 0,
        plan: 2,
        scores: [Some(4), None],
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
    submit(r.clone()).await;
    submit(Resp {
        region: 1,
        ..r.clone()
    })
    .await;
    submit(Resp {
        id: 2,
        region: 2,
        ..r.clone()
    })
    .await;
    let sets: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT labels FROM label_sets WHERE tenant_id = $1 ORDER BY id")
            .bind(app.tenant.0)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        sets,
        [
            json!({"region": "emea"}),
            json!({"region": "apac"}),
            json!({})
        ]
    );
    let questions = vec!["overall_experience".to_owned()];
    let counts = |labels: serde_json::Value| {
        let pool = pool.clone();
        let questions = questions.clone();
        async move {
            let scope = Scope {
                labels: Some(labels),
                ..Scope::default()
            };
            let q = GapQuery {
                scope: &scope,
                questions: &questions,
                group_by: None,
            };
            let rows = gap::label_rollup_histograms(&pool, app.tenant, q, 10)
                .await
                .unwrap()
                .unwrap();
            rows.iter().map(|r| r.respondents).sum::<i64>()
        }
    };
    assert_eq!(counts(json!({"region": "emea"})).await, 0, "moved away");
    assert_eq!(counts(json!({"region": "apac"})).await, 1, "moved here");
    rollup::compact(&pool, app.tenant).await.unwrap();
    assert_eq!(counts(json!({"region": "apac"})).await, 1, "folded");
    let month_rows: Vec<(chrono::NaiveDate, i64)> = sqlx::query_as(
        "SELECT month, answers FROM gap_label_month WHERE tenant_id = $1 ORDER BY label_set",
    )
    .bind(app.tenant.0)
    .fetch_all(&pool)
    .await
    .unwrap();
    let march = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    // The moved-away set's month summed to zero and is gone; the other two
    // sets (apac, {}) hold one answer each.
    assert_eq!(
        month_rows,
        [(march, 1), (march, 1)],
        "the fold's month rows"
    );
    app.customers()
        .delete_customer_data(DeleteCustomerDataRequest {
            customer_id: "cust-0".into(),
        })
        .await
        .unwrap();
    assert_eq!(counts(json!({"region": "apac"})).await, 0, "erased");
    rollup::compact(&pool, app.tenant).await.unwrap();
    let left: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM gap_label_rollup WHERE tenant_id = $1),
                (SELECT count(*) FROM gap_label_month WHERE tenant_id = $1)",
    )
    .bind(app.tenant.0)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        left,
        (0, 0),
        "a zero sum leaves no daily row and no month row"
    );
}
