//! End-to-end tests: a real server on a real socket, a real tonic client and
//! a fresh PostgreSQL database per test (`#[sqlx::test]`).

mod catalog;
mod effort;
mod helpers;
mod infra;
mod loyalty;
mod operations;
mod proxy;
