//! Phase 3: scoring latency at each level, every query over the whole
//! two-year window, against the naive baseline (a plain SQL aggregate over
//! the raw answer rows); and whether the service's perception-gap counts
//! equal the baseline's. The reads of SPEC §16 (expectation gap,
//! competitive gap, priority map) are measured like the others.
//!
//! A read that fails is reported with its error instead of ending the run,
//! so one read that is not available (or broken) leaves the others'
//! figures standing.

use std::{collections::BTreeMap, time::Instant};

use sqlx::PgPool;

use super::{
    Config, data, percentile_ms,
    route::{self, Route},
};
use crate::{
    client::Clients,
    grpc::convert::utc_to_timestamp,
    proto::v1::{
        GetChangeRequest, GetCompetitiveGapRequest, GetEffortIndexRequest,
        GetExpectationGapRequest, GetKeyDriversRequest, GetLoyaltyRiskRequest,
        GetPerceptionGapRequest, GetPriorityMapRequest, GetScorecardRequest, GetTrendRequest,
        ListAtRiskCustomersRequest, RespondentRole, ScoreFilter, TrendBucket, TrendMetric,
    },
};

/// One scoring query at one level.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    pub query: String,
    pub answers: u64,
    pub calls: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// Where the set's service reads were asked to run.
    pub route: Route,
    /// Why the query could not be measured (its latencies are then NaN):
    /// the gRPC code and message, or the error.
    pub error: Option<String>,
}

/// A failed call as the report shows it.
fn describe(e: &anyhow::Error) -> String {
    match e.downcast_ref::<tonic::Status>() {
        Some(status) => format!("{:?}: {}", status.code(), status.message()),
        None => format!("{e:#}"),
    }
}

pub(super) fn span_filter(labels: &[(&str, &str)]) -> ScoreFilter {
    ScoreFilter {
        start_time: Some(utc_to_timestamp(data::span_start())),
        end_time: Some(utc_to_timestamp(data::span_end())),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        survey_id: String::new(),
        intent: String::new(),
    }
}

/// (question, role) -> (respondents, favorable when not suppressed).
type GapCounts = BTreeMap<(String, i16), (i64, Option<i64>)>;

/// The naive baseline: perception-gap counts by a plain aggregate over the
/// raw answer rows of the window. `answers` holds the EXPERIENCE answers
/// only, which are what the perception gap scores; the answers in other
/// frames are in `framed_answers` and part of neither side.
pub async fn naive_gap_counts(
    pool: &PgPool,
    tenant: crate::domain::TenantId,
) -> anyhow::Result<GapCounts> {
    let rows: Vec<(String, i16, i64, i64)> = sqlx::query_as(
        // The alias marks the statement, so the standby's statement counts
        // can tell it from the service's reads.
        "SELECT a.question AS bench_naive_question, a.role, count(*),
                count(*) FILTER (WHERE a.score >= q.favorable_min)
         FROM answers a JOIN questions q ON q.tenant_id = a.tenant_id AND q.key = a.question
         WHERE a.tenant_id = $1 AND a.submitted_at >= $2 AND a.submitted_at < $3
           AND a.score IS NOT NULL
         GROUP BY a.question, a.role",
    )
    .bind(tenant.0)
    .bind(data::span_start())
    .bind(data::span_end())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(q, r, n, f)| ((q, r), (n, Some(f))))
        .collect())
}

/// Times `call` after two warm-up calls: at least `min_reps` calls, then
/// until `max_reps` or the budget is spent.
async fn time_query<F, Fut>(cfg: &Config, mut call: F) -> anyhow::Result<(usize, f64, f64)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    for _ in 0..2 {
        call().await?;
    }
    let started = Instant::now();
    let mut lat = Vec::new();
    while lat.len() < cfg.min_reps
        || (lat.len() < cfg.max_reps && started.elapsed() < cfg.query_budget)
    {
        let t = Instant::now();
        call().await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    Ok((
        lat.len(),
        percentile_ms(&lat, 50.0),
        percentile_ms(&lat, 95.0),
    ))
}

/// The name of the naive baseline's row.
pub const NAIVE: &str = "naive SQL gap counts";

/// Service calls a set made (warm-ups included): each is at least one
/// statement where it ran.
pub fn service_calls(results: &[QueryResult]) -> usize {
    results
        .iter()
        .filter(|r| r.query != NAIVE && r.error.is_none())
        .map(|r| r.calls + 2)
        .sum()
}

/// Every scoring query at one level, the service's reads asked to run
/// where `route` says and the naive baseline on `naive_pool`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn scoring_phase(
    cfg: &Config,
    naive_pool: &PgPool,
    tenant: crate::domain::TenantId,
    clients: &Clients,
    route: Route,
    answers: u64,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Vec<QueryResult>> {
    let pool = naive_pool;
    let scoring = || route::scoring(clients, route);
    let mut out = Vec::new();
    let gap = |labels: &[(&str, &str)], group_by: &str| GetPerceptionGapRequest {
        filter: Some(span_filter(labels)),
        questions: vec![],
        confidence_level: None,
        group_by: group_by.to_owned(),
    };
    macro_rules! measure {
        ($name:expr, $body:expr) => {{
            let timed = time_query(cfg, || async {
                $body;
                anyhow::Ok(())
            })
            .await;
            let result = match timed {
                Ok((calls, p50, p95)) => {
                    log(&format!(
                        "{answers} answers ({}): {} p50 {p50:.1} ms p95 {p95:.1} ms ({calls} calls)",
                        route.name(),
                        $name
                    ));
                    QueryResult {
                        query: $name.to_owned(),
                        answers,
                        calls,
                        p50_ms: p50,
                        p95_ms: p95,
                        route,
                        error: None,
                    }
                }
                Err(e) => {
                    let error = describe(&e);
                    log(&format!("{answers} answers: {} FAILED: {error}", $name));
                    QueryResult {
                        query: $name.to_owned(),
                        answers,
                        calls: 0,
                        p50_ms: f64::NAN,
                        p95_ms: f64::NAN,
                        route,
                        error: Some(error),
                    }
                }
            };
            out.push(result);
        }};
    }
    measure!("GetScorecard", {
        scoring()
            .get_scorecard(GetScorecardRequest {
                filter: Some(span_filter(&[])),
            })
            .await?;
    });
    measure!("GetPerceptionGap", {
        scoring().get_perception_gap(gap(&[], "")).await?;
    });
    measure!("GetPerceptionGap labels", {
        scoring()
            .get_perception_gap(gap(&[("region", "emea")], ""))
            .await?;
    });
    measure!("GetPerceptionGap group_by", {
        scoring().get_perception_gap(gap(&[], "region")).await?;
    });
    measure!(NAIVE, {
        naive_gap_counts(pool, tenant).await?;
    });
    measure!("GetEffortIndex", {
        scoring()
            .get_effort_index(GetEffortIndexRequest {
                filter: Some(span_filter(&[])),
                ..Default::default()
            })
            .await?;
    });
    measure!("GetLoyaltyRisk", {
        scoring()
            .get_loyalty_risk(GetLoyaltyRiskRequest {
                filter: Some(span_filter(&[])),
                ..Default::default()
            })
            .await?;
    });
    measure!("GetExpectationGap", {
        scoring()
            .get_expectation_gap(GetExpectationGapRequest {
                filter: Some(span_filter(&[])),
                ..Default::default()
            })
            .await?;
    });
    measure!("GetCompetitiveGap", {
        scoring()
            .get_competitive_gap(GetCompetitiveGapRequest {
                filter: Some(span_filter(&[])),
                ..Default::default()
            })
            .await?;
    });
    measure!("GetPriorityMap", {
        scoring()
            .get_priority_map(GetPriorityMapRequest {
                filter: Some(span_filter(&[])),
                ..Default::default()
            })
            .await?;
    });
    // SPEC §10.4 and §11: the second half of the span against the first,
    // and the key drivers of likelihood to recommend.
    let middle = data::span_start() + (data::span_end() - data::span_start()) / 2;
    measure!("GetChange", {
        scoring()
            .get_change(GetChangeRequest {
                metric: TrendMetric::FavorableShare as i32,
                question: "overall_experience".into(),
                role: RespondentRole::Customer as i32,
                filter: Some(ScoreFilter {
                    start_time: Some(utc_to_timestamp(middle)),
                    ..span_filter(&[])
                }),
                baseline_start_time: Some(utc_to_timestamp(data::span_start())),
                baseline_end_time: Some(utc_to_timestamp(middle)),
                ..Default::default()
            })
            .await?;
    });
    measure!("GetKeyDrivers", {
        scoring()
            .get_key_drivers(GetKeyDriversRequest {
                filter: Some(span_filter(&[])),
                ..Default::default()
            })
            .await?;
    });
    // A dashboard's year by week: the span's last 52 weeks.
    let year_ago = data::span_end() - chrono::Duration::weeks(52);
    measure!("GetTrend year by week", {
        scoring()
            .get_trend(GetTrendRequest {
                metric: TrendMetric::FavorableShare as i32,
                bucket: TrendBucket::Week as i32,
                question: "overall_experience".into(),
                role: RespondentRole::Customer as i32,
                filter: Some(ScoreFilter {
                    start_time: Some(utc_to_timestamp(year_ago)),
                    ..span_filter(&[])
                }),
                ..Default::default()
            })
            .await?;
    });
    let at_risk = |page_token: String| ListAtRiskCustomersRequest {
        filter: Some(span_filter(&[])),
        page_size: AT_RISK_PAGE,
        page_token,
        ..Default::default()
    };
    let customers = || route::customers(clients, route);
    measure!("ListAtRiskCustomers first page", {
        customers()
            .list_at_risk_customers(at_risk(String::new()))
            .await?;
    });
    // Follow the tokens, untimed, to the DEEP_PAGE-th page (or the last
    // one, when the list is shorter), then time that page.
    let deep = async {
        let (mut token, mut page) = (String::new(), 1);
        while page < DEEP_PAGE {
            let next = customers()
                .list_at_risk_customers(at_risk(token.clone()))
                .await?
                .into_inner()
                .next_page_token;
            if next.is_empty() {
                break;
            }
            (token, page) = (next, page + 1);
        }
        anyhow::Ok((token, page))
    }
    .await;
    match deep {
        Ok((token, page)) => {
            log(&format!(
                "{answers} answers: ListAtRiskCustomers deep page is page {page}"
            ));
            measure!("ListAtRiskCustomers deep page", {
                customers()
                    .list_at_risk_customers(at_risk(token.clone()))
                    .await?;
            });
        }
        Err(e) => out.push(QueryResult {
            query: "ListAtRiskCustomers deep page".to_owned(),
            answers,
            p50_ms: f64::NAN,
            p95_ms: f64::NAN,
            route,
            error: Some(describe(&e)),
            ..Default::default()
        }),
    }
    Ok(out)
}

/// Customers per ListAtRiskCustomers page (the API's default).
const AT_RISK_PAGE: i32 = 50;
/// The page "deep in the list" that is timed.
const DEEP_PAGE: usize = 50;
