//! The report's monthly trends (SPEC §8, §10.4): the delivery gap and NPS
//! month by month, each month with its interval, and the months whose
//! change from the previous month is significant after false-discovery
//! control marked — "did it really move, or is it noise?".
//!
//! The points are `GetTrend`'s; NPS points carry no interval in `GetTrend`
//! (docs/decisions/significance.md), so each month's NPS interval is the
//! `net_score_ci` that `GetPerceptionGap` gives for that month (§10.1),
//! filled in by `fetch`. A change is marked when its `q_value`
//! (Benjamini–Hochberg over the trend's changes) is below 1 − the
//! confidence level, as `significant_after_fdr` is everywhere else.
//!
//! Like the priority map, the charts draw no `<rect>`: the bar chart's bars
//! are the page's only rectangles, which its tests count.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::format::{count, signed};
use crate::proto::v1::*;

/// Most months charted: the latest year of a tenant's data.
pub const MAX_MONTHS: u32 = 12;

/// The two monthly trends of the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trends {
    /// LEADERSHIP→CUSTOMER gap points of the delivery-gap question.
    pub delivery_gap: Vec<TrendPoint>,
    /// Customers' NPS, each point's interval its month's `net_score_ci`.
    pub nps: Vec<TrendPoint>,
    pub confidence_level: f64,
}

/// One chart: its CSS class, its title and its points.
struct Series<'a> {
    class: &'a str,
    label: &'a str,
    points: &'a [TrendPoint],
}

/// The section: both charts and how to read them, or a note without data.
pub fn trend_section(html: &mut String, trends: &Trends) {
    html.push_str("<section>\n<h2>Month by month: real change or noise?</h2>\n");
    let has_value = |points: &[TrendPoint]| points.iter().any(|p| p.value.is_some());
    if !has_value(&trends.delivery_gap) && !has_value(&trends.nps) {
        html.push_str("<p class=\"muted\">No monthly figures yet.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        html,
        "<p class=\"muted\">Each month with its {level} interval (whiskers). A month drawn \
         <span class=\"changed-key\">●</span> changed from the month before by more than noise: \
         its change is significant after false-discovery control over the chart's months \
         (Benjamini–Hochberg q &lt; {alpha}).</p>",
        level = super::format::pct(trends.confidence_level),
        alpha = format_q(1.0 - trends.confidence_level),
    );
    for series in [
        Series {
            class: "delivery-gap",
            label: "Delivery gap, leaders → customers (points)",
            points: &trends.delivery_gap,
        },
        Series {
            class: "nps",
            label: "Net Promoter Score, customers",
            points: &trends.nps,
        },
    ] {
        let _ = writeln!(html, "<h3>{}</h3>", series.label);
        html.push_str(&trend_svg(
            series.class,
            series.points,
            trends.confidence_level,
        ));
    }
    html.push_str("</section>\n");
}

// Chart geometry, in SVG user units.
const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 250.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 48.0;
const PLOT_WIDTH: f64 = WIDTH - LEFT - RIGHT;
const PLOT_HEIGHT: f64 = HEIGHT - TOP - BOTTOM;

/// Whether a point's change from the previous month is significant after
/// FDR control at `confidence`.
pub fn is_marked(p: &TrendPoint, confidence: f64) -> bool {
    p.change_from_previous
        .as_ref()
        .and_then(|c| c.q_value)
        .is_some_and(|q| q < 1.0 - confidence)
}

/// The value axis: the values and intervals with a margin, in whole tens
/// (twenties past 80 points), 0 always included, within −100..100.
fn value_range(points: &[TrendPoint]) -> (f64, f64, f64) {
    let values = points.iter().flat_map(|p| {
        p.value
            .into_iter()
            .chain(p.interval.iter().flat_map(|ci| [ci.lower, ci.upper]))
    });
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let step = if hi - lo > 80.0 { 20.0 } else { 10.0 };
    let lo = if lo < 0.0 {
        ((lo - 2.0) / step).floor() * step
    } else {
        0.0
    };
    let hi = if hi > 0.0 {
        ((hi + 2.0) / step).ceil() * step
    } else {
        0.0
    };
    let (lo, hi) = (lo.max(-100.0), hi.min(100.0));
    if hi > lo {
        (lo, hi, step)
    } else {
        (lo, lo + step, step)
    }
}

fn month(p: &TrendPoint) -> Option<DateTime<Utc>> {
    let t = p.bucket_start.as_ref()?;
    DateTime::from_timestamp(t.seconds, 0)
}

/// "0.05", "0.001", "3e-5": a q-value or threshold as people read it.
fn format_q(q: f64) -> String {
    if q >= 0.001 {
        let s = format!("{q:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        format!("{q:.0e}")
    }
}

/// One trend as a chart: a column per month, the value as a point with its
/// interval as a whisker, consecutive months joined by a line, months
/// without a value labelled, and the months whose change is significant
/// after FDR control marked and annotated with the change. Each month is a
/// `<g class="trend-point">` carrying its month, value, interval and
/// whether it is marked as data attributes, so a test can read them.
pub fn trend_svg(class: &str, points: &[TrendPoint], confidence: f64) -> String {
    let (lo, hi, step) = value_range(points);
    let n = points.len().max(1) as f64;
    let slot = PLOT_WIDTH / n;
    let x_of = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let y_of = |v: f64| TOP + PLOT_HEIGHT * (1.0 - ((v - lo) / (hi - lo)).clamp(0.0, 1.0));
    let (x0, x1, y0, y1) = (LEFT, LEFT + PLOT_WIDTH, TOP, TOP + PLOT_HEIGHT);
    let mut svg = String::with_capacity(8 * 1024);
    let _ = writeln!(
        svg,
        "<svg class=\"trend {class}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         role=\"img\" aria-label=\"{class} by month\">"
    );
    // Grid, value ticks and the zero line.
    let ticks = ((hi - lo) / step).round() as i32;
    for k in 0..=ticks {
        let v = lo + step * f64::from(k);
        let y = y_of(v);
        let zero = if v == 0.0 { " zero" } else { "" };
        let _ = writeln!(
            svg,
            "<line class=\"grid{zero}\" x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{x1}\" y2=\"{y:.1}\"/>\
             <text class=\"tick\" x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{label}</text>",
            tx = x0 - 6.0,
            ty = y + 4.0,
            label = signed(v, 0),
        );
    }
    // The line through consecutive months with a value.
    let mut path = String::new();
    let mut previous = false;
    for (i, p) in points.iter().enumerate() {
        match p.value {
            Some(v) => {
                let _ = write!(
                    path,
                    "{}{:.1} {:.1}",
                    if previous { "L" } else { "M" },
                    x_of(i),
                    y_of(v)
                );
                previous = true;
            }
            None => previous = false,
        }
    }
    if !path.is_empty() {
        let _ = writeln!(svg, "<path class=\"line\" d=\"{path}\"/>");
    }
    for (i, p) in points.iter().enumerate() {
        let x = x_of(i);
        let label = month(p).map_or_else(|| "?".to_owned(), |m| m.format("%b %Y").to_string());
        let key = month(p).map_or_else(String::new, |m| m.format("%Y-%m").to_string());
        let _ = writeln!(
            svg,
            "<text class=\"tick month\" x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{label}</text>\
             <text class=\"tick n\" x=\"{x:.1}\" y=\"{ny:.1}\" text-anchor=\"middle\">n = {n}</text>",
            y = y1 + 18.0,
            ny = y1 + 34.0,
            n = count(p.sample_size),
        );
        let Some(v) = p.value else {
            let _ = writeln!(
                svg,
                "<g class=\"trend-point empty\" data-month=\"{key}\"><text class=\"suppressed\" \
                 x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{what}</text></g>",
                y = y1 - 8.0,
                what = if p.sample_size > 0 {
                    "not reported"
                } else {
                    "no answers"
                },
            );
            continue;
        };
        let marked = is_marked(p, confidence);
        let y = y_of(v);
        let ci = p.interval.unwrap_or(Interval { lower: v, upper: v });
        let (top, bottom) = (y_of(ci.upper), y_of(ci.lower));
        let change = p.change_from_previous.as_ref();
        let change_text = change
            .and_then(|c| Some((c.difference?, c.q_value?)))
            .map(|(d, q)| format!("; change {}, q = {}", signed(d, 1), format_q(q)))
            .unwrap_or_default();
        let _ = write!(
            svg,
            "<g class=\"trend-point{marked_class}\" data-month=\"{key}\" data-value=\"{v}\" \
             data-lower=\"{lower}\" data-upper=\"{upper}\" data-marked=\"{marked}\">\
             <path class=\"whisker\" d=\"M{x:.1} {top:.1}V{bottom:.1}M{l:.1} {top:.1}H{r:.1}M{l:.1} {bottom:.1}H{r:.1}\"/>\
             <circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{radius}\"><title>{label}: {value} \
             ({lo_text} to {hi_text}), n = {n}{change_text}</title></circle>",
            marked_class = if marked { " changed" } else { "" },
            lower = ci.lower,
            upper = ci.upper,
            l = x - 5.0,
            r = x + 5.0,
            radius = if marked { 7 } else { 4 },
            value = signed(v, 1),
            lo_text = signed(ci.lower, 1),
            hi_text = signed(ci.upper, 1),
            n = count(p.sample_size),
        );
        let _ = write!(
            svg,
            "<text class=\"value\" x=\"{tx:.1}\" y=\"{ty:.1}\">{value}</text>",
            tx = x + 8.0,
            ty = y - 6.0,
            value = signed(v, 0),
        );
        // The change's annotation on the side it went: below a fall,
        // above a rise, clear of the whisker.
        if marked && let Some(d) = change.and_then(|c| c.difference) {
            let ty = if d < 0.0 {
                (bottom + 16.0).min(y1 - 4.0)
            } else {
                (top - 8.0).max(y0 - 12.0)
            };
            let _ = write!(
                svg,
                "<text class=\"change\" x=\"{x:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{d} \
                 vs previous month</text>",
                d = signed(d, 1),
            );
        }
        svg.push_str("</g>\n");
    }
    let _ = writeln!(svg, "<path class=\"axis\" d=\"M{x0} {y0}V{y1}H{x1}\"/>");
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::convert::utc_to_timestamp;
    use chrono::TimeZone;

    fn point(m: u32, value: Option<f64>, ci: (f64, f64), q: Option<f64>) -> TrendPoint {
        TrendPoint {
            bucket_start: Some(utc_to_timestamp(
                Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0).unwrap(),
            )),
            bucket_end: None,
            sample_size: if value.is_some() { 300 } else { 0 },
            value,
            interval: value.map(|_| Interval {
                lower: ci.0,
                upper: ci.1,
            }),
            change_from_previous: q.map(|q| MetricChange {
                difference: Some(-20.0),
                q_value: Some(q),
                ..Default::default()
            }),
        }
    }

    fn sample() -> Vec<TrendPoint> {
        vec![
            point(6, Some(-30.0), (-36.0, -24.0), None),
            point(7, Some(-27.0), (-33.0, -21.0), Some(0.6)),
            point(8, None, (0.0, 0.0), None),
            point(9, Some(-36.0), (-42.0, -30.0), Some(0.6)),
            point(10, Some(-56.0), (-61.0, -51.0), Some(0.001)),
        ]
    }

    #[test]
    fn only_changes_significant_after_fdr_are_marked() {
        let svg = trend_svg("nps", &sample(), 0.95);
        assert_eq!(svg.matches("<g class=\"trend-point").count(), 5);
        assert_eq!(svg.matches("<g class=\"trend-point changed\"").count(), 1);
        assert!(svg.contains("data-month=\"2026-10\" data-value=\"-56\""));
        assert!(svg.contains("data-marked=\"true\""));
        assert!(svg.contains("−20.0 vs previous month"));
        assert!(svg.contains("q = 0.001"));
        // At 0.9995 no change passes q < 0.0005.
        let strict = trend_svg("nps", &sample(), 0.9995);
        assert_eq!(strict.matches("trend-point changed").count(), 0);
        assert_eq!(svg.matches("<rect").count(), 0, "no rectangles");
        assert!(svg.contains("no answers"));
    }

    #[test]
    fn points_and_whiskers_sit_at_their_values() {
        let points = sample();
        let svg = trend_svg("nps", &points, 0.95);
        // Values −61..−21 and 0: the axis runs −70..0 in tens.
        assert_eq!(value_range(&points), (-70.0, 0.0, 10.0));
        let y = |v: f64| TOP + PLOT_HEIGHT * (1.0 - (v + 70.0) / 70.0);
        let slot = PLOT_WIDTH / 5.0;
        let x = |i: f64| LEFT + slot * (i + 0.5);
        assert!(svg.contains(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"7\"",
            x(4.0),
            y(-56.0)
        )));
        assert!(svg.contains(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\"",
            x(0.0),
            y(-30.0)
        )));
        assert!(svg.contains(&format!("M{:.1} {:.1}V{:.1}", x(4.0), y(-51.0), y(-61.0))));
        // The line breaks at the empty month.
        assert!(svg.contains(&format!(
            "d=\"M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L",
            x(0.0),
            y(-30.0),
            x(1.0),
            y(-27.0),
            x(3.0),
            y(-36.0)
        )));
        assert!(svg.contains(">Oct 2026</text>"));
    }

    #[test]
    fn value_ranges_include_zero_and_stay_within_a_hundred() {
        let p = |v: f64, lo: f64, hi: f64| point(1, Some(v), (lo, hi), None);
        assert_eq!(value_range(&[p(77.0, 66.0, 84.0)]), (0.0, 100.0, 20.0));
        assert_eq!(value_range(&[p(40.0, 30.0, 55.0)]), (0.0, 60.0, 10.0));
        assert_eq!(value_range(&[p(-10.0, -99.0, 60.0)]), (-100.0, 80.0, 20.0));
        assert_eq!(value_range(&[]), (0.0, 10.0, 10.0));
    }

    #[test]
    fn an_empty_trend_says_so() {
        let mut html = String::new();
        trend_section(&mut html, &Trends::default());
        assert!(html.contains("No monthly figures yet."));
        let mut html = String::new();
        trend_section(
            &mut html,
            &Trends {
                nps: sample(),
                confidence_level: 0.95,
                ..Default::default()
            },
        );
        assert_eq!(html.matches("<svg class=\"trend").count(), 2);
        assert!(html.contains("q &lt; 0.05"));
    }

    #[test]
    fn q_values_read_naturally() {
        assert_eq!(format_q(0.05), "0.05");
        assert_eq!(format_q(0.0012), "0.001");
        assert_eq!(format_q(0.00003), "3e-5");
    }
}
