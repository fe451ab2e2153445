//! The report's priority map (SPEC §16.4): a Martilla–James quadrant chart
//! of importance against performance, as inline SVG, and the map's
//! questions in its order.
//!
//! Importance runs left to right and performance bottom to top, so the
//! response's `importance_mean` is the vertical line and
//! `performance_mean` the horizontal one, as the proto documents;
//! CONCENTRATE_HERE is the lower right. The chart draws no `<rect>`: the
//! bar chart's bars are the page's only rectangles, which its tests count.

use std::fmt::Write as _;

use super::format::{count, esc, pct_interval};
use crate::proto::v1::*;

/// The section: the chart, or a note when no question is placed, and the
/// table of every question of the map.
pub fn priority_section(html: &mut String, map: &GetPriorityMapResponse) {
    html.push_str("<section>\n<h2>Priority map</h2>\n");
    let source =
        ImportanceSource::try_from(map.importance_source).unwrap_or(ImportanceSource::Unspecified);
    let explained = match source {
        ImportanceSource::Stated => {
            "Importance is what customers said matters to them (their IMPORTANCE answers, 0–100); \
             performance is their favorable share."
        }
        ImportanceSource::Derived => {
            "Importance is derived: each question's share of what explains \
             <code>likelihood_to_recommend</code> (relative weights, % of R²); performance is \
             customers' favorable share."
        }
        ImportanceSource::Unspecified => "",
    };
    if map.questions.is_empty() {
        html.push_str("<p class=\"muted\">No customer rating answers yet.</p>\n</section>\n");
        return;
    }
    if source == ImportanceSource::Unspecified {
        html.push_str(
            "<p class=\"muted\">No question can be placed yet: customers have not said what \
             matters to them, and there are too few complete answers to derive it.</p>\n",
        );
    } else {
        let _ = writeln!(html, "<p class=\"muted\">{explained}</p>");
        html.push_str(&quadrant_svg(map));
    }
    table(html, map);
    html.push_str("</section>\n");
}

// Chart geometry, in SVG user units.
const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 534.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 48.0;
const PLOT_WIDTH: f64 = WIDTH - LEFT - RIGHT;
const PLOT_HEIGHT: f64 = HEIGHT - TOP - BOTTOM;

/// The importance of a question in the map's source, if placed.
fn importance(map: &GetPriorityMapResponse, q: &PriorityQuestion) -> Option<f64> {
    match ImportanceSource::try_from(map.importance_source).ok()? {
        ImportanceSource::Stated => q.stated_importance,
        ImportanceSource::Derived => q.derived_importance,
        ImportanceSource::Unspecified => None,
    }
}

/// Whether a question is on the chart: placed in a quadrant.
pub fn is_placed(q: &PriorityQuestion) -> bool {
    q.quadrant != PriorityQuadrant::Unspecified as i32
}

/// An axis range that holds `values` with a margin, in whole tens within
/// 0–100, so the points spread over the plot (derived importance seldom
/// goes past 50).
fn axis_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 100.0);
    }
    let lo = ((lo - 5.0) / 10.0).floor().clamp(0.0, 9.0) * 10.0;
    let hi = ((hi + 5.0) / 10.0).ceil().clamp(1.0, 10.0) * 10.0;
    if hi > lo { (lo, hi) } else { (lo, lo + 10.0) }
}

/// The quadrant chart: one point per placed question, labelled by its key,
/// coloured by quadrant, with the two mean lines and the quadrant names.
/// Each point is a `<g class="point">` carrying its question, importance,
/// performance and quadrant as data attributes, so a test can read them.
pub fn quadrant_svg(map: &GetPriorityMapResponse) -> String {
    let placed: Vec<(&PriorityQuestion, f64)> = map
        .questions
        .iter()
        .filter(|q| is_placed(q))
        .filter_map(|q| Some((q, importance(map, q)?)))
        .collect();
    let (Some(mean_i), Some(mean_p)) = (map.importance_mean, map.performance_mean) else {
        return String::new();
    };
    let (x_lo, x_hi) = axis_range(placed.iter().map(|p| p.1).chain([mean_i]));
    let (y_lo, y_hi) = axis_range(placed.iter().map(|p| p.0.performance).chain([mean_p]));
    let x_of = |v: f64| LEFT + PLOT_WIDTH * ((v - x_lo) / (x_hi - x_lo)).clamp(0.0, 1.0);
    let y_of = |v: f64| TOP + PLOT_HEIGHT * (1.0 - ((v - y_lo) / (y_hi - y_lo)).clamp(0.0, 1.0));
    let (mx, my) = (x_of(mean_i), y_of(mean_p));
    let (x0, x1, y0, y1) = (LEFT, LEFT + PLOT_WIDTH, TOP, TOP + PLOT_HEIGHT);

    let mut svg = String::with_capacity(8 * 1024);
    let _ = writeln!(
        svg,
        "<svg class=\"quadrants\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         role=\"img\" aria-label=\"Priority map: importance against performance\">"
    );
    // Quadrant backgrounds, as paths.
    for (class, (a, b), (c, d)) in [
        ("concentrate", (mx, x1), (my, y1)),
        ("keep-up", (mx, x1), (y0, my)),
        ("low", (x0, mx), (my, y1)),
        ("overkill", (x0, mx), (y0, my)),
    ] {
        let _ = writeln!(
            svg,
            "<path class=\"quadrant {class}\" d=\"M{a:.1} {c:.1}H{b:.1}V{d:.1}H{a:.1}Z\"/>"
        );
    }
    // Quadrant names in the outer corners.
    for (name, x, y, anchor) in [
        ("Concentrate here", x1 - 8.0, y1 - 10.0, "end"),
        ("Keep up the good work", x1 - 8.0, y0 + 18.0, "end"),
        ("Low priority", x0 + 8.0, y1 - 10.0, "start"),
        ("Possible overkill", x0 + 8.0, y0 + 18.0, "start"),
    ] {
        let _ = writeln!(
            svg,
            "<text class=\"quadrant-name\" x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\">{name}</text>"
        );
    }
    // Axes, ticks and titles.
    let _ = writeln!(
        svg,
        "<path class=\"axis\" d=\"M{x0} {y0}V{y1}H{x1}\"/>\
         <text class=\"axis-title\" x=\"{cx:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">importance →</text>\
         <text class=\"axis-title\" x=\"{lx:.1}\" y=\"{cy:.1}\" text-anchor=\"middle\" \
         transform=\"rotate(-90 {lx:.1} {cy:.1})\">performance (favorable %) →</text>",
        cx = (x0 + x1) / 2.0,
        ty = HEIGHT - 8.0,
        lx = 18.0,
        cy = (y0 + y1) / 2.0,
    );
    for step in 0..=((x_hi - x_lo) / 10.0).round() as i32 {
        let v = x_lo + 10.0 * f64::from(step);
        let _ = writeln!(
            svg,
            "<text class=\"tick\" x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{v:.0}</text>",
            x = x_of(v),
            y = y1 + 16.0,
        );
    }
    for step in 0..=((y_hi - y_lo) / 10.0).round() as i32 {
        let v = y_lo + 10.0 * f64::from(step);
        let _ = writeln!(
            svg,
            "<text class=\"tick\" x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"end\">{v:.0}%</text>",
            x = x0 - 6.0,
            y = y_of(v) + 4.0,
        );
    }
    // The two mean lines.
    let _ = writeln!(
        svg,
        "<line class=\"mean importance-mean\" x1=\"{mx:.1}\" y1=\"{y0}\" x2=\"{mx:.1}\" y2=\"{y1}\"/>\
         <text class=\"mean-label\" x=\"{mx:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">mean importance {mean_i:.1}</text>\n\
         <line class=\"mean performance-mean\" x1=\"{x0}\" y1=\"{my:.1}\" x2=\"{x1}\" y2=\"{my:.1}\"/>\
         <text class=\"mean-label\" x=\"{px:.1}\" y=\"{py:.1}\">mean performance {mean_p:.1}%</text>",
        ty = y0 - 8.0,
        px = x1 + 6.0,
        py = my + 4.0,
    );
    // The points, labelled by key.
    for (q, imp) in &placed {
        let quadrant = PriorityQuadrant::try_from(q.quadrant)
            .unwrap_or(PriorityQuadrant::Unspecified)
            .as_str_name()
            .trim_start_matches("PRIORITY_QUADRANT_");
        let (x, y) = (x_of(*imp), y_of(q.performance));
        let key = esc(&q.question);
        let _ = writeln!(
            svg,
            "<g class=\"point {class}\" data-question=\"{key}\" data-importance=\"{imp}\" \
             data-performance=\"{perf}\" data-quadrant=\"{quadrant}\">\
             <circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"6\"><title>{key}: importance {imp:.1}, \
             performance {perf:.1}% ({range}), n = {n}</title></circle>\
             <text class=\"point-label\" x=\"{lx:.1}\" y=\"{ly:.1}\">{key}</text></g>",
            class = quadrant.to_ascii_lowercase().replace('_', "-"),
            perf = q.performance,
            range = pct_interval(
                q.performance_ci
                    .as_ref()
                    .map(|ci| Interval {
                        lower: ci.lower / 100.0,
                        upper: ci.upper / 100.0,
                    })
                    .as_ref()
            ),
            n = count(q.respondents),
            lx = x + 9.0,
            ly = y + 4.0,
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Every question of the map in its order: quadrant, importance,
/// performance and the delivery gap; unplaced questions say why.
fn table(html: &mut String, map: &GetPriorityMapResponse) {
    html.push_str(
        "<table class=\"priorities\">\n<thead><tr><th>Question</th><th>Quadrant</th>\
         <th class=\"num\">Stated importance</th><th class=\"num\">Derived importance</th>\
         <th class=\"num\">Performance</th><th class=\"num\">Delivery gap</th></tr></thead>\n<tbody>\n",
    );
    let dash = || "–".to_owned();
    for q in &map.questions {
        let quadrant = match PriorityQuadrant::try_from(q.quadrant) {
            Ok(PriorityQuadrant::ConcentrateHere) => "Concentrate here".to_owned(),
            Ok(PriorityQuadrant::KeepUpTheGoodWork) => "Keep up the good work".to_owned(),
            Ok(PriorityQuadrant::LowPriority) => "Low priority".to_owned(),
            Ok(PriorityQuadrant::PossibleOverkill) => "Possible overkill".to_owned(),
            _ if q.suppressed => format!(
                "<span class=\"muted\">n &lt; {} (only {} answered; not reported)</span>",
                map.min_group_size,
                count(q.respondents)
            ),
            _ => "<span class=\"muted\">not placed</span>".to_owned(),
        };
        let (stated, derived, performance, gap) = if q.suppressed {
            (dash(), dash(), dash(), dash())
        } else {
            (
                q.stated_importance.map_or_else(dash, |v| format!("{v:.1}")),
                q.derived_importance
                    .map_or_else(dash, |v| format!("{v:.1}%")),
                format!("{:.0}%", q.performance),
                q.delivery_gap_points
                    .map_or_else(dash, |g| super::format::signed(g, 1)),
            )
        };
        let _ = writeln!(
            html,
            "<tr><td><code>{key}</code></td><td>{quadrant}</td><td class=\"num\">{stated}</td>\
             <td class=\"num\">{derived}</td><td class=\"num\">{performance}</td>\
             <td class=\"num\">{gap}</td></tr>",
            key = esc(&q.question),
        );
    }
    html.push_str("</tbody>\n</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(
        key: &str,
        quadrant: PriorityQuadrant,
        importance: f64,
        performance: f64,
    ) -> PriorityQuestion {
        PriorityQuestion {
            question: key.into(),
            respondents: 1200,
            stated_importance: Some(importance),
            performance,
            performance_ci: Some(Interval {
                lower: performance - 3.0,
                upper: performance + 3.0,
            }),
            quadrant: quadrant as i32,
            ..Default::default()
        }
    }

    fn sample() -> GetPriorityMapResponse {
        GetPriorityMapResponse {
            questions: vec![
                question("speed", PriorityQuadrant::ConcentrateHere, 90.0, 30.0),
                question("<b>x</b>", PriorityQuadrant::PossibleOverkill, 50.0, 70.0),
                PriorityQuestion {
                    question: "rare".into(),
                    respondents: 3,
                    suppressed: true,
                    ..Default::default()
                },
            ],
            importance_source: ImportanceSource::Stated as i32,
            importance_mean: Some(70.0),
            performance_mean: Some(50.0),
            min_group_size: 5,
            ..Default::default()
        }
    }

    #[test]
    fn one_point_per_placed_question_and_no_rect() {
        let mut html = String::new();
        priority_section(&mut html, &sample());
        assert_eq!(html.matches("<g class=\"point").count(), 2);
        assert_eq!(
            html.matches("<rect").count(),
            0,
            "the bar chart's rects are counted"
        );
        assert!(html.contains(
            "data-question=\"speed\" data-importance=\"90\" data-performance=\"30\" \
             data-quadrant=\"CONCENTRATE_HERE\""
        ));
        // Importance 90 is on the right of the mean line, performance 30
        // below the other.
        let x = |v: f64| LEFT + PLOT_WIDTH * (v - 40.0) / (100.0 - 40.0);
        let y = |v: f64| TOP + PLOT_HEIGHT * (1.0 - (v - 20.0) / (80.0 - 20.0));
        assert!(html.contains(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\"",
            x(90.0),
            y(30.0)
        )));
        assert!(
            html.contains(&format!("x1=\"{:.1}\"", x(70.0))),
            "importance mean"
        );
        assert!(
            html.contains(&format!("y1=\"{:.1}\"", y(50.0))),
            "performance mean"
        );
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;") && !html.contains("<b>"));
        assert!(html.contains("n &lt; 5 (only 3 answered; not reported)"));
    }

    #[test]
    fn an_unplaced_map_says_why_and_draws_nothing() {
        let mut map = sample();
        map.importance_source = ImportanceSource::Unspecified as i32;
        for q in &mut map.questions {
            q.quadrant = PriorityQuadrant::Unspecified as i32;
        }
        let mut html = String::new();
        priority_section(&mut html, &map);
        assert!(!html.contains("<svg"));
        assert!(html.contains("No question can be placed yet"));
        let mut empty = String::new();
        priority_section(&mut empty, &GetPriorityMapResponse::default());
        assert!(empty.contains("No customer rating answers yet."));
    }

    #[test]
    fn axis_ranges_hold_the_values_in_whole_tens() {
        assert_eq!(axis_range([38.5, 80.0, 59.0].into_iter()), (30.0, 90.0));
        assert_eq!(axis_range([2.0, 41.8].into_iter()), (0.0, 50.0));
        assert_eq!(axis_range([0.0, 100.0].into_iter()), (0.0, 100.0));
        assert_eq!(axis_range([100.0].into_iter()), (90.0, 100.0));
        assert_eq!(axis_range(std::iter::empty()), (0.0, 100.0));
    }
}
