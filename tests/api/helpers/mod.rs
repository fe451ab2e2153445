//! What the end-to-end tests share, each piece written once:
//!
//! - [`app`]: `spawn_app` (the production server on a random port with
//!   tenant "acme"), authenticated clients and the common calls;
//! - [`fixtures`]: record and request builders;
//! - [`sql`]: the rare direct reads and writes of the database;
//! - [`assert`]: assertions on numbers and errors;
//! - [`raw`]: calls with raw message bytes;
//! - [`reference`]: the framed-answer data set of `tests/reference/` and
//!   its expected figures;
//! - [`http`]: a plain HTTP/1.1 and HTTP/2 client for JSON over HTTP;
//! - [`child`]: the real binary as a child process;
//! - [`lists`]: the paginated RPCs behind one trait;
//! - [`histories`]: random write histories for the rollup tests;
//! - [`scores`]: every score that existed before answer frames, per tenant;
//! - [`internals`]: every library internal the tests touch, re-exported so
//!   only this folder changes when `src/` moves things.
#![allow(dead_code, unused_imports)]

pub mod app;
pub mod assert;
pub mod child;
pub mod fixtures;
pub mod histories;
pub mod http;
pub mod internals;
pub mod lists;
pub mod memory;
pub mod raw;
pub mod reference;
pub mod scores;
pub mod sql;

pub use app::{TestApp, spawn_app, spawn_app_with};
pub use assert::{
    assert_close, assert_rel_close, error_reason, refused_at, sorted, violation_descriptions,
    violation_fields,
};
pub use fixtures::*;
pub use gapscore::client::{Authed, Bearer, Clients};
pub use sql::{Snapshot, snapshot};
