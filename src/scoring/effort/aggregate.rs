//! Effort over the journeys in scope (SPEC §6.2): means, percentiles,
//! tier shares, the components that drive it and the hidden-effort gap,
//! from the sums one aggregate query returns.

use serde::{Deserialize, Serialize};

use super::EffortComponent;
use crate::scoring::stats::{Interval, share, wilson_interval};

/// One component's share of all effort points in scope.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EffortDriver {
    pub component: EffortComponent,
    /// Σ of this component's points over the journeys.
    pub points: f64,
    /// points / Σ points of all components.
    pub share: f64,
}

/// Effort over the journeys in scope (SPEC §6.2).
///
/// Every share and mean is `None` when its denominator is 0 (no journeys,
/// or no journey with an assisted contact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffortAggregate {
    pub journeys: u64,
    pub effort_index_mean: Option<f64>,
    /// Median effort index (`percentile_cont(0.5)`).
    pub effort_index_p50: Option<f64>,
    /// 90th percentile (`percentile_cont(0.9)`).
    pub effort_index_p90: Option<f64>,
    pub high_journeys: u64,
    pub high_share: Option<f64>,
    /// Wilson interval of `high_share`.
    pub high_share_ci: Option<Interval>,
    pub medium_journeys: u64,
    pub low_journeys: u64,
    pub low_share: Option<f64>,
    /// Mean customer touchpoints per journey.
    pub mean_contacts: Option<f64>,
    pub mean_channel_switches: Option<f64>,
    pub mean_customer_minutes: Option<f64>,
    pub unresolved_journeys: u64,
    pub unresolved_share: Option<f64>,
    /// Components with points, largest first (ties in table order), each
    /// with its share of all effort points. Points are the raw component
    /// points before the per-journey cap at 100, so a capped journey still
    /// shows what made it effortful; shares add up to 1. Empty when there
    /// are no effort points at all.
    pub drivers: Vec<EffortDriver>,
    /// Journeys with at least one assisted customer touchpoint.
    pub assisted_journeys: u64,
    /// Of assisted journeys, the share whose first assisted customer
    /// touchpoint is RESOLVED: the company's first-contact resolution.
    pub company_fcr_rate: Option<f64>,
    /// Of all journeys, the share whose first customer touchpoint is
    /// RESOLVED: what the customer experiences.
    pub one_touch_rate: Option<f64>,
    /// (company_fcr_rate − one_touch_rate) × 100.
    pub hidden_effort_gap_points: Option<f64>,
}

/// Counts and sums over the journeys in scope: what one aggregate query
/// returns (each journey's index and points computed under the model in
/// force), so the storage layer need not ship a row per journey. The
/// percentiles come precomputed (`percentile_cont`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct EffortSums {
    pub journeys: u64,
    /// Σ effort index.
    pub effort_index_sum: f64,
    /// Σ effort index², for the variance a change between two windows
    /// needs (SPEC §10.4, Welch's t-test).
    pub effort_index_sum_sq: f64,
    /// `percentile_cont(0.5)` of the effort index; `None` without journeys.
    pub effort_index_p50: Option<f64>,
    /// `percentile_cont(0.9)` of the effort index; `None` without journeys.
    pub effort_index_p90: Option<f64>,
    pub high_journeys: u64,
    pub medium_journeys: u64,
    pub low_journeys: u64,
    /// Σ customer touchpoints.
    pub customer_touchpoints: i64,
    /// Σ channel switches.
    pub channel_switches: i64,
    /// Σ customer seconds.
    pub customer_seconds: i64,
    /// Journeys with no `RESOLVED` touchpoint.
    pub unresolved_journeys: u64,
    /// Σ points of each component, in [`EffortComponent::ALL`] order (raw,
    /// before the per-journey cap at 100).
    pub component_points: [f64; 7],
    /// Journeys with an assisted customer touchpoint.
    pub assisted_journeys: u64,
    /// Of those, journeys whose first assisted customer touchpoint resolved.
    pub first_assisted_resolved: u64,
    /// Journeys whose first customer touchpoint resolved.
    pub first_customer_resolved: u64,
}

impl EffortAggregate {
    /// Formulas (n journeys, index iᵢ):
    ///
    /// ```text
    /// effort_index_mean = Σ iᵢ / n;  p50, p90 = percentile_cont(0.5, 0.9)
    /// high_share = #HIGH / n  (Wilson interval);  low_share = #LOW / n
    /// mean_contacts = Σ customer touchpoints / n  (switches, minutes alike)
    /// unresolved_share = #unresolved / n
    /// driver share = Σ component points / Σ all component points
    /// company_fcr_rate = #first assisted contact resolved / #assisted journeys
    /// one_touch_rate = #first customer contact resolved / n
    /// hidden_effort_gap_points = (company_fcr_rate − one_touch_rate) × 100
    /// ```
    pub fn from_sums(sums: &EffortSums, confidence: f64) -> EffortAggregate {
        let s = sums;
        let n = s.journeys;
        let mean_of = |sum: f64| (n > 0).then(|| sum / n as f64);

        let total_points: f64 = s.component_points.iter().sum();
        let mut drivers: Vec<EffortDriver> = EffortComponent::ALL
            .into_iter()
            .zip(s.component_points)
            .filter(|&(_, points)| points > 0.0)
            .map(|(component, points)| EffortDriver {
                component,
                points,
                share: points / total_points,
            })
            .collect();
        // Stable sort keeps table order for equal points.
        drivers.sort_by(|a, b| b.points.total_cmp(&a.points));

        let company_fcr_rate = share(s.first_assisted_resolved, s.assisted_journeys);
        let one_touch_rate = share(s.first_customer_resolved, n);
        EffortAggregate {
            journeys: n,
            effort_index_mean: mean_of(s.effort_index_sum),
            effort_index_p50: s.effort_index_p50.filter(|_| n > 0),
            effort_index_p90: s.effort_index_p90.filter(|_| n > 0),
            high_journeys: s.high_journeys,
            high_share: share(s.high_journeys, n),
            high_share_ci: wilson_interval(s.high_journeys, n, confidence),
            medium_journeys: s.medium_journeys,
            low_journeys: s.low_journeys,
            low_share: share(s.low_journeys, n),
            mean_contacts: mean_of(s.customer_touchpoints as f64),
            mean_channel_switches: mean_of(s.channel_switches as f64),
            mean_customer_minutes: mean_of(s.customer_seconds as f64 / 60.0),
            unresolved_journeys: s.unresolved_journeys,
            unresolved_share: share(s.unresolved_journeys, n),
            drivers,
            assisted_journeys: s.assisted_journeys,
            company_fcr_rate,
            one_touch_rate,
            hidden_effort_gap_points: company_fcr_rate
                .zip(one_touch_rate)
                .map(|(fcr, one_touch)| (fcr - one_touch) * 100.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{
        Channel, EffortComponents, EffortModel, TouchpointOutcome, effort_breakdown,
        testing::{spec_easy_stuck, spec_journey, tp},
    };
    use super::*;
    use crate::scoring::stats::tests::assert_close;

    #[test]
    fn spec_journey_hidden_effort_gap_is_100() {
        let c = EffortComponents::from_touchpoints(&spec_journey());
        let a = EffortAggregate::from_journeys([&c], &EffortModel::default(), 0.95);
        assert_eq!(a.journeys, 1);
        assert_eq!(a.company_fcr_rate, Some(1.0));
        assert_eq!(a.one_touch_rate, Some(0.0));
        assert_eq!(a.hidden_effort_gap_points, Some(100.0));
        assert_eq!(a.effort_index_mean, Some(90.0));
        assert_eq!(a.effort_index_p50, Some(90.0));
        assert_eq!(a.effort_index_p90, Some(90.0));
        assert_eq!((a.high_journeys, a.high_share), (1, Some(1.0)));
        assert_eq!(a.high_share_ci.unwrap().upper, 1.0);
        assert_eq!(a.mean_contacts, Some(3.0));
        assert_eq!(a.mean_customer_minutes, Some(45.0));
        assert_eq!(a.unresolved_share, Some(0.0));
        let drivers: Vec<_> = a.drivers.iter().map(|d| (d.component, d.points)).collect();
        assert_eq!(
            drivers,
            [
                (EffortComponent::ExtraContacts, 30.0),
                (EffortComponent::ChannelSwitches, 20.0),
                (EffortComponent::FailedSelfService, 20.0),
                (EffortComponent::CustomerTime, 20.0),
            ]
        );
        assert_close(a.drivers[0].share, 30.0 / 90.0, 1e-15);
    }

    #[test]
    fn aggregate_over_several_journeys() {
        let m = EffortModel::default();
        let [spec, easy, stuck] = spec_easy_stuck();
        assert_eq!(effort_breakdown(&stuck, &m).effort_index, 67.5);
        let journeys = [spec, easy, stuck, easy];
        let a = EffortAggregate::from_journeys(&journeys, &m, 0.95);
        assert_eq!(a.journeys, 4);
        assert_eq!(a.effort_index_mean, Some((90.0 + 67.5) / 4.0));
        // Sorted 0, 0, 67.5, 90: p50 at 1.5 → 33.75; p90 at 2.7 → 67.5 + 0.7·22.5.
        assert_eq!(a.effort_index_p50, Some(33.75));
        assert_close(a.effort_index_p90.unwrap(), 83.25, 1e-12);
        assert_eq!(
            (a.high_journeys, a.medium_journeys, a.low_journeys),
            (2, 0, 2)
        );
        assert_eq!(a.high_share, Some(0.5));
        assert_eq!(
            a.high_share_ci,
            crate::scoring::stats::wilson_interval(2, 4, 0.95)
        );
        assert_eq!(a.low_share, Some(0.5));
        assert_eq!(a.mean_contacts, Some((3 + 1 + 2 + 1) as f64 / 4.0));
        assert_eq!(a.mean_channel_switches, Some(0.5));
        assert_eq!(
            a.mean_customer_minutes,
            Some((45.0 + 3.0 + 10.0 + 3.0) / 4.0)
        );
        assert_eq!((a.unresolved_journeys, a.unresolved_share), (1, Some(0.25)));
        // Only the spec journey has an assisted contact.
        assert_eq!((a.assisted_journeys, a.company_fcr_rate), (1, Some(1.0)));
        assert_eq!(a.one_touch_rate, Some(0.5));
        assert_eq!(a.hidden_effort_gap_points, Some(50.0));
        // Points: extra 30 + 15 = 45, failed self-service 20 + 20 = 40,
        // unresolved 30, switches 20, time 20 + 2.5 = 22.5.
        let drivers: Vec<_> = a.drivers.iter().map(|d| (d.component, d.points)).collect();
        assert_eq!(
            drivers,
            [
                (EffortComponent::ExtraContacts, 45.0),
                (EffortComponent::FailedSelfService, 40.0),
                (EffortComponent::Unresolved, 30.0),
                (EffortComponent::CustomerTime, 22.5),
                (EffortComponent::ChannelSwitches, 20.0),
            ]
        );
        assert_close(a.drivers.iter().map(|d| d.share).sum(), 1.0, 1e-12);
    }

    #[test]
    fn aggregate_from_sums_equals_aggregate_from_journeys() {
        // What the aggregate query returns for the journeys of
        // `aggregate_over_several_journeys`, summed by hand.
        let m = EffortModel::default();
        let [spec, easy, stuck] = spec_easy_stuck();
        let sums = EffortSums {
            journeys: 4,
            effort_index_sum: 90.0 + 67.5,
            effort_index_sum_sq: 90.0 * 90.0 + 67.5 * 67.5,
            effort_index_p50: Some(33.75),
            effort_index_p90: Some(67.5 + 0.7 * 22.5),
            high_journeys: 2,
            medium_journeys: 0,
            low_journeys: 2,
            customer_touchpoints: 3 + 1 + 2 + 1,
            channel_switches: 2,
            customer_seconds: (45 + 3 + 10 + 3) * 60,
            unresolved_journeys: 1,
            component_points: [45.0, 20.0, 40.0, 0.0, 0.0, 22.5, 30.0],
            assisted_journeys: 1,
            first_assisted_resolved: 1,
            first_customer_resolved: 2,
        };
        let from_rows = EffortAggregate::from_journeys(&[spec, easy, stuck, easy], &m, 0.9);
        let from_sums = EffortAggregate::from_sums(&sums, 0.9);
        assert_close(
            from_sums.effort_index_p90.unwrap(),
            from_rows.effort_index_p90.unwrap(),
            1e-12,
        );
        assert_eq!(
            EffortAggregate {
                effort_index_p90: from_rows.effort_index_p90,
                ..from_sums
            },
            from_rows
        );
        // No journeys: the percentiles are absent even if a caller passes some.
        let empty = EffortAggregate::from_sums(
            &EffortSums {
                effort_index_p50: Some(0.0),
                ..EffortSums::default()
            },
            0.95,
        );
        assert_eq!(
            empty,
            EffortAggregate::from_journeys(&[], &EffortModel::default(), 0.95)
        );
    }

    #[test]
    fn aggregate_without_journeys_has_no_figures() {
        let a = EffortAggregate::from_journeys(&[], &EffortModel::default(), 0.95);
        assert_eq!(a.journeys, 0);
        assert_eq!(a.effort_index_mean, None);
        assert_eq!(a.effort_index_p50, None);
        assert_eq!(a.high_share, None);
        assert_eq!(a.high_share_ci, None);
        assert_eq!(a.mean_contacts, None);
        assert_eq!(a.unresolved_share, None);
        assert!(a.drivers.is_empty());
        assert_eq!(a.company_fcr_rate, None);
        assert_eq!(a.one_touch_rate, None);
        assert_eq!(a.hidden_effort_gap_points, None);
    }

    #[test]
    fn self_service_only_journeys_have_no_company_fcr() {
        let easy = EffortComponents::from_touchpoints(&[tp(
            Channel::MobileApp,
            true,
            TouchpointOutcome::Resolved,
            2,
            0,
        )]);
        let a = EffortAggregate::from_journeys([&easy], &EffortModel::default(), 0.95);
        assert_eq!(a.company_fcr_rate, None);
        assert_eq!(a.one_touch_rate, Some(1.0));
        assert_eq!(a.hidden_effort_gap_points, None);
        assert!(a.drivers.is_empty());
    }
}
