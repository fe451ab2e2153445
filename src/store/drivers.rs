//! Complete-case sums for key drivers (SPEC §11), computed in PostgreSQL.
//!
//! Johnson's relative weights need only the correlations of the drivers and
//! the outcome, and those follow from n, Σx_j and Σx_j·x_k over the
//! complete cases. One query returns exactly that, in one row: an inner
//! pass groups the CUSTOMER answers in scope by response into one column
//! per variable (`max(score) FILTER (WHERE question = …)`), keeping only
//! the responses that answered every variable; the outer aggregate is one
//! `sum` per variable and per pair (j ≤ k), collected in an array. No case
//! row reaches Rust.
//!
//! The pairs are explicit aggregates rather than a join of every case with
//! a `generate_series` of pairs: on 140,000 complete cases of 7 variables
//! the join made 5 million rows to aggregate (2.4 s), the explicit sums one
//! pass (0.5 s, most of it the scan). The work is still O(cases × m²): at
//! 101 variables, 5,151 sums per case (about 40 s on the same cases).
//!
//! Each score is shifted by its question's `scale_min` before it is summed,
//! so every value lies in 0..=100 (SPEC §4 caps a scale's span at 100) and
//! every sum of products is exact in `bigint` for any number of cases a
//! tenant can store: a custom scale may sit anywhere in `i32`, where raw
//! products would overflow. Correlations do not change under a shift.
//!
//! The conditions are the perception gap's (`store::gap`): the answers of
//! the variables' questions in the window, with `survey_responses` joined
//! only when labels or `survey_id` need it.
//!
//! That pass is linear in the answers in scope (1.3–2.2 s at 10M answers),
//! so without a label filter the window's whole UTC days are read from the
//! complete-case rollup (`case_daily`, `store::case_rollup`): per day,
//! survey and set of questions answered, the cases and their sums, a few
//! rows per day instead of every answer. The partial edge days still come
//! from the answers, in the same statement.

use sqlx::{PgPool, QueryBuilder};

use super::{
    StoreResult, case_rollup,
    gap::{GapQuery, push_scoped_answers},
    rollup,
};
use crate::domain::{Numbered, Scope, TenantId, enums::Role};

/// Most drivers one key-driver model takes (SPEC §11's bound, the one
/// `scoring::drivers` weighs): the query returns (m + 1)(m + 2)/2 sums for
/// m variables, about 5,300 at this bound.
pub use crate::scoring::drivers::MAX_DRIVERS;

/// A variable of the model: a RATING question and its scale's minimum
/// (the shift applied to its scores).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable<'a> {
    pub question: &'a str,
    pub scale_min: i32,
}

/// Sums over the complete cases of the variables `[drivers…, outcome]`,
/// each score shifted by its `scale_min`: the layout of
/// `scoring::drivers::CrossProducts` (outcome last, row-major products).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompleteCaseSums {
    /// Complete cases: CUSTOMER responses in scope that answered every
    /// variable (EXPERIENCE).
    pub cases: u64,
    /// Σ x_j per variable: the drivers in the order given, then the outcome.
    pub sums: Vec<i64>,
    /// Σ x_j·x_k, an m × m symmetric matrix in row-major order, same order.
    pub products: Vec<i64>,
}

impl CompleteCaseSums {
    /// Σ x_j·x_k.
    pub fn product(&self, j: usize, k: usize) -> i64 {
        self.products[j * self.sums.len() + k]
    }
}

/// The complete-case sums of `drivers` and `outcome` over CUSTOMER
/// responses in `scope` (EXPERIENCE answers). Every question must be a
/// RATING question, each at most once among drivers and outcome, with its
/// catalog `scale_min` (the shift the rollup applied), and
/// `drivers.len() ≤ MAX_DRIVERS` (checked: more is a caller's bug).
///
/// From the complete-case rollup ([`rollup_complete_case_sums`]) where it
/// answers the scope, else from every answer in scope
/// ([`raw_complete_case_sums`]). Both give the same sums: property tests
/// hold them equal.
pub async fn complete_case_sums(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    outcome: Variable<'_>,
    drivers: &[Variable<'_>],
) -> StoreResult<CompleteCaseSums> {
    match rollup_complete_case_sums(pool, tenant, scope, outcome, drivers).await? {
        Some(sums) => Ok(sums),
        None => raw_complete_case_sums(pool, tenant, scope, outcome, drivers).await,
    }
}

/// The variables `[drivers…, outcome]`, checked.
fn variables_of<'a>(outcome: Variable<'a>, drivers: &[Variable<'a>]) -> Vec<Variable<'a>> {
    assert!(
        drivers.len() <= MAX_DRIVERS,
        "at most {MAX_DRIVERS} drivers, got {}",
        drivers.len()
    );
    drivers.iter().copied().chain([outcome]).collect()
}

/// [`complete_case_sums`] from the answers alone: one pass over the
/// CUSTOMER answers of the variables in scope, grouped by response.
pub async fn raw_complete_case_sums(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    outcome: Variable<'_>,
    drivers: &[Variable<'_>],
) -> StoreResult<CompleteCaseSums> {
    let variables = variables_of(outcome, drivers);
    let m = variables.len();

    // Outer: count, then Σx_j for each j, then Σx_j·x_k for j ≤ k in
    // row-major order. Column names are x1..xm, from positions only.
    let mut qb = QueryBuilder::new("SELECT count(*) AS cases, ARRAY[");
    let mut separator = "";
    for j in 1..=m {
        qb.push(format_args!("{separator}sum(c.x{j})"));
        separator = ", ";
    }
    for j in 1..=m {
        for k in j..=m {
            qb.push(format_args!(", sum(c.x{j} * c.x{k})"));
        }
    }
    qb.push("]::bigint[] AS sums FROM ");
    push_cases(&mut qb, tenant, scope, &variables);
    let (cases, sums): (i64, Vec<Option<i64>>) = qb.build_query_as().fetch_one(pool).await?;
    Ok(unpack(m, cases, sums))
}

/// The sums of `m` variables from one row `(cases, [Σx_j…, Σx_j·x_k
/// (j ≤ k)…])`; without cases every sum is NULL, read as 0.
fn unpack(m: usize, cases: i64, sums: Vec<Option<i64>>) -> CompleteCaseSums {
    let mut values = sums.into_iter().map(|s| s.unwrap_or(0));
    let mut out = CompleteCaseSums {
        cases: u64::try_from(cases).unwrap_or(0),
        sums: values.by_ref().take(m).collect(),
        products: vec![0; m * m],
    };
    for j in 0..m {
        for k in j..m {
            let product = values.next().unwrap_or(0);
            out.products[j * m + k] = product;
            out.products[k * m + j] = product;
        }
    }
    out
}

/// [`complete_case_sums`] from the complete-case rollup (`case_daily`,
/// `store::case_rollup`) for the window's whole UTC days and the raw
/// answers of its partial edge days, summed in one statement (one
/// snapshot); `None` when the rollup cannot answer: a label filter (the
/// rollup keeps no labels), more variables than
/// [`case_rollup::MAX_CASE_WIDTH`] (no row with sums holds them all), or a
/// wide row among those the whole days match (kept without sums). The
/// caller then reads the raw answers.
///
/// A rollup row counts its responses when its question list contains every
/// variable; each variable is found at its position p in the list, its sum
/// at `sums[p]` and a pair's at the upper-triangle index of (min, max) of
/// their positions in `products`. Pending and folded rows count alike.
pub async fn rollup_complete_case_sums(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    outcome: Variable<'_>,
    drivers: &[Variable<'_>],
) -> StoreResult<Option<CompleteCaseSums>> {
    let variables = variables_of(outcome, drivers);
    let m = variables.len();
    if scope.labels.is_some() || m > case_rollup::MAX_CASE_WIDTH {
        return Ok(None);
    }
    let split = rollup::split_days(scope.window);
    let mut qb = QueryBuilder::new("SELECT coalesce(bool_or(parts.wide), false), ");
    qb.push("coalesce(sum(parts.n), 0)::bigint, ARRAY[");
    let mut separator = "";
    for j in 1..=m {
        qb.push(format_args!("{separator}sum(parts.s{j})"));
        separator = ", ";
    }
    for j in 1..=m {
        for k in j..=m {
            qb.push(format_args!(", sum(parts.p{j}_{k})"));
        }
    }
    qb.push("]::bigint[] FROM (");
    // `split` always has at least one part.
    let mut separator = "";
    if let Some((from, until)) = split.days {
        qb.push("SELECT c.sums IS NULL AS wide, c.cases AS n");
        for j in 1..=m {
            qb.push(format_args!(", c.sums[p.p{j}] AS s{j}"));
        }
        for j in 1..=m {
            for k in j..=m {
                // Row-major upper triangle of k questions, 1-based:
                // (a, b) with a ≤ b is at (a−1)(k+1) − (a−1)a/2 + (b−a+1).
                let (a, b) = (
                    format!("least(p.p{j}, p.p{k})"),
                    format!("greatest(p.p{j}, p.p{k})"),
                );
                qb.push(format_args!(
                    ", c.products[({a} - 1) * (p.k + 1) - ({a} - 1) * {a} / 2 + {b} - {a} + 1] \
                     AS p{j}_{k}"
                ));
            }
        }
        qb.push(" FROM case_daily c CROSS JOIN LATERAL (SELECT cardinality(c.questions) AS k");
        for (j, v) in variables.iter().enumerate() {
            qb.push(", array_position(c.questions, ")
                .push_bind(v.question.to_owned())
                .push(format_args!("::text) AS p{}", j + 1));
        }
        qb.push(") p WHERE c.tenant_id = ").push_bind(tenant.0);
        let keys: Vec<String> = variables.iter().map(|v| v.question.to_owned()).collect();
        qb.push(" AND c.questions @> ")
            .push_bind(keys)
            .push("::text[]");
        if let Some(from) = from {
            qb.push(" AND c.day >= ").push_bind(from);
        }
        if let Some(until) = until {
            qb.push(" AND c.day < ").push_bind(until);
        }
        if let Some(survey) = &scope.survey_id {
            qb.push(" AND c.survey_id = ").push_bind(survey.clone());
        }
        separator = " UNION ALL ";
    }
    for window in split.raw.iter().flatten() {
        qb.push(separator)
            .push("SELECT false AS wide, 1::bigint AS n");
        for j in 1..=m {
            qb.push(format_args!(", c.x{j}::bigint AS s{j}"));
        }
        for j in 1..=m {
            for k in j..=m {
                qb.push(format_args!(", (c.x{j} * c.x{k})::bigint AS p{j}_{k}"));
            }
        }
        qb.push(" FROM ");
        let edge = Scope {
            window: *window,
            ..scope.clone()
        };
        push_cases(&mut qb, tenant, &edge, &variables);
        separator = " UNION ALL ";
    }
    qb.push(") parts");
    // Every part has an index bounding it to this tenant's rows and days
    // (`case_daily_day`, `answers_question_scores`), but row estimates are
    // per table: a generic plan, which cannot tell this tenant from one
    // with most of the table's rows, could scan the whole table for the
    // rollup part, and JIT-compile its hundred sums. As for the label-set
    // rollup (`store::gap::label_rollup_histograms`), no sequential scan
    // is the right plan for this statement.
    let mut tx = pool.begin().await?;
    sqlx::raw_sql("SET LOCAL enable_seqscan = off; SET LOCAL jit = off")
        .execute(&mut *tx)
        .await?;
    let (wide, cases, sums): (bool, i64, Vec<Option<i64>>) =
        qb.build_query_as().fetch_one(&mut *tx).await?;
    tx.commit().await?;
    if wide {
        return Ok(None);
    }
    Ok(Some(unpack(m, cases, sums)))
}

/// Appends `(SELECT a.rid, x1, …, xm …) c`: one row per complete case,
/// column `xj` the score of variable j shifted by its `scale_min`.
fn push_cases(
    qb: &mut QueryBuilder<sqlx::Postgres>,
    tenant: TenantId,
    scope: &Scope,
    variables: &[Variable<'_>],
) {
    let keys: Vec<String> = variables.iter().map(|v| v.question.to_owned()).collect();
    debug_assert!(
        {
            let mut sorted = keys.clone();
            sorted.sort();
            sorted.windows(2).all(|w| w[0] != w[1])
        },
        "variables must be distinct: {keys:?}"
    );
    qb.push("(SELECT a.rid");
    for (j, v) in variables.iter().enumerate() {
        qb.push(", max(a.score - ")
            .push_bind(v.scale_min)
            .push(") FILTER (WHERE a.question = ")
            .push_bind(v.question.to_owned())
            .push(format_args!(") AS x{}", j + 1));
    }
    let query = GapQuery {
        scope,
        questions: &keys,
        group_by: None,
    };
    let condition = format!(
        "a.score IS NOT NULL AND a.role = {}",
        Role::Customer.number()
    );
    push_scoped_answers(qb, tenant, &query, &condition);
    // The primary key (tenant_id, rid, question) makes a response's count
    // of answers among the variables its count of distinct variables.
    qb.push(" GROUP BY a.rid HAVING count(*) = ")
        .push_bind(variables.len() as i64)
        .push(") c");
}

/// How [`complete_cases`] draws the bootstrap's sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Most cases returned.
    pub cap: u32,
    /// The complete cases in scope as a statement just before counted them
    /// ([`complete_case_sums`]): above `cap`, the sample is walked from
    /// the index first.
    pub cases_in_scope: u64,
    /// Most CUSTOMER responses the walk visits, in sample order, before
    /// it gives up on a scope too narrow for it (the window, labels or
    /// survey keep too few of the tenant's responses) and the cases in
    /// scope are sorted instead.
    pub walk_budget: u32,
}

impl Sample {
    /// Visits per sampled case the walk is allowed: a scope holding at
    /// least one in 8 of the tenant's CUSTOMER responses as complete cases
    /// is walked.
    pub const WALK_FACTOR: u32 = 8;

    /// `cap` cases out of `cases_in_scope`, with the walk's default budget.
    pub fn of(cap: u32, cases_in_scope: u64) -> Sample {
        Sample {
            cap,
            cases_in_scope,
            walk_budget: cap.saturating_mul(Self::WALK_FACTOR),
        }
    }
}

/// The sample order of complete cases: `hashint8extended(rid, 0)`, then
/// `rid` (migration 0025's `survey_responses_case_sample` holds it for
/// CUSTOMER responses). Pseudo-random in the responses, the same for the
/// same stored data whatever the seed.
const SAMPLE_ORDER: &str = "hashint8extended(c.rid, 0), c.rid";

/// The complete cases of `drivers` and `outcome` (as
/// [`complete_case_sums`] defines them), packed one byte per score in the
/// layout of `scoring::drivers::bootstrap::PackedCases`: at most
/// `sample.cap` cases, and when there are more, the `cap` that come first
/// in [`SAMPLE_ORDER`], so that no more than `cap` rows reach Rust. Shifted
/// scores lie in 0..=100 (SPEC §4 caps a scale's span at 100), so each
/// fits a byte.
///
/// With more cases in scope than `cap`, the first `cap` are found by
/// walking the tenant's CUSTOMER responses in sample order
/// ([`walk_sample`]): O(cap) when the scope keeps most of them, instead
/// of grouping every answer in scope and sorting the cases. Otherwise, or
/// when the walk's budget runs out first, the cases in scope are grouped
/// and the first `cap` kept by a top-`cap` sort. Both give the same cases.
pub async fn complete_cases(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    outcome: Variable<'_>,
    drivers: &[Variable<'_>],
    sample: Sample,
) -> StoreResult<Vec<u8>> {
    let variables = variables_of(outcome, drivers);
    if sample.cases_in_scope > u64::from(sample.cap)
        && let Some(packed) = walk_sample(pool, tenant, scope, &variables, sample).await?
    {
        return Ok(packed);
    }
    let mut qb = QueryBuilder::new("SELECT ARRAY[");
    push_case_columns(&mut qb, variables.len());
    qb.push("]::smallint[] FROM ");
    push_cases(&mut qb, tenant, scope, &variables);
    qb.push(format_args!(" ORDER BY {SAMPLE_ORDER} LIMIT "))
        .push_bind(i64::from(sample.cap));
    let rows: Vec<(Vec<i16>,)> = qb.build_query_as().fetch_all(pool).await?;
    Ok(pack(rows))
}

/// The first `sample.cap` complete cases in scope in [`SAMPLE_ORDER`],
/// read from the first `sample.walk_budget` CUSTOMER responses of the
/// tenant in that order (`survey_responses_case_sample`); `None` when
/// those held fewer than `cap` (the budget ran out, or a concurrent write
/// removed cases since they were counted): the caller sorts instead.
///
/// Exact because every response before the last one visited was visited:
/// the complete cases found are the first ones in the order, whatever
/// the scope. Each visited response in the scope's window, labels and
/// survey costs one range of the answers' primary key for its variables.
pub async fn walk_sample(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    variables: &[Variable<'_>],
    sample: Sample,
) -> StoreResult<Option<Vec<u8>>> {
    let m = variables.len();
    let mut qb = QueryBuilder::new("SELECT ARRAY[");
    push_case_columns(&mut qb, m);
    // The walk: the index's first `walk_budget` entries, in its order
    // (`LIMIT` in a subquery keeps the plan an ordered index scan), then
    // the scope's conditions on each response, then its variables.
    qb.push(format_args!(
        "]::smallint[] FROM (SELECT hashint8extended(r.rid, 0) AS k, r.rid, r.submitted_at, \
           r.labels, r.survey_id \
         FROM survey_responses r WHERE r.tenant_id = "
    ))
    .push_bind(tenant.0)
    .push(format_args!(
        " AND r.role = {} ORDER BY 1, 2 LIMIT ",
        Role::Customer.number()
    ))
    .push_bind(i64::from(sample.walk_budget))
    .push(") r CROSS JOIN LATERAL (SELECT count(*) AS answered");
    for (j, v) in variables.iter().enumerate() {
        qb.push(", max(a.score - ")
            .push_bind(v.scale_min)
            .push(") FILTER (WHERE a.question = ")
            .push_bind(v.question.to_owned())
            .push(format_args!(") AS x{}", j + 1));
    }
    let keys: Vec<String> = variables.iter().map(|v| v.question.to_owned()).collect();
    qb.push(" FROM answers a WHERE a.tenant_id = ")
        .push_bind(tenant.0)
        .push(" AND a.rid = r.rid AND a.question = ANY(")
        .push_bind(keys)
        .push(format_args!(
            ") AND a.score IS NOT NULL AND a.role = {}) c WHERE true",
            Role::Customer.number()
        ));
    scope.push_response_conditions(&mut qb, "r.submitted_at", "r");
    // Ordered by the subquery's own columns, so the rows come out of the
    // index scan in order and the LIMIT stops the walk at the `cap`-th
    // case (no sort of the visited responses).
    qb.push(" AND c.answered = ")
        .push_bind(m as i64)
        .push(" ORDER BY r.k, r.rid LIMIT ")
        .push_bind(i64::from(sample.cap));
    // The planner costs the walk as if every one of the tenant's CUSTOMER
    // responses were visited (it cannot know the LIMIT stops it at the
    // `cap`-th case), which crosses `jit_above_cost` and adds about 100 ms
    // of compilation to a 150 ms walk at 1M answers.
    let mut tx = pool.begin().await?;
    sqlx::raw_sql("SET LOCAL jit = off")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(Vec<i16>,)> = qb.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok((rows.len() >= sample.cap as usize).then(|| pack(rows)))
}

/// `c.x1, …, c.xm`.
fn push_case_columns(qb: &mut QueryBuilder<sqlx::Postgres>, m: usize) {
    for j in 1..=m {
        let separator = if j > 1 { ", " } else { "" };
        qb.push(format_args!("{separator}c.x{j}"));
    }
}

/// The cases one byte per score, in order.
fn pack(rows: Vec<(Vec<i16>,)>) -> Vec<u8> {
    let mut packed = Vec::with_capacity(rows.iter().map(|(case,)| case.len()).sum());
    for (case,) in rows {
        packed.extend(case.into_iter().map(|x| x.clamp(0, 100) as u8));
    }
    packed
}
