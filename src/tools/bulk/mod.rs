//! Bulk files (`gapscore import`, `gapscore export`): survey responses,
//! journeys and outcomes in CSV or JSON Lines, sent to and read from a
//! running server over gRPC with an API key.
//!
//! Going through the public API rather than the service layer means a file
//! meets exactly the validation, authentication, fairness budgets and
//! idempotency of any other client, needs no database credentials, and
//! works against a remote server. The columns of each kind are documented
//! in the README ("Bulk files") and laid out in [`columns`].
//!
//! - [`columns`]: the CSV columns of each kind, both ways;
//! - [`csv_file`]: CSV rows grouped into records, with their line numbers;
//! - [`jsonl`]: one record per line in the proto3 JSON mapping;
//! - [`kind`]: what each kind of record is to the API (submit, list);
//! - [`submit`]: batches, and rejected records traced back to their lines;
//! - [`report`]: what an import did.

mod columns;
mod csv_file;
mod jsonl;
mod kind;
mod report;
mod submit;

use std::{io::Write, path::Path};

use anyhow::Context;
use indicatif::ProgressBar;

use crate::client::Clients;
pub use report::{Rejection, Report};

/// The three kinds of record a bulk file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Survey responses (`SurveyService`); `responses` as SPEC §13 spells it.
    #[value(alias = "responses")]
    SurveyResponses,
    /// Customer journeys (`JourneyService`).
    Journeys,
    /// Loyalty outcomes (`OutcomeService`).
    Outcomes,
}

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row (RFC 4180 quoting).
    Csv,
    /// JSON Lines: one record per line in the proto3 JSON mapping.
    Jsonl,
}

impl Format {
    /// The format a file name implies: `.csv`, or `.jsonl` / `.ndjson`.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            _ => None,
        }
    }
}

/// How an import runs.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Records per call, 1-1,000 (a call is also kept under 1 MiB).
    pub batch_size: usize,
    /// Advanced by one per record sent or rejected.
    pub progress: ProgressBar,
}

/// Reads `text` as `format` records of `kind` and submits them through
/// `clients`. A record the file gets wrong, or the server rejects, is
/// reported with its line numbers and left out; every other record is
/// stored. Errors only when the file cannot be read at all (a CSV header
/// naming an unknown column) or a call fails for another reason than the
/// records (an unknown key, the server unreachable).
pub async fn import(
    clients: &Clients,
    kind: Kind,
    format: Format,
    text: &str,
    options: &ImportOptions,
) -> anyhow::Result<Report> {
    use kind::import_kind;
    match kind {
        Kind::SurveyResponses => {
            import_kind::<crate::proto::v1::SurveyResponse>(clients, format, text, options).await
        }
        Kind::Journeys => {
            import_kind::<crate::proto::v1::Journey>(clients, format, text, options).await
        }
        Kind::Outcomes => {
            import_kind::<crate::proto::v1::Outcome>(clients, format, text, options).await
        }
    }
}

/// Writes every record of `kind` the key's tenant holds to `out` as
/// `format`, in the API's stable list order; a file [`import`] reads back
/// to the same records. Returns the number of records written.
pub async fn export(
    clients: &Clients,
    kind: Kind,
    format: Format,
    out: &mut dyn Write,
    progress: &ProgressBar,
) -> anyhow::Result<u64> {
    use kind::export_kind;
    let written = match kind {
        Kind::SurveyResponses => {
            export_kind::<crate::proto::v1::SurveyResponse>(clients, format, out, progress).await
        }
        Kind::Journeys => {
            export_kind::<crate::proto::v1::Journey>(clients, format, out, progress).await
        }
        Kind::Outcomes => {
            export_kind::<crate::proto::v1::Outcome>(clients, format, out, progress).await
        }
    }?;
    out.flush().context("cannot write the export")?;
    Ok(written)
}
