//! Complete-case sums for key drivers (SPEC §11), computed in PostgreSQL.
//!
//! Johnson's relative weights need only the correlations of the drivers and
//! the outcome, and those follow from n, Σx_j and Σx_j·x_k over the
//! complete cases. One query returns exactly that: per CUSTOMER response in
//! scope, the array of its scores in variable order, kept only when it
//! answered every variable, then one sum per pair of positions
//! (`generate_series`). At most `(m + 1)(m + 2)/2` rows leave the database
//! for m variables, however many cases there are; no case row reaches Rust.
//!
//! Each score is shifted by its question's `scale_min` before it is summed,
//! so every value lies in 0..=100 (SPEC §4 caps a scale's span at 100) and
//! every sum of products is exact in `bigint` for any number of cases a
//! tenant can store: a custom scale may sit anywhere in `i32`, where raw
//! products would overflow. Correlations do not change under a shift.
//!
//! The scan is the perception gap's (`store::gap`): the covering index
//! `answers_question_scores (tenant_id, question, submitted_at) INCLUDE
//! (role, score, rid)`, one range per question, with `survey_responses`
//! joined only when labels or `survey_id` need it.

use sqlx::{PgPool, QueryBuilder};

use super::{
    StoreResult,
    gap::{GapQuery, push_scoped_answers},
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

/// One sum of the query: positions are 1-based with position 1 the
/// constant 1, so (1, 1) is n and (1, j) is Σx of variable j − 1.
#[derive(sqlx::FromRow)]
struct PairSum {
    i: i32,
    j: i32,
    sum_product: i64,
}

/// The complete-case sums of `drivers` and `outcome` over CUSTOMER
/// responses in `scope` (EXPERIENCE answers). Every question must be a
/// RATING question, each at most once among drivers and outcome, and
/// `drivers.len() ≤ MAX_DRIVERS` (checked: more is a caller's bug).
pub async fn complete_case_sums(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    outcome: Variable<'_>,
    drivers: &[Variable<'_>],
) -> StoreResult<CompleteCaseSums> {
    assert!(
        drivers.len() <= MAX_DRIVERS,
        "at most {MAX_DRIVERS} drivers, got {}",
        drivers.len()
    );
    let variables: Vec<Variable<'_>> = drivers.iter().copied().chain([outcome]).collect();
    let keys: Vec<String> = variables.iter().map(|v| v.question.to_owned()).collect();
    debug_assert!(
        {
            let mut sorted = keys.clone();
            sorted.sort();
            sorted.windows(2).all(|w| w[0] != w[1])
        },
        "variables must be distinct: {keys:?}"
    );
    let mins: Vec<i32> = variables.iter().map(|v| v.scale_min).collect();
    let m = variables.len();

    let mut qb = QueryBuilder::new(
        "WITH cases AS (
           SELECT ARRAY[1] || array_agg(a.score - (",
    );
    qb.push_bind(mins)
        .push("::int[])[array_position(")
        .push_bind(keys.clone())
        .push("::text[], a.question)] ORDER BY array_position(")
        .push_bind(keys.clone())
        .push("::text[], a.question)) AS x");
    let query = GapQuery {
        scope,
        questions: &keys,
        group_by: None,
    };
    let condition = format!(
        "a.score IS NOT NULL AND a.role = {}",
        Role::Customer.number()
    );
    push_scoped_answers(&mut qb, tenant, &query, &condition);
    // The primary key (tenant_id, rid, question) makes a response's count
    // of answers among the variables its count of distinct variables.
    qb.push(" GROUP BY a.rid HAVING count(*) = ")
        .push_bind(m as i64)
        .push(
            ")
         SELECT p.i, p.j, sum(c.x[p.i] * c.x[p.j])::bigint AS sum_product
         FROM cases c
         CROSS JOIN (SELECT i, j FROM generate_series(1, ",
        )
        .push_bind(m as i32 + 1)
        .push(") AS i, generate_series(i, ")
        .push_bind(m as i32 + 1)
        .push(") AS j) p GROUP BY p.i, p.j");
    let rows: Vec<PairSum> = qb.build_query_as().fetch_all(pool).await?;

    let mut out = CompleteCaseSums {
        cases: 0,
        sums: vec![0; m],
        products: vec![0; m * m],
    };
    for PairSum { i, j, sum_product } in rows {
        // Back to 0-based positions, the constant at 0.
        let (i, j) = (i as usize - 1, j as usize - 1);
        match (i, j) {
            (0, 0) => out.cases = u64::try_from(sum_product).unwrap_or(0),
            (0, j) => out.sums[j - 1] = sum_product,
            (i, j) => {
                out.products[(i - 1) * m + (j - 1)] = sum_product;
                out.products[(j - 1) * m + (i - 1)] = sum_product;
            }
        }
    }
    Ok(out)
}
