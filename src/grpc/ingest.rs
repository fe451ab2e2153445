//! What the gRPC record services (surveys, journeys, outcomes) share: the
//! conversions of a record's enum numbers and times into [`Converted`]
//! fields, the client stream of batches, the `IngestCounts` message and a list's
//! page size.

use chrono::{DateTime, Utc};

use super::convert::check_timestamp;
use crate::{
    domain::{IngestCounts, Numbered, TenantId, Violations, scope::MAX_FUTURE_MINUTES},
    proto::v1 as proto,
    service::{
        ServiceError, ServiceResult,
        page::{self, PageRequest},
        write::Converted,
    },
};

/// A required enum field: 0 (unspecified) "is required", a number outside
/// the table "`n` is not `what`" (e.g. `what` = "a known Channel").
pub fn required<E: Numbered>(number: i32, what: &str) -> Converted<E> {
    E::from_number(number).ok_or_else(|| {
        if number == 0 {
            "is required".to_owned()
        } else {
            format!("{number} is not {what}")
        }
    })
}

/// An optional enum filter: 0 (unspecified) means "any".
pub fn optional<E: Numbered>(number: i32, what: &str) -> Converted<Option<E>> {
    if number == 0 {
        return Ok(None);
    }
    E::from_number(number)
        .map(Some)
        .ok_or_else(|| format!("{number} is not {what}"))
}

/// A record's required time, at most [`MAX_FUTURE_MINUTES`] ahead, with
/// the words of [`check_timestamp`].
pub fn record_time(value: Option<&prost_types::Timestamp>) -> Converted<DateTime<Utc>> {
    let mut v = Violations::default();
    let max_future = Some(chrono::Duration::minutes(MAX_FUTURE_MINUTES));
    check_timestamp(&mut v, "", value, max_future).ok_or_else(|| {
        let mut found = v
            .into_items()
            .into_iter()
            .map(|(_, description)| description);
        found.next().unwrap_or_default()
    })
}

/// Submits each message of a client stream of batches with `submit`, as
/// its own batch, one at a time: memory stays bounded by one message
/// however long the stream is, and HTTP/2 flow control paces the client.
/// Returns the summed counts and the number of messages; the violations of
/// a message are reported under `messages[n].`.
pub async fn submit_stream<M, F>(
    mut stream: tonic::Streaming<M>,
    mut submit: impl FnMut(M) -> F,
) -> Result<(proto::IngestCounts, i64), tonic::Status>
where
    F: Future<Output = ServiceResult<IngestCounts>>,
{
    let mut totals = IngestCounts::default();
    // Messages submitted so far; also the 0-based ordinal of the next.
    let mut messages = 0;
    while let Some(message) = stream.message().await? {
        match submit(message).await {
            Ok(counts) => {
                totals += counts;
                messages += 1;
            }
            Err(ServiceError::InvalidArgument(violations)) => {
                let prefix = format!("messages[{messages}].");
                return Err(ServiceError::InvalidArgument(violations.prefixed(&prefix)).into());
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok((counts_to_proto(totals), messages))
}

/// The `IngestCounts` message.
pub fn counts_to_proto(c: IngestCounts) -> proto::IngestCounts {
    proto::IngestCounts {
        inserted: c.inserted,
        updated: c.updated,
        unchanged: c.unchanged,
    }
}

/// The page a list request asks for, its token bound to the tenant and
/// `query`: the request without its page fields (page_size may change
/// between pages, AIP-158).
pub fn page_request(
    tenant: TenantId,
    size: i64,
    token: String,
    query: &impl prost::Message,
) -> PageRequest {
    PageRequest {
        size,
        token,
        fingerprint: page::fingerprint(tenant.0, query),
    }
}

/// The page size of a list request ([`page::page_size`]), its violation
/// collected with the request's others.
pub fn page_size(v: &mut Violations, requested: i32) -> i64 {
    match page::page_size(requested) {
        Ok(size) => size,
        Err(ServiceError::InvalidArgument(found)) => {
            v.absorb(found);
            0
        }
        // `page_size` fails with a violation only.
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::enums::{Channel, TouchpointOutcome};

    #[test]
    fn enum_numbers_convert_with_the_violation_words() {
        assert_eq!(
            required::<Channel>(5, "a known Channel"),
            Ok(Channel::Phone)
        );
        assert_eq!(
            required::<Channel>(0, "a known Channel"),
            Err("is required".into())
        );
        assert_eq!(
            required::<Channel>(42, "a known Channel"),
            Err("42 is not a known Channel".into())
        );
        // 0 is a value of TouchpointOutcome.
        assert_eq!(
            required::<TouchpointOutcome>(0, "a known TouchpointOutcome"),
            Ok(TouchpointOutcome::Unspecified)
        );
        assert_eq!(optional::<Channel>(0, "a known Channel"), Ok(None));
        assert_eq!(
            optional::<Channel>(-1, "a known Channel"),
            Err("-1 is not a known Channel".into())
        );
        assert_eq!(record_time(None), Err("is required".into()));
    }
}
