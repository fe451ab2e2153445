//! What an import did: the server's counts, and every rejected record with
//! the lines it came from.

use std::fmt;

/// One reason a record was left out, at the line that holds the fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line of the file.
    pub line: u64,
    /// The column (CSV) or the field path within the record (JSON Lines,
    /// or a record-level rule), e.g. `score` or `answers[1].score`.
    pub field: String,
    /// What is wrong, in the server's words where the server found it.
    pub description: String,
}

/// The outcome of one import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Records the file holds (a CSV record may span several rows).
    pub records: u64,
    /// Stored for the first time.
    pub inserted: i64,
    /// Existed with other content, now replaced.
    pub updated: i64,
    /// Identical to what was stored; a re-run reports everything here.
    pub unchanged: i64,
    /// Records left out, by the file's parser or the server.
    pub rejected_records: u64,
    /// Why, ordered by line.
    pub rejections: Vec<Rejection>,
}

impl Report {
    pub(super) fn add_counts(&mut self, counts: &crate::proto::v1::IngestCounts) {
        self.inserted += counts.inserted;
        self.updated += counts.updated;
        self.unchanged += counts.unchanged;
    }

    /// One rejected record and its reasons.
    pub(super) fn reject(&mut self, reasons: impl IntoIterator<Item = Rejection>) {
        self.rejected_records += 1;
        self.rejections.extend(reasons);
    }

    pub(super) fn finish(&mut self) {
        self.rejections
            .sort_by(|a, b| (a.line, &a.field).cmp(&(b.line, &b.field)));
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {}: {}",
            self.line, self.field, self.description
        )
    }
}

impl fmt::Display for Report {
    /// One line per rejection, then the totals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for rejection in &self.rejections {
            writeln!(f, "{rejection}")?;
        }
        write!(
            f,
            "{} records: {} inserted, {} updated, {} unchanged, {} rejected",
            self.records, self.inserted, self.updated, self.unchanged, self.rejected_records
        )
    }
}
