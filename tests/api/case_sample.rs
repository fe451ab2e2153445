//! The bootstrap's case sample (`store::drivers::complete_cases`, SPEC
//! §11): the first `cap` complete cases in scope in the order of
//! `hashint8extended(rid, 0)`, whether walked from the index of migration
//! 0025 or sorted from the cases in scope, against the same order computed
//! here from the raw rows, for several scopes and caps, with another
//! tenant's cases in the same index.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use gapscore::{
    domain::{Scope, TenantId, Window},
    proto::v1::*,
    store::drivers::{Sample, Variable, complete_cases, walk_sample},
};
use sqlx::PgPool;

use crate::helpers::{label_map, rating, response, spawn_app};

const DRIVERS: [Variable<'static>; 2] = [
    Variable {
        question: "speed",
        scale_min: 1,
    },
    Variable {
        question: "convenience",
        scale_min: 1,
    },
];
const OUTCOME: Variable<'static> = Variable {
    question: "likelihood_to_recommend",
    scale_min: 0,
};

fn start() -> DateTime<Utc> {
    "2025-01-01T00:00:00Z".parse().unwrap()
}

/// `n` responses of a tenant: every sixth by STAFF, some without
/// `convenience` or the outcome, over 30 days, two surveys, two regions.
fn responses(prefix: &str, n: usize) -> Vec<SurveyResponse> {
    (0..n)
        .map(|i| {
            let role = if i % 6 == 0 {
                RespondentRole::Staff
            } else {
                RespondentRole::Customer
            };
            let at = start() + Duration::days((i % 30) as i64) + Duration::hours((i % 24) as i64);
            let mut answers = vec![rating("speed", 1 + (i % 5) as i32)];
            if i % 7 != 0 {
                answers.push(rating("convenience", 1 + (i * 3 % 5) as i32));
            }
            if i % 11 != 0 {
                answers.push(rating("likelihood_to_recommend", (i % 11) as i32));
            }
            let mut r = response(&format!("{prefix}-{i:03}"), role, &at.to_rfc3339(), answers);
            r.survey_id = if i % 2 == 0 { "w1" } else { "w2" }.into();
            r.labels = label_map(&[("region", if i % 3 == 0 { "emea" } else { "apac" })]);
            r
        })
        .collect()
}

/// One stored CUSTOMER response with its scored answers, as read raw.
struct Case {
    key: (i64, i64),
    at: DateTime<Utc>,
    survey: Option<String>,
    region: Option<String>,
    scores: BTreeMap<String, i32>,
}

async fn raw_cases(pool: &PgPool, tenant: TenantId) -> Vec<Case> {
    /// rid, its hash, time, survey, region, question, score.
    type Row = (
        i64,
        i64,
        DateTime<Utc>,
        Option<String>,
        Option<String>,
        String,
        i32,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.rid, hashint8extended(r.rid, 0), r.submitted_at, r.survey_id, \
               r.labels ->> 'region', a.question, a.score \
             FROM survey_responses r JOIN answers a ON a.tenant_id = r.tenant_id AND a.rid = r.rid \
             WHERE r.tenant_id = $1 AND r.role = 3 AND a.score IS NOT NULL",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await
    .unwrap();
    let mut cases: BTreeMap<i64, Case> = BTreeMap::new();
    for (rid, hash, at, survey, region, question, score) in rows {
        cases
            .entry(rid)
            .or_insert_with(|| Case {
                key: (hash, rid),
                at,
                survey,
                region,
                scores: BTreeMap::new(),
            })
            .scores
            .insert(question, score);
    }
    cases.into_values().collect()
}

/// The sample as SPEC §11's decision defines it, from the raw rows: the
/// complete cases in scope by (hash, rid), the first `cap`, each packed
/// drivers then outcome, shifted by the scale minimum.
fn expected(cases: &[Case], scope: &Scope, cap: usize) -> Vec<u8> {
    let variables: Vec<Variable<'_>> = DRIVERS.iter().copied().chain([OUTCOME]).collect();
    let mut kept: Vec<(&(i64, i64), Vec<u8>)> = cases
        .iter()
        .filter(|c| scope.window.start.is_none_or(|s| c.at >= s))
        .filter(|c| scope.window.end.is_none_or(|e| c.at < e))
        .filter(|c| {
            scope
                .survey_id
                .as_ref()
                .is_none_or(|s| c.survey.as_ref() == Some(s))
        })
        .filter(|c| {
            scope
                .labels
                .as_ref()
                .is_none_or(|l| c.region.as_deref() == l["region"].as_str())
        })
        .filter_map(|c| {
            let packed: Option<Vec<u8>> = variables
                .iter()
                .map(|v| c.scores.get(v.question).map(|s| (s - v.scale_min) as u8))
                .collect();
            packed.map(|p| (&c.key, p))
        })
        .collect();
    kept.sort_by_key(|(key, _)| **key);
    kept.into_iter().take(cap).flat_map(|(_, p)| p).collect()
}

fn scopes() -> Vec<(&'static str, Scope)> {
    let window = Window {
        start: Some(start() + Duration::days(5)),
        end: Some(start() + Duration::days(20) + Duration::hours(7)),
    };
    vec![
        ("whole", Scope::default()),
        (
            "window",
            Scope {
                window,
                ..Scope::default()
            },
        ),
        (
            "survey",
            Scope {
                survey_id: Some("w1".into()),
                ..Scope::default()
            },
        ),
        (
            "labels and window",
            Scope {
                window,
                labels: Some(serde_json::json!({"region": "emea"})),
                ..Scope::default()
            },
        ),
    ]
}

/// Every path gives the first `cap` complete cases in scope in sample
/// order: the sort (few cases counted), the walk (enough budget), and
/// the walk giving up (a budget below `cap`), which the default path then
/// completes by sorting.
#[sqlx::test]
async fn the_sample_is_the_first_cases_in_hash_order_walked_or_sorted(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.data().responses(responses("acme", 240)).await;
    let other = app.add_tenant("globex").await;
    app.data_as(&other).responses(responses("globex", 60)).await;
    let cases = raw_cases(&app.pool, app.tenant).await;
    let variables: Vec<Variable<'_>> = DRIVERS.iter().copied().chain([OUTCOME]).collect();
    let mut walked = 0;
    for (name, scope) in scopes() {
        let in_scope = expected(&cases, &scope, usize::MAX).len() / variables.len();
        assert!(in_scope >= 8, "{name}: {in_scope} cases");
        for cap in [1u32, 7, in_scope as u32, 1000] {
            let want = expected(&cases, &scope, cap as usize);
            let what = format!("{name}, cap {cap}");
            let sampled = |sample: Sample| {
                complete_cases(&app.pool, app.tenant, &scope, OUTCOME, &DRIVERS, sample)
            };
            let walk = |walk_budget| {
                let sample = Sample {
                    cap,
                    cases_in_scope: u64::MAX,
                    walk_budget,
                };
                walk_sample(&app.pool, app.tenant, &scope, &variables, sample)
            };
            let sorted = Sample {
                cap,
                cases_in_scope: 0,
                walk_budget: 0,
            };
            assert_eq!(sampled(sorted).await.unwrap(), want, "{what}: sorted");
            let by_default = Sample::of(cap, in_scope as u64);
            assert_eq!(sampled(by_default).await.unwrap(), want, "{what}: default");
            let full = walk(10_000).await.unwrap();
            if (cap as usize) <= in_scope {
                assert_eq!(full.as_ref(), Some(&want), "{what}: walked");
                walked += 1;
            } else {
                assert_eq!(full, None, "{what}: fewer cases than cap");
            }
            if cap > 1 {
                assert_eq!(
                    walk(cap - 1).await.unwrap(),
                    None,
                    "{what}: a budget below cap"
                );
            }
            let starved = Sample {
                cap,
                cases_in_scope: u64::MAX,
                walk_budget: cap.saturating_sub(1),
            };
            let starved = sampled(starved).await.unwrap();
            assert_eq!(starved, want, "{what}: walk gave up, sorted");
        }
    }
    assert_eq!(walked, 12, "every scope was walked at three caps");
}
