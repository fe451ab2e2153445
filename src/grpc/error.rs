//! [`ServiceError`] mapped to `tonic::Status`, in exactly one place.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::service::{ServiceError, budget::BudgetExhausted};
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
            ServiceError::Store(StoreError::Unavailable(source)) => {
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
            ServiceError::Budget(exhausted) => exhausted.into(),
            ServiceError::Store(StoreError::Internal(source)) => {
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
