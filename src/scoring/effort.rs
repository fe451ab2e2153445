//! Customer effort (SPEC §6): per-journey effort components and index, the
//! aggregate over journeys with the hidden-effort gap, and survey effort
//! (CES) from `ease` answers.

use std::collections::HashSet;

pub use crate::domain::enums::{Channel, EffortTier, TouchpointOutcome};
use serde::{Deserialize, Serialize};

use super::ModelViolation;
use super::stats::{Interval, percentile_cont, share, wilson_interval};

/// `ease` (CES 2.0, 1–7) answers at or above this are low effort.
pub const EASE_LOW_EFFORT_MIN: i32 = 5;
/// `ease` answers at or below this are high effort.
pub const EASE_HIGH_EFFORT_MAX: i32 = 3;

/// The scoring-relevant part of one touchpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouchpointInput {
    pub channel: Channel,
    /// True for `INITIATOR_CUSTOMER`, false for company-initiated contacts
    /// (reminder e-mails, callbacks).
    pub initiator_customer: bool,
    pub outcome: TouchpointOutcome,
    /// The customer's active time.
    pub duration_seconds: u32,
    /// Queue or hold time.
    pub wait_seconds: u32,
    pub transfers: u32,
    pub repeated_information: bool,
}

impl TouchpointInput {
    fn is_resolved(&self) -> bool {
        self.outcome == TouchpointOutcome::Resolved
    }
}

/// The countable facts of one journey that effort is scored from.
///
/// Computed once at write time and stored with the journey (plain
/// `i32`/`i64`/`bool` so they bind to SQL columns directly); the index is
/// recomputed from them with the model in force at query time (SPEC §7.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EffortComponents {
    /// Customer-initiated touchpoints.
    pub customer_touchpoints: i32,
    /// Distinct channels among customer touchpoints (for "3 contacts across
    /// 3 channels").
    pub distinct_channels: i32,
    /// Consecutive customer touchpoints on different channels.
    pub channel_switches: i32,
    /// Self-service customer touchpoints whose outcome is not `RESOLVED`.
    pub failed_self_service: i32,
    /// Σ transfers over customer touchpoints.
    pub transfers: i32,
    /// Customer touchpoints where the customer had to repeat information.
    pub repeated_information: i32,
    /// Σ (duration + wait) over customer touchpoints.
    pub customer_seconds: i64,
    /// Some touchpoint of the journey is `RESOLVED` (see
    /// [`EffortComponents::from_touchpoints`]).
    pub resolved: bool,
    /// The first customer touchpoint is `RESOLVED`: one-touch resolution,
    /// what the customer experiences.
    pub first_customer_resolved: bool,
    /// Some customer touchpoint is on an assisted channel.
    pub has_assisted: bool,
    /// The first assisted customer touchpoint is `RESOLVED`: what a contact
    /// centre reports as first-contact resolution.
    pub first_assisted_resolved: bool,
}

impl EffortComponents {
    /// Effort components of a journey whose touchpoints are in
    /// `occurred_at` order. Only customer-initiated touchpoints count as
    /// effort (SPEC §6.1): a reminder e-mail costs the customer nothing.
    ///
    /// One exception, where SPEC's table ("unresolved: no touchpoint
    /// `RESOLVED`") is more specific than its heading: `resolved` looks at
    /// every touchpoint, so a company callback that fixes the problem
    /// resolves the journey. Resolution is the state of the task, not
    /// effort; the customer's effort up to that point is counted by the
    /// other components.
    ///
    /// Counts saturate at `i32::MAX` (ingest caps a journey at 200
    /// touchpoints and 50 transfers each, far below it).
    pub fn from_touchpoints(touchpoints: &[TouchpointInput]) -> EffortComponents {
        let customer: Vec<&TouchpointInput> = touchpoints
            .iter()
            .filter(|t| t.initiator_customer)
            .collect();
        let count = |pred: &dyn Fn(&TouchpointInput) -> bool| -> i32 {
            clamp_i32(customer.iter().filter(|t| pred(t)).count() as u64)
        };
        let first_assisted = customer.iter().find(|t| !t.channel.is_self_service());
        let distinct: HashSet<Channel> = customer.iter().map(|t| t.channel).collect();
        EffortComponents {
            customer_touchpoints: clamp_i32(customer.len() as u64),
            distinct_channels: clamp_i32(distinct.len() as u64),
            channel_switches: clamp_i32(
                customer
                    .windows(2)
                    .filter(|w| w[0].channel != w[1].channel)
                    .count() as u64,
            ),
            failed_self_service: count(&|t| t.channel.is_self_service() && !t.is_resolved()),
            transfers: clamp_i32(customer.iter().map(|t| u64::from(t.transfers)).sum()),
            repeated_information: count(&|t| t.repeated_information),
            customer_seconds: customer
                .iter()
                .map(|t| i64::from(t.duration_seconds) + i64::from(t.wait_seconds))
                .sum(),
            resolved: touchpoints.iter().any(TouchpointInput::is_resolved),
            first_customer_resolved: customer.first().is_some_and(|t| t.is_resolved()),
            has_assisted: first_assisted.is_some(),
            first_assisted_resolved: first_assisted.is_some_and(|t| t.is_resolved()),
        }
    }

    /// Σ (duration + wait) / 60.
    pub fn customer_minutes(&self) -> f64 {
        self.customer_seconds as f64 / 60.0
    }
}

fn clamp_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Per-tenant effort weights and thresholds (SPEC §6.1, §7.5). `Default` is
/// SPEC's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EffortModel {
    /// Points per customer touchpoint beyond the first.
    pub weight_extra_contact: f64,
    pub weight_channel_switch: f64,
    pub weight_failed_self_service: f64,
    pub weight_transfer: f64,
    pub weight_repeated_information: f64,
    /// Customer minutes that cost no points.
    pub free_minutes: f64,
    /// Points per customer minute beyond `free_minutes`.
    pub minutes_rate: f64,
    /// Most points customer time can add.
    pub time_cap: f64,
    /// Points when no touchpoint is `RESOLVED`.
    pub weight_unresolved: f64,
    /// An effort index below this is LOW.
    pub tier_low_below: f64,
    /// An effort index at or above this is HIGH.
    pub tier_high_from: f64,
}

impl Default for EffortModel {
    fn default() -> Self {
        EffortModel {
            weight_extra_contact: 15.0,
            weight_channel_switch: 10.0,
            weight_failed_self_service: 10.0,
            weight_transfer: 10.0,
            weight_repeated_information: 10.0,
            free_minutes: 5.0,
            minutes_rate: 0.5,
            time_cap: 30.0,
            weight_unresolved: 30.0,
            tier_low_below: 20.0,
            tier_high_from: 50.0,
        }
    }
}

impl EffortModel {
    /// SPEC §7.5 validation: weights (and free minutes, rate, cap) finite
    /// and ≥ 0; thresholds `0 < tier_low_below ≤ tier_high_from ≤ 100`.
    /// Returns every violation, empty when valid.
    pub fn validate(&self) -> Vec<ModelViolation> {
        let mut violations = Vec::new();
        let non_negative = [
            ("weight_extra_contact", self.weight_extra_contact),
            ("weight_channel_switch", self.weight_channel_switch),
            (
                "weight_failed_self_service",
                self.weight_failed_self_service,
            ),
            ("weight_transfer", self.weight_transfer),
            (
                "weight_repeated_information",
                self.weight_repeated_information,
            ),
            ("free_minutes", self.free_minutes),
            ("minutes_rate", self.minutes_rate),
            ("time_cap", self.time_cap),
            ("weight_unresolved", self.weight_unresolved),
        ];
        for (field, value) in non_negative {
            if !(value.is_finite() && value >= 0.0) {
                violations.push(ModelViolation {
                    field,
                    description: format!("{field} must be a finite number ≥ 0, got {value}"),
                });
            }
        }
        if !(self.tier_low_below > 0.0 && self.tier_low_below <= 100.0) {
            violations.push(ModelViolation {
                field: "tier_low_below",
                description: format!(
                    "tier_low_below must be in (0, 100], got {}",
                    self.tier_low_below
                ),
            });
        }
        if !(self.tier_high_from > 0.0 && self.tier_high_from <= 100.0) {
            violations.push(ModelViolation {
                field: "tier_high_from",
                description: format!(
                    "tier_high_from must be in (0, 100], got {}",
                    self.tier_high_from
                ),
            });
        } else if self.tier_low_below > self.tier_high_from {
            violations.push(ModelViolation {
                field: "tier_high_from",
                description: format!(
                    "tier_high_from ({}) must be ≥ tier_low_below ({})",
                    self.tier_high_from, self.tier_low_below
                ),
            });
        }
        violations
    }
}

/// Tier of an effort index: `HIGH` if `index ≥ tier_high_from`, `LOW` if
/// `index < tier_low_below`, otherwise `MEDIUM` (SPEC §6.1).
pub fn tier_for_index(effort_index: f64, model: &EffortModel) -> EffortTier {
    if effort_index >= model.tier_high_from {
        EffortTier::High
    } else if effort_index < model.tier_low_below {
        EffortTier::Low
    } else {
        EffortTier::Medium
    }
}

/// One component of the effort index, in SPEC §6.1's table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EffortComponent {
    ExtraContacts,
    ChannelSwitches,
    FailedSelfService,
    Transfers,
    RepeatedInformation,
    CustomerTime,
    Unresolved,
}

impl EffortComponent {
    pub const ALL: [EffortComponent; 7] = [
        EffortComponent::ExtraContacts,
        EffortComponent::ChannelSwitches,
        EffortComponent::FailedSelfService,
        EffortComponent::Transfers,
        EffortComponent::RepeatedInformation,
        EffortComponent::CustomerTime,
        EffortComponent::Unresolved,
    ];

    /// snake_case name, as the `EffortBreakdown` field: `extra_contacts`, …
    pub fn as_str(self) -> &'static str {
        match self {
            EffortComponent::ExtraContacts => "extra_contacts",
            EffortComponent::ChannelSwitches => "channel_switches",
            EffortComponent::FailedSelfService => "failed_self_service",
            EffortComponent::Transfers => "transfers",
            EffortComponent::RepeatedInformation => "repeated_information",
            EffortComponent::CustomerTime => "customer_time",
            EffortComponent::Unresolved => "unresolved",
        }
    }
}

/// A journey's effort points per component, total, index and tier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EffortBreakdown {
    pub extra_contacts: f64,
    pub channel_switches: f64,
    pub failed_self_service: f64,
    pub transfers: f64,
    pub repeated_information: f64,
    pub customer_time: f64,
    pub unresolved: f64,
    /// Sum of the component points, before the cap at 100.
    pub raw_total: f64,
    /// min(100, raw_total).
    pub effort_index: f64,
    pub tier: EffortTier,
}

impl EffortBreakdown {
    pub fn points(&self, component: EffortComponent) -> f64 {
        match component {
            EffortComponent::ExtraContacts => self.extra_contacts,
            EffortComponent::ChannelSwitches => self.channel_switches,
            EffortComponent::FailedSelfService => self.failed_self_service,
            EffortComponent::Transfers => self.transfers,
            EffortComponent::RepeatedInformation => self.repeated_information,
            EffortComponent::CustomerTime => self.customer_time,
            EffortComponent::Unresolved => self.unresolved,
        }
    }
}

/// Effort points of a journey (SPEC §6.1):
///
/// ```text
/// extra contacts       = max(0, customer touchpoints − 1) × weight_extra_contact
/// channel switches     = switches × weight_channel_switch
/// failed self-service  = failures × weight_failed_self_service
/// transfers            = transfers × weight_transfer
/// repeated information = repeats × weight_repeated_information
/// customer time        = min(time_cap, max(0, minutes − free_minutes) × minutes_rate)
/// unresolved           = weight_unresolved if not resolved, else 0
/// effort_index         = min(100, Σ points)
/// ```
///
/// §1 example: 3 customer contacts on WEB, IVR, PHONE, 45 minutes, resolved
/// → 30 + 20 + 20 + 0 + 0 + 20 + 0 = 90, HIGH.
pub fn effort_breakdown(components: &EffortComponents, model: &EffortModel) -> EffortBreakdown {
    let c = components;
    let extra_contacts =
        f64::from((c.customer_touchpoints - 1).max(0)) * model.weight_extra_contact;
    let channel_switches = f64::from(c.channel_switches.max(0)) * model.weight_channel_switch;
    let failed_self_service =
        f64::from(c.failed_self_service.max(0)) * model.weight_failed_self_service;
    let transfers = f64::from(c.transfers.max(0)) * model.weight_transfer;
    let repeated_information =
        f64::from(c.repeated_information.max(0)) * model.weight_repeated_information;
    let customer_time = ((c.customer_minutes() - model.free_minutes).max(0.0) * model.minutes_rate)
        .min(model.time_cap);
    let unresolved = if c.resolved {
        0.0
    } else {
        model.weight_unresolved
    };
    let raw_total = extra_contacts
        + channel_switches
        + failed_self_service
        + transfers
        + repeated_information
        + customer_time
        + unresolved;
    let effort_index = raw_total.min(100.0);
    EffortBreakdown {
        extra_contacts,
        channel_switches,
        failed_self_service,
        transfers,
        repeated_information,
        customer_time,
        unresolved,
        raw_total,
        effort_index,
        tier: tier_for_index(effort_index, model),
    }
}

/// Why a journey was effortful, in words, one phrase per component that
/// adds points under `model` (a component with zero weight, or customer
/// time within the free minutes, is not a reason):
///
/// "3 contacts across 3 channels", "2 channel switches", "2 failed
/// self-service attempts", "1 transfer", "repeated information 2 times",
/// "45 minutes of the customer's time", "not resolved".
///
/// Minutes are rounded to the nearest whole minute.
pub fn reasons(components: &EffortComponents, model: &EffortModel) -> Vec<String> {
    let b = effort_breakdown(components, model);
    let c = components;
    let mut out = Vec::new();
    if b.extra_contacts > 0.0 {
        let contacts = c.customer_touchpoints;
        out.push(if c.distinct_channels <= 1 {
            format!("{contacts} contacts on the same channel")
        } else {
            format!(
                "{contacts} contacts across {}",
                plural(i64::from(c.distinct_channels), "channel", "channels")
            )
        });
    }
    if b.channel_switches > 0.0 {
        out.push(plural(
            i64::from(c.channel_switches),
            "channel switch",
            "channel switches",
        ));
    }
    if b.failed_self_service > 0.0 {
        out.push(plural(
            i64::from(c.failed_self_service),
            "failed self-service attempt",
            "failed self-service attempts",
        ));
    }
    if b.transfers > 0.0 {
        out.push(plural(i64::from(c.transfers), "transfer", "transfers"));
    }
    if b.repeated_information > 0.0 {
        out.push(match c.repeated_information {
            1 => "repeated information once".to_owned(),
            n => format!("repeated information {n} times"),
        });
    }
    if b.customer_time > 0.0 {
        let minutes = c.customer_minutes().round() as i64;
        out.push(format!(
            "{} of the customer's time",
            plural(minutes, "minute", "minutes")
        ));
    }
    if b.unresolved > 0.0 {
        out.push("not resolved".to_owned());
    }
    out
}

fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

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

impl EffortAggregate {
    /// Aggregates per-journey components (one row per journey, e.g. the
    /// stored component columns) under `model`. See [`EffortAccumulator`]
    /// to stream rows instead.
    pub fn from_journeys<'a>(
        journeys: impl IntoIterator<Item = &'a EffortComponents>,
        model: &EffortModel,
        confidence: f64,
    ) -> EffortAggregate {
        let mut acc = EffortAccumulator::new(*model);
        for j in journeys {
            acc.add(j);
        }
        acc.finish(confidence)
    }
}

/// Builds an [`EffortAggregate`] one journey at a time, so the storage layer
/// can stream rows; it keeps only the per-journey effort index (for the
/// percentiles) and running sums.
#[derive(Debug, Clone)]
pub struct EffortAccumulator {
    model: EffortModel,
    indexes: Vec<f64>,
    high: u64,
    medium: u64,
    low: u64,
    contacts: i64,
    switches: i64,
    seconds: i64,
    unresolved: u64,
    component_points: [f64; 7],
    assisted: u64,
    first_assisted_resolved: u64,
    one_touch: u64,
}

impl EffortAccumulator {
    pub fn new(model: EffortModel) -> Self {
        EffortAccumulator {
            model,
            indexes: Vec::new(),
            high: 0,
            medium: 0,
            low: 0,
            contacts: 0,
            switches: 0,
            seconds: 0,
            unresolved: 0,
            component_points: [0.0; 7],
            assisted: 0,
            first_assisted_resolved: 0,
            one_touch: 0,
        }
    }

    /// Adds one journey and returns its breakdown (handy when the caller
    /// also lists journeys with their index).
    pub fn add(&mut self, journey: &EffortComponents) -> EffortBreakdown {
        let b = effort_breakdown(journey, &self.model);
        self.indexes.push(b.effort_index);
        match b.tier {
            EffortTier::High => self.high += 1,
            EffortTier::Medium => self.medium += 1,
            EffortTier::Low => self.low += 1,
        }
        self.contacts += i64::from(journey.customer_touchpoints);
        self.switches += i64::from(journey.channel_switches);
        self.seconds += journey.customer_seconds;
        self.unresolved += u64::from(!journey.resolved);
        for (sum, component) in self.component_points.iter_mut().zip(EffortComponent::ALL) {
            *sum += b.points(component);
        }
        if journey.has_assisted {
            self.assisted += 1;
            self.first_assisted_resolved += u64::from(journey.first_assisted_resolved);
        }
        self.one_touch += u64::from(journey.first_customer_resolved);
        b
    }

    /// The aggregate of the journeys added so far; see
    /// [`EffortAggregate::from_sums`] for the formulas.
    pub fn finish(mut self, confidence: f64) -> EffortAggregate {
        self.indexes.sort_by(f64::total_cmp);
        let sums = EffortSums {
            journeys: self.indexes.len() as u64,
            effort_index_sum: self.indexes.iter().sum(),
            effort_index_p50: percentile_cont(&self.indexes, 0.5),
            effort_index_p90: percentile_cont(&self.indexes, 0.9),
            high_journeys: self.high,
            medium_journeys: self.medium,
            low_journeys: self.low,
            customer_touchpoints: self.contacts,
            channel_switches: self.switches,
            customer_seconds: self.seconds,
            unresolved_journeys: self.unresolved,
            component_points: self.component_points,
            assisted_journeys: self.assisted,
            first_assisted_resolved: self.first_assisted_resolved,
            first_customer_resolved: self.one_touch,
        };
        EffortAggregate::from_sums(&sums, confidence)
    }
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

/// Survey effort from CUSTOMER `ease` answers (SPEC §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SurveyEffort {
    pub responses: u64,
    /// Mean `ease` score (1–7).
    pub mean: Option<f64>,
    /// Answers ≥ 5.
    pub low_effort: u64,
    pub low_effort_share: Option<f64>,
    pub low_effort_ci: Option<Interval>,
    /// Answers ≤ 3.
    pub high_effort: u64,
    pub high_effort_share: Option<f64>,
    pub high_effort_ci: Option<Interval>,
    /// (low_effort_share − high_effort_share) × 100.
    pub net_ease: Option<f64>,
}

impl SurveyEffort {
    /// From the `(score, count)` histogram of `ease` answers:
    ///
    /// ```text
    /// low = #(score ≥ 5)/n;  high = #(score ≤ 3)/n  (Wilson intervals)
    /// net_ease = (low − high) × 100;  mean = Σ score·count / n
    /// ```
    ///
    /// No anonymity suppression: SPEC §6.3 reports customer effort as is
    /// (apply `min_group_size` in the caller if wanted).
    pub fn from_histogram(histogram: &[(i32, u64)], confidence: f64) -> SurveyEffort {
        let mut n = 0u64;
        let mut low = 0u64;
        let mut high = 0u64;
        let mut sum: i128 = 0;
        for &(score, count) in histogram {
            n += count;
            sum += i128::from(score) * i128::from(count);
            if score >= EASE_LOW_EFFORT_MIN {
                low += count;
            }
            if score <= EASE_HIGH_EFFORT_MAX {
                high += count;
            }
        }
        let low_effort_share = share(low, n);
        let high_effort_share = share(high, n);
        SurveyEffort {
            responses: n,
            mean: (n > 0).then(|| sum as f64 / n as f64),
            low_effort: low,
            low_effort_share,
            low_effort_ci: wilson_interval(low, n, confidence),
            high_effort: high,
            high_effort_share,
            high_effort_ci: wilson_interval(high, n, confidence),
            net_ease: low_effort_share
                .zip(high_effort_share)
                .map(|(l, h)| (l - h) * 100.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::stats::tests::assert_close;

    fn tp(
        channel: Channel,
        initiator_customer: bool,
        outcome: TouchpointOutcome,
        duration_minutes: u32,
        wait_minutes: u32,
    ) -> TouchpointInput {
        TouchpointInput {
            channel,
            initiator_customer,
            outcome,
            duration_seconds: duration_minutes * 60,
            wait_seconds: wait_minutes * 60,
            transfers: 0,
            repeated_information: false,
        }
    }

    /// SPEC §1 / §6.1: three reminder e-mails, then WEB 20 min unresolved,
    /// IVR 10 min unresolved, PHONE 8 min wait + 7 min resolved.
    pub(crate) fn spec_journey() -> Vec<TouchpointInput> {
        use TouchpointOutcome::*;
        let email = tp(Channel::Email, false, Unspecified, 0, 0);
        vec![
            email,
            email,
            email,
            tp(Channel::Web, true, Unresolved, 20, 0),
            tp(Channel::Ivr, true, Unresolved, 10, 0),
            tp(Channel::Phone, true, Resolved, 7, 8),
        ]
    }

    #[test]
    fn spec_journey_components() {
        let c = EffortComponents::from_touchpoints(&spec_journey());
        assert_eq!(
            c,
            EffortComponents {
                customer_touchpoints: 3,
                distinct_channels: 3,
                channel_switches: 2,
                failed_self_service: 2,
                transfers: 0,
                repeated_information: 0,
                customer_seconds: 45 * 60,
                resolved: true,
                first_customer_resolved: false,
                has_assisted: true,
                first_assisted_resolved: true,
            }
        );
    }

    #[test]
    fn spec_journey_scores_90_high() {
        let c = EffortComponents::from_touchpoints(&spec_journey());
        let b = effort_breakdown(&c, &EffortModel::default());
        assert_eq!(b.extra_contacts, 30.0);
        assert_eq!(b.channel_switches, 20.0);
        assert_eq!(b.failed_self_service, 20.0);
        assert_eq!(b.transfers, 0.0);
        assert_eq!(b.repeated_information, 0.0);
        assert_eq!(b.customer_time, 20.0);
        assert_eq!(b.unresolved, 0.0);
        assert_eq!(b.raw_total, 90.0);
        assert_eq!(b.effort_index, 90.0);
        assert_eq!(b.tier, EffortTier::High);
        assert_eq!(
            reasons(&c, &EffortModel::default()),
            [
                "3 contacts across 3 channels",
                "2 channel switches",
                "2 failed self-service attempts",
                "45 minutes of the customer's time",
            ]
        );
    }

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
    fn one_touch_resolution_is_low_effort() {
        let j = [tp(Channel::Phone, true, TouchpointOutcome::Resolved, 4, 0)];
        let c = EffortComponents::from_touchpoints(&j);
        let b = effort_breakdown(&c, &EffortModel::default());
        assert_eq!((b.effort_index, b.tier), (0.0, EffortTier::Low));
        assert!(reasons(&c, &EffortModel::default()).is_empty());
        assert!(c.first_customer_resolved && c.first_assisted_resolved);
    }

    #[test]
    fn everything_goes_wrong_and_is_capped() {
        use TouchpointOutcome::*;
        let mut j = vec![
            tp(Channel::Chatbot, true, Abandoned, 10, 0),
            tp(Channel::Phone, true, Unresolved, 30, 40),
            tp(Channel::Phone, true, Unresolved, 20, 30),
        ];
        j[1].transfers = 1;
        j[1].repeated_information = true;
        j[2].transfers = 2;
        j[2].repeated_information = true;
        let c = EffortComponents::from_touchpoints(&j);
        assert_eq!((c.channel_switches, c.distinct_channels), (1, 2));
        let b = effort_breakdown(&c, &EffortModel::default());
        // 30 + 10 + 10 + 30 + 20 + min(30, 125×0.5) + 30 = 160.
        assert_eq!(b.customer_time, 30.0);
        assert_eq!(b.raw_total, 160.0);
        assert_eq!(b.effort_index, 100.0);
        assert_eq!(
            reasons(&c, &EffortModel::default()),
            [
                "3 contacts across 2 channels",
                "1 channel switch",
                "1 failed self-service attempt",
                "3 transfers",
                "repeated information 2 times",
                "130 minutes of the customer's time",
                "not resolved",
            ]
        );
    }

    #[test]
    fn wording_for_single_counts() {
        let c = EffortComponents {
            customer_touchpoints: 2,
            distinct_channels: 1,
            transfers: 1,
            repeated_information: 1,
            customer_seconds: 6 * 60,
            resolved: true,
            ..Default::default()
        };
        assert_eq!(
            reasons(&c, &EffortModel::default()),
            [
                "2 contacts on the same channel",
                "1 transfer",
                "repeated information once",
                "6 minutes of the customer's time",
            ]
        );
        // A zero weight is not a reason.
        let model = EffortModel {
            weight_transfer: 0.0,
            ..EffortModel::default()
        };
        assert!(!reasons(&c, &model).iter().any(|r| r.contains("transfer")));
    }

    #[test]
    fn company_callback_resolves_the_journey() {
        use TouchpointOutcome::*;
        let j = [
            tp(Channel::Phone, true, Unresolved, 10, 5),
            tp(Channel::Phone, false, Resolved, 5, 0),
        ];
        let c = EffortComponents::from_touchpoints(&j);
        assert!(c.resolved);
        assert!(!c.first_customer_resolved && !c.first_assisted_resolved);
        assert_eq!(c.customer_touchpoints, 1);
        assert_eq!(c.customer_seconds, 15 * 60);
    }

    #[test]
    fn journey_without_customer_touchpoints_scores_only_unresolved() {
        let c = EffortComponents::from_touchpoints(&[]);
        assert_eq!(c, EffortComponents::default());
        let b = effort_breakdown(&c, &EffortModel::default());
        assert_eq!((b.effort_index, b.tier), (30.0, EffortTier::Medium));
    }

    #[test]
    fn tiers_follow_thresholds() {
        let m = EffortModel::default();
        assert_eq!(tier_for_index(0.0, &m), EffortTier::Low);
        assert_eq!(tier_for_index(19.99, &m), EffortTier::Low);
        assert_eq!(tier_for_index(20.0, &m), EffortTier::Medium);
        assert_eq!(tier_for_index(49.99, &m), EffortTier::Medium);
        assert_eq!(tier_for_index(50.0, &m), EffortTier::High);
        assert_eq!(tier_for_index(100.0, &m), EffortTier::High);
        let no_medium = EffortModel {
            tier_low_below: 40.0,
            tier_high_from: 40.0,
            ..m
        };
        assert_eq!(tier_for_index(39.0, &no_medium), EffortTier::Low);
        assert_eq!(tier_for_index(40.0, &no_medium), EffortTier::High);
        assert!(EffortTier::High > EffortTier::Medium && EffortTier::Medium > EffortTier::Low);
    }

    #[test]
    fn model_validation() {
        assert!(EffortModel::default().validate().is_empty());
        let bad = EffortModel {
            weight_transfer: -1.0,
            time_cap: f64::NAN,
            tier_low_below: 60.0,
            ..EffortModel::default()
        };
        let fields: Vec<_> = bad.validate().iter().map(|v| v.field).collect();
        assert_eq!(fields, ["weight_transfer", "time_cap", "tier_high_from"]);
        let zero = EffortModel {
            tier_low_below: 0.0,
            tier_high_from: 101.0,
            ..EffortModel::default()
        };
        let fields: Vec<_> = zero.validate().iter().map(|v| v.field).collect();
        assert_eq!(fields, ["tier_low_below", "tier_high_from"]);
    }

    #[test]
    fn aggregate_over_several_journeys() {
        let m = EffortModel::default();
        let spec = EffortComponents::from_touchpoints(&spec_journey());
        let easy = EffortComponents::from_touchpoints(&[tp(
            Channel::Web,
            true,
            TouchpointOutcome::Resolved,
            3,
            0,
        )]);
        let stuck = EffortComponents::from_touchpoints(&[
            tp(Channel::Web, true, TouchpointOutcome::Abandoned, 9, 0),
            tp(Channel::Web, true, TouchpointOutcome::Abandoned, 1, 0),
        ]);
        // Indexes: spec 90; easy 0; stuck 15 + 20 + 2.5 + 30 = 67.5.
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
        let spec = EffortComponents::from_touchpoints(&spec_journey());
        let easy = EffortComponents::from_touchpoints(&[tp(
            Channel::Web,
            true,
            TouchpointOutcome::Resolved,
            3,
            0,
        )]);
        let stuck = EffortComponents::from_touchpoints(&[
            tp(Channel::Web, true, TouchpointOutcome::Abandoned, 9, 0),
            tp(Channel::Web, true, TouchpointOutcome::Abandoned, 1, 0),
        ]);
        let sums = EffortSums {
            journeys: 4,
            effort_index_sum: 90.0 + 67.5,
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

    #[test]
    fn survey_effort_from_ease_histogram() {
        // 1–7: 60 answered 5–7, 10 answered 4, 30 answered 1–3.
        let h = [
            (7, 20),
            (6, 20),
            (5, 20),
            (4, 10),
            (3, 10),
            (2, 10),
            (1, 10),
        ];
        let s = SurveyEffort::from_histogram(&h, 0.90);
        assert_eq!(s.responses, 100);
        assert_eq!((s.low_effort, s.high_effort), (60, 30));
        assert_eq!(s.low_effort_share, Some(0.6));
        assert_eq!(s.high_effort_share, Some(0.3));
        assert_close(s.net_ease.unwrap(), 30.0, 1e-12);
        assert_close(
            s.mean.unwrap(),
            (140 + 120 + 100 + 40 + 30 + 20 + 10) as f64 / 100.0,
            1e-15,
        );
        assert_eq!(
            s.low_effort_ci,
            crate::scoring::stats::wilson_interval(60, 100, 0.90)
        );
        assert_eq!(
            s.high_effort_ci,
            crate::scoring::stats::wilson_interval(30, 100, 0.90)
        );

        let empty = SurveyEffort::from_histogram(&[], 0.95);
        assert_eq!(empty.responses, 0);
        assert_eq!(
            (empty.mean, empty.net_ease, empty.low_effort_ci),
            (None, None, None)
        );

        let all_easy = SurveyEffort::from_histogram(&[(7, 12)], 0.99);
        assert_eq!(all_easy.net_ease, Some(100.0));
        assert_eq!(all_easy.low_effort_ci.unwrap().upper, 1.0);
        assert_eq!(all_easy.high_effort_ci.unwrap().lower, 0.0);
    }

    fn arb_touchpoint() -> impl proptest::strategy::Strategy<Value = TouchpointInput> {
        use proptest::prelude::*;
        let outcome = prop_oneof![
            Just(TouchpointOutcome::Unspecified),
            Just(TouchpointOutcome::Resolved),
            Just(TouchpointOutcome::Unresolved),
            Just(TouchpointOutcome::Abandoned),
        ];
        (
            0..Channel::ALL.len(),
            any::<bool>(),
            outcome,
            0u32..=86_400,
            0u32..=86_400,
            0u32..=50,
            any::<bool>(),
        )
            .prop_map(|(c, initiator_customer, outcome, d, w, transfers, rep)| {
                TouchpointInput {
                    channel: Channel::ALL[c],
                    initiator_customer,
                    outcome,
                    duration_seconds: d,
                    wait_seconds: w,
                    transfers,
                    repeated_information: rep,
                }
            })
    }

    proptest::proptest! {
        #[test]
        fn effort_index_is_bounded_and_consistent(
            journey in proptest::collection::vec(arb_touchpoint(), 0..40),
        ) {
            let c = EffortComponents::from_touchpoints(&journey);
            let n = c.customer_touchpoints;
            proptest::prop_assert!(c.distinct_channels <= n);
            proptest::prop_assert!(c.channel_switches <= (n - 1).max(0));
            proptest::prop_assert!(c.failed_self_service <= n);
            proptest::prop_assert!(!c.first_assisted_resolved || c.has_assisted);
            proptest::prop_assert!(!c.first_customer_resolved || c.resolved);
            let m = EffortModel::default();
            let b = effort_breakdown(&c, &m);
            proptest::prop_assert!((0.0..=100.0).contains(&b.effort_index));
            proptest::prop_assert!(b.raw_total >= b.effort_index);
            proptest::prop_assert_eq!(b.tier, tier_for_index(b.effort_index, &m));
            let total: f64 = EffortComponent::ALL.iter().map(|&k| b.points(k)).sum();
            proptest::prop_assert!((total - b.raw_total).abs() < 1e-9);
            proptest::prop_assert_eq!(reasons(&c, &m).is_empty(), b.raw_total == 0.0);
        }
    }
}
