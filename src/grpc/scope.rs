//! Validates a `ScoreFilter` into a [`Scope`].

use crate::{domain::Violations, proto::v1::ScoreFilter, store::scope::Scope};

use super::ApiError;

/// Validates `filter` (all parts optional); violations are reported under
/// `field` (e.g. `filter.labels["region"]`).
pub fn scope_from_filter(filter: Option<&ScoreFilter>, field: &str) -> Result<Scope, ApiError> {
    let mut v = Violations::default();
    let scope = super::convert::scope(&mut v, field, filter);
    v.into_result()?;
    Ok(scope)
}
