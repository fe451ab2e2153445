//! Numbers and text as the report writes them, and the roles it shows.

use crate::{
    domain::{Numbered, enums::Role},
    proto::v1::*,
    service::loyalty::thousands,
};

/// The roles of the chart, in bar order, with their names and colours:
/// the inside view in blues, the customers' in orange.
pub const ROLES: [(Role, &str, &str); 3] = [
    (Role::Leadership, "Leadership", "#2f5f98"),
    (Role::Staff, "Staff", "#86aed6"),
    (Role::Customer, "Customers", "#e07b39"),
];

/// The figures of `role` among a question's roles.
pub fn role_figures(roles: &[RoleFigures], role: Role) -> Option<&RoleFigures> {
    roles.iter().find(|r| r.role == role.number())
}

/// The name of a proto role value, as the chart's legend spells it.
pub fn role_name(role: i32) -> &'static str {
    Role::from_number(role)
        .and_then(|role| ROLES.iter().find(|(r, _, _)| *r == role))
        .map_or("?", |(_, name, _)| name)
}

/// A share (0-1) as a whole percentage: `0.8` → `80%`.
pub fn pct(share: f64) -> String {
    if share.is_finite() {
        format!("{:.0}%", share * 100.0)
    } else {
        "–".into()
    }
}

/// An interval of shares: `74–85%`, or `–` when absent.
pub fn pct_interval(ci: Option<&Interval>) -> String {
    match ci {
        Some(ci) if ci.lower.is_finite() && ci.upper.is_finite() => {
            format!("{:.0}–{:.0}%", ci.lower * 100.0, ci.upper * 100.0)
        }
        _ => "–".into(),
    }
}

/// Percentage points with one decimal and a sign: `+72.0 points`.
pub fn points(gap: f64) -> String {
    format!("{} points", signed(gap, 1))
}

/// An interval of percentage points: `+66.1 to +77.4`.
pub fn points_interval(ci: Option<&Interval>) -> String {
    match ci {
        Some(ci) => format!("{} to {}", signed(ci.lower, 1), signed(ci.upper, 1)),
        None => "–".into(),
    }
}

/// A number with an explicit sign (a true minus sign for negatives).
pub fn signed(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let s = format!("{:.*}", decimals, x.abs());
    if s.trim_start_matches(['0', '.']).is_empty() {
        s
    } else if x < 0.0 {
        format!("−{s}")
    } else {
        format!("+{s}")
    }
}

/// A clause as a sentence: capitalised, with a full stop.
pub fn sentence(clause: &str) -> String {
    let clause = clause.trim();
    let mut chars = clause.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// A count with thousands separators: `12,345`.
pub fn count(n: i64) -> String {
    let digits = thousands(n.unsigned_abs());
    if n < 0 { format!("-{digits}") } else { digits }
}

/// Escapes text for HTML and SVG content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
