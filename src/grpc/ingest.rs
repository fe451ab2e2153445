//! What the gRPC record services (surveys, journeys, outcomes) share: the
//! conversions of a record's enum numbers and times into [`Converted`]
//! fields, the client stream of batches, the `IngestCounts` message and a list's
//! page size.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::{FromRequest, convert::check_timestamp};
use crate::{
    auth::Credential,
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

/// What bounds an open client stream (SPEC §14): how long it may go
/// without a message, how long it may stay open, and how often its API key
/// is checked again.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
    pub key_recheck: Duration,
}

/// A client stream of batches as a handler receives it: the messages, the
/// limits the tenant-budget layer attached, and the caller's credential to
/// check again while the stream stays open.
pub struct ClientStream<M> {
    messages: tonic::Streaming<M>,
    limits: Option<StreamLimits>,
    credential: Option<Credential>,
    opened: Instant,
    /// When the key was last found valid.
    checked: Instant,
}

impl<M> FromRequest<tonic::Streaming<M>> for ClientStream<M> {
    fn from_request(request: tonic::Request<tonic::Streaming<M>>) -> Self {
        let limits = request.extensions().get::<StreamLimits>().copied();
        let credential = request.extensions().get::<Credential>().cloned();
        let now = Instant::now();
        Self {
            messages: request.into_inner(),
            limits,
            credential,
            opened: now,
            checked: now,
        }
    }
}

impl<M> ClientStream<M> {
    /// The next message, `None` at the end of the stream. Fails when the
    /// stream broke, went idle past its limit, outlived its lifetime, or
    /// its key is no longer valid (checked before a message is handed
    /// out, so a message sent after a revocation is never submitted).
    /// `committed` is the number of messages submitted so far, for the
    /// error's metadata.
    async fn next(&mut self, committed: i64) -> Result<Option<M>, tonic::Status> {
        let Some(limits) = self.limits else {
            return self.messages.message().await;
        };
        let closes = self.opened + limits.max_lifetime;
        let idle_until = Instant::now() + limits.idle_timeout;
        loop {
            let now = Instant::now();
            if now >= closes {
                return Err(stream_ended(
                    "STREAM_MAX_LIFETIME",
                    format!(
                        "the stream was open for its maximum of {} s; open a new one to send more",
                        limits.max_lifetime.as_secs()
                    ),
                    ("max_lifetime_secs", limits.max_lifetime.as_secs()),
                    committed,
                ));
            }
            if now >= idle_until {
                return Err(stream_ended(
                    "STREAM_IDLE_TIMEOUT",
                    format!(
                        "no message for {} s; the stream was closed",
                        limits.idle_timeout.as_secs()
                    ),
                    ("idle_timeout_secs", limits.idle_timeout.as_secs()),
                    committed,
                ));
            }
            let recheck = self.checked + limits.key_recheck;
            if now >= recheck {
                self.recheck().await?;
                continue;
            }
            let wake = closes.min(idle_until).min(recheck);
            tokio::select! {
                // `message` keeps its state in the stream: dropping it
                // when the timer wins loses nothing.
                message = self.messages.message() => {
                    let message = message?;
                    if message.is_some() && Instant::now() >= self.checked + limits.key_recheck {
                        self.recheck().await?;
                    }
                    return Ok(message);
                }
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// Checks the caller's key again; UNAUTHENTICATED once it is revoked.
    async fn recheck(&mut self) -> Result<(), tonic::Status> {
        if let Some(credential) = &self.credential
            && !credential
                .still_valid()
                .await
                .map_err(ServiceError::Store)?
        {
            tracing::info!("API key revoked: ending the stream");
            return Err(crate::auth::unauthenticated());
        }
        self.checked = Instant::now();
        Ok(())
    }
}

/// The status of a stream the server ended: `DEADLINE_EXCEEDED` (the
/// server's own time limit on the call ran out, as for a unary call), with
/// the limit and how many messages were committed before, so the client
/// knows where to resume in a new stream.
fn stream_ended(
    reason: &str,
    message: String,
    (limit_name, limit): (&str, u64),
    committed: i64,
) -> tonic::Status {
    use tonic_types::{ErrorDetails, StatusExt};
    let mut details = ErrorDetails::new();
    details.set_error_info(
        reason,
        super::error::DOMAIN,
        std::collections::HashMap::from([
            (limit_name.to_owned(), limit.to_string()),
            ("messages_committed".to_owned(), committed.to_string()),
        ]),
    );
    tonic::Status::with_error_details(tonic::Code::DeadlineExceeded, message, details)
}

/// Submits each message of a client stream of batches with `submit`, as
/// its own batch, one at a time: memory stays bounded by one message
/// however long the stream is, and HTTP/2 flow control paces the client.
/// Returns the summed counts and the number of messages; the violations of
/// a message are reported under `messages[n].`. The stream's limits
/// ([`StreamLimits`]) end it between messages, never during one.
pub async fn submit_stream<M, F>(
    mut stream: ClientStream<M>,
    mut submit: impl FnMut(M) -> F,
) -> Result<(proto::IngestCounts, i64), tonic::Status>
where
    F: Future<Output = ServiceResult<IngestCounts>>,
{
    let mut totals = IngestCounts::default();
    // Messages submitted so far; also the 0-based ordinal of the next.
    let mut messages = 0;
    while let Some(message) = stream.next(messages).await? {
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
