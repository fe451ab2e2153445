//! Plain types every layer shares: the tenant a call acts for, the
//! violations a request can have, what an ingest batch did, the one time
//! window and scope of a query, the one table from domain enums to their
//! wire and database numbers, the catalog's questions and the scoring
//! model, each with its rules.
//!
//! Nothing here does I/O or knows a transport: `scoring`, `store`,
//! `service` and the transports (`grpc`) all build on it, and it builds on
//! nothing of theirs.

pub mod counts;
pub mod enums;
pub mod ids;
pub mod model;
pub mod question;
pub mod scope;
pub mod violations;

pub use counts::IngestCounts;
pub use enums::Numbered;
pub use ids::TenantId;
pub use scope::{Scope, Window};
pub use violations::Violations;
