//! gapscore: measures the gap between the customer experience a company
//! believes it delivers and the one its customers report.
//!
//! Layers, each importing only those below it:
//! - `domain`: plain types every layer shares (ids, violations, the one
//!   window and scope, the enum number table, questions, the scoring model);
//! - `scoring`: the statistics, pure functions; `store`: PostgreSQL (sqlx);
//! - `service`: orchestration on domain types (transactions, caches,
//!   metrics after commit);
//! - `grpc`: the transport, converting protobuf to domain and back;
//! - the server around it (`startup`, `layer`, `auth`, `limits`,
//!   `telemetry`, `otel`, `health`, `codec`, `metrics`, the `webhooks` worker), and `tools` (demo, report,
//!   benchmark), which call the services or the public API like any other
//!   client.

pub mod auth;
pub mod cli;
pub mod client;
pub mod codec;
pub mod config;
pub mod decode;
pub mod domain;
pub mod grpc;
pub mod health;
pub mod http;
pub mod layer;
pub mod limits;
pub mod metrics;
pub mod otel;
pub mod proto;
pub mod scoring;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod tools;
pub mod webhooks;
