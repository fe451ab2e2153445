//! [`ServiceError`] mapped to `tonic::Status`, in exactly one place.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::service::{ServiceError, Services, budget::BudgetExhausted};
use crate::store::StoreError;

/// Error domain reported in every `ErrorInfo`.
pub const DOMAIN: &str = "gapscore";

fn with_info(code: Code, message: String, reason: &str, details: ErrorDetails) -> Status {
    let mut details = details;
    details.set_error_info(reason, DOMAIN, std::collections::HashMap::new());
    Status::with_error_details(code, message, details)
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::InvalidArgument(violations) => {
                let message = violations.summary();
                let mut details = ErrorDetails::new();
                details.set_bad_request(
                    violations
                        .into_items()
                        .into_iter()
                        .map(|(f, d)| FieldViolation::new(f, d))
                        .collect::<Vec<_>>(),
                );
                with_info(Code::InvalidArgument, message, "INVALID_ARGUMENT", details)
            }
            ServiceError::NotFound { what, id } => with_info(
                Code::NotFound,
                format!("{what} {id:?} not found"),
                "NOT_FOUND",
                ErrorDetails::new(),
            ),
            ServiceError::FailedPrecondition { reason, message } => with_info(
                Code::FailedPrecondition,
                message,
                reason,
                ErrorDetails::new(),
            ),
            ServiceError::Aborted { reason, message } => {
                with_info(Code::Aborted, message, reason, ErrorDetails::new())
            }
            ServiceError::Budget(exhausted) => exhausted.into(),
            ServiceError::Store(err) => store_status(err),
            ServiceError::ShuttingDown => {
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(RETRY_AFTER));
                with_info(
                    Code::Unavailable,
                    ServiceError::ShuttingDown.to_string(),
                    "SHUTTING_DOWN",
                    details,
                )
            }
        }
    }
}

/// What an RPC handler fails with: a [`ServiceError`], or a `Status`
/// already made (a broken client stream).
pub trait CallError: Send {
    /// The call's status; a pool timeout is first resolved against the
    /// database's health ([`Services::explain`]).
    fn into_status(self, services: &Services) -> impl Future<Output = Status> + Send;
}

impl CallError for ServiceError {
    async fn into_status(self, services: &Services) -> Status {
        services.explain(self).await.into()
    }
}

impl CallError for Status {
    async fn into_status(self, _: &Services) -> Status {
        self
    }
}

/// How long a client should wait before retrying a transient failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// A transaction conflict clears as soon as the other transaction ends.
const RETRY_CONFLICT_AFTER: Duration = Duration::from_millis(100);

/// SPEC §14's code table: every store failure that a retry can cure says
/// so with `RetryInfo`; only `INTERNAL` does not.
fn store_status(err: StoreError) -> Status {
    let retryable = |code, message: String, reason, after| {
        let mut details = ErrorDetails::new();
        details.set_retry_info(Some(after));
        with_info(code, message, reason, details)
    };
    match err {
        StoreError::Unavailable { outage, source } => {
            tracing::warn!(error = %source, reason = outage.reason(), "database unavailable");
            retryable(
                Code::Unavailable,
                format!("{}; retry later", outage.describe()),
                outage.reason(),
                RETRY_AFTER,
            )
        }
        StoreError::PoolExhausted => {
            tracing::warn!("database pool exhausted");
            retryable(
                Code::ResourceExhausted,
                "every database connection is busy; retry later".into(),
                "DATABASE_POOL_EXHAUSTED",
                RETRY_AFTER,
            )
        }
        StoreError::Conflict(source) => {
            tracing::warn!(error = %source, "transaction conflict after retries");
            retryable(
                Code::Aborted,
                "the write conflicted with concurrent writes of the same records; \
                 retry it (it is idempotent)"
                    .into(),
                "TRANSACTION_CONFLICT",
                RETRY_CONFLICT_AFTER,
            )
        }
        StoreError::Cancelled(source) => {
            tracing::warn!(error = %source, "database statement cancelled");
            with_info(
                Code::DeadlineExceeded,
                "a database statement ran out of time and was cancelled".into(),
                "STATEMENT_CANCELLED",
                ErrorDetails::new(),
            )
        }
        StoreError::Internal(source) => {
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

/// `RESOURCE_EXHAUSTED` for this tenant only, with the budget in the
/// `ErrorInfo` metadata and when to retry in a `RetryInfo`.
impl From<BudgetExhausted> for Status {
    fn from(exhausted: BudgetExhausted) -> Self {
        let mut details = ErrorDetails::new();
        details.set_error_info(
            "TENANT_BUDGET_EXHAUSTED",
            DOMAIN,
            std::collections::HashMap::from([
                ("budget".to_owned(), exhausted.budget.to_owned()),
                ("limit".to_owned(), exhausted.limit.to_string()),
            ]),
        );
        details.set_retry_info(Some(exhausted.retry_after));
        Status::with_error_details(Code::ResourceExhausted, exhausted.to_string(), details)
    }
}

impl From<crate::domain::Violations> for Status {
    fn from(v: crate::domain::Violations) -> Self {
        ServiceError::InvalidArgument(v).into()
    }
}
