//! Logging setup and the per-RPC span.
//!
//! Every call gets one `rpc` span with method, tenant, status code and
//! latency. Only these fields are recorded: never request bodies (which hold
//! free-text comments) nor headers (which hold API keys).

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use tower::{Layer, Service};
use tracing::{Instrument, field::Empty};
use tracing_subscriber::{EnvFilter, fmt::MakeWriter, util::SubscriberInitExt};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Installs the global subscriber writing to `writer`, filtered by
/// `RUST_LOG` or else `default_filter`. Generic over the writer so tests can
/// capture or silence output.
pub fn init<W>(format: LogFormat, default_filter: &str, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // try_init also routes the `log` crate's records into tracing.
    let _ = subscriber(format, filter, writer).try_init();
}

/// The subscriber [`init`] installs, for callers that scope it themselves
/// (`tracing::subscriber::set_default`), such as tests that capture logs.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Pretty => Box::new(builder.finish()),
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .finish(),
        ),
    }
}

/// An error and its causes on one line, `outer: cause: root cause`, for
/// people. A cause whose text its parent already ends with is left out
/// (sqlx and io errors often repeat their source in their own message).
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Adds the `rpc` span around every call, and bounds unary calls by
/// `unary_timeout`.
///
/// The bound is here rather than tonic's server-wide timeout because that
/// one also cuts off client streams, and a 50,000-record `Stream*` upload
/// may rightly take longer than any single unary call. Client deadlines
/// (`grpc-timeout`) are honoured by tonic for every call either way.
#[derive(Clone, Copy, Default)]
pub struct RpcSpanLayer {
    pub unary_timeout: Option<std::time::Duration>,
}

impl<S> Layer<S> for RpcSpanLayer {
    type Service = RpcSpan<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcSpan {
            inner,
            unary_timeout: self.unary_timeout,
        }
    }
}

/// See [`RpcSpanLayer`].
#[derive(Clone)]
pub struct RpcSpan<S> {
    inner: S,
    unary_timeout: Option<std::time::Duration>,
}

/// Client-streaming methods are named `Stream*` (SPEC §3).
fn is_streaming(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|m| m.starts_with("Stream"))
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// The gRPC status of a response whose status travels in the headers
/// (errors, "trailers-only"); otherwise the call succeeded so far.
fn grpc_code<R>(response: &http::Response<R>) -> &'static str {
    let code = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(0);
    match tonic::Code::from_i32(code) {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

impl<S, B, R> Service<http::Request<B>> for RpcSpan<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
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
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let method = request.uri().path().to_owned();
        let timeout = self.unary_timeout.filter(|_| !is_streaming(&method));
        let span = tracing::info_span!(
            "rpc",
            method = %method,
            tenant = Empty,
            code = Empty,
            latency_ms = Empty
        );
        Box::pin(
            async move {
                let started = Instant::now();
                let result = match timeout {
                    Some(limit) => match tokio::time::timeout(limit, inner.call(request)).await {
                        Ok(result) => result,
                        Err(_) => Ok(tonic::Status::deadline_exceeded(format!(
                            "the call took longer than the server's {}s limit",
                            limit.as_secs()
                        ))
                        .into_http()),
                    },
                    None => inner.call(request).await,
                };
                let span = tracing::Span::current();
                let elapsed = started.elapsed().as_secs_f64();
                span.record("latency_ms", elapsed * 1e3);
                match &result {
                    Ok(response) => {
                        let code = grpc_code(response);
                        span.record("code", code);
                        crate::metrics::record_rpc(&method, code, elapsed);
                        tracing::info!(code, "rpc finished");
                    }
                    Err(err) => {
                        span.record("code", "TRANSPORT_ERROR");
                        tracing::warn!(error = %err, "rpc failed");
                    }
                }
                result
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stream_methods_escape_the_unary_timeout() {
        assert!(is_streaming(
            "/gapscore.v1.SurveyService/StreamSurveyResponses"
        ));
        assert!(!is_streaming(
            "/gapscore.v1.SurveyService/SubmitSurveyResponses"
        ));
        assert!(!is_streaming("/gapscore.v1.ScoringService/GetScorecard"));
    }

    #[test]
    fn error_chains_read_as_one_line_without_repeats() {
        use anyhow::Context;
        let io = std::io::Error::other("connection refused");
        // Like sqlx: the message repeats the source's text.
        #[derive(Debug, thiserror::Error)]
        #[error("error communicating with database: {0}")]
        struct Wrapped(#[source] std::io::Error);
        let err = Err::<(), _>(Wrapped(io))
            .context("cannot connect to PostgreSQL at db:5432")
            .unwrap_err();
        assert_eq!(
            error_chain(&err),
            "cannot connect to PostgreSQL at db:5432: error communicating with database: \
             connection refused"
        );
    }
}
