//! What every successful scoring answer must satisfy, whatever the request
//! (SPEC §5–§8): shares and probabilities in [0, 1], each point estimate
//! inside its interval, counts within their totals, derived figures equal
//! to what they are derived from, the confidence level the one asked for.

use gapscore::proto::v1::*;
use proptest::{prelude::*, test_runner::TestCaseError};

type Check = Result<(), TestCaseError>;

/// Slack for figures computed in floating point.
const EPS: f64 = 1e-9;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= EPS * b.abs().max(1.0)
}

fn in_range(x: f64, lo: f64, hi: f64, what: &str) -> Check {
    prop_assert!(
        x.is_finite() && lo - EPS <= x && x <= hi + EPS,
        "{} = {} is not in [{}, {}]",
        what,
        x,
        lo,
        hi
    );
    Ok(())
}

fn share(x: f64, what: &str) -> Check {
    in_range(x, 0.0, 1.0, what)
}

/// `ci` lies in [lo, hi], lower bound first. An adjusted-Wald interval is
/// centred on the adjusted estimate, so it need not contain the plain one.
fn ordered(ci: &Interval, (lo, hi): (f64, f64), what: &str) -> Check {
    in_range(ci.lower, lo, hi, what)?;
    in_range(ci.upper, lo, hi, what)?;
    prop_assert!(ci.lower <= ci.upper, "{} = {:?} is out of order", what, ci);
    Ok(())
}

/// `ci` lies in [lo, hi] and contains `x`.
fn interval(ci: &Interval, x: f64, (lo, hi): (f64, f64), what: &str) -> Check {
    in_range(ci.lower, lo, hi, what)?;
    in_range(ci.upper, lo, hi, what)?;
    prop_assert!(
        ci.lower - EPS <= x && x <= ci.upper + EPS,
        "{} = {} is outside its interval {:?}",
        what,
        x,
        ci
    );
    Ok(())
}

/// A share's interval: present, in [0, 1], around the share.
fn share_ci(ci: Option<&Interval>, x: f64, what: &str) -> Check {
    share(x, what)?;
    let ci = ci.ok_or_else(|| TestCaseError::fail(format!("{what} has no interval")))?;
    interval(ci, x, (0.0, 1.0), what)
}

/// A Beta posterior's mean and its equal-tailed credible interval: both
/// within [0, 1], the interval ordered. The mean need not lie inside it:
/// with shapes below 1 (a fuzzed model's tiny `prior_strength`) the Beta is
/// U-shaped, e.g. Beta(0.84ε, 0.16ε) has mean 0.84 and, at 50%, the
/// interval [≈1, ≈1].
fn posterior_ci(ci: Option<&Interval>, mean: f64, what: &str) -> Check {
    share(mean, what)?;
    let ci = ci.ok_or_else(|| TestCaseError::fail(format!("{what} has no interval")))?;
    share(ci.lower, what)?;
    share(ci.upper, what)?;
    prop_assert!(
        ci.lower <= ci.upper,
        "{} interval {:?} is not ordered",
        what,
        ci
    );
    Ok(())
}

/// The level asked for, else the model's (which the fuzzed updates keep
/// within 0.5–0.999).
fn confidence(asked: Option<f64>, answered: f64) -> Check {
    match asked {
        Some(level) => prop_assert_eq!(answered, level),
        None => in_range(answered, 0.5, 0.999, "confidence_level")?,
    }
    Ok(())
}

/// `min_group_size`: the threshold in force, where the answer says it.
fn role_figures(r: &RoleFigures, min_group_size: Option<i32>) -> Check {
    prop_assert!(r.respondents >= 0, "{:?}", r);
    if r.suppressed {
        // Only the count of a suppressed role is returned.
        let bare = RoleFigures {
            role: r.role,
            respondents: r.respondents,
            suppressed: true,
            ..RoleFigures::default()
        };
        prop_assert_eq!(r, &bare);
        if let Some(min) = min_group_size {
            prop_assert!(r.respondents < i64::from(min), "{:?}", r);
        }
        return Ok(());
    }
    let n = r.respondents as f64;
    let min = min_group_size.unwrap_or(1).max(1);
    prop_assert!(r.respondents >= i64::from(min), "{:?}", r);
    prop_assert!((0..=r.respondents).contains(&r.favorable), "{:?}", r);
    prop_assert!(close(r.favorable_share, r.favorable as f64 / n), "{:?}", r);
    share_ci(
        r.favorable_share_ci.as_ref(),
        r.favorable_share,
        "favorable_share",
    )?;
    let unfavorable_share = match (r.unfavorable, r.unfavorable_share) {
        (Some(u), Some(s)) => {
            prop_assert!(u >= 0 && r.favorable + u <= r.respondents, "{:?}", r);
            prop_assert!(close(s, u as f64 / n), "{:?}", r);
            s
        }
        (None, None) => 0.0,
        _ => return Err(TestCaseError::fail(format!("unfavorable half set: {r:?}"))),
    };
    in_range(r.net_score, -100.0, 100.0, "net_score")?;
    let net_ci = r.net_score_ci.as_ref();
    let net_ci = net_ci.ok_or_else(|| TestCaseError::fail(format!("no net interval: {r:?}")))?;
    ordered(net_ci, (-100.0, 100.0), "net_score_ci")?;
    prop_assert!(
        close(r.net_score, (r.favorable_share - unfavorable_share) * 100.0),
        "{:?}",
        r
    );
    in_range(r.mean_normalized, 0.0, 100.0, "mean_normalized")?;
    prop_assert!(r.mean_score.is_finite(), "{:?}", r);
    Ok(())
}

fn comparison(c: &RoleComparison) -> Check {
    prop_assert!(c.from_role != c.to_role, "{:?}", c);
    in_range(c.gap_points, -100.0, 100.0, "gap_points")?;
    let ci = c.gap_points_ci.as_ref();
    let ci = ci.ok_or_else(|| TestCaseError::fail(format!("no gap interval: {c:?}")))?;
    interval(ci, c.gap_points, (-100.0, 100.0), "gap_points")?;
    share(c.p_value, "p_value")?;
    prop_assert_eq!(c.significant, ci.lower > 0.0 || ci.upper < 0.0, "{:?}", c);
    in_range(c.mean_gap_points, -100.0, 100.0, "mean_gap_points")?;
    if let Some(ratio) = c.agreement_ratio {
        prop_assert!(ratio.is_finite() && ratio >= 0.0, "{:?}", c);
    }
    in_range(c.net_gap_points, -200.0, 200.0, "net_gap_points")?;
    let net_ci = c.net_gap_points_ci.as_ref();
    let net_ci = net_ci.ok_or_else(|| TestCaseError::fail(format!("no net interval: {c:?}")))?;
    ordered(net_ci, (-200.0, 200.0), "net_gap_points_ci")?;
    share(c.net_p_value, "net_p_value")?;
    prop_assert!(c.p_value <= c.q_value && c.q_value <= 1.0, "{:?}", c);
    Ok(())
}

/// `in_group`: a group's report, where complementary suppression (SPEC
/// §10.5) may withhold a role of any size.
fn question(q: &QuestionGap, min_group_size: i32, in_group: bool) -> Check {
    for r in &q.roles {
        let threshold = (!(in_group && r.suppressed)).then_some(min_group_size);
        role_figures(r, threshold)?;
    }
    if let Some(v) = &q.vs_rest {
        prop_assert!(in_group, "vs_rest in the overall report: {:?}", q);
        let customers = q
            .roles
            .iter()
            .find(|r| r.role() == RespondentRole::Customer);
        prop_assert!(customers.is_some_and(|c| !c.suppressed), "{:?}", q);
        prop_assert!(
            v.rest_respondents >= i64::from(min_group_size.max(1)),
            "{:?}",
            v
        );
        in_range(v.gap_points, -100.0, 100.0, "vs_rest.gap_points")?;
        share(v.p_value, "vs_rest.p_value")?;
        prop_assert!(v.p_value <= v.q_value && v.q_value <= 1.0, "{:?}", v);
    }
    let figures = |role: i32| q.roles.iter().find(|r| r.role == role);
    for c in &q.comparisons {
        comparison(c)?;
        let (from, to) = match (figures(c.from_role), figures(c.to_role)) {
            (Some(f), Some(t)) if !f.suppressed && !t.suppressed => (f, t),
            _ => return Err(TestCaseError::fail(format!("{c:?} uses a missing role"))),
        };
        let gap = (from.favorable_share - to.favorable_share) * 100.0;
        prop_assert!(close(c.gap_points, gap), "{:?} of {:?}", c, q);
        let mean_gap = from.mean_normalized - to.mean_normalized;
        prop_assert!(close(c.mean_gap_points, mean_gap), "{:?} of {:?}", c, q);
        match c.agreement_ratio {
            None => prop_assert_eq!(from.favorable_share, 0.0),
            Some(ratio) => prop_assert!(
                close(ratio, to.favorable_share / from.favorable_share),
                "{:?}",
                c
            ),
        }
    }
    Ok(())
}

fn themes(t: &ThemeAlignment) -> Check {
    for r in &t.roles {
        prop_assert!(r.respondents >= 0, "{:?}", r);
        prop_assert!(r.themes.len() as i64 <= r.distinct_themes, "{:?}", r);
        if r.suppressed {
            prop_assert!(r.themes.is_empty(), "{:?}", r);
        }
        for s in &r.themes {
            prop_assert!((1..=r.respondents).contains(&s.mentions), "{:?}", r);
            prop_assert!(
                close(s.share, s.mentions as f64 / r.respondents as f64),
                "{:?}",
                r
            );
        }
    }
    for c in &t.comparisons {
        if let Some(a) = c.alignment {
            share(a, "alignment")?;
        }
        prop_assert!(c.differences.len() as i64 <= c.distinct_themes, "{:?}", c);
        for d in &c.differences {
            share(d.from_share, "from_share")?;
            share(d.to_share, "to_share")?;
            in_range(d.difference_points, -100.0, 100.0, "difference_points")?;
        }
    }
    Ok(())
}

fn gap_report(r: &PerceptionGapReport, min_group_size: i32, in_group: bool) -> Check {
    for q in &r.questions {
        question(q, min_group_size, in_group)?;
    }
    for t in &r.themes {
        themes(t)?;
    }
    Ok(())
}

pub fn perception_gap(req: &GetPerceptionGapRequest, r: &GetPerceptionGapResponse) -> Check {
    confidence(req.confidence_level, r.confidence_level)?;
    prop_assert!(r.min_group_size >= 1, "{}", r.min_group_size);
    let overall = r.overall.as_ref();
    let overall = overall.ok_or_else(|| TestCaseError::fail("no overall report"))?;
    gap_report(overall, r.min_group_size, false)?;
    if req.group_by.is_empty() {
        prop_assert!(r.groups.is_empty());
    }
    prop_assert!(r.groups.len() <= 100, "{} groups", r.groups.len());
    let values: Vec<&str> = r.groups.iter().map(|g| g.label_value.as_str()).collect();
    prop_assert!(values.windows(2).all(|w| w[0] < w[1]), "{:?}", values);
    for g in &r.groups {
        let report = g.report.as_ref();
        gap_report(
            report.unwrap_or(&Default::default()),
            r.min_group_size,
            true,
        )?;
    }
    Ok(())
}

fn effort_summary(s: &EffortSummary) -> Check {
    prop_assert!(
        s.journeys >= 0 && (0..=s.journeys).contains(&s.customers),
        "{:?}",
        s
    );
    prop_assert!(s.customers > 0 || s.journeys == 0, "{:?}", s);
    prop_assert!(
        s.high_effort_journeys >= 0 && s.low_effort_journeys >= 0,
        "{:?}",
        s
    );
    prop_assert!(
        s.high_effort_journeys + s.low_effort_journeys <= s.journeys,
        "{:?}",
        s
    );
    prop_assert!((0..=s.journeys).contains(&s.assisted_journeys), "{:?}", s);
    let of_journeys = |k: i64| {
        if s.journeys == 0 {
            0.0
        } else {
            k as f64 / s.journeys as f64
        }
    };
    prop_assert!(
        close(s.high_effort_share, of_journeys(s.high_effort_journeys)),
        "{:?}",
        s
    );
    prop_assert!(
        close(s.low_effort_share, of_journeys(s.low_effort_journeys)),
        "{:?}",
        s
    );
    if s.journeys == 0 {
        prop_assert_eq!(s.high_effort_share_ci, None);
    } else {
        share_ci(
            s.high_effort_share_ci.as_ref(),
            s.high_effort_share,
            "high_effort_share",
        )?;
    }
    for (x, what) in [
        (s.effort_index_mean, "effort_index_mean"),
        (s.effort_index_p50, "effort_index_p50"),
        (s.effort_index_p90, "effort_index_p90"),
    ] {
        in_range(x, 0.0, 100.0, what)?;
    }
    prop_assert!(s.effort_index_p50 <= s.effort_index_p90 + EPS, "{:?}", s);
    for (x, what) in [
        (s.unresolved_share, "unresolved_share"),
        (s.company_fcr_rate, "company_fcr_rate"),
        (s.one_touch_rate, "one_touch_rate"),
    ] {
        share(x, what)?;
    }
    for x in [
        s.mean_customer_contacts,
        s.mean_channel_switches,
        s.mean_customer_minutes,
    ] {
        prop_assert!(x.is_finite() && x >= 0.0, "{:?}", s);
    }
    // Without assisted journeys there is no company view: rate and gap 0.
    let hidden = if s.assisted_journeys == 0 {
        prop_assert_eq!(s.company_fcr_rate, 0.0, "{:?}", s);
        0.0
    } else {
        (s.company_fcr_rate - s.one_touch_rate) * 100.0
    };
    prop_assert!(close(s.hidden_effort_gap_points, hidden), "{:?}", s);
    for d in &s.drivers {
        prop_assert!(d.points.is_finite() && d.points >= 0.0, "{:?}", d);
        share(d.share, "driver share")?;
    }
    let points: Vec<f64> = s.drivers.iter().map(|d| d.points).collect();
    prop_assert!(
        points.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {:?}",
        points
    );
    if !s.drivers.is_empty() {
        let total: f64 = s.drivers.iter().map(|d| d.share).sum();
        prop_assert!(close(total, 1.0), "driver shares sum to {}", total);
    }
    Ok(())
}

fn survey_effort(c: &SurveyEffort) -> Check {
    prop_assert!(c.responses >= 0, "{:?}", c);
    if c.responses == 0 {
        let empty = SurveyEffort::default();
        prop_assert_eq!(c, &empty);
        return Ok(());
    }
    in_range(c.mean, 1.0, 7.0, "ease mean")?;
    share_ci(
        c.low_effort_share_ci.as_ref(),
        c.low_effort_share,
        "low_effort_share",
    )?;
    share_ci(
        c.high_effort_share_ci.as_ref(),
        c.high_effort_share,
        "high_effort_share",
    )?;
    prop_assert!(
        c.low_effort_share + c.high_effort_share <= 1.0 + EPS,
        "{:?}",
        c
    );
    let net = (c.low_effort_share - c.high_effort_share) * 100.0;
    prop_assert!(close(c.net_ease, net), "{:?}", c);
    Ok(())
}

pub fn effort(req: &GetEffortIndexRequest, r: &GetEffortIndexResponse) -> Check {
    confidence(req.confidence_level, r.confidence_level)?;
    let summary = r.summary.as_ref();
    effort_summary(summary.ok_or_else(|| TestCaseError::fail("no summary"))?)?;
    let ces = r.survey_effort.as_ref();
    survey_effort(ces.ok_or_else(|| TestCaseError::fail("no survey effort"))?)?;
    for c in &r.by_channel {
        prop_assert!(c.touchpoints > 0, "{:?}", c);
        share(c.unresolved_share, "channel unresolved_share")?;
        prop_assert!(
            c.mean_wait_seconds.is_finite() && c.mean_wait_seconds >= 0.0,
            "{:?}",
            c
        );
    }
    Ok(())
}

fn tier_rate(t: &TierRate) -> Check {
    share(t.prior_mean, "prior_mean")?;
    prop_assert!(
        t.observed >= 0 && (0..=t.observed).contains(&t.occurrences),
        "{:?}",
        t
    );
    posterior_ci(t.posterior_ci.as_ref(), t.posterior_mean, "posterior_mean")
}

pub fn loyalty(req: &GetLoyaltyRiskRequest, r: &GetLoyaltyRiskResponse) -> Check {
    confidence(req.confidence_level, r.confidence_level)?;
    let tiers: Vec<i32> = r.tiers.iter().map(|t| t.tier).collect();
    prop_assert_eq!(tiers, [1, 2, 3], "LOW, MEDIUM, HIGH");
    let total: i64 = r.tiers.iter().map(|t| t.customers).sum();
    prop_assert_eq!(total, r.customers);
    let of_customers = |k: i64| {
        if r.customers == 0 {
            0.0
        } else {
            k as f64 / r.customers as f64
        }
    };
    for t in &r.tiers {
        prop_assert!(
            t.customers >= 0 && close(t.share, of_customers(t.customers)),
            "{:?}",
            t
        );
    }
    let high = &r.tiers[2];
    if r.customers == 0 {
        prop_assert_eq!(r.high_share_ci, None);
    } else {
        share_ci(r.high_share_ci.as_ref(), high.share, "HIGH share")?;
    }
    prop_assert_eq!(r.outcomes.len(), 4);
    for o in &r.outcomes {
        prop_assert_eq!(o.tier_rates.len(), 3);
        for t in &o.tier_rates {
            tier_rate(t)?;
        }
        if r.customers == 0 {
            prop_assert_eq!((o.expected_share, o.expected_customers), (0.0, 0.0));
        } else {
            share_ci(
                o.expected_share_ci.as_ref(),
                o.expected_share,
                "expected_share",
            )?;
            let expected: f64 = r
                .tiers
                .iter()
                .zip(&o.tier_rates)
                .map(|(t, rate)| t.share * rate.posterior_mean)
                .sum();
            prop_assert!(close(o.expected_share, expected), "{:?}", o);
        }
        let customers = o.expected_share * r.customers as f64;
        prop_assert!(close(o.expected_customers, customers), "{:?}", o);
    }
    let nwom = r
        .outcomes
        .iter()
        .find(|o| o.kind == OutcomeKind::NegativeWordOfMouth as i32);
    let nwom = nwom.ok_or_else(|| TestCaseError::fail("no NWOM outcome"))?;
    let detractors = high.customers as f64 * nwom.tier_rates[2].posterior_mean;
    prop_assert!(close(r.likely_detractors, detractors), "{:?}", r);
    prop_assert!(!r.headline.is_empty());
    Ok(())
}

pub fn scorecard(_req: &GetScorecardRequest, r: &GetScorecardResponse) -> Check {
    in_range(r.confidence_level, 0.5, 0.999, "confidence_level")?;
    if let Some(c) = &r.delivery_gap {
        comparison(c)?;
    }
    prop_assert!(r.largest_gaps.len() <= 3, "{:?}", r.largest_gaps);
    for g in &r.largest_gaps {
        let c = g.comparison.as_ref();
        let c = c.ok_or_else(|| TestCaseError::fail(format!("no comparison: {g:?}")))?;
        comparison(c)?;
        prop_assert!(c.significant, "{:?}", g);
    }
    if let Some(nps) = &r.customer_nps {
        // The scorecard does not say its threshold.
        role_figures(nps, None)?;
    }
    if let Some(ces) = &r.customer_ces {
        survey_effort(ces)?;
    }
    let effort = r.effort.as_ref();
    effort_summary(effort.ok_or_else(|| TestCaseError::fail("no effort"))?)?;
    let l = r.loyalty.as_ref();
    let l = l.ok_or_else(|| TestCaseError::fail("no loyalty"))?;
    prop_assert!(
        (0..=l.customers).contains(&l.high_effort_customers),
        "{:?}",
        l
    );
    in_range(
        l.likely_detractors,
        0.0,
        l.high_effort_customers as f64,
        "likely_detractors",
    )?;
    Ok(())
}

/// The range of a trend metric's values.
fn metric_range(metric: i32) -> (f64, f64) {
    match TrendMetric::try_from(metric) {
        Ok(TrendMetric::NetScore | TrendMetric::GapPoints) => (-100.0, 100.0),
        Ok(TrendMetric::EffortIndexMean) => (0.0, 100.0),
        Ok(TrendMetric::CesMean) => (1.0, 7.0),
        _ => (0.0, 1.0),
    }
}

pub fn trend(req: &GetTrendRequest, r: &GetTrendResponse) -> Check {
    let range = metric_range(req.metric);
    for p in &r.points {
        let (start, end) = (p.bucket_start.as_ref(), p.bucket_end.as_ref());
        let (Some(start), Some(end)) = (start, end) else {
            return Err(TestCaseError::fail(format!(
                "a bucket without bounds: {p:?}"
            )));
        };
        prop_assert!(
            (start.seconds, start.nanos) < (end.seconds, end.nanos),
            "{:?}",
            p
        );
        prop_assert!(p.sample_size >= 0, "{:?}", p);
        match p.value {
            None => prop_assert!(p.interval.is_none(), "{:?}", p),
            Some(v) => {
                prop_assert!(p.sample_size > 0, "a value without a sample: {:?}", p);
                in_range(v, range.0, range.1, "trend value")?;
                if let Some(ci) = &p.interval {
                    interval(ci, v, range, "trend value")?;
                }
            }
        }
    }
    for w in r.points.windows(2) {
        prop_assert_eq!(w[0].bucket_end, w[1].bucket_start, "buckets are contiguous");
    }
    Ok(())
}

pub fn customer_risk(req: &GetCustomerRiskRequest, r: &GetCustomerRiskResponse) -> Check {
    prop_assert_eq!(&r.customer_id, &req.customer_id);
    prop_assert!((1..=3).contains(&r.tier), "{:?}", r);
    match TierSource::try_from(r.tier_source) {
        Ok(TierSource::Ces) => {
            let ease = r.latest_ease.unwrap_or(0);
            prop_assert!((1..=7).contains(&ease), "{:?}", r);
        }
        Ok(TierSource::Journeys) => prop_assert!(r.journeys_in_scope > 0, "{:?}", r),
        _ => return Err(TestCaseError::fail(format!("no tier source: {r:?}"))),
    }
    prop_assert!(r.journeys.len() as i64 <= r.journeys_in_scope, "{:?}", r);
    in_range(r.worst_effort_index, 0.0, 100.0, "worst_effort_index")?;
    for j in &r.journeys {
        in_range(j.effort_index, 0.0, 100.0, "effort_index")?;
        prop_assert!((1..=3).contains(&j.effort_tier), "{:?}", j);
        prop_assert!(j.effort_index <= r.worst_effort_index + EPS, "{:?}", r);
    }
    prop_assert_eq!(r.outcomes.len(), 4);
    for o in &r.outcomes {
        posterior_ci(o.posterior_ci.as_ref(), o.posterior_mean, "posterior_mean")?;
    }
    Ok(())
}
