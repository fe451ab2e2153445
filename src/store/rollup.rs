//! The daily perception-gap rollup (`gap_daily`, see
//! `migrations/0009_gap_rollup.sql`, and its label-set level
//! `gap_label_rollup`, migration 0017): the deltas every write of `answers`
//! appends, how they are folded, and how a window is split between the
//! rollup and the raw answers.
//!
//! Every statement that inserts or deletes `answers` rows appends their
//! signed deltas in the same statement ([`deltas_of`]): the write is a CTE
//! whose `RETURNING` rows are exactly the rows it changed, as a
//! statement trigger's transition table held them (the triggers of 0009
//! are gone, migration 0020: on Citus a trigger on a shard cannot write
//! the distributed `gap_daily`). Readers sum whatever rows there are, so
//! nothing else is needed for the rollup to be *exact*. The compactor
//! only keeps it *small*: it moves the pending deltas into the one folded
//! row of their key.

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, Utc};
use sqlx::PgPool;

use super::{StoreError, StoreResult};
use crate::domain::{TenantId, Window};

/// What a write of `answers` returns for [`deltas_of`]: the key of a
/// rollup row, as stored on each answer, and the response (`rid`), which
/// the complete-case rollup groups by (`super::case_rollup`).
pub const ANSWER_KEY: &str =
    "tenant_id, submitted_at, question, role, score, survey_id, label_set, rid";

/// The rollup appends of one statement that inserted (`sign` +1) or
/// deleted (`sign` −1) answers: data-modifying CTEs `{cte}_daily`
/// (into `gap_daily`), `{cte}_labelled` (into `gap_label_rollup`,
/// migration 0017) and `{cte}_cases` (into `case_daily`, migration 0023,
/// with the CTEs it reads: [`super::case_rollup::deltas_of`]), to
/// follow `WITH {cte} AS (<the write> RETURNING {ANSWER_KEY}), ` in the
/// same statement (PostgreSQL runs every data-modifying CTE, referenced
/// or not). One row per key, table and statement: in the first two the
/// count of the rows it changed (unscored THEMES answers count nowhere),
/// in `case_daily` the CUSTOMER responses and their sums. Nothing is
/// appended for a statement that changed no scored answer.
pub fn deltas_of(cte: &str, sign: Sign) -> String {
    let cases = super::case_rollup::deltas_of(cte, sign);
    let sign = match sign {
        Sign::Added => "",
        Sign::Removed => "-",
    };
    format!(
        "{cte}_daily AS (
             INSERT INTO gap_daily (tenant_id, day, question, role, score, survey_id, answers)
             SELECT tenant_id, (submitted_at AT TIME ZONE 'UTC')::date, question, role, score,
                    survey_id, {sign}count(*)
             FROM {cte} WHERE score IS NOT NULL
             GROUP BY 1, 2, 3, 4, 5, 6
         ), {cte}_labelled AS (
             INSERT INTO gap_label_rollup
                 (tenant_id, day, label_set, question, role, score, survey_id, answers)
             SELECT tenant_id, (submitted_at AT TIME ZONE 'UTC')::date, label_set, question,
                    role, score, survey_id, {sign}count(*)
             FROM {cte} WHERE score IS NOT NULL
             GROUP BY 1, 2, 3, 4, 5, 6, 7
         ), {cases}"
    )
}

/// Whether a statement's answers were added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    Added,
    Removed,
}

/// The delta logs the compactor folds, with their key columns and the
/// statement that keeps a coarser table in step with the folded rows.
const LOGS: [(&str, &str, &str); 2] = [
    ("gap_daily", "day, question, role, score, survey_id", ""),
    (
        "gap_label_rollup",
        "day, label_set, question, role, score, survey_id",
        LABEL_MONTH_FOLD,
    ),
];

/// The month grain of the label-set level (`gap_label_month`, migration
/// 0022): what a fold adds to the folded daily rows, summed by calendar
/// month, in the fold's own statement (so in one snapshot and one
/// transaction with the delete of the pending deltas it moves). Keys in
/// key order, as the daily upsert's.
const LABEL_MONTH_FOLD: &str = ", months AS (
         INSERT INTO gap_label_month
             (tenant_id, month, label_set, question, role, score, survey_id, answers)
         SELECT $1, date_trunc('month', day::timestamp)::date, label_set, question, role,
                score, survey_id, sum(answers)
         FROM sums
         GROUP BY 2, 3, 4, 5, 6, 7
         ORDER BY 2, 3, 4, 5, 6, 7
         ON CONFLICT (tenant_id, month, label_set, question, role, score, survey_id)
         DO UPDATE SET answers = gap_label_month.answers + EXCLUDED.answers
     )";

/// Folds `tenant`'s pending deltas in `gap_daily`, `gap_label_rollup` (and
/// its month grain `gap_label_month`), the effort report's `effort_daily`,
/// the framed answers' `frame_daily` (`super::frame_rollup`), the
/// complete cases' `case_daily` (`super::case_rollup`), the journeys'
/// effort by index bin (`super::journey_efforts`) and the
/// whole-history tier counts' `tier_count_log` (`super::assessments`); returns
/// the rows removed by folding, all delta tables together (the month
/// grain holds no deltas, so its zero rows are not counted).
///
/// One transaction: in each table the pending rows are deleted and their
/// sums added to the folded row of each key (inserted if new), then folded
/// rows of those keys that reached zero are removed. Each DELETE sees one
/// snapshot; a delta committed after it is simply left for the next fold.
/// A second compactor racing on the same rows skips those the first
/// deleted (they are gone when its row locks are granted) and adds only
/// the sums of the rows it deleted itself. Keys are upserted in key order,
/// and the tables in a fixed order, so two compactors cannot deadlock;
/// ingest never touches folded rows.
///
/// The fold first takes a key-share lock on the tenant row, which a tenant
/// clear or delete (`super::tenants`) takes `FOR UPDATE` before it
/// deletes: the two then run one after the other. Without it they deadlocked
/// (seen in `tests/api/case_rollup.rs`): the clear deletes the tables in
/// name order (`case_daily` first), the fold in its own (`case_daily` last),
/// and a fold that had inserted no new key held no lock on the tenant row.
pub async fn compact(pool: &PgPool, tenant: TenantId) -> StoreResult<u64> {
    let mut tx = pool.begin().await?;
    super::tenants::hold(&mut tx, tenant).await?;
    let mut removed = 0;
    let mut month_rows_changed = false;
    for (table, key, coarser) in LOGS {
        // Table and key names are the constants above.
        let (deleted, folded): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH moved AS (
                 DELETE FROM {table} WHERE tenant_id = $1 AND NOT compacted
                 RETURNING {key}, answers
             ), sums AS (
                 SELECT {key}, sum(answers) AS answers
                 FROM moved
                 GROUP BY {key}
             ), upserted AS (
                 INSERT INTO {table} (tenant_id, {key}, answers, compacted)
                 SELECT $1, {key}, answers, true
                 FROM sums
                 ORDER BY {key}
                 ON CONFLICT (tenant_id, {key}) WHERE compacted
                 DO UPDATE SET answers = {table}.answers + EXCLUDED.answers
                 RETURNING 1
             ){coarser}
             SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM upserted)"
        )))
        .bind(tenant.0)
        .fetch_one(&mut *tx)
        .await?;
        // Keys whose answers were all deleted (found by `{table}_zero`).
        removed +=
            remove_empty_keys(&mut tx, tenant, (table, "answers = 0"), (deleted, folded)).await?;
        month_rows_changed |= deleted > 0 && !coarser.is_empty();
    }
    if month_rows_changed {
        // Months whose answers were all deleted (`gap_label_month_zero`).
        // Not counted in `removed`: month rows are a grain, not deltas.
        sqlx::query("DELETE FROM gap_label_month WHERE tenant_id = $1 AND answers = 0")
            .bind(tenant.0)
            .execute(&mut *tx)
            .await?;
    }
    // The channel rollup of the effort report and the framed answers'
    // rollup fold with it: one pass of the compactor keeps them all small.
    let effort = super::effort_rollup::compact(&mut tx, tenant).await?;
    let frames = super::frame_rollup::compact(&mut tx, tenant).await?;
    let cases = super::case_rollup::compact(&mut tx, tenant).await?;
    let journeys = super::journey_efforts::compact(&mut tx, tenant).await?;
    // The whole-history tier counts' log (migration 0024).
    let tiers = super::assessments::compact_tier_counts(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(removed + effort + frames + cases + journeys + tiers)
}

/// The end of a fold of one delta table, inside the compactor's
/// transaction: once `deleted` pending rows went into `folded` folded
/// rows, removes the folded rows of `table` whose key holds nothing left
/// (`empty`, a condition its partial `_zero` index answers) and returns the
/// rows the fold removed in all.
pub(super) async fn remove_empty_keys(
    conn: &mut sqlx::PgConnection,
    tenant: TenantId,
    (table, empty): (&str, &str),
    (deleted, folded): (i64, i64),
) -> StoreResult<u64> {
    let zeroes = if deleted > 0 {
        // Table and condition are constants of the callers.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND compacted AND {empty}"
        )))
        .bind(tenant.0)
        .execute(&mut *conn)
        .await?
        .rows_affected() as i64
    } else {
        0
    };
    Ok((deleted - folded + zeroes).max(0) as u64)
}

/// What one pass of the compactor did.
#[derive(Debug, Default)]
pub struct CompactionPass {
    /// Rows removed by folding, over the tenants that succeeded.
    pub folded: u64,
    /// The tenants whose fold failed (rolled back; their deltas stay
    /// pending and still count), with the error.
    pub failed: Vec<(TenantId, StoreError)>,
}

/// Folds the pending deltas of every tenant that has some, each tenant in
/// its own transaction ([`compact`]). A tenant whose fold fails is reported
/// in [`CompactionPass::failed`] and the others are folded all the same:
/// one tenant's bad row must not let every other tenant's rollup grow.
/// Only failing to list the tenants fails the pass.
pub async fn compact_pending(pool: &PgPool) -> StoreResult<CompactionPass> {
    let tenants: Vec<i64> = sqlx::query_scalar(
        "SELECT tenant_id FROM gap_daily WHERE NOT compacted
         UNION SELECT tenant_id FROM effort_daily WHERE NOT compacted
         UNION SELECT tenant_id FROM gap_label_rollup WHERE NOT compacted
         UNION SELECT tenant_id FROM frame_daily WHERE NOT compacted
         UNION SELECT tenant_id FROM case_daily WHERE NOT compacted
         UNION SELECT tenant_id FROM tier_count_log WHERE NOT compacted
         UNION SELECT tenant_id FROM journey_effort_daily WHERE NOT compacted
         ORDER BY tenant_id",
    )
    .fetch_all(pool)
    .await?;
    let mut pass = CompactionPass::default();
    for tenant in tenants.into_iter().map(TenantId) {
        match compact(pool, tenant).await {
            Ok(folded) => pass.folded += folded,
            Err(err) => pass.failed.push((tenant, err)),
        }
    }
    Ok(pass)
}

/// A window `[start, end)` split into whole UTC days, answered from the
/// rollup, and the partial days at its edges, answered from `answers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySplit {
    /// Whole days `[from, until)`; `None` bounds are open. `None` when the
    /// window holds no whole day.
    pub days: Option<(Option<NaiveDate>, Option<NaiveDate>)>,
    /// Raw time ranges `[start, end)` outside those days (at most two).
    pub raw: [Option<Window>; 2],
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// Splits `window`.
pub fn split_days(window: Window) -> DaySplit {
    let Window { start, end } = window;
    let whole_only = DaySplit {
        days: None,
        raw: [Some(window), None],
    };
    // The first whole day: the start's own day if it starts at midnight.
    let from = match start {
        None => None,
        Some(s) => {
            let day = s.date_naive();
            let first = if midnight(day) == s {
                Some(day)
            } else {
                day.succ_opt()
            };
            match first {
                Some(d) => Some(d),
                None => return whole_only,
            }
        }
    };
    // Every day before the end's own day ends by the end.
    let until = end.map(|e| e.date_naive());
    if let (Some(f), Some(u)) = (from, until)
        && f >= u
    {
        return whole_only;
    }
    let head = match (start, from) {
        (Some(s), Some(f)) if s < midnight(f) => Some(Window {
            start: Some(s),
            end: Some(midnight(f)),
        }),
        _ => None,
    };
    let tail = match (end, until) {
        (Some(e), Some(u)) if midnight(u) < e => Some(Window {
            start: Some(midnight(u)),
            end: Some(e),
        }),
        _ => None,
    };
    DaySplit {
        days: Some((from, until)),
        raw: [head, tail],
    }
}

/// Whole days `[from, until)` (`None` bounds open) split into the whole
/// UTC calendar months among them, answered from `gap_label_month`, and
/// the days outside those months, answered from the daily rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthSplit {
    /// Whole months `[from, until)`, as their first days; `None` when the
    /// days hold no whole month.
    pub months: Option<DayRange>,
    /// Day ranges outside those months (at most two).
    pub days: [Option<DayRange>; 2],
}

/// Days `[from, until)`; `None` bounds are open.
pub type DayRange = (Option<NaiveDate>, Option<NaiveDate>);

/// The first day of the month after `day`'s.
fn next_month(day: NaiveDate) -> Option<NaiveDate> {
    day.with_day(1)?.checked_add_months(Months::new(1))
}

/// Splits the whole days `[from, until)` of a [`DaySplit`].
pub fn split_months(from: Option<NaiveDate>, until: Option<NaiveDate>) -> MonthSplit {
    let days_only = MonthSplit {
        months: None,
        days: [Some((from, until)), None],
    };
    // The first whole month: `from`'s own if it is the 1st.
    let first = match from {
        None => None,
        Some(f) if f.day() == 1 => Some(f),
        Some(f) => match next_month(f) {
            Some(m) => Some(m),
            None => return days_only,
        },
    };
    // Every month before `until`'s own ends by `until`.
    let last = match until {
        None => None,
        Some(u) => match u.with_day(1) {
            Some(m) => Some(m),
            None => return days_only,
        },
    };
    if let (Some(f), Some(l)) = (first, last)
        && f >= l
    {
        return days_only;
    }
    let head = match (from, first) {
        (Some(f), Some(m)) if f < m => Some((Some(f), Some(m))),
        _ => None,
    };
    let tail = match (until, last) {
        (Some(u), Some(m)) if m < u => Some((Some(m), Some(u))),
        _ => None,
    };
    MonthSplit {
        months: Some((first, last)),
        days: [head, tail],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }
    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn w(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Window {
        Window { start, end }
    }
    fn split(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> DaySplit {
        split_days(w(start, end))
    }

    #[test]
    fn an_open_window_is_all_days() {
        assert_eq!(
            split(None, None),
            DaySplit {
                days: Some((None, None)),
                raw: [None, None]
            }
        );
    }

    #[test]
    fn aligned_bounds_need_no_raw_rows() {
        let s = split(
            Some(t("2026-01-01T00:00:00Z")),
            Some(t("2026-02-01T00:00:00Z")),
        );
        assert_eq!(s.days, Some((Some(d("2026-01-01")), Some(d("2026-02-01")))));
        assert_eq!(s.raw, [None, None]);
    }

    #[test]
    fn partial_edge_days_come_from_the_raw_rows() {
        let s = split(
            Some(t("2026-01-01T10:00:00Z")),
            Some(t("2026-01-05T06:30:00Z")),
        );
        assert_eq!(s.days, Some((Some(d("2026-01-02")), Some(d("2026-01-05")))));
        assert_eq!(
            s.raw,
            [
                Some(w(
                    Some(t("2026-01-01T10:00:00Z")),
                    Some(t("2026-01-02T00:00:00Z"))
                )),
                Some(w(
                    Some(t("2026-01-05T00:00:00Z")),
                    Some(t("2026-01-05T06:30:00Z"))
                )),
            ]
        );
    }

    #[test]
    fn a_window_inside_one_or_two_days_is_all_raw() {
        for (a, b) in [
            ("2026-01-01T10:00:00Z", "2026-01-01T12:00:00Z"),
            ("2026-01-01T10:00:00Z", "2026-01-02T12:00:00Z"),
            ("2026-01-01T10:00:00Z", "2026-01-02T00:00:00Z"),
        ] {
            let s = split(Some(t(a)), Some(t(b)));
            assert_eq!(s.days, None, "{a}..{b}");
            assert_eq!(s.raw, [Some(w(Some(t(a)), Some(t(b)))), None]);
        }
    }

    #[test]
    fn half_open_windows_keep_their_open_side() {
        let s = split(Some(t("2026-01-01T10:00:00Z")), None);
        assert_eq!(s.days, Some((Some(d("2026-01-02")), None)));
        assert_eq!(s.raw[1], None);
        let s = split(None, Some(t("2026-01-01T10:00:00Z")));
        assert_eq!(s.days, Some((None, Some(d("2026-01-01")))));
        assert_eq!(s.raw[0], None);
        assert_eq!(
            s.raw[1],
            Some(w(
                Some(t("2026-01-01T00:00:00Z")),
                Some(t("2026-01-01T10:00:00Z"))
            ))
        );
    }

    #[test]
    fn every_instant_falls_in_exactly_one_part() {
        let start = t("2026-03-01T13:00:00Z");
        let end = t("2026-03-04T02:00:00Z");
        let s = split(Some(start), Some(end));
        let mut at = t("2026-02-28T00:00:00Z");
        while at < t("2026-03-06T00:00:00Z") {
            let in_days = s.days.is_some_and(|(f, u)| {
                f.is_none_or(|f| at.date_naive() >= f) && u.is_none_or(|u| at.date_naive() < u)
            });
            let in_raw = s
                .raw
                .iter()
                .flatten()
                .filter(|r| r.start.is_none_or(|a| at >= a) && r.end.is_none_or(|b| at < b))
                .count();
            let inside = at >= start && at < end;
            assert_eq!(usize::from(in_days) + in_raw, usize::from(inside), "{at}");
            at += chrono::Duration::minutes(30);
        }
    }

    fn months(from: Option<&str>, until: Option<&str>) -> MonthSplit {
        split_months(from.map(d), until.map(d))
    }

    #[test]
    fn open_days_are_all_months() {
        assert_eq!(
            months(None, None),
            MonthSplit {
                months: Some((None, None)),
                days: [None, None]
            }
        );
    }

    #[test]
    fn days_around_whole_months_stay_days() {
        let s = months(Some("2024-01-15"), Some("2024-04-10"));
        assert_eq!(
            s.months,
            Some((Some(d("2024-02-01")), Some(d("2024-04-01"))))
        );
        assert_eq!(
            s.days,
            [
                Some((Some(d("2024-01-15")), Some(d("2024-02-01")))),
                Some((Some(d("2024-04-01")), Some(d("2024-04-10")))),
            ]
        );
        // The bench's two years: 23 whole months and December's 30 days.
        let s = months(Some("2024-01-01"), Some("2025-12-31"));
        assert_eq!(
            s.months,
            Some((Some(d("2024-01-01")), Some(d("2025-12-01"))))
        );
        assert_eq!(
            s.days,
            [None, Some((Some(d("2025-12-01")), Some(d("2025-12-31"))))]
        );
    }

    #[test]
    fn days_within_one_month_or_across_one_boundary_are_all_days() {
        for (a, b) in [
            ("2024-01-02", "2024-01-30"),
            ("2024-01-02", "2024-02-20"),
            ("2024-01-02", "2024-02-01"),
            ("2024-01-01", "2024-01-31"),
        ] {
            let s = months(Some(a), Some(b));
            assert_eq!(s.months, None, "{a}..{b}");
            assert_eq!(s.days, [Some((Some(d(a)), Some(d(b)))), None]);
        }
        let s = months(Some("2024-01-01"), Some("2024-02-01"));
        assert_eq!(
            s.months,
            Some((Some(d("2024-01-01")), Some(d("2024-02-01"))))
        );
        assert_eq!(s.days, [None, None]);
    }

    #[test]
    fn half_open_days_keep_their_open_side() {
        let s = months(Some("2024-02-29"), None);
        assert_eq!(s.months, Some((Some(d("2024-03-01")), None)));
        assert_eq!(
            s.days,
            [Some((Some(d("2024-02-29")), Some(d("2024-03-01")))), None]
        );
        let s = months(None, Some("2024-03-02"));
        assert_eq!(s.months, Some((None, Some(d("2024-03-01")))));
        assert_eq!(
            s.days,
            [None, Some((Some(d("2024-03-01")), Some(d("2024-03-02"))))]
        );
    }

    #[test]
    fn every_day_falls_in_exactly_one_part() {
        let inside = |r: &DayRange, day: NaiveDate| {
            r.0.is_none_or(|f| day >= f) && r.1.is_none_or(|u| day < u)
        };
        let start = d("2023-12-01");
        for (from, until) in [
            (Some("2024-01-31"), Some("2024-05-02")),
            (Some("2024-02-01"), Some("2024-02-29")),
            (None, Some("2024-03-15")),
            (Some("2024-03-15"), None),
            (Some("2024-01-10"), Some("2024-01-11")),
        ] {
            let s = months(from, until);
            let whole = (from.map(d), until.map(d));
            let mut day = start;
            while day < d("2024-07-01") {
                let in_months = s.months.is_some_and(|m| {
                    let month = day.with_day(1).unwrap();
                    inside(&m, month)
                });
                let in_days = s.days.iter().flatten().filter(|r| inside(r, day)).count();
                assert_eq!(
                    usize::from(in_months) + in_days,
                    usize::from(inside(&whole, day)),
                    "{from:?}..{until:?}: {day}"
                );
                day = day.succ_opt().unwrap();
            }
        }
    }
}
