//! End-to-end tests: a real server on a real socket, a real tonic client and
//! a fresh PostgreSQL database per test (`#[sqlx::test]`).

mod bad_input;
mod bench;
mod bounded_work;
mod budgets;
mod catalog;
mod cluster;
mod decode_budget;
mod demo;
mod effort;
mod erasure;
mod errors;
mod faults;
mod frames;
mod fuzz;
mod gap;
mod helpers;
mod http;
mod infra;
mod isolation;
mod journeys;
mod loyalty;
mod noisy_neighbour;
mod operations;
mod outcomes;
mod overload;
mod proxy;
mod report;
mod rollup;
mod scorecard;
mod security;
mod stress_errors;
mod survey;
mod tenancy_ops;
mod tls;
