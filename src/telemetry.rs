//! Logging setup and the per-RPC span.
//!
//! Every call gets one `rpc` span with method, transport (`grpc` or
//! `http`), tenant, status code, latency and the caller's trace id (from
//! `traceparent`, [`crate::otel`]). Only these fields are recorded: never
//! request bodies (which hold free-text comments) nor other headers (which
//! hold API keys).

use std::{
    collections::HashMap,
    fmt::Display,
    sync::LazyLock,
    time::{Duration, Instant},
};

use tonic::Status;
use tracing::{Span, field::Empty};
use tracing_subscriber::{EnvFilter, fmt::MakeWriter, util::SubscriberInitExt};

use crate::layer::{Check, Guard, check_layer};

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
    init_with_traces(format, default_filter, writer, None);
}

/// [`init`], and when `tracer` is given, the spans also recorded as
/// OpenTelemetry spans into it (exported over OTLP, [`crate::otel`]).
pub fn init_with_traces<W>(
    format: LogFormat,
    default_filter: &str,
    writer: W,
    tracer: Option<opentelemetry_sdk::trace::SdkTracer>,
) where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // try_init also routes the `log` crate's records into tracing.
    let _ = build(format, filter, writer, tracer).try_init();
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
    build(format, filter, writer, None)
}

fn build<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    tracer: Option<opentelemetry_sdk::trace::SdkTracer>,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // The OpenTelemetry layer sits under the filter: the spans it exports
    // are the ones the logs keep (`rpc` at info).
    match format {
        LogFormat::Pretty => {
            let traces = tracer.map(|t| tracing_opentelemetry::layer().with_tracer(t));
            Box::new(builder.finish().with(traces))
        }
        LogFormat::Json => {
            let traces = tracer.map(|t| tracing_opentelemetry::layer().with_tracer(t));
            Box::new(
                builder
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .finish()
                    .with(traces),
            )
        }
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

/// Adds the `rpc` span around every call (a check of [`crate::layer`]), and
/// bounds each call by its deadline: the client's `grpc-timeout`, and for
/// unary calls also `unary_timeout`, whichever is shorter.
///
/// The server's bound is here rather than tonic's server-wide timeout
/// because that one also cuts off client streams, and a 50,000-record
/// `Stream*` upload may rightly take longer than any single unary call.
/// The client's deadline is enforced here too, a moment before tonic's own
/// timer (which wraps every layer and answers `CANCELLED "Timeout
/// expired"`), so the caller gets `DEADLINE_EXCEEDED` as the gRPC protocol
/// says.
#[derive(Clone, Copy, Default)]
pub struct RpcSpanLayer {
    pub unary_timeout: Option<Duration>,
}

check_layer!(RpcSpanLayer);

/// How much earlier than the client's deadline this layer answers: a tenth
/// of it, within 5-200 ms. Its answer must beat two timers that started
/// first — tonic's on the server (see [`RpcSpanLayer`]) and the client's
/// own (which tonic clients also report as `CANCELLED "Timeout
/// expired"`) — and a fixed 5 ms was eaten by scheduling delays on a
/// loaded two-core machine. A tenth of the caller's budget is time the
/// call would hardly have used to finish.
fn client_deadline_margin(deadline: Duration) -> Duration {
    (deadline / 10).clamp(Duration::from_millis(5), Duration::from_millis(200))
}

impl Check for RpcSpanLayer {
    type Guard = RpcSpan;

    async fn check<B: Send + 'static>(
        &self,
        request: http::Request<B>,
    ) -> Result<(http::Request<B>, RpcSpan), Status> {
        let path = request.uri().path();
        let server_limit = self.unary_timeout.filter(|_| !is_streaming(path));
        let client_limit =
            client_deadline(request.headers()).map(|d| d.saturating_sub(client_deadline_margin(d)));
        let time_limit = match (server_limit, client_limit) {
            (Some(server), Some(client)) => Some(server.min(client)),
            (limit, None) | (None, limit) => limit,
        };
        let method = rpc_method(path);
        let via_http = request
            .extensions()
            .get::<crate::http::ForwardedFromHttp>()
            .is_some();
        let span = tracing::info_span!(
            "rpc",
            method = method.path.as_str(),
            transport = if via_http { "http" } else { "grpc" },
            tenant = Empty,
            code = Empty,
            latency_ms = Empty,
            trace_id = Empty
        );
        if let Some(parent) = crate::otel::remote_parent(request.headers()) {
            crate::otel::adopt_parent(&span, parent);
        }
        if !via_http {
            crate::metrics::record_grpc_started(method);
        }
        let guard = RpcSpan {
            span,
            method,
            via_http,
            time_limit,
            started: Instant::now(),
        };
        Ok((request, guard))
    }
}

/// The client's deadline from `grpc-timeout` (`<digits><unit>`, at most 8
/// digits, unit one of `H M S m u n`: gRPC over HTTP/2); `None` when absent
/// or malformed, as tonic treats it.
fn client_deadline(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// An RPC this server serves, named as the conventional gRPC metrics name
/// it (`grpc_service`, `grpc_method`, `grpc_type`).
#[derive(Debug, PartialEq, Eq)]
pub struct RpcMethod {
    /// `/package.Service/Method`, as the call's path.
    pub path: String,
    /// `package.Service`.
    pub service: String,
    /// `Method`.
    pub name: String,
    /// `unary`, `client_stream`, `server_stream` or `bidi_stream`.
    pub kind: &'static str,
}

/// What a call to a path this server does not serve is counted as.
pub static UNKNOWN_METHOD: LazyLock<RpcMethod> = LazyLock::new(|| RpcMethod {
    path: "unknown".to_owned(),
    service: "unknown".to_owned(),
    name: "unknown".to_owned(),
    kind: "unknown",
});

/// Every RPC this server serves, by path, read from the descriptor sets of
/// gapscore, health and reflection.
static KNOWN_METHODS: LazyLock<HashMap<String, RpcMethod>> = LazyLock::new(|| {
    use prost::Message;
    let sets = [
        crate::proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let mut known = HashMap::new();
    for bytes in sets {
        // Compiled in by the build: a set that does not decode is a build bug,
        // and leaves its methods `unknown` rather than failing calls.
        let Ok(set) = prost_types::FileDescriptorSet::decode(bytes) else {
            continue;
        };
        for file in &set.file {
            let package = file.package();
            for service in &file.service {
                for method in &service.method {
                    let service = match package {
                        "" => service.name().to_owned(),
                        package => format!("{package}.{}", service.name()),
                    };
                    let kind = match (method.client_streaming(), method.server_streaming()) {
                        (false, false) => "unary",
                        (true, false) => "client_stream",
                        (false, true) => "server_stream",
                        (true, true) => "bidi_stream",
                    };
                    let path = format!("/{service}/{}", method.name());
                    known.insert(
                        path.clone(),
                        RpcMethod {
                            path,
                            service,
                            name: method.name().to_owned(),
                            kind,
                        },
                    );
                }
            }
        }
    }
    known
});

/// The RPC a path names when this server serves it, else
/// [`UNKNOWN_METHOD`]. Authentication answers before routing, so without
/// this every random path a caller sends would become a new metric series.
pub fn rpc_method(path: &str) -> &'static RpcMethod {
    KNOWN_METHODS.get(path).unwrap_or(&UNKNOWN_METHOD)
}

/// The `method` of a call's span and the `gapscore_rpc_*` metrics: its path
/// when it is an RPC this server serves, else `unknown`.
pub fn method_label(path: &str) -> &'static str {
    rpc_method(path).path.as_str()
}

/// One call's span: the call runs in it, and its code and latency are
/// recorded in it (and in the metrics) when it answers.
pub struct RpcSpan {
    span: Span,
    method: &'static RpcMethod,
    /// The call came over JSON over HTTP: the `grpc_server_*` metrics count
    /// calls that came over gRPC, the `http_server_*` ones count this one.
    via_http: bool,
    time_limit: Option<Duration>,
    started: Instant,
}

impl Guard for RpcSpan {
    fn span(&self) -> Option<Span> {
        Some(self.span.clone())
    }

    fn time_limit(&self) -> Option<Duration> {
        self.time_limit
    }

    fn finish<R, E: Display>(self, result: &Result<http::Response<R>, E>) {
        let elapsed = self.started.elapsed().as_secs_f64();
        self.span.record("latency_ms", elapsed * 1e3);
        match result {
            Ok(response) => {
                let code = grpc_code(response);
                self.span.record("code", code);
                crate::metrics::record_rpc(&self.method.path, code, elapsed);
                if !self.via_http {
                    crate::metrics::record_grpc_handled(self.method, code, elapsed);
                }
                tracing::info!(code, "rpc finished");
            }
            Err(err) => {
                self.span.record("code", "TRANSPORT_ERROR");
                tracing::warn!(error = %err, "rpc failed");
            }
        }
    }
}

/// Client-streaming methods are named `Stream*` (SPEC §3).
fn is_streaming(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|m| m.starts_with("Stream"))
}

/// The gRPC status of a response whose status travels in the headers
/// (errors, "trailers-only"); otherwise the call succeeded so far.
pub(crate) fn grpc_code<R>(response: &http::Response<R>) -> &'static str {
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
    fn only_served_methods_keep_their_name_as_a_label() {
        assert_eq!(
            method_label("/gapscore.v1.SurveyService/SubmitSurveyResponses"),
            "/gapscore.v1.SurveyService/SubmitSurveyResponses"
        );
        assert_eq!(
            method_label("/grpc.health.v1.Health/Check"),
            "/grpc.health.v1.Health/Check"
        );
        assert_eq!(
            method_label("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
        );
        for path in ["/", "/x", "/gapscore.v1.SurveyService/Nope", "/a/b/c"] {
            assert_eq!(method_label(path), "unknown", "{path}");
        }
    }

    #[test]
    fn methods_are_named_and_typed_as_the_grpc_metrics_label_them() {
        let method = rpc_method("/gapscore.v1.SurveyService/SubmitSurveyResponses");
        assert_eq!(
            (method.service.as_str(), method.name.as_str(), method.kind),
            (
                "gapscore.v1.SurveyService",
                "SubmitSurveyResponses",
                "unary"
            )
        );
        let kind = |path| rpc_method(path).kind;
        assert_eq!(
            kind("/gapscore.v1.SurveyService/StreamSurveyResponses"),
            "client_stream"
        );
        assert_eq!(kind("/grpc.health.v1.Health/Watch"), "server_stream");
        assert_eq!(
            kind("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            "bidi_stream"
        );
        assert_eq!(rpc_method("/a/b"), &*UNKNOWN_METHOD);
        assert_eq!(UNKNOWN_METHOD.service, "unknown");
    }

    #[test]
    fn the_client_deadline_is_read_as_grpc_encodes_it() {
        let deadline = |value: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert("grpc-timeout", value.parse().unwrap());
            client_deadline(&headers)
        };
        assert_eq!(deadline("250m"), Some(Duration::from_millis(250)));
        assert_eq!(deadline("3S"), Some(Duration::from_secs(3)));
        assert_eq!(deadline("2M"), Some(Duration::from_secs(120)));
        assert_eq!(deadline("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(
            deadline("99999999u"),
            Some(Duration::from_micros(99_999_999))
        );
        assert_eq!(deadline("5n"), Some(Duration::from_nanos(5)));
        for bad in ["", "m", "12", "123456789S", "-1S", "1x", "1.5S"] {
            assert_eq!(deadline(bad), None, "{bad:?}");
        }
        assert_eq!(client_deadline(&http::HeaderMap::new()), None);
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
