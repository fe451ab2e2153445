//! The report's bar chart: the favorable share per question and role, with
//! interval whiskers, as inline SVG.

use std::fmt::Write as _;

use super::format::{ROLES, count, esc, pct, pct_interval, role_figures};
use crate::{
    domain::{Numbered, enums::Role},
    proto::v1::*,
};

/// The chart with its legend, or a note when there is nothing to chart.
pub fn chart_section(html: &mut String, questions: &[QuestionGap], min_group_size: i32) {
    html.push_str(
        "<section>\n<h2>Favorable share per question and role</h2>\n<p class=\"legend\">",
    );
    for (_, name, colour) in ROLES {
        let _ = write!(
            html,
            "<span><i style=\"background:{colour}\"></i>{name}</span>"
        );
    }
    html.push_str("<span class=\"muted\">│ whiskers: interval</span></p>\n");
    if questions.is_empty() {
        html.push_str("<p class=\"muted\">No rating answers yet.</p>\n</section>\n");
        return;
    }
    html.push_str(&chart_svg(questions, min_group_size));
    html.push_str("</section>\n");
}

// Chart geometry, in SVG user units.
const CHART_WIDTH: f64 = 900.0;
const LABEL_WIDTH: f64 = 96.0;
const BAR_X: f64 = LABEL_WIDTH + 4.0;
const BAR_SPAN: f64 = 600.0;
const VALUE_X: f64 = BAR_X + BAR_SPAN + 14.0;
const AXIS_HEIGHT: f64 = 24.0;
const TITLE_HEIGHT: f64 = 24.0;
const BAR_HEIGHT: f64 = 16.0;
const BAR_PITCH: f64 = 21.0;
const GROUP_GAP: f64 = 14.0;

/// The bar chart: one group per question (titled by its key), one bar per
/// role with its interval as a whisker, suppressed roles as "n < min".
/// Every bar is the only `<rect>` element of its role, so a test can count
/// them.
pub fn chart_svg(questions: &[QuestionGap], min_group_size: i32) -> String {
    let questions = chart_order(questions);
    let group_height = TITLE_HEIGHT + BAR_PITCH * ROLES.len() as f64 + GROUP_GAP;
    let height = AXIS_HEIGHT + group_height * questions.len() as f64;
    let x_of = |share: f64| BAR_X + BAR_SPAN * share.clamp(0.0, 1.0);
    let mut svg = String::with_capacity(16 * 1024);
    let _ = writeln!(
        svg,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {CHART_WIDTH} {height}\" \
         role=\"img\" aria-label=\"Favorable share per question and role\">"
    );
    // Grid and axis labels.
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = x_of(tick);
        let _ = writeln!(
            svg,
            "<line class=\"grid\" x1=\"{x}\" y1=\"{y1}\" x2=\"{x}\" y2=\"{height}\"/>\
             <text class=\"tick\" x=\"{x}\" y=\"{ty}\" text-anchor=\"middle\">{label}</text>",
            y1 = AXIS_HEIGHT - 4.0,
            ty = AXIS_HEIGHT - 9.0,
            label = pct(tick),
        );
    }
    for (i, q) in questions.iter().enumerate() {
        let top = AXIS_HEIGHT + group_height * i as f64;
        let key = esc(&q.question);
        let _ = writeln!(
            svg,
            "<text class=\"question\" x=\"0\" y=\"{y}\">{key}</text>",
            y = top + TITLE_HEIGHT - 7.0
        );
        for (j, (role, name, colour)) in ROLES.iter().enumerate() {
            let y = top + TITLE_HEIGHT + BAR_PITCH * j as f64;
            let mid = y + BAR_HEIGHT / 2.0;
            let _ = writeln!(
                svg,
                "<text class=\"role\" x=\"{LABEL_WIDTH}\" y=\"{ty}\" text-anchor=\"end\">{name}</text>",
                ty = mid + 4.0
            );
            match role_figures(&q.roles, *role) {
                Some(r) if !r.suppressed => {
                    let width = x_of(r.favorable_share) - BAR_X;
                    let ci = r.favorable_share_ci.unwrap_or(Interval {
                        lower: r.favorable_share,
                        upper: r.favorable_share,
                    });
                    let _ = writeln!(
                        svg,
                        "<rect class=\"bar\" x=\"{BAR_X}\" y=\"{y}\" width=\"{width:.1}\" \
                         height=\"{BAR_HEIGHT}\" fill=\"{colour}\"><title>{key} · {name}: {share} \
                         favorable ({range}), n = {n}</title></rect>",
                        share = pct(r.favorable_share),
                        range = pct_interval(Some(&ci)),
                        n = count(r.respondents),
                    );
                    let (lo, hi) = (x_of(ci.lower), x_of(ci.upper));
                    let (cap_top, cap_bottom) = (mid - 5.0, mid + 5.0);
                    let _ = writeln!(
                        svg,
                        "<path class=\"whisker\" d=\"M{lo:.1} {mid}H{hi:.1}M{lo:.1} {cap_top}V{cap_bottom}\
                         M{hi:.1} {cap_top}V{cap_bottom}\"/>"
                    );
                    let _ = writeln!(
                        svg,
                        "<text class=\"value\" x=\"{VALUE_X}\" y=\"{ty}\">{share} \
                         <tspan class=\"range\">{range} · n = {n}</tspan></text>",
                        ty = mid + 4.0,
                        share = pct(r.favorable_share),
                        range = pct_interval(Some(&ci)),
                        n = count(r.respondents),
                    );
                }
                Some(r) if r.respondents > 0 => {
                    let _ = writeln!(
                        svg,
                        "<text class=\"suppressed\" x=\"{x}\" y=\"{ty}\">n &lt; {min_group_size} \
                         (only {n} answered; not reported)</text>",
                        x = BAR_X + 4.0,
                        ty = mid + 4.0,
                        n = count(r.respondents),
                    );
                }
                _ => {
                    let _ = writeln!(
                        svg,
                        "<text class=\"suppressed\" x=\"{x}\" y=\"{ty}\">no answers</text>",
                        x = BAR_X + 4.0,
                        ty = mid + 4.0,
                    );
                }
            }
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// The chart's question order: largest LEADERSHIP→CUSTOMER gap first, so the
/// picture leads with the story; questions without that comparison follow
/// in key order.
fn chart_order(questions: &[QuestionGap]) -> Vec<&QuestionGap> {
    let gap = |q: &QuestionGap| {
        q.comparisons
            .iter()
            .find(|c| {
                c.from_role == Role::Leadership.number() && c.to_role == Role::Customer.number()
            })
            .map(|c| c.gap_points)
    };
    let mut ordered: Vec<&QuestionGap> = questions.iter().collect();
    // A stable sort keeps key order among equals and among the unpaired.
    ordered.sort_by(|a, b| match (gap(a), gap(b)) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(key: &str, gap: Option<f64>) -> QuestionGap {
        QuestionGap {
            question: key.into(),
            roles: vec![],
            comparisons: gap
                .map(|gap_points| RoleComparison {
                    from_role: Role::Leadership.number(),
                    to_role: Role::Customer.number(),
                    gap_points,
                    ..Default::default()
                })
                .into_iter()
                .collect(),
            vs_rest: None,
        }
    }

    #[test]
    fn the_chart_orders_by_descending_gap_then_key() {
        let questions = [
            question("a", None),
            question("b", Some(10.0)),
            question("c", Some(-5.0)),
            question("d", Some(40.0)),
            question("e", None),
        ];
        let keys: Vec<_> = chart_order(&questions)
            .iter()
            .map(|q| q.question.as_str())
            .collect();
        assert_eq!(keys, ["d", "b", "c", "a", "e"]);
    }
}
