//! Prometheus metrics, served as text at `/metrics` on
//! `GAPSCORE_METRICS_LISTEN` when it is set.
//!
//! The `metrics` facade is a no-op until a recorder is installed, so the
//! recording calls below cost next to nothing when metrics are off.

use std::net::SocketAddr;

use anyhow::Context;
use metrics_exporter_prometheus::PrometheusBuilder;

use crate::telemetry::RpcMethod;

/// Latency buckets, seconds: sub-millisecond reads to multi-second scores.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the global recorder and its HTTP listener.
pub fn install(addr: SocketAddr) -> anyhow::Result<()> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets(LATENCY_BUCKETS)?
        .install()
        .with_context(|| {
            format!(
                "cannot serve metrics on {addr} (is the port in use? set GAPSCORE_METRICS_LISTEN)"
            )
        })?;
    metrics::gauge!("gapscore_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    tracing::info!(%addr, "metrics at http://{addr}/metrics");
    Ok(())
}

/// One finished RPC. Paths of methods that do not exist are counted as
/// "unknown", so callers cannot grow the label set without bound.
pub fn record_rpc(method: &str, code: &'static str, seconds: f64) {
    let method = if code == "UNIMPLEMENTED" {
        "unknown"
    } else {
        method
    };
    metrics::counter!("gapscore_rpc_requests_total", "method" => method.to_owned(), "code" => code)
        .increment(1);
    metrics::histogram!("gapscore_rpc_duration_seconds", "method" => method.to_owned())
        .record(seconds);
}

/// A call that came over gRPC has started: `grpc_server_started_total`,
/// named and labelled as go-grpc-prometheus and its dashboards name it.
pub fn record_grpc_started(method: &'static RpcMethod) {
    metrics::counter!(
        "grpc_server_started_total",
        "grpc_service" => method.service.as_str(),
        "grpc_method" => method.name.as_str(),
        "grpc_type" => method.kind
    )
    .increment(1);
}

/// A call that came over gRPC has answered with `code` (its UPPER_SNAKE
/// name) after `seconds`: `grpc_server_handled_total` and the
/// `grpc_server_handling_seconds` histogram. `grpc_code` is spelled as
/// gRPC's Go implementation spells it (`OK`, `InvalidArgument`), which is
/// what dashboards and alerts written for these names match on.
pub fn record_grpc_handled(method: &'static RpcMethod, code: &'static str, seconds: f64) {
    let (service, name, kind) = (method.service.as_str(), method.name.as_str(), method.kind);
    metrics::counter!(
        "grpc_server_handled_total",
        "grpc_service" => service,
        "grpc_method" => name,
        "grpc_type" => kind,
        "grpc_code" => go_code_name(code)
    )
    .increment(1);
    metrics::histogram!(
        "grpc_server_handling_seconds",
        "grpc_service" => service,
        "grpc_method" => name,
        "grpc_type" => kind
    )
    .record(seconds);
}

/// The Go spelling of a gRPC code's UPPER_SNAKE name (`codes.Code.String()`).
fn go_code_name(code: &'static str) -> &'static str {
    match code {
        "OK" => "OK",
        "CANCELLED" => "Canceled",
        "INVALID_ARGUMENT" => "InvalidArgument",
        "DEADLINE_EXCEEDED" => "DeadlineExceeded",
        "NOT_FOUND" => "NotFound",
        "ALREADY_EXISTS" => "AlreadyExists",
        "PERMISSION_DENIED" => "PermissionDenied",
        "RESOURCE_EXHAUSTED" => "ResourceExhausted",
        "FAILED_PRECONDITION" => "FailedPrecondition",
        "ABORTED" => "Aborted",
        "OUT_OF_RANGE" => "OutOfRange",
        "UNIMPLEMENTED" => "Unimplemented",
        "INTERNAL" => "Internal",
        "UNAVAILABLE" => "Unavailable",
        "DATA_LOSS" => "DataLoss",
        "UNAUTHENTICATED" => "Unauthenticated",
        _ => "Unknown",
    }
}

/// One finished call that came over JSON over HTTP:
/// `http_server_requests_total{method,route,code}` and the
/// `http_server_request_duration_seconds{method,route}` histogram. `route`
/// is the matched path template (`/v1/journeys/{id}`), never the path
/// itself, and `method` one of the standard verbs or `other`, so callers
/// cannot grow the label set.
pub fn record_http(method: &http::Method, route: &'static str, status: u16, seconds: f64) {
    let method = match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    metrics::counter!(
        "http_server_requests_total",
        "method" => method,
        "route" => route,
        "code" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "http_server_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(seconds);
}

/// Records ingested by kind (`survey_response`, `journey`, `outcome`) and
/// result (`inserted`, `updated`, `unchanged`).
pub fn record_ingest(kind: &'static str, inserted: i64, updated: i64, unchanged: i64) {
    for (result, n) in [
        ("inserted", inserted),
        ("updated", updated),
        ("unchanged", unchanged),
    ] {
        if n > 0 {
            metrics::counter!("gapscore_records_ingested_total", "kind" => kind, "result" => result)
                .increment(n as u64);
        }
    }
}

/// Database pool gauges: open connections and idle ones.
pub fn record_pool(pool: &sqlx::PgPool) {
    let size = pool.size() as f64;
    let idle = pool.num_idle() as f64;
    metrics::gauge!("gapscore_db_pool_connections", "state" => "open").set(size);
    metrics::gauge!("gapscore_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("gapscore_db_pool_connections", "state" => "in_use").set(size - idle);
}

/// Whether the database answered the last health check (1) or not (0).
pub fn record_database_up(up: bool) {
    metrics::gauge!("gapscore_database_up").set(if up { 1.0 } else { 0.0 });
}

/// Whether reads go to the read replica (1) or the primary (0), and its
/// replay lag when it was measured.
pub fn record_read_replica(usable: bool, lag: Option<std::time::Duration>) {
    metrics::gauge!("gapscore_read_replica_usable").set(if usable { 1.0 } else { 0.0 });
    if let Some(lag) = lag {
        metrics::gauge!("gapscore_read_replica_lag_seconds").set(lag.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_are_spelled_as_grpc_go_spells_them() {
        // google.golang.org/grpc/codes, code_string.go, by number.
        let go = [
            "OK",
            "Canceled",
            "Unknown",
            "InvalidArgument",
            "DeadlineExceeded",
            "NotFound",
            "AlreadyExists",
            "PermissionDenied",
            "ResourceExhausted",
            "FailedPrecondition",
            "Aborted",
            "OutOfRange",
            "Unimplemented",
            "Internal",
            "Unavailable",
            "DataLoss",
            "Unauthenticated",
        ];
        for (number, name) in go.iter().enumerate() {
            let status = tonic::Status::new(tonic::Code::from_i32(number as i32), "");
            let response = status.into_http::<()>();
            let code = crate::telemetry::grpc_code(&response);
            assert_eq!(go_code_name(code), *name, "code {number} ({code})");
        }
    }
}
