//! Pure scoring: the statistics behind perception gaps, effort indices,
//! loyalty risk and trends (SPEC §5–§8), key drivers (§11), the
//! significance tests of §10 and §16 and the gaps between answer frames
//! (§16).
//!
//! Everything here is plain data in, plain data out: no I/O, no async, no
//! database or gRPC types. The storage layer aggregates rows in SQL (score
//! histograms, per-journey effort components, outcome counts), the services
//! hand them to these functions, and the transports map the results to
//! messages. Keeping
//! the math here means every formula is tested against SPEC's worked examples
//! and against an independent implementation (`tests/reference/`).
//!
//! Conventions:
//! - shares are fractions in `[0, 1]`; `*_points` are percentage points
//!   (share × 100);
//! - a value that is undefined for the input (a share of zero respondents)
//!   is `None`, never NaN;
//! - `confidence` is a two-sided level in `(0, 1)`, e.g. `0.95`; the range
//!   a caller may ask for (SPEC §5: 0.5–0.999) is checked before scoring,
//!   against `domain::violations::CONFIDENCE_LEVELS`.

pub mod change;
pub mod competition;
pub mod drivers;
pub mod effort;
pub mod expectation;
pub mod follow_up;
pub mod frames;
pub mod gap;
pub mod holdout;
pub mod loyalty;
pub mod priority;
pub mod stats;
pub mod themes;
pub mod trend;

pub use drivers::{
    CrossProducts, DriverWeight, DriversError, MAX_DRIVERS, RelativeWeights, relative_weights,
};
pub use effort::{
    Channel, EffortAggregate, EffortBreakdown, EffortComponent, EffortComponents, EffortDriver,
    EffortModel, EffortSums, EffortTier, SurveyEffort, TouchpointInput, TouchpointOutcome,
    effort_breakdown, reasons, tier_for_index,
};
pub use gap::{
    ByRole, Comparison, QuestionGap, RatingQuestion, Role, RoleComparison, RoleFigures, RoleShares,
    compare, question_gap, role_figures,
};
pub use loyalty::{
    LoyaltyRisk, OutcomeCounts, OutcomeKind, OutcomeRisk, Posterior, PosteriorTable, Prior,
    PriorMeans, PriorModel, TierCounts, TierKindTable, TierRate, TierShare, loyalty_risk,
    posterior,
};
pub use stats::Interval;
pub use themes::{
    PairTally, ThemeComparison, ThemeDifference, ThemeFigures, ThemeGapKind, ThemeShare,
    ThemeTallies, ThemesReport, compare_themes, theme_figures, themes_report, top_themes_report,
};
pub use trend::{MAX_TREND_BUCKETS, TrendBucket, TrendError, bucket_floor, bucket_starts};
