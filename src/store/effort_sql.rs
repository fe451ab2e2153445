//! The effort index and tier as SQL expressions, the same formulas as
//! `scoring::effort` (a test checks they agree), so effort can be
//! aggregated in PostgreSQL from the components stored per journey.

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
    let w = &m.weights;
    [
        format!(
            "GREATEST({journey}.customer_touchpoints - 1, 0) * {}",
            lit(w.extra_contact)
        ),
        format!(
            "GREATEST({journey}.channel_switches, 0) * {}",
            lit(w.channel_switch)
        ),
        format!(
            "GREATEST({journey}.failed_self_service, 0) * {}",
            lit(w.failed_self_service)
        ),
        format!("GREATEST({journey}.transfers, 0) * {}", lit(w.transfer)),
        format!(
            "GREATEST({journey}.repeated_information, 0) * {}",
            lit(w.repeated_information)
        ),
        format!(
            "LEAST(GREATEST({journey}.customer_seconds::float8 / 60.0 - {free}, 0) * {rate}, {cap})",
            free = lit(w.free_minutes),
            rate = lit(w.minute),
            cap = lit(w.time_cap)
        ),
        format!(
            "CASE WHEN {journey}.resolved THEN 0::float8 ELSE {} END",
            lit(w.unresolved)
        ),
    ]
}

/// The tier (1 LOW, 2 MEDIUM, 3 HIGH, as `gapscore.v1.EffortTier`) of an
/// effort-index SQL expression.
pub fn effort_tier_sql(index_expr: &str, m: &crate::scoring::effort::EffortModel) -> String {
    format!(
        "(CASE WHEN ({index_expr}) >= ({high:?})::float8 THEN 3 WHEN ({index_expr}) < ({low:?})::float8 THEN 1 ELSE 2 END)",
        high = m.high_effort_from,
        low = m.low_effort_below
    )
}
