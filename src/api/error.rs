//! The gRPC layer's error type, mapped to `tonic::Status` in exactly one place.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::store::StoreError;

use super::validate::Violations;

/// Error domain reported in every `ErrorInfo`.
pub const DOMAIN: &str = "gapscore";

/// What can go wrong in a handler.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Field violations; every one is listed in a `BadRequest`.
    #[error("invalid argument: {0}")]
    InvalidArgument(Violations),
    /// A record or customer that does not exist for this tenant.
    #[error("{what} {id:?} not found")]
    NotFound { what: &'static str, id: String },
    /// The request is valid but the system is not in a state to apply it.
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
    },
    /// Optimistic concurrency failed (stale etag).
    #[error("{message}")]
    Aborted {
        reason: &'static str,
        message: String,
    },
    /// An RPC that a later release implements.
    #[error("{0} is not implemented yet")]
    Unimplemented(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    /// A single field violation.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut v = Violations::default();
        v.add(field, description);
        ApiError::InvalidArgument(v)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::Store(err.into())
    }
}

fn with_info(code: Code, message: String, reason: &str, details: ErrorDetails) -> Status {
    let mut details = details;
    details.set_error_info(reason, DOMAIN, std::collections::HashMap::new());
    Status::with_error_details(code, message, details)
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::InvalidArgument(violations) => {
                let message = violations.summary();
                let mut details = ErrorDetails::new();
                details.set_bad_request(violations.into_field_violations());
                with_info(Code::InvalidArgument, message, "INVALID_ARGUMENT", details)
            }
            ApiError::NotFound { what, id } => with_info(
                Code::NotFound,
                format!("{what} {id:?} not found"),
                "NOT_FOUND",
                ErrorDetails::new(),
            ),
            ApiError::FailedPrecondition { reason, message } => with_info(
                Code::FailedPrecondition,
                message,
                reason,
                ErrorDetails::new(),
            ),
            ApiError::Aborted { reason, message } => {
                with_info(Code::Aborted, message, reason, ErrorDetails::new())
            }
            ApiError::Unimplemented(what) => with_info(
                Code::Unimplemented,
                format!("{what} is not implemented yet"),
                "NOT_IMPLEMENTED",
                ErrorDetails::new(),
            ),
            ApiError::Store(StoreError::Unavailable(source)) => {
                tracing::warn!(error = %source, "database unavailable");
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(std::time::Duration::from_secs(1)));
                with_info(
                    Code::Unavailable,
                    "the database is unavailable; retry later".into(),
                    "DATABASE_UNAVAILABLE",
                    details,
                )
            }
            ApiError::Store(StoreError::Internal(source)) => {
                tracing::error!(error = ?source, "database error");
                with_info(
                    Code::Internal,
                    "internal error".into(),
                    "INTERNAL",
                    ErrorDetails::new(),
                )
            }
        }
    }
}

/// Handler result type.
pub type ApiResult<T> = Result<T, ApiError>;
