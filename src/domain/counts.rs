//! What an idempotent batch upsert did (SPEC §3.2).

use std::ops::AddAssign;

/// Counts of an idempotent upsert, so a client that retries after a timeout
/// can never double-count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestCounts {
    /// Records stored for the first time.
    pub inserted: i64,
    /// Records whose id existed with different content, now replaced.
    pub updated: i64,
    /// Records identical to the stored ones; nothing changed.
    pub unchanged: i64,
}

impl AddAssign for IngestCounts {
    fn add_assign(&mut self, other: Self) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}
