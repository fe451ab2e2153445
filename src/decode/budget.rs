//! The server-wide budget of decoded bytes in flight, and the per-call
//! scope that holds a call's share of it.
//!
//! [`DecodeBudgetLayer`] (a check of [`crate::layer`]) runs every call
//! inside a [`CallScope`], a `tokio` task-local. The codec decodes a
//! call's messages while tonic polls the call's future, so inside that
//! scope: it takes the message's estimated decoded size from the budget
//! and leaves the permit in the scope. The permit is released when the next
//! message of the same call is decoded (a client stream's messages are
//! served one at a time) or when the call has answered and its scope ends.

use std::{
    cell::{Cell, RefCell},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::{scan, schema::Schema};
use crate::{
    domain::Violations,
    grpc::error::DOMAIN,
    layer::{Check, Guard, check_layer},
};

/// How long a caller refused for want of budget is asked to wait.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Bytes that decoded messages may take at once.
#[derive(Debug)]
pub struct DecodeBudget {
    capacity: u64,
    used: AtomicU64,
}

/// A share of a [`DecodeBudget`], returned on drop.
#[derive(Debug)]
pub struct Permit {
    budget: Arc<DecodeBudget>,
    bytes: u64,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

impl DecodeBudget {
    pub fn new(capacity: u64) -> Arc<Self> {
        Arc::new(Self {
            capacity,
            used: AtomicU64::new(0),
        })
    }

    /// Bytes held now.
    pub fn in_use(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// Takes `bytes` if they fit now, without waiting: a caller that waited
    /// would hold its message buffer and its in-flight slot meanwhile.
    pub fn try_take(self: &Arc<Self>, bytes: u64) -> Result<Permit, Status> {
        if bytes > self.capacity {
            return Err(refused(
                format!(
                    "the message would take about {bytes} bytes decoded, more than the server's \
                     whole budget of {} bytes for decoded messages; send fewer records per message",
                    self.capacity
                ),
                "DECODED_MESSAGE_TOO_LARGE",
                None,
            ));
        }
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used + bytes <= self.capacity).then_some(used + bytes)
            })
            .map_err(|_| {
                refused(
                    "the server is decoding too many large messages at once; retry later".into(),
                    "DECODE_BUDGET_EXHAUSTED",
                    Some(RETRY_DELAY),
                )
            })?;
        Ok(Permit {
            budget: Arc::clone(self),
            bytes,
        })
    }
}

fn refused(message: String, reason: &str, retry: Option<Duration>) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, DOMAIN, std::collections::HashMap::new());
    if retry.is_some() {
        details.set_retry_info(retry);
    }
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

tokio::task_local! {
    static CALL: CallScope;
}

/// What one call holds while it runs: see the module docs.
#[derive(Debug)]
pub struct CallScope {
    budget: Arc<DecodeBudget>,
    held: RefCell<Option<Permit>>,
    /// Messages this call has decoded so far.
    decoded: Cell<usize>,
}

impl CallScope {
    pub fn new(budget: Arc<DecodeBudget>) -> Self {
        Self {
            budget,
            held: RefCell::new(None),
            decoded: Cell::new(0),
        }
    }

    /// Runs `call` (the rest of the call) inside this scope.
    pub async fn run<F: Future>(self, call: F) -> F::Output {
        CALL.scope(self, call).await
    }

    /// See [`admit`].
    fn admit(&self, message: &str, wire: &[u8]) -> Result<(), Status> {
        let ordinal = self.decoded.replace(self.decoded.get() + 1);
        let schema = Schema::get();
        let Some(index) = schema.message(message) else {
            return Ok(());
        };
        let found = scan::scan(schema, index, wire);
        if !found.violations.is_empty() {
            let violations: Violations = if schema.messages[index].stream_input {
                found.violations.prefixed(&format!("messages[{ordinal}]."))
            } else {
                found.violations
            };
            return Err(violations.into());
        }
        // The previous message of a stream has been served.
        drop(self.held.take());
        let permit = self.budget.try_take(found.decoded_bytes)?;
        *self.held.borrow_mut() = Some(permit);
        Ok(())
    }
}

/// Checks the wire bytes of a message of type `message` (full name) before
/// it is decoded, when a call's scope is set (on the server; a client
/// decodes without one): its element counts against their limits
/// (`INVALID_ARGUMENT` naming each field) and its estimated decoded size
/// against the budget (`RESOURCE_EXHAUSTED`).
pub fn admit(message: &str, wire: &[u8]) -> Result<(), Status> {
    CALL.try_with(|call| call.admit(message, wire))
        .unwrap_or(Ok(()))
}

/// Takes `bytes` from the budget of the call being served, for memory the
/// call needs before its message reaches the codec (the parsed JSON of an
/// HTTP call, [`crate::http::request`]); held until the permit is dropped.
/// `None` outside a call's scope.
pub fn take(bytes: u64) -> Result<Option<Permit>, Status> {
    CALL.try_with(|call| call.budget.try_take(bytes))
        .ok()
        .transpose()
}

/// The check that runs each call in a [`CallScope`] of the server's budget.
#[derive(Debug, Clone)]
pub struct DecodeBudgetLayer {
    budget: Arc<DecodeBudget>,
}

impl DecodeBudgetLayer {
    pub fn new(capacity: u64) -> Self {
        Self {
            budget: DecodeBudget::new(capacity),
        }
    }

    /// The budget, e.g. to read what is in use.
    pub fn budget(&self) -> &Arc<DecodeBudget> {
        &self.budget
    }
}

/// The scope a call runs in, handed to [`crate::layer::Checked`].
pub struct ScopeGuard(Option<CallScope>);

impl Guard for ScopeGuard {
    fn decode_scope(&mut self) -> Option<CallScope> {
        self.0.take()
    }
}

impl Check for DecodeBudgetLayer {
    type Guard = ScopeGuard;

    async fn check<B: Send + 'static>(
        &self,
        request: http::Request<B>,
    ) -> Result<(http::Request<B>, ScopeGuard), Status> {
        let scope = CallScope::new(Arc::clone(&self.budget));
        Ok((request, ScopeGuard(Some(scope))))
    }
}

check_layer!(DecodeBudgetLayer);
