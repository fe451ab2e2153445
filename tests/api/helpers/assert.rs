//! Assertions shared by the tests.

use std::{fmt::Debug, future::Future};

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Asserts `|actual − expected| ≤ tolerance`.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} is not within {tolerance} of {expected}"
    );
}

/// Asserts `actual` equals `expected` up to a relative error of `relative`
/// (absolute below 1).
#[track_caller]
pub fn assert_rel_close(actual: f64, expected: f64, relative: f64) {
    assert_close(actual, expected, relative * expected.abs().max(1.0));
}

/// The field paths of a `BadRequest` detail, asserting the code first.
#[track_caller]
pub fn violation_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("INVALID_ARGUMENT carries a BadRequest")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

/// The descriptions of a `BadRequest` detail, in order, asserting the
/// code first.
#[track_caller]
pub fn violation_descriptions(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("INVALID_ARGUMENT carries a BadRequest")
        .field_violations
        .into_iter()
        .map(|v| v.description)
        .collect()
}

/// The field paths `call` is refused at: it must fail with
/// INVALID_ARGUMENT (see [`violation_fields`]).
pub async fn refused_at<T: Debug>(call: impl Future<Output = Result<T, Status>>) -> Vec<String> {
    violation_fields(&call.await.expect_err("the call is refused"))
}

/// The `ErrorInfo` reason of a status, `""` without one.
pub fn error_reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

/// `v`, sorted.
pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// z of a two-sided 95% interval, `norm.ppf(0.975)`.
pub const Z95: f64 = 1.959_963_984_540_054;
/// z of a two-sided 90% interval, `norm.ppf(0.95)`.
pub const Z90: f64 = 1.644_853_626_951_472_2;

/// The closed-form Wilson score interval of `f` successes in `n`,
/// independent of the service's code.
pub fn wilson(f: f64, n: f64, z: f64) -> (f64, f64) {
    let p = f / n;
    let d = 1.0 + z * z / n;
    let center = (p + z * z / (2.0 * n)) / d;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    ((center - half).max(0.0), (center + half).min(1.0))
}
