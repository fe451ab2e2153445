//! The scope of a list or scoring query (SPEC §3.4 `ScoreFilter`), and the
//! SQL conditions it adds.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};

/// A validated `ScoreFilter`: every part optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// Inclusive start of the window.
    pub start: Option<DateTime<Utc>>,
    /// Exclusive end of the window.
    pub end: Option<DateTime<Utc>>,
    /// Labels that must all match (`labels @> this`); `None` when empty.
    pub labels: Option<serde_json::Value>,
    /// Survey wave (responses only).
    pub survey_id: Option<String>,
    /// Journey intent (journeys only).
    pub intent: Option<String>,
}

impl Scope {
    /// Appends ` AND <time> >= start AND <time> < end` for the window.
    pub fn push_window(&self, qb: &mut QueryBuilder<Postgres>, time_column: &str) {
        if let Some(start) = self.start {
            qb.push(format_args!(" AND {time_column} >= "))
                .push_bind(start);
        }
        if let Some(end) = self.end {
            qb.push(format_args!(" AND {time_column} < "))
                .push_bind(end);
        }
    }

    /// Appends the label condition on `labels_column` (a jsonb column).
    pub fn push_labels(&self, qb: &mut QueryBuilder<Postgres>, labels_column: &str) {
        if let Some(labels) = &self.labels {
            qb.push(format_args!(" AND {labels_column} @> "))
                .push_bind(labels.clone());
        }
    }

    /// Window, labels and survey_id on a `survey_responses` alias (or on
    /// `answers` for the window, whose `submitted_at` is a copy).
    pub fn push_response_conditions(
        &self,
        qb: &mut QueryBuilder<Postgres>,
        time_column: &str,
        response: &str,
    ) {
        self.push_window(qb, time_column);
        self.push_labels(qb, &format!("{response}.labels"));
        if let Some(survey) = &self.survey_id {
            qb.push(format_args!(" AND {response}.survey_id = "))
                .push_bind(survey.clone());
        }
    }

    /// Window (on `started_at`), labels and intent on a `journeys` alias.
    pub fn push_journey_conditions(&self, qb: &mut QueryBuilder<Postgres>, journey: &str) {
        self.push_window(qb, &format!("{journey}.started_at"));
        self.push_labels(qb, &format!("{journey}.labels"));
        if let Some(intent) = &self.intent {
            qb.push(format_args!(" AND {journey}.intent = "))
                .push_bind(intent.clone());
        }
    }

    /// Whether the response-level conditions need the `survey_responses` row.
    pub fn needs_response_row(&self) -> bool {
        self.labels.is_some() || self.survey_id.is_some()
    }
}

/// The effort index of a journey row as a SQL expression, the same formula
/// as `scoring::effort::effort_breakdown` (a test checks they agree). The
/// weights are validated finite numbers, printed as literals so the
/// expression can be used anywhere in a query.
pub fn effort_index_sql(journey: &str, model: &crate::scoring::effort::EffortModel) -> String {
    format!(
        "LEAST(100.0::float8, {raw})",
        raw = effort_points_sql(journey, model).join(" + ")
    )
}

/// The points of each effort component as SQL expressions, in the order
/// extra contacts, channel switches, failed self-service, transfers,
/// repeated information, customer time, unresolved.
pub fn effort_points_sql(journey: &str, m: &crate::scoring::effort::EffortModel) -> [String; 7] {
    let lit = |x: f64| format!("({x:?})::float8");
    [
        format!(
            "GREATEST({journey}.customer_touchpoints - 1, 0) * {}",
            lit(m.weight_extra_contact)
        ),
        format!(
            "GREATEST({journey}.channel_switches, 0) * {}",
            lit(m.weight_channel_switch)
        ),
        format!(
            "GREATEST({journey}.failed_self_service, 0) * {}",
            lit(m.weight_failed_self_service)
        ),
        format!(
            "GREATEST({journey}.transfers, 0) * {}",
            lit(m.weight_transfer)
        ),
        format!(
            "GREATEST({journey}.repeated_information, 0) * {}",
            lit(m.weight_repeated_information)
        ),
        format!(
            "LEAST(GREATEST({journey}.customer_seconds::float8 / 60.0 - {free}, 0) * {rate}, {cap})",
            free = lit(m.free_minutes),
            rate = lit(m.minutes_rate),
            cap = lit(m.time_cap)
        ),
        format!(
            "CASE WHEN {journey}.resolved THEN 0::float8 ELSE {} END",
            lit(m.weight_unresolved)
        ),
    ]
}

/// The tier (1 LOW, 2 MEDIUM, 3 HIGH, as `gapscore.v1.EffortTier`) of an
/// effort-index SQL expression.
pub fn effort_tier_sql(index_expr: &str, m: &crate::scoring::effort::EffortModel) -> String {
    format!(
        "(CASE WHEN ({index_expr}) >= ({high:?})::float8 THEN 3 WHEN ({index_expr}) < ({low:?})::float8 THEN 1 ELSE 2 END)",
        high = m.tier_high_from,
        low = m.tier_low_below
    )
}
