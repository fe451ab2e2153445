//! CPU-bound work of a request, run on tokio's blocking pool so that it
//! cannot hold an async worker thread (and every call scheduled on it)
//! while it computes.

use super::{ServiceError, ServiceResult};

/// Runs `work` on the blocking pool and waits for it.
///
/// A panic in `work` is resumed here, as if it had run inline. The pool
/// cancels work it has not started when the runtime shuts down; that is
/// answered [`ServiceError::ShuttingDown`] (retry on another replica), not a
/// panic on the request path.
pub async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> ServiceResult<T> {
    settle(tokio::task::spawn_blocking(work).await)
}

/// What a joined task came to, as [`off_runtime`] answers it.
fn settle<T>(joined: Result<T, tokio::task::JoinError>) -> ServiceResult<T> {
    match joined {
        Ok(value) => Ok(value),
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(_) => Err(ServiceError::ShuttingDown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_and_returns_its_value() {
        assert_eq!(off_runtime(|| 6 * 7).await.unwrap(), 42);
    }

    #[tokio::test]
    async fn cancelled_work_is_an_error_not_a_panic() {
        let task = tokio::spawn(std::future::pending::<()>());
        task.abort();
        let joined = task.await;
        assert!(joined.as_ref().is_err_and(|e| e.is_cancelled()));
        assert!(matches!(settle(joined), Err(ServiceError::ShuttingDown)));
    }

    #[tokio::test]
    #[should_panic(expected = "boom")]
    async fn a_panic_in_the_work_is_resumed() {
        let _ = off_runtime(|| -> () { panic!("boom") }).await;
    }
}
