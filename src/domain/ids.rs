//! Identifiers.

/// The tenant an authenticated call acts for; every store function takes
/// it, so no query can forget whose data it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantId(pub i64);
