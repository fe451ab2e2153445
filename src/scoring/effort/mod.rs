//! Customer effort (SPEC §6): per-journey effort components and index, the
//! aggregate over journeys with the hidden-effort gap, and survey effort
//! (CES) from `ease` answers.
//!
//! - [`components`]: the countable facts of a journey, computed at write time;
//! - [`model`]: the effort part of the scoring model and the tier of an index;
//! - [`breakdown`]: a journey's points per component, index and tier;
//! - [`reasons`]: the same in words;
//! - [`aggregate`]: effort over the journeys in scope, from SQL sums;
//! - [`ces`]: survey effort from `ease` answers.

pub mod aggregate;
pub mod breakdown;
pub mod ces;
pub mod components;
pub mod model;
pub mod reasons;
#[cfg(test)]
pub(crate) mod testing;

pub use aggregate::{EffortAggregate, EffortDriver, EffortSums};
pub use breakdown::{EffortBreakdown, EffortComponent, effort_breakdown};
pub use ces::{EASE_HIGH_EFFORT_MAX, EASE_LOW_EFFORT_MIN, SurveyEffort};
pub use components::{EffortComponents, TouchpointInput};
pub use model::{EffortModel, EffortWeights, tier_for_index};
pub use reasons::reasons;

pub use crate::domain::enums::{Channel, EffortTier, TouchpointOutcome};
