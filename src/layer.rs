//! The one tower wrapper around the server's per-call concerns.
//!
//! Each concern (the per-RPC span, the global in-flight bound,
//! authentication, the per-tenant rate limit) is a [`Check`]: an async
//! function from the request to either the request to pass on (perhaps with
//! an extension added, such as the caller's tenant) and a [`Guard`] held for
//! the rest of the call, or a `Status` answered at once without calling the
//! services inside it. [`Checked`] is the tower `Service` that runs a check
//! in front of the inner service, written once here (as qdrant's
//! `src/tonic/auth.rs` does for its key check); `check_layer!` makes a
//! check type its own tower `Layer`.

use std::{
    fmt::Display,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tonic::Status;
use tower::Service;
use tracing::Instrument;

/// One concern in front of every call; see the module docs.
pub trait Check: Clone + Send + Sync + 'static {
    /// Held from a passed check until the call has answered.
    type Guard: Guard;

    /// Passes the request on, with what to hold for the rest of the call,
    /// or answers it with a status.
    fn check<B: Send + 'static>(
        &self,
        request: http::Request<B>,
    ) -> impl Future<Output = Result<(http::Request<B>, Self::Guard), Status>> + Send;
}

/// What a passed [`Check`] holds for the rest of the call: a permit to
/// release, a span to run in and record into. The rest of the call is the
/// inner service's answer (its response headers; a response body streams on
/// after them).
pub trait Guard: Sized + Send + 'static {
    /// The span the rest of the call runs in; `None` for the caller's.
    fn span(&self) -> Option<tracing::Span> {
        None
    }

    /// A bound on the rest of the call; past it, the call is answered
    /// `DEADLINE_EXCEEDED`.
    fn time_limit(&self) -> Option<Duration> {
        None
    }

    /// A signal that ends the rest of the call early: if it resolves before
    /// the inner service has answered, the call is dropped (rolling back
    /// what it had open) and answered with the status it gives. Taken once,
    /// before the call goes on.
    fn cut(&mut self) -> Option<BoxFuture<Status>> {
        None
    }

    /// The scope the rest of the call decodes its messages in (the share of
    /// the decode budget it holds, [`crate::decode::budget`]); taken once,
    /// before the call goes on. A task-local, because the codec that needs
    /// it is called by tonic, inside the call's future, with no way to pass
    /// it state.
    fn decode_scope(&mut self) -> Option<crate::decode::CallScope> {
        None
    }

    /// Called with the inner service's answer, in [`Guard::span`]; the guard
    /// is dropped right after.
    fn finish<R, E: Display>(self, _result: &Result<http::Response<R>, E>) {}
}

/// Nothing to hold.
impl Guard for () {}

/// Something to hold for some calls only.
impl<G: Guard> Guard for Option<G> {
    fn span(&self) -> Option<tracing::Span> {
        self.as_ref().and_then(Guard::span)
    }

    fn time_limit(&self) -> Option<Duration> {
        self.as_ref().and_then(Guard::time_limit)
    }

    fn cut(&mut self) -> Option<BoxFuture<Status>> {
        self.as_mut().and_then(Guard::cut)
    }

    fn decode_scope(&mut self) -> Option<crate::decode::CallScope> {
        self.as_mut().and_then(Guard::decode_scope)
    }

    fn finish<R, E: Display>(self, result: &Result<http::Response<R>, E>) {
        if let Some(guard) = self {
            guard.finish(result);
        }
    }
}

/// The service `inner` with `check` in front of it.
#[derive(Clone)]
pub struct Checked<S, C> {
    inner: S,
    check: C,
}

impl<S, C> Checked<S, C> {
    pub fn new(inner: S, check: C) -> Self {
        Self { inner, check }
    }
}

/// Implements `tower::Layer` for check types: the layer puts the check in
/// front of the service it wraps.
macro_rules! check_layer {
    ($($check:ty),+ $(,)?) => {$(
        impl<S> ::tower::Layer<S> for $check {
            type Service = $crate::layer::Checked<S, $check>;

            fn layer(&self, inner: S) -> Self::Service {
                $crate::layer::Checked::new(inner, self.clone())
            }
        }
    )+};
}
pub(crate) use check_layer;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, C, B, R> Service<http::Request<B>> for Checked<S, C>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Display,
    C: Check,
    B: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone that was driven to readiness serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let check = self.check.clone();
        Box::pin(async move {
            let (request, mut guard) = match check.check(request).await {
                Ok(passed) => passed,
                Err(status) => return Ok(status.into_http()),
            };
            let span = guard.span();
            let decode_scope = guard.decode_scope();
            let cut = guard.cut();
            let time_limit = guard.time_limit();
            let rest = async move {
                let answer = async {
                    match time_limit {
                        Some(limit) => {
                            match tokio::time::timeout(limit, inner.call(request)).await {
                                Ok(result) => result,
                                Err(_) => Ok(Status::deadline_exceeded(format!(
                                    "the call ran past its deadline ({} ms: the client's \
                                     deadline or the server's limit, whichever is shorter)",
                                    limit.as_millis()
                                ))
                                .into_http()),
                            }
                        }
                        None => inner.call(request).await,
                    }
                };
                let result = match cut {
                    Some(cut) => tokio::select! {
                        result = answer => result,
                        status = cut => Ok(status.into_http()),
                    },
                    None => answer.await,
                };
                guard.finish(&result);
                result
            };
            let rest = async move {
                match decode_scope {
                    Some(scope) => scope.run(rest).await,
                    None => rest.await,
                }
            };
            match span {
                Some(span) => rest.instrument(span).await,
                None => rest.await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::{
        convert::Infallible,
        sync::{Arc, Mutex},
    };

    use tower::{Layer, ServiceExt, service_fn};

    use super::*;

    /// Answers NOT_FOUND to paths ending in `/Secret`, tags the others and
    /// notes how every passed call ended.
    #[derive(Clone, Default)]
    struct Tagger {
        finished: Arc<Mutex<Vec<String>>>,
        time_limit: Option<Duration>,
    }

    #[derive(Clone)]
    struct Tag;

    struct Noted(Tagger);

    impl Guard for Noted {
        fn time_limit(&self) -> Option<Duration> {
            self.0.time_limit
        }

        fn finish<R, E: Display>(self, result: &Result<http::Response<R>, E>) {
            let code = match result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .map_or("0", |v| v.to_str().unwrap())
                    .to_owned(),
                Err(err) => err.to_string(),
            };
            self.0.finished.lock().unwrap().push(code);
        }
    }

    impl Check for Tagger {
        type Guard = Noted;

        async fn check<B: Send + 'static>(
            &self,
            mut request: http::Request<B>,
        ) -> Result<(http::Request<B>, Noted), Status> {
            if request.uri().path().ends_with("/Secret") {
                return Err(Status::not_found("no"));
            }
            request.extensions_mut().insert(Tag);
            Ok((request, Noted(self.clone())))
        }
    }

    check_layer!(Tagger);

    fn request(path: &str) -> http::Request<()> {
        http::Request::builder().uri(path).body(()).unwrap()
    }

    /// Answers 200 to tagged requests, after `delay`.
    fn inner(
        delay: Duration,
    ) -> impl Service<
        http::Request<()>,
        Response = http::Response<()>,
        Error = Infallible,
        Future = impl Send,
    > + Clone
    + Send {
        service_fn(move |request: http::Request<()>| async move {
            assert!(request.extensions().get::<Tag>().is_some(), "not tagged");
            tokio::time::sleep(delay).await;
            Ok::<_, Infallible>(http::Response::new(()))
        })
    }

    #[tokio::test]
    async fn a_passed_check_reaches_the_service_and_its_guard_sees_the_answer() {
        let tagger = Tagger::default();
        let service = tagger.layer(inner(Duration::ZERO));
        let response = service.oneshot(request("/a.B/Open")).await.unwrap();
        assert!(response.headers().get("grpc-status").is_none());
        assert_eq!(*tagger.finished.lock().unwrap(), ["0"]);
    }

    #[tokio::test]
    async fn a_failed_check_answers_without_calling_the_service() {
        let tagger = Tagger::default();
        let service = tagger.layer(inner(Duration::ZERO));
        let response = service.oneshot(request("/a.B/Secret")).await.unwrap();
        let status = Status::from_header_map(response.headers()).unwrap();
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert!(tagger.finished.lock().unwrap().is_empty(), "no guard");
    }

    #[tokio::test]
    async fn a_call_past_its_time_limit_is_deadline_exceeded() {
        let tagger = Tagger {
            time_limit: Some(Duration::from_millis(10)),
            ..Tagger::default()
        };
        let service = tagger.layer(inner(Duration::from_secs(5)));
        let response = service.oneshot(request("/a.B/Slow")).await.unwrap();
        let status = Status::from_header_map(response.headers()).unwrap();
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
        let code = (tonic::Code::DeadlineExceeded as i32).to_string();
        assert_eq!(*tagger.finished.lock().unwrap(), [code]);
    }
}
