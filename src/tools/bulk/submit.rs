//! Sends parsed records in batches and traces every rejection back to the
//! lines its record came from.
//!
//! A submit call is atomic: one invalid record fails the whole batch with
//! `INVALID_ARGUMENT` and a `BadRequest` whose paths start with the
//! record's index (`responses[3].answers[1].score`). Those records are
//! reported and the rest of the batch is sent again; the server lists at
//! most a few hundred violations per call, so this repeats until the batch
//! goes through. A rejection that names no record (none is expected, but
//! the server's limits may grow) is narrowed down by halving the batch.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::anyhow;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::{
    ImportOptions,
    kind::BulkRecord,
    report::{Rejection, Report},
};
use crate::{client::Clients, proto::v1::IngestCounts};

/// A record and where in the file it came from.
pub struct Parsed<R> {
    pub record: R,
    /// The line of the record (of its first row in CSV).
    pub line: u64,
    /// The line of each item (CSV rows); None for JSON Lines, where the
    /// record is one line.
    pub item_lines: Option<Vec<u64>>,
}

/// A batch stays well under the server's default 4 MiB message limit.
const MAX_BATCH_BYTES: usize = 1 << 20;
/// Calls refused for load (RESOURCE_EXHAUSTED, UNAVAILABLE) are tried this
/// often in all before the import gives up.
const MAX_ATTEMPTS: u32 = 6;

pub async fn submit_all<R: BulkRecord>(
    clients: &Clients,
    parsed: Vec<Parsed<R>>,
    options: &ImportOptions,
    report: &mut Report,
) -> anyhow::Result<()> {
    let batch_size = options.batch_size.clamp(1, 1000);
    let mut batch = Vec::new();
    let mut bytes = 0;
    for record in parsed {
        let len = record.record.encoded_len();
        if !batch.is_empty() && (batch.len() >= batch_size || bytes + len > MAX_BATCH_BYTES) {
            submit_batch(clients, std::mem::take(&mut batch), options, report).await?;
            bytes = 0;
        }
        bytes += len;
        batch.push(record);
    }
    submit_batch(clients, batch, options, report).await
}

async fn submit_batch<R: BulkRecord>(
    clients: &Clients,
    batch: Vec<Parsed<R>>,
    options: &ImportOptions,
    report: &mut Report,
) -> anyhow::Result<()> {
    // A stack, so the parts of a halved batch go in file order.
    let mut pending = vec![batch];
    while let Some(mut batch) = pending.pop() {
        if batch.is_empty() {
            continue;
        }
        let records = batch.iter().map(|p| p.record.clone()).collect();
        let status = match call(clients, records).await {
            Ok(counts) => {
                report.add_counts(&counts);
                options.progress.inc(batch.len() as u64);
                continue;
            }
            Err(status) if status.code() == Code::InvalidArgument => status,
            Err(status) => {
                return Err(anyhow!(
                    "the server refused {}: {:?}: {}",
                    R::COLLECTION,
                    status.code(),
                    status.message()
                ));
            }
        };
        let mut faults: BTreeMap<usize, Vec<Rejection>> = BTreeMap::new();
        for violation in status
            .get_details_bad_request()
            .into_iter()
            .flat_map(|b| b.field_violations)
        {
            if let Some((index, rest)) = record_path(R::COLLECTION, &violation.field)
                && let Some(parsed) = batch.get(index)
            {
                let rejection = locate::<R>(parsed, rest, violation.description);
                faults.entry(index).or_default().push(rejection);
            }
        }
        if faults.is_empty() {
            if batch.len() == 1 {
                report.reject([Rejection {
                    line: batch[0].line,
                    field: "record".into(),
                    description: status.message().to_owned(),
                }]);
                options.progress.inc(1);
            } else {
                let second = batch.split_off(batch.len() / 2);
                pending.push(second);
                pending.push(batch);
            }
            continue;
        }
        let mut rest = Vec::with_capacity(batch.len());
        for (index, parsed) in batch.into_iter().enumerate() {
            match faults.remove(&index) {
                Some(reasons) => {
                    report.reject(reasons);
                    options.progress.inc(1);
                }
                None => rest.push(parsed),
            }
        }
        pending.push(rest);
    }
    Ok(())
}

/// One submit call, tried again while the server asks to come back later.
async fn call<R: BulkRecord>(clients: &Clients, records: Vec<R>) -> Result<IngestCounts, Status> {
    let mut attempt = 1;
    loop {
        match R::submit(clients, records.clone()).await {
            Err(status)
                if matches!(status.code(), Code::ResourceExhausted | Code::Unavailable)
                    && attempt < MAX_ATTEMPTS =>
            {
                let asked = status.get_details_retry_info().and_then(|r| r.retry_delay);
                let backoff = Duration::from_millis(200 << attempt).min(Duration::from_secs(5));
                tokio::time::sleep(asked.unwrap_or(backoff).min(Duration::from_secs(30))).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// `responses[3].answers[1].score` → (3, `.answers[1].score`).
fn record_path<'a>(collection: &str, field: &'a str) -> Option<(usize, &'a str)> {
    let inner = field.strip_prefix(collection)?.strip_prefix('[')?;
    let (index, rest) = inner.split_once(']')?;
    Some((index.parse().ok()?, rest))
}

/// The line and the field a violation at `rest` (a path inside the record)
/// points to: in CSV, the row of the item it names and the column within
/// it; otherwise the record's line and the path.
fn locate<R: BulkRecord>(parsed: &Parsed<R>, rest: &str, description: String) -> Rejection {
    let path = rest.strip_prefix('.').unwrap_or(rest);
    let item_lines = parsed.item_lines.as_deref();
    if let Some(item_lines) = item_lines
        && !R::ITEMS.is_empty()
        && let Some((item, within)) = path
            .strip_prefix(R::ITEMS)
            .and_then(|p| p.strip_prefix('['))
            .and_then(|p| p.split_once(']'))
        && let Some(&line) = item.parse::<usize>().ok().and_then(|i| item_lines.get(i))
    {
        let column = within.strip_prefix('.').unwrap_or(within);
        return Rejection {
            line,
            field: if column.is_empty() {
                path.to_owned()
            } else {
                column.to_owned()
            },
            description,
        };
    }
    let field = match path {
        "" => "record".to_owned(),
        "id" if item_lines.is_some() => R::layout().id.to_owned(),
        _ => path.to_owned(),
    };
    Rejection {
        line: parsed.line,
        field,
        description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_paths_split_into_index_and_rest() {
        assert_eq!(
            record_path("responses", "responses[12].answers[0].score"),
            Some((12, ".answers[0].score"))
        );
        assert_eq!(record_path("responses", "responses[0]"), Some((0, "")));
        assert_eq!(record_path("responses", "responses"), None);
        assert_eq!(record_path("responses", "journeys[1].id"), None);
        assert_eq!(record_path("responses", "responses[x].id"), None);
    }
}
