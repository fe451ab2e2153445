//! gapscore: measures the gap between the customer experience a company
//! believes it delivers and the one its customers report.
//!
//! Layers: `scoring` (pure math, no I/O), `store` (PostgreSQL via sqlx),
//! `api` (tonic services), wired together by `startup`.

pub mod auth;
pub mod bench;
pub mod cli;
pub mod client;
pub mod codec;
pub mod config;
pub mod demo;
pub mod domain;
pub mod grpc;
pub mod health;
pub mod layer;
pub mod limits;
pub mod metrics;
pub mod proto;
pub mod report;
pub mod scoring;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
