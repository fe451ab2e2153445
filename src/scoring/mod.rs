//! Pure scoring: the statistics behind perception gaps, effort indices,
//! loyalty risk and trends (SPEC §5–§8).
//!
//! Everything here is plain data in, plain data out: no I/O, no async, no
//! database or gRPC types. The storage layer aggregates rows in SQL (score
//! histograms, per-journey effort components, outcome counts) and hands them
//! to these functions; the gRPC layer maps the results to messages. Keeping
//! the math here means every formula is tested against SPEC's worked examples
//! and against an independent implementation (`tests/reference/`).
//!
//! Conventions:
//! - shares are fractions in `[0, 1]`; `*_points` are percentage points
//!   (share × 100);
//! - a value that is undefined for the input (a share of zero respondents)
//!   is `None`, never NaN;
//! - `confidence` is a two-sided level in `(0, 1)`, e.g. `0.95`; the API
//!   layer validates the allowed range (SPEC §5: 0.5–0.999), see
//!   [`stats::check_confidence_level`].

pub mod stats;

pub use stats::Interval;
