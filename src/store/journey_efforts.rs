//! Each journey's effort under the model in force (`journey_efforts`) and
//! its daily rollup by index bin (`journey_effort_daily`, migration 0028),
//! so GetEffortIndex's journey figures read a few rows per day instead of
//! every journey in the window (issue 12, docs/decisions/effort-rollup.md).
//!
//! The rows are derived state with exactly the guarantees of the
//! whole-history assessments (`store::assessments`): they are rewritten by
//! the same statement, for the same customers, under the same tier locks
//! and model check ([`push_rewrite`]), and the recompute pass after a model
//! change rewrites them all before `assessed_under` records the new model.
//! So when `assessed_under` and the model in force agree on an etag, every
//! journey has its row under that model ([`answerable`]).
//!
//! The rollup is the signed delta log of `effort_daily`: the statement that
//! changes rows appends what it changed, from the rows it wrote
//! (`RETURNING`) and the rows they replaced, readers sum, the compactor
//! folds ([`compact`]). Percentiles stay exact: the rollup's counts per bin
//! say which bin holds a rank, and one index range of that bin says which
//! value ([`percentile_ranks`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::{
    StoreResult,
    effort_sql::{effort_index_sql, effort_points_sql, effort_tier_sql},
    rollup,
    scope::push_window,
};
use crate::{
    domain::{Scope, TenantId, Window},
    scoring::effort::{EffortModel, EffortSums},
};

/// The columns of a `journey_efforts` row after `tenant_id`, in table order.
const COLUMNS: [&str; 22] = [
    "jid",
    "customer_id",
    "started_at",
    "model_etag",
    "effort_index",
    "bin",
    "tier",
    "p0",
    "p1",
    "p2",
    "p3",
    "p4",
    "p5",
    "p6",
    "customer_touchpoints",
    "channel_switches",
    "customer_seconds",
    "resolved",
    "has_assisted",
    "first_assisted_resolved",
    "first_customer_resolved",
    "first_of_customer",
];

/// The rollup's figures: (column, its value for one `journey_efforts` row
/// `{e}`, integer). A key's figure is the sum of its rows' values.
const FIGURES: [(&str, &str, bool); 18] = [
    ("journeys", "1", true),
    ("index_sum", "{e}.effort_index", false),
    ("index_sum_sq", "{e}.effort_index * {e}.effort_index", false),
    ("p0", "{e}.p0", false),
    ("p1", "{e}.p1", false),
    ("p2", "{e}.p2", false),
    ("p3", "{e}.p3", false),
    ("p4", "{e}.p4", false),
    ("p5", "{e}.p5", false),
    ("p6", "{e}.p6", false),
    ("contacts", "{e}.customer_touchpoints", true),
    ("switches", "{e}.channel_switches", true),
    ("seconds", "{e}.customer_seconds", true),
    ("unresolved", "(NOT {e}.resolved)::int4", true),
    ("assisted", "{e}.has_assisted::int4", true),
    (
        "fcr",
        "({e}.has_assisted AND {e}.first_assisted_resolved)::int4",
        true,
    ),
    ("one_touch", "{e}.first_customer_resolved::int4", true),
    ("customers", "{e}.first_of_customer::int4", true),
];

fn figure_names() -> String {
    FIGURES
        .into_iter()
        .map(|(name, _, _)| name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `sum({sign} * value) AS figure, …` over rows aliased `row`. The float
/// values are summed as `numeric`: exactly, so a key's sums do not depend
/// on the order its deltas arrive and fold in, and equal the raw query's
/// (`store::effort`, which sums the same way).
fn signed_sums(sign: &str, row: &str) -> String {
    FIGURES
        .into_iter()
        .map(|(name, value, int)| {
            let value = value.replace("{e}", row);
            if int {
                format!("coalesce(sum({sign} * ({value})), 0)::int8 AS {name}")
            } else {
                format!("coalesce(sum({sign} * ({value})::numeric), 0) AS {name}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `sum(figure) AS figure, …`: the sums of rollup-shaped rows, the float
/// figures kept `numeric` (a fold) or converted once at the end (a read).
fn sums_of_sums(floats: &str) -> String {
    FIGURES
        .into_iter()
        .map(|(name, _, int)| {
            let cast = if int { "::int8" } else { floats };
            format!("coalesce(sum({name}), 0){cast} AS {name}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn prefixed(prefix: &str) -> String {
    COLUMNS
        .iter()
        .map(|c| format!("{prefix}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rollup append (`INSERT … SELECT`) of signed rows `d` (a column `s`,
/// +1 or −1, then a `journey_efforts` row), one row per key and statement.
fn push_deltas(qb: &mut QueryBuilder<Postgres>, signed_rows: &str) {
    qb.push(format_args!(
        "INSERT INTO journey_effort_daily (tenant_id, day, model_etag, bin, tier, {names}) \
         SELECT d.tenant_id, (d.started_at AT TIME ZONE 'UTC')::date, d.model_etag, d.bin, d.tier, \
           {sums} \
         FROM ({signed_rows}) d GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
        names = figure_names(),
        sums = signed_sums("d.s", "d"),
    ));
}

/// Pushes (after a comma, ending without one) the data-modifying CTEs that
/// make the rows of the journeys in `journeys` (the statement's own rows
/// of its customers' journeys, `loyalty::assessed_journeys`, read once for
/// both) what they are under `model` (of etag `etag`), and append what
/// they changed to the rollup. Part of the
/// statement that rewrites the customers' whole-history assessments
/// (`store::assessments`), so both are computed from the same snapshot,
/// taken after the customers' tier locks: every earlier writer of these
/// customers has committed, and no other statement writes their rows
/// meanwhile, so the rows read here (`old`) are the ones the upsert
/// replaces, and the deltas are exact.
///
/// The old rows are found by the keys of the customers' journeys (the
/// primary key, row by row): every
/// row of a customer is a row of one of the customer's journeys, because
/// the rows follow the journeys in every statement that changes either —
/// a write rewrites the rows of every customer it touches, a moved
/// journey's previous owner included (`service::tiers`), and an erasure
/// deletes the customer's rows with their journeys ([`erase_customer`]).
/// So nothing here deletes a row. Rows whose content is unchanged are not
/// rewritten and append nothing.
pub(super) fn push_rewrite(
    qb: &mut QueryBuilder<Postgres>,
    tenant: TenantId,
    (model, etag): (&EffortModel, &str),
    journeys: &str,
) {
    qb.push("je_computed AS (SELECT j.jid, j.customer_id, j.started_at, ");
    qb.push(format_args!(
        "{} AS effort_index",
        effort_index_sql("j", model)
    ));
    for (i, p) in effort_points_sql("j", model).iter().enumerate() {
        qb.push(format_args!(", {p} AS p{i}"));
    }
    qb.push(
        ", j.customer_touchpoints, j.channel_switches, j.customer_seconds, j.resolved, \
           j.has_assisted, j.first_assisted_resolved, j.first_customer_resolved, \
           row_number() OVER (PARTITION BY j.customer_id ORDER BY j.started_at, j.jid) = 1 \
             AS first_of_customer \
         FROM ",
    )
    .push(journeys)
    .push(" j WHERE j.tenant_id = ")
    .push_bind(tenant.0);
    // Fenced, so the index expression is evaluated once per journey (see
    // `store::effort`'s query 1).
    qb.push(" OFFSET 0), je_new AS (SELECT ")
        .push_bind(tenant.0)
        .push("::int8 AS tenant_id, c.jid, c.customer_id, c.started_at, ")
        .push_bind(etag.to_owned())
        .push(format_args!(
            "::text AS model_etag, c.effort_index, floor(c.effort_index)::int2 AS bin, \
             {tier}::int2 AS tier, c.p0, c.p1, c.p2, c.p3, c.p4, c.p5, c.p6, \
             c.customer_touchpoints, c.channel_switches, c.customer_seconds, c.resolved, \
             c.has_assisted, c.first_assisted_resolved, c.first_customer_resolved, \
             c.first_of_customer FROM je_computed c), ",
            tier = effort_tier_sql("c.effort_index", model),
        ));
    // Each new row beside the row it replaces (`old`, the whole row; NULL
    // for a new journey), looked up by primary key per row, keeping only
    // the rows that change. No join between two CTEs: their row estimates
    // are guesses (one row), and a nested loop over two of them was
    // quadratic in the batch (7M row comparisons for 1,000 journeys).
    qb.push(format_args!(
        "je_changed AS (SELECT n.*, o AS old FROM je_new n \
           LEFT JOIN journey_efforts o ON o.tenant_id = n.tenant_id AND o.jid = n.jid \
           WHERE o.jid IS NULL OR ROW({old}) IS DISTINCT FROM ROW({new})), \
         je_put AS (INSERT INTO journey_efforts (tenant_id, {columns}) \
           SELECT tenant_id, {columns} FROM je_changed ORDER BY jid \
           ON CONFLICT (tenant_id, jid) DO UPDATE SET {set}), \
         je_logged AS (",
        old = prefixed("o"),
        new = prefixed("n"),
        columns = COLUMNS.join(", "),
        set = COLUMNS[1..]
            .iter()
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .collect::<Vec<_>>()
            .join(", "),
    ));
    push_deltas(
        qb,
        &format!(
            "SELECT 1 AS s, c.tenant_id, {new} FROM je_changed c \
             UNION ALL SELECT -1, (c.old).* FROM je_changed c WHERE c.old IS NOT NULL",
            new = prefixed("c"),
        ),
    );
    qb.push(") ");
}

/// Deletes an erased customer's rows and takes them out of the rollup, in
/// one statement (the customer's tier lock held, their journeys deleted).
pub async fn erase_customer(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer: &str,
) -> StoreResult<()> {
    let mut qb = QueryBuilder::new("WITH gone AS (DELETE FROM journey_efforts WHERE tenant_id = ");
    qb.push_bind(tenant.0)
        .push(" AND customer_id = ")
        .push_bind(customer.to_owned())
        .push(" RETURNING *), logged AS (");
    push_deltas(&mut qb, "SELECT -1 AS s, g.* FROM gone g");
    qb.push(") SELECT 1");
    qb.build().execute(&mut *conn).await?;
    Ok(())
}

/// Folds `tenant`'s pending deltas inside the caller's transaction (the
/// compactor's, [`rollup::compact`]); returns the rows removed. The fold
/// of `effort_daily`: pending rows deleted, their sums added to the one
/// folded row per key in key order, folded keys without journeys removed
/// (their other sums are zero but for rounding).
pub async fn compact(conn: &mut PgConnection, tenant: TenantId) -> StoreResult<u64> {
    let names = figure_names();
    let set = FIGURES
        .into_iter()
        .map(|(n, _, _)| format!("{n} = journey_effort_daily.{n} + EXCLUDED.{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (deleted, folded): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH moved AS (
             DELETE FROM journey_effort_daily WHERE tenant_id = $1 AND NOT compacted
             RETURNING day, model_etag, bin, tier, {names}
         ), sums AS (
             SELECT day, model_etag, bin, tier, {sums}
             FROM moved GROUP BY day, model_etag, bin, tier
         ), upserted AS (
             INSERT INTO journey_effort_daily
                 (tenant_id, day, model_etag, bin, tier, {names}, compacted)
             SELECT $1, day, model_etag, bin, tier, {names}, true
             FROM sums ORDER BY day, model_etag, bin, tier
             ON CONFLICT (tenant_id, day, model_etag, bin, tier) WHERE compacted
             DO UPDATE SET {set}
             RETURNING 1
         )
         SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM upserted)",
        sums = sums_of_sums("::numeric"),
    )))
    .bind(tenant.0)
    .fetch_one(&mut *conn)
    .await?;
    super::rollup::remove_empty_keys(
        conn,
        tenant,
        ("journey_effort_daily", "journeys = 0"),
        (deleted, folded),
    )
    .await
}

/// Whether the rows answer `scope` under the model of `etag`, in the
/// caller's snapshot, and if so the start of the tenant's first journey
/// (`None` without journeys): the scope has no label or intent condition
/// (the rows keep neither), the model of `etag` is in force and the last
/// recompute pass under it has ended (`assessed_under`).
async fn answerable(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
    etag: &str,
) -> StoreResult<Option<Option<DateTime<Utc>>>> {
    if scope.labels.is_some() || scope.intent.is_some() {
        return Ok(None);
    }
    let (current, first): (Option<bool>, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT (SELECT model_etag FROM assessed_under WHERE tenant_id = $1) = $2 \
             AND (SELECT etag FROM scoring_models WHERE tenant_id = $1) = $2, \
           (SELECT min(started_at) FROM journeys WHERE tenant_id = $1)",
    )
    .bind(tenant.0)
    .bind(etag)
    .fetch_one(&mut *conn)
    .await?;
    Ok((current == Some(true)).then_some(first))
}

/// The window's figures: the totals, and the journeys per (bin, tier).
#[derive(Debug, Clone, Default, PartialEq)]
struct WindowFigures {
    journeys: i64,
    index_sum: f64,
    index_sum_sq: f64,
    points: [f64; 7],
    contacts: i64,
    switches: i64,
    seconds: i64,
    unresolved: i64,
    assisted: i64,
    fcr: i64,
    one_touch: i64,
    customers: i64,
    /// (bin, tier, journeys), in bin order.
    per_bin: Vec<(i16, i16, i64)>,
}

/// The window's figures: whole UTC days from the rollup, the partial days
/// at the edges from the rows, in one statement. The parts are read once
/// (a materialized CTE); the totals are summed over them in `numeric`
/// before the one conversion to float8, and the counts per (bin, tier),
/// all the percentiles and tiers need, come as arrays beside them.
async fn window_figures(
    conn: &mut PgConnection,
    tenant: TenantId,
    window: Window,
    etag: &str,
) -> StoreResult<WindowFigures> {
    let split = rollup::split_days(window);
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("WITH parts AS MATERIALIZED (");
    let names = figure_names();
    // `split` always has at least one part.
    let mut separator = "";
    if let Some((from, until)) = split.days {
        qb.push(format_args!(
            "SELECT bin, tier, {names} FROM journey_effort_daily WHERE tenant_id = "
        ))
        .push_bind(tenant.0)
        .push(" AND model_etag = ")
        .push_bind(etag.to_owned());
        if let Some(from) = from {
            qb.push(" AND day >= ").push_bind(from);
        }
        if let Some(until) = until {
            qb.push(" AND day < ").push_bind(until);
        }
        separator = " UNION ALL ";
    }
    for edge in split.raw.iter().flatten() {
        qb.push(separator);
        // The edge's journeys by `journeys_time`, their rows by key.
        qb.push(format_args!(
            "SELECT e.bin, e.tier, {} FROM journeys j \
             JOIN journey_efforts e ON e.tenant_id = j.tenant_id AND e.jid = j.jid \
             WHERE j.tenant_id = ",
            signed_sums("1", "e")
        ))
        .push_bind(tenant.0)
        .push(" AND e.model_etag = ")
        .push_bind(etag.to_owned());
        push_window(&mut qb, "j.started_at", edge);
        qb.push(" GROUP BY e.bin, e.tier");
        separator = " UNION ALL ";
    }
    qb.push(format_args!(
        "), bins AS (SELECT bin, tier, sum(journeys)::int8 AS n FROM parts \
           GROUP BY bin, tier HAVING sum(journeys) <> 0) \
         SELECT {totals}, \
           (SELECT coalesce(array_agg(bin ORDER BY bin, tier), '{{}}') FROM bins) AS bins, \
           (SELECT coalesce(array_agg(tier ORDER BY bin, tier), '{{}}') FROM bins) AS tiers, \
           (SELECT coalesce(array_agg(n ORDER BY bin, tier), '{{}}') FROM bins) AS counts \
         FROM parts",
        totals = sums_of_sums("::float8"),
    ));
    let row = qb.build().fetch_one(&mut *conn).await?;
    let mut points = [0.0; 7];
    for (i, p) in points.iter_mut().enumerate() {
        *p = row.try_get(format!("p{i}").as_str())?;
    }
    let bins: Vec<i16> = row.try_get("bins")?;
    let tiers: Vec<i16> = row.try_get("tiers")?;
    let counts: Vec<i64> = row.try_get("counts")?;
    Ok(WindowFigures {
        journeys: row.try_get("journeys")?,
        index_sum: row.try_get("index_sum")?,
        index_sum_sq: row.try_get("index_sum_sq")?,
        points,
        contacts: row.try_get("contacts")?,
        switches: row.try_get("switches")?,
        seconds: row.try_get("seconds")?,
        unresolved: row.try_get("unresolved")?,
        assisted: row.try_get("assisted")?,
        fcr: row.try_get("fcr")?,
        one_touch: row.try_get("one_touch")?,
        customers: row.try_get("customers")?,
        per_bin: bins
            .into_iter()
            .zip(tiers)
            .zip(counts)
            .map(|((b, t), n)| (b, t, n))
            .collect(),
    })
}

/// Where `percentile_cont(p)` over `n` sorted values reads them, as
/// PostgreSQL computes it (`percentile_cont_final_common`): the 0-based
/// ranks `lo` and `hi` and the weight of `hi`. `None` for `n = 0`.
pub fn percentile_ranks(p: f64, n: u64) -> Option<(u64, u64, f64)> {
    if n == 0 {
        return None;
    }
    let h = p * (n - 1) as f64;
    let (lo, hi) = (h.floor(), h.ceil());
    Some((lo as u64, hi as u64, h - lo))
}

/// `percentile_cont`'s value from the values at its ranks, as PostgreSQL
/// interpolates (`float8_lerp`): the value at `lo` when the ranks agree.
pub fn interpolate((lo, hi, weight): (u64, u64, f64), at_lo: f64, at_hi: f64) -> f64 {
    if hi > lo {
        at_lo + weight * (at_hi - at_lo)
    } else {
        at_lo
    }
}

/// The bin holding 0-based rank `rank` of the window's sorted indexes, and
/// the rank within the bin, from the counts per bin in bin order.
pub fn locate(counts: &BTreeMap<i16, u64>, rank: u64) -> Option<(i16, u64)> {
    let mut before = 0;
    for (&bin, &n) in counts {
        if rank < before + n {
            return Some((bin, rank - before));
        }
        before += n;
    }
    None
}

/// The indexes at `ranks` ((bin, rank within the bin) each) of the
/// window's journeys: per rank, one range of `journey_efforts_rank` in
/// index order, index-only, in one statement.
async fn values_at(
    conn: &mut PgConnection,
    tenant: TenantId,
    window: &Window,
    etag: &str,
    ranks: &[(i16, u64)],
) -> StoreResult<Vec<f64>> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT ");
    for (i, (bin, offset)) in ranks.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.push("(SELECT e.effort_index FROM journey_efforts e WHERE e.tenant_id = ")
            .push_bind(tenant.0)
            .push(" AND e.model_etag = ")
            .push_bind(etag.to_owned())
            .push(" AND e.bin = ")
            .push_bind(*bin);
        push_window(&mut qb, "e.started_at", window);
        qb.push(" ORDER BY e.effort_index OFFSET ")
            .push_bind(i64::try_from(*offset).unwrap_or(i64::MAX))
            .push(" LIMIT 1)");
    }
    let row = qb.build().fetch_one(&mut *conn).await?;
    (0..ranks.len())
        .map(|i| {
            let v: Option<f64> = row.try_get(i)?;
            // The counts and the rows are of one snapshot: the rank exists.
            v.ok_or_else(|| {
                sqlx::Error::Protocol(format!(
                    "journey_efforts holds fewer rows in bin {} than journey_effort_daily counts",
                    ranks[i].0
                ))
                .into()
            })
        })
        .collect()
}

/// Query 1 of `store::effort` from the rows and the rollup, when they
/// answer `scope` under the model of `etag` (see [`answerable`]); `None`
/// when they do not (the caller takes the raw path). The same figures as
/// the raw query: the integer ones equal, the float sums up to rounding
/// (summed in another order), the percentiles equal.
///
/// Distinct customers: when the window starts no later than the tenant's
/// first journey, the customers whose first journey is in it
/// (`first_of_customer`); otherwise a count over the journeys in the
/// window.
pub async fn journey_sums(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
    etag: &str,
) -> StoreResult<Option<(EffortSums, i64)>> {
    let Some(first_journey) = answerable(conn, tenant, scope, etag).await? else {
        return Ok(None);
    };
    let all = window_figures(conn, tenant, scope.window, etag).await?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let mut sums = EffortSums {
        journeys: count(all.journeys),
        effort_index_sum: all.index_sum,
        effort_index_sum_sq: all.index_sum_sq,
        effort_index_p50: None,
        effort_index_p90: None,
        high_journeys: 0,
        medium_journeys: 0,
        low_journeys: 0,
        customer_touchpoints: all.contacts,
        channel_switches: all.switches,
        customer_seconds: all.seconds,
        unresolved_journeys: count(all.unresolved),
        component_points: all.points,
        assisted_journeys: count(all.assisted),
        first_assisted_resolved: count(all.fcr),
        first_customer_resolved: count(all.one_touch),
    };
    let first_journeys = all.customers;
    let mut per_bin: BTreeMap<i16, u64> = BTreeMap::new();
    for &(bin, tier, n) in &all.per_bin {
        let n = count(n);
        match tier {
            3 => sums.high_journeys += n,
            2 => sums.medium_journeys += n,
            _ => sums.low_journeys += n,
        }
        *per_bin.entry(bin).or_default() += n;
    }
    let quantiles = [0.5, 0.9].map(|p| percentile_ranks(p, sums.journeys));
    let mut ranks: Vec<u64> = quantiles
        .iter()
        .flatten()
        .flat_map(|&(lo, hi, _)| [lo, hi])
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    if !ranks.is_empty() {
        // Every rank is below the count the bins add up to.
        let located = ranks
            .iter()
            .map(|&r| locate(&per_bin, r))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| sqlx::Error::Protocol("a percentile rank beyond the bins".into()))?;
        let values = values_at(conn, tenant, &scope.window, etag, &located).await?;
        let value = |rank: u64| {
            ranks
                .iter()
                .position(|&r| r == rank)
                .and_then(|i| values.get(i).copied())
        };
        let at = |q: Option<(u64, u64, f64)>| {
            let q = q?;
            Some(interpolate(q, value(q.0)?, value(q.1)?))
        };
        sums.effort_index_p50 = at(quantiles[0]);
        sums.effort_index_p90 = at(quantiles[1]);
    }
    let covers_first = match (scope.window.start, first_journey) {
        (Some(start), Some(first)) => start <= first,
        _ => true,
    };
    let customers = if covers_first {
        first_journeys
    } else {
        distinct_customers(conn, tenant, &scope.window).await?
    };
    Ok(Some((sums, customers)))
}

/// Distinct customers of the journeys in `window`: the window's journeys,
/// read on `journeys_time`.
async fn distinct_customers(
    conn: &mut PgConnection,
    tenant: TenantId,
    window: &Window,
) -> StoreResult<i64> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT count(DISTINCT j.customer_id COLLATE \"C\") FROM journeys j WHERE j.tenant_id = ",
    );
    qb.push_bind(tenant.0);
    push_window(&mut qb, "j.started_at", window);
    Ok(qb.build_query_scalar().fetch_one(&mut *conn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ranks and interpolation PostgreSQL uses, checked against
    /// `percentile_cont` by `tests/api/effort.rs`; here the edge cases.
    #[test]
    fn percentile_ranks_follow_percentile_cont() {
        assert_eq!(percentile_ranks(0.5, 0), None);
        assert_eq!(percentile_ranks(0.5, 1), Some((0, 0, 0.0)));
        assert_eq!(percentile_ranks(0.5, 2), Some((0, 1, 0.5)));
        assert_eq!(percentile_ranks(0.5, 3), Some((1, 1, 0.0)));
        let (lo, hi, w) = percentile_ranks(0.9, 11).unwrap();
        assert_eq!((lo, hi), (9, 9));
        assert_eq!(w, 0.0);
        let (lo, hi, w) = percentile_ranks(0.9, 4).unwrap();
        assert_eq!((lo, hi), (2, 3));
        assert!((w - 0.7).abs() < 1e-12);
        assert_eq!(interpolate((2, 3, 0.25), 10.0, 20.0), 12.5);
        assert_eq!(interpolate((1, 1, 0.0), 10.0, f64::NAN), 10.0);
    }

    #[test]
    fn locate_finds_the_bin_of_a_rank() {
        let counts = BTreeMap::from([(0, 3), (4, 1), (7, 2)]);
        assert_eq!(locate(&counts, 0), Some((0, 0)));
        assert_eq!(locate(&counts, 2), Some((0, 2)));
        assert_eq!(locate(&counts, 3), Some((4, 0)));
        assert_eq!(locate(&counts, 5), Some((7, 1)));
        assert_eq!(locate(&counts, 6), None);
    }
}
