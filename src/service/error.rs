//! The service layer's error type. Transports map it once each
//! (`grpc::error` to a `tonic::Status`).

use crate::{domain::Violations, store::StoreError};

/// What can go wrong in a service call.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
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
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The tenant is over one of its budgets (SPEC §14).
    #[error(transparent)]
    Budget(#[from] super::budget::BudgetExhausted),
    /// The server stopped the call's work because it is shutting down;
    /// another replica (or this one, restarted) can serve a retry.
    #[error("the server is shutting down; retry the call")]
    ShuttingDown,
}

impl ServiceError {
    /// A single field violation.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        ServiceError::InvalidArgument(Violations::one(field, description))
    }
}

impl From<Violations> for ServiceError {
    fn from(v: Violations) -> Self {
        ServiceError::InvalidArgument(v)
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(err: sqlx::Error) -> Self {
        ServiceError::Store(err.into())
    }
}

/// A service call's result.
pub type ServiceResult<T> = Result<T, ServiceError>;
