//! Transitional re-exports while handlers move onto `domain` and
//! `grpc::convert`; removed when the last handler has moved.

pub use super::convert::{check_timestamp, timestamp_to_utc, utc_to_timestamp};
pub use crate::domain::violations::*;
