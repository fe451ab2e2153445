//! Distributed tracing: the caller's W3C trace context (`traceparent`,
//! `tracestate`) honoured on both transports, and the spans exported over
//! OTLP (gRPC) when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//!
//! The spans are the `tracing` ones of [`crate::telemetry`], bridged by
//! `tracing-opentelemetry`: a call's `rpc` span becomes an OpenTelemetry
//! span whose parent is the caller's, so the call shows up inside the
//! caller's trace. The JSON-over-HTTP layer passes the HTTP request's
//! headers on to the gRPC call it makes, so one code path serves both.

use anyhow::Context as _;
use opentelemetry::{
    Context,
    propagation::{Extractor, TextMapPropagator},
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    trace::{SdkTracer, SdkTracerProvider},
};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The environment variable that turns the OTLP export on (the
/// OpenTelemetry SDKs' standard name; the exporter also reads the other
/// `OTEL_EXPORTER_OTLP_*` and `OTEL_BSP_*` settings itself).
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The OTLP pipeline: spans are batched and sent from a thread of their
/// own, so a slow or absent collector never holds up a call.
pub struct Export {
    provider: SdkTracerProvider,
}

impl Export {
    /// The pipeline when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, else `None`.
    /// Must run inside the tokio runtime: the exporter's tonic channel
    /// lives on it.
    pub fn from_env() -> anyhow::Result<Option<Export>> {
        let Some(endpoint) = std::env::var_os(ENDPOINT_VAR) else {
            return Ok(None);
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()
            .with_context(|| {
                format!(
                    "cannot export traces to {ENDPOINT_VAR}={}",
                    endpoint.to_string_lossy()
                )
            })?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                Resource::builder()
                    .with_service_name(env!("CARGO_PKG_NAME"))
                    .build(),
            )
            .build();
        Ok(Some(Export { provider }))
    }

    /// The tracer the `tracing` bridge records into.
    pub fn tracer(&self) -> SdkTracer {
        self.provider.tracer(env!("CARGO_PKG_NAME"))
    }

    /// Sends the spans still buffered and stops the pipeline. It blocks
    /// until the collector has answered or timed out, so it runs on a
    /// blocking thread, never in the way of the runtime.
    pub async fn shutdown(self) {
        let provider = self.provider;
        let result = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(err)) = result {
            tracing::warn!(error = %err, "traces not all exported at shutdown");
        }
    }
}

/// Reads the trace context from HTTP headers (`traceparent`, `tracestate`).
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The caller's trace context in `headers`, W3C Trace Context; `None` when
/// there is none or it is malformed (the call then starts a trace of its
/// own, as the recommendation says).
pub fn remote_parent(headers: &http::HeaderMap) -> Option<Context> {
    let context = TraceContextPropagator::new().extract(&Headers(headers));
    context.span().span_context().is_valid().then_some(context)
}

/// Makes `span` a child of the caller's span (`parent`, from
/// [`remote_parent`]) and records the caller's trace id in it, so the logs
/// of the call carry the trace id too. Without the OpenTelemetry layer
/// (no OTLP export) only the trace id is recorded.
pub fn adopt_parent(span: &tracing::Span, parent: Context) {
    let trace_id = parent.span().span_context().trace_id().to_string();
    span.record("trace_id", trace_id.as_str());
    // Fails only without the layer, where there is no trace to join.
    let _ = span.set_parent(parent);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn a_valid_traceparent_gives_the_callers_trace_and_span() {
        // The example of the W3C Trace Context recommendation, §3.2.
        let parent = remote_parent(&headers(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )]))
        .expect("a valid traceparent");
        let span = parent.span();
        let context = span.span_context();
        assert_eq!(
            context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(context.span_id().to_string(), "00f067aa0ba902b7");
        assert!(context.is_sampled());
        assert!(context.is_remote());
    }

    #[test]
    fn missing_or_malformed_traceparents_start_a_new_trace() {
        assert!(remote_parent(&http::HeaderMap::new()).is_none());
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            // All-zero trace and span ids are invalid (§3.2.2.3, §3.2.2.4).
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            // Version ff is forbidden (§3.2.2.2).
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-xyz92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(
                remote_parent(&headers(&[("traceparent", bad)])).is_none(),
                "{bad:?}"
            );
        }
    }
}
