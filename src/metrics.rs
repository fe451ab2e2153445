//! Prometheus metrics, served as text at `/metrics` on
//! `GAPSCORE_METRICS_LISTEN` when it is set.
//!
//! The `metrics` facade is a no-op until a recorder is installed, so the
//! recording calls below cost next to nothing when metrics are off.

use std::net::SocketAddr;

use anyhow::Context;
use metrics_exporter_prometheus::PrometheusBuilder;

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
