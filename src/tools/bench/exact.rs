//! The judge's exactness checks: the service's perception-gap counts
//! (respondents, and favorable where not suppressed, per question and role,
//! and per group) against a naive SQL aggregate over the raw answer rows,
//! for the plain whole window, a label filter, a `group_by` label and an
//! unaligned window (neither end on a UTC midnight, so the rollup's whole
//! days and the raw edge days are both read). Each level is checked twice:
//! with the rollup's pending deltas not yet folded, and after the fold.
//! The effort report (`GetEffortIndex`, whose channel table and CES come
//! from the `effort_daily` and `gap_daily` rollups without a label
//! filter) is checked the same way, for the whole and the unaligned
//! window: journeys, customers, per-channel touchpoints, unresolved and
//! wait, and the CES answers and their score sum, against naive SQL.
//! The key drivers' complete cases (`GetKeyDrivers` `cases`, from the
//! `case_daily` rollup without a label filter) are checked for the whole
//! and the unaligned window against a naive count of the CUSTOMER
//! responses that answered the outcome and every driver.
//! Any mismatch makes `gapscore-bench` exit non-zero.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use super::{data, queries::span_filter};
use crate::{
    client::Clients,
    domain::TenantId,
    grpc::convert::utc_to_timestamp,
    proto::v1::{
        GetEffortIndexRequest, GetKeyDriversRequest, GetPerceptionGapRequest, PerceptionGapReport,
        ScoreFilter,
    },
};

/// One check.
#[derive(Debug, Clone)]
pub struct ExactCheck {
    pub answers: u64,
    /// "before fold" or "after fold".
    pub state: &'static str,
    pub case: &'static str,
    /// Pending (unfolded) rollup rows of the tenant when checked.
    pub pending_rollup_rows: i64,
    /// (group, question, role) cells compared.
    pub cells: usize,
    /// Cells whose favorable count the service suppressed (respondents
    /// still compared).
    pub suppressed: usize,
    pub matches: bool,
    /// The first differences, when it does not match.
    pub detail: String,
}

/// (group value or "", question, role) -> (respondents, favorable).
type Cells = BTreeMap<(String, String, i16), (i64, Option<i64>)>;

struct Case {
    name: &'static str,
    label: Option<(&'static str, &'static str)>,
    group_by: Option<&'static str>,
    window: (DateTime<Utc>, DateTime<Utc>),
}

/// A window whose ends fall inside days: 100 days and 7:13:29 after the
/// span's start to 50 days and 3:17:41 before its end.
pub fn unaligned_window() -> (DateTime<Utc>, DateTime<Utc>) {
    (
        data::span_start() + Duration::days(100) + Duration::seconds(7 * 3600 + 13 * 60 + 29),
        data::span_end() - Duration::days(50) - Duration::seconds(3 * 3600 + 17 * 60 + 41),
    )
}

fn cases() -> [Case; 4] {
    let whole = (data::span_start(), data::span_end());
    [
        Case {
            name: "plain",
            label: None,
            group_by: None,
            window: whole,
        },
        Case {
            name: "label region=emea",
            label: Some(("region", "emea")),
            group_by: None,
            window: whole,
        },
        Case {
            name: "group_by region",
            label: None,
            group_by: Some("region"),
            window: whole,
        },
        Case {
            name: "unaligned window",
            label: None,
            group_by: None,
            window: unaligned_window(),
        },
    ]
}

/// The naive side: one aggregate over the raw answers joined to their
/// responses (for labels) and questions (for the favorable threshold).
async fn naive(pool: &PgPool, tenant: TenantId, case: &Case) -> anyhow::Result<Cells> {
    let label = case.label.map(|(k, v)| serde_json::json!({ k: v }));
    let rows: Vec<(String, String, i16, i64, i64)> = sqlx::query_as(
        "SELECT coalesce(r.labels ->> $4, ''), a.question AS bench_naive_question, a.role,
                count(*), count(*) FILTER (WHERE a.score >= q.favorable_min)
         FROM answers a
         JOIN questions q ON q.tenant_id = a.tenant_id AND q.key = a.question
         JOIN survey_responses r ON r.tenant_id = a.tenant_id AND r.rid = a.rid
         WHERE a.tenant_id = $1 AND a.submitted_at >= $2 AND a.submitted_at < $3
           AND a.score IS NOT NULL
           AND ($5::jsonb IS NULL OR r.labels @> $5)
           AND ($4::text IS NULL OR r.labels ? $4)
         GROUP BY 1, 2, 3",
    )
    .bind(tenant.0)
    .bind(case.window.0)
    .bind(case.window.1)
    .bind(case.group_by)
    .bind(label)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(g, q, r, n, f)| ((g, q, r), (n, Some(f))))
        .collect())
}

fn cells_of(out: &mut Cells, group: &str, report: &PerceptionGapReport) {
    for q in &report.questions {
        for r in &q.roles {
            if r.respondents > 0 {
                out.insert(
                    (group.to_owned(), q.question.clone(), r.role as i16),
                    (r.respondents, (!r.suppressed).then_some(r.favorable)),
                );
            }
        }
    }
}

async fn service(clients: &Clients, case: &Case) -> anyhow::Result<Cells> {
    let filter = ScoreFilter {
        start_time: Some(utc_to_timestamp(case.window.0)),
        end_time: Some(utc_to_timestamp(case.window.1)),
        ..span_filter(case.label.as_slice())
    };
    let response = clients
        .scoring()
        .get_perception_gap(GetPerceptionGapRequest {
            filter: Some(filter),
            group_by: case.group_by.unwrap_or_default().to_owned(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let mut out = Cells::new();
    match case.group_by {
        None => {
            if let Some(o) = &response.overall {
                cells_of(&mut out, "", o);
            }
        }
        Some(_) => {
            for g in &response.groups {
                if let Some(report) = &g.report {
                    cells_of(&mut out, &g.label_value, report);
                }
            }
        }
    }
    Ok(out)
}

/// Compares the cells: the same keys, the same respondents, the same
/// favorable counts where the service shows them.
fn compare(service: &Cells, naive: &Cells) -> (usize, bool, String) {
    let mut diffs = Vec::new();
    let mut suppressed = 0;
    for key in service.keys().chain(naive.keys()) {
        let (s, n) = (service.get(key), naive.get(key));
        let same = match (s, n) {
            (Some((sr, None)), Some((nr, _))) => {
                suppressed += 1;
                sr == nr
            }
            (Some((sr, sf)), Some((nr, nf))) => sr == nr && sf == nf,
            _ => false,
        };
        if !same && diffs.len() < 5 {
            diffs.push(format!("{key:?}: service {s:?}, naive {n:?}"));
        }
    }
    // Every key was visited twice when present on both sides.
    (suppressed / 2, diffs.is_empty(), diffs.join("; "))
}

/// The effort report's exact figures as cells, group "effort":
/// ("journeys", 0) → (journeys, customers), ("channel", c) → (touchpoints,
/// unresolved), ("wait", c) → (Σ wait seconds, touchpoints), ("ease", 0) →
/// (answers, Σ scores). The service's shares and means are turned back
/// into counts by multiplying (exact for these magnitudes once rounded).
async fn effort_service(
    clients: &Clients,
    window: (DateTime<Utc>, DateTime<Utc>),
) -> anyhow::Result<Cells> {
    let filter = ScoreFilter {
        start_time: Some(utc_to_timestamp(window.0)),
        end_time: Some(utc_to_timestamp(window.1)),
        ..span_filter(&[])
    };
    let r = clients
        .scoring()
        .get_effort_index(GetEffortIndexRequest {
            filter: Some(filter),
            confidence_level: None,
        })
        .await?
        .into_inner();
    let mut out = Cells::new();
    let cell = |what: &str, n: i32| ("effort".to_owned(), what.to_owned(), n as i16);
    if let Some(s) = &r.summary {
        out.insert(cell("journeys", 0), (s.journeys, Some(s.customers)));
    }
    for c in &r.by_channel {
        let n = c.touchpoints;
        let unresolved = (c.unresolved_share * n as f64).round() as i64;
        let wait = (c.mean_wait_seconds * n as f64).round() as i64;
        out.insert(cell("channel", c.channel), (n, Some(unresolved)));
        out.insert(cell("wait", c.channel), (wait, Some(n)));
    }
    if let Some(e) = r.survey_effort.filter(|e| e.responses > 0) {
        let sum = (e.mean * e.responses as f64).round() as i64;
        out.insert(cell("ease", 0), (e.responses, Some(sum)));
    }
    Ok(out)
}

/// The naive side of [`effort_service`]: the journeys, the join to their
/// customer touchpoints, and the customers' `ease` answers, raw.
async fn effort_naive(
    pool: &PgPool,
    tenant: TenantId,
    window: (DateTime<Utc>, DateTime<Utc>),
) -> anyhow::Result<Cells> {
    let mut out = Cells::new();
    let cell = |what: &str, n: i16| ("effort".to_owned(), what.to_owned(), n);
    // Every naive statement carries the alias `bench_naive_question`, by
    // which the standby's statement count leaves the judge's reads out.
    let (journeys, customers): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT customer_id) AS bench_naive_question FROM journeys
         WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3",
    )
    .bind(tenant.0)
    .bind(window.0)
    .bind(window.1)
    .fetch_one(pool)
    .await?;
    out.insert(cell("journeys", 0), (journeys, Some(customers)));
    let channels: Vec<(i16, i64, i64, i64)> = sqlx::query_as(
        "SELECT t.channel AS bench_naive_question, count(*),
                count(*) FILTER (WHERE t.outcome <> 1), sum(t.wait_seconds)::bigint
         FROM journeys j JOIN touchpoints t ON t.tenant_id = j.tenant_id AND t.jid = j.jid
         WHERE j.tenant_id = $1 AND j.started_at >= $2 AND j.started_at < $3
           AND t.initiator = 1
         GROUP BY 1",
    )
    .bind(tenant.0)
    .bind(window.0)
    .bind(window.1)
    .fetch_all(pool)
    .await?;
    for (c, n, unresolved, wait) in channels {
        out.insert(cell("channel", c), (n, Some(unresolved)));
        out.insert(cell("wait", c), (wait, Some(n)));
    }
    let (n, sum): (i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(sum(a.score), 0)::bigint AS bench_naive_question FROM answers a
         JOIN survey_responses r ON r.tenant_id = a.tenant_id AND r.rid = a.rid
         WHERE a.tenant_id = $1 AND r.submitted_at >= $2 AND r.submitted_at < $3
           AND a.question = 'ease' AND r.role = 3 AND a.score IS NOT NULL",
    )
    .bind(tenant.0)
    .bind(window.0)
    .bind(window.1)
    .fetch_one(pool)
    .await?;
    if n > 0 {
        out.insert(cell("ease", 0), (n, Some(sum)));
    }
    Ok(out)
}

/// The key-driver model the judge checks: the benchmark's customer
/// questions, NPS explained by the other five.
const DRIVER_OUTCOME: &str = "likelihood_to_recommend";
const DRIVERS: [&str; 5] = [
    "overall_experience",
    "customer_centricity",
    "speed",
    "convenience",
    "ease",
];

/// The key drivers' complete cases as one cell, group "drivers":
/// ("cases", 0) → (cases, 0).
async fn drivers_service(
    clients: &Clients,
    window: (DateTime<Utc>, DateTime<Utc>),
) -> anyhow::Result<Cells> {
    let filter = ScoreFilter {
        start_time: Some(utc_to_timestamp(window.0)),
        end_time: Some(utc_to_timestamp(window.1)),
        ..span_filter(&[])
    };
    let reply = clients
        .scoring()
        .get_key_drivers(GetKeyDriversRequest {
            filter: Some(filter),
            outcome_question: DRIVER_OUTCOME.to_owned(),
            driver_questions: DRIVERS.iter().map(|d| (*d).to_owned()).collect(),
            bootstrap_samples: Some(1),
            ..Default::default()
        })
        .await;
    let cases = match reply {
        Ok(r) => r.into_inner().cases,
        // Too few cases for a model (a small level): the refusal states
        // the count it found, "N complete cases (…)".
        Err(status) if status.code() == tonic::Code::FailedPrecondition => status
            .message()
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("GetKeyDrivers refused: {status:?}"))?,
        Err(status) => return Err(status.into()),
    };
    let cell = ("drivers".to_owned(), "cases".to_owned(), 0);
    Ok(Cells::from([(cell, (cases, Some(0)))]))
}

/// The naive side of [`drivers_service`]: the CUSTOMER responses in the
/// window with a scored answer to the outcome and to every driver, counted
/// from the raw rows.
async fn drivers_naive(
    pool: &PgPool,
    tenant: TenantId,
    window: (DateTime<Utc>, DateTime<Utc>),
) -> anyhow::Result<Cells> {
    let questions: Vec<&str> = DRIVERS.iter().copied().chain([DRIVER_OUTCOME]).collect();
    let cases: i64 = sqlx::query_scalar(
        "SELECT count(*) AS bench_naive_question FROM (
           SELECT r.rid FROM survey_responses r
           JOIN answers a ON a.tenant_id = r.tenant_id AND a.rid = r.rid
           WHERE r.tenant_id = $1 AND r.submitted_at >= $2 AND r.submitted_at < $3
             AND r.role = 3 AND a.score IS NOT NULL AND a.question = ANY($4)
           GROUP BY r.rid HAVING count(DISTINCT a.question) = cardinality($4::text[])
         ) c",
    )
    .bind(tenant.0)
    .bind(window.0)
    .bind(window.1)
    .bind(&questions)
    .fetch_one(pool)
    .await?;
    let cell = ("drivers".to_owned(), "cases".to_owned(), 0);
    Ok(Cells::from([(cell, (cases, Some(0)))]))
}

async fn pending(pool: &PgPool, tenant: TenantId) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM gap_daily WHERE tenant_id = $1 AND NOT compacted)
                  + (SELECT count(*) FROM effort_daily WHERE tenant_id = $1 AND NOT compacted)
                  + (SELECT count(*) FROM case_daily WHERE tenant_id = $1 AND NOT compacted)",
    )
    .bind(tenant.0)
    .fetch_one(pool)
    .await?)
}

/// Every case at one level in one rollup state.
pub(super) async fn check(
    pool: &PgPool,
    tenant: TenantId,
    clients: &Clients,
    answers: u64,
    state: &'static str,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Vec<ExactCheck>> {
    let pending_rollup_rows = pending(pool, tenant).await?;
    let mut out = Vec::new();
    for case in cases() {
        let s = service(clients, &case).await?;
        let n = naive(pool, tenant, &case).await?;
        let (suppressed, matches, detail) = compare(&s, &n);
        if !matches {
            log(&format!(
                "MISMATCH at {answers} answers, {state}, {}: {detail}",
                case.name
            ));
        }
        out.push(ExactCheck {
            answers,
            state,
            case: case.name,
            pending_rollup_rows,
            cells: n.len().max(s.len()),
            suppressed,
            matches,
            detail,
        });
    }
    let whole = (data::span_start(), data::span_end());
    for (name, window) in [
        ("effort plain", whole),
        ("effort unaligned window", unaligned_window()),
        ("drivers plain", whole),
        ("drivers unaligned window", unaligned_window()),
    ] {
        let (s, n) = if name.starts_with("drivers") {
            (
                drivers_service(clients, window).await?,
                drivers_naive(pool, tenant, window).await?,
            )
        } else {
            (
                effort_service(clients, window).await?,
                effort_naive(pool, tenant, window).await?,
            )
        };
        let (_, matches, detail) = compare(&s, &n);
        if !matches {
            log(&format!(
                "MISMATCH at {answers} answers, {state}, {name}: {detail}"
            ));
        }
        out.push(ExactCheck {
            answers,
            state,
            case: name,
            pending_rollup_rows,
            cells: n.len().max(s.len()),
            suppressed: 0,
            matches,
            detail,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(v: &[(&str, i64, Option<i64>)]) -> Cells {
        v.iter()
            .map(|(q, n, f)| ((String::new(), (*q).to_owned(), 1), (*n, *f)))
            .collect()
    }

    #[test]
    fn compare_finds_every_kind_of_difference_and_tolerates_only_suppression() {
        let naive = cells(&[("a", 10, Some(4)), ("b", 3, Some(1))]);
        // Equal, with b's favorable suppressed by the service.
        let ok = cells(&[("a", 10, Some(4)), ("b", 3, None)]);
        assert_eq!(compare(&ok, &naive).0, 1);
        assert!(compare(&ok, &naive).1);
        // A favorable count off by one, a respondent count off by one, a
        // missing cell and an extra cell each fail.
        for bad in [
            cells(&[("a", 10, Some(5)), ("b", 3, Some(1))]),
            cells(&[("a", 11, Some(4)), ("b", 3, Some(1))]),
            cells(&[("a", 10, Some(4))]),
            cells(&[("a", 10, Some(4)), ("b", 3, Some(1)), ("c", 1, Some(1))]),
            cells(&[("a", 10, None), ("b", 2, None)]),
        ] {
            assert!(!compare(&bad, &naive).1, "{bad:?}");
        }
    }

    #[test]
    fn the_unaligned_window_ends_inside_days() {
        let (start, end) = unaligned_window();
        assert_ne!(start.time(), chrono::NaiveTime::MIN);
        assert_ne!(end.time(), chrono::NaiveTime::MIN);
        assert!(start > data::span_start() && end < data::span_end() && start < end);
    }
}
