//! The SQL conditions a query's [`Scope`] adds, and the window and keyset
//! conditions every list shares.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};

use crate::domain::{Scope, Window};

/// Appends ` AND <time> >= start AND <time> < end` for `window`.
pub fn push_window(qb: &mut QueryBuilder<Postgres>, time_column: &str, window: &Window) {
    if let Some(start) = window.start {
        qb.push(format_args!(" AND {time_column} >= "))
            .push_bind(start);
    }
    if let Some(end) = window.end {
        qb.push(format_args!(" AND {time_column} < "))
            .push_bind(end);
    }
}

/// Appends ` AND (<time>, <id>) > (time, id)`: the rows of a list ordered by
/// `(time, id)` strictly after the position `after` (keyset pagination:
/// stable under concurrent inserts and served by the list's index).
pub fn push_after(
    qb: &mut QueryBuilder<Postgres>,
    (time_column, id_column): (&str, &str),
    after: Option<(DateTime<Utc>, &str)>,
) {
    if let Some((time, id)) = after {
        qb.push(format_args!(" AND ({time_column}, {id_column}) > ("))
            .push_bind(time)
            .push(", ")
            .push_bind(id.to_owned())
            .push(")");
    }
}

impl Scope {
    /// Appends ` AND <time> >= start AND <time> < end` for the window.
    pub fn push_window(&self, qb: &mut QueryBuilder<Postgres>, time_column: &str) {
        push_window(qb, time_column, &self.window);
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

    /// Window, labels and survey_id on an answers alias (`answers` or
    /// `framed_answers`, which carry copies of `submitted_at`) joined to
    /// `survey_responses r` when `joined`. The window is on the answers'
    /// copy (in their index), and on the response row too when joined, so
    /// the response side is cut by `survey_responses_time` instead of read
    /// whole; labels and survey_id need the join (see
    /// [`Scope::needs_response_row`]).
    pub fn push_answer_conditions(
        &self,
        qb: &mut QueryBuilder<Postgres>,
        answers: &str,
        joined: bool,
    ) {
        self.push_window(qb, &format!("{answers}.submitted_at"));
        if joined {
            self.push_window(qb, "r.submitted_at");
        }
        self.push_labels(qb, "r.labels");
        if let Some(survey) = &self.survey_id {
            qb.push(" AND r.survey_id = ").push_bind(survey.clone());
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
