//! What bounds the cost of decoding a request (SPEC §14): every repeated
//! field is counted against its limit on the wire, before prost builds a
//! single element, and the decoded size of the messages being served is
//! bounded by a server-wide budget of bytes, not only by the wire size of
//! one message (2 million empty `responses` are 4 MB on the wire and
//! hundreds of MB decoded).
//!
//! - [`schema`]: the message types, from the descriptor set.
//! - [`limits`]: the limits per (message, field).
//! - [`scan`]: the pass over the wire bytes.
//! - [`budget`]: the bytes in flight, and the per-call scope the codec
//!   ([`crate::codec`]) finds them in.

pub mod budget;
pub mod limits;
pub mod scan;
pub mod schema;

pub use budget::{CallScope, DecodeBudget, DecodeBudgetLayer, admit};

#[cfg(test)]
mod tests;
