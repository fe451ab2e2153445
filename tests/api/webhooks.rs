//! Signed webhooks (SPEC §12.1): CRUD, and deliveries to a real HTTP
//! receiver the test starts on loopback, with signatures checked by
//! implementations independent of the server's (one written here from the
//! Standard Webhooks specification, and the specification's own Python
//! library), retries, concurrency across replicas, and faults.
//!
//! Until writes raise events themselves, the events are recorded with
//! `store::events::record_events`, as a write does, in their own
//! transaction.

use std::{
    collections::{HashMap, VecDeque},
    convert::Infallible,
    io::Write,
    net::SocketAddr,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use bytes::Bytes;
use gapscore::{
    proto::v1::{
        CreateWebhookRequest, DeleteWebhookRequest, DeliveryStatus, EffortTier,
        ListWebhookDeliveriesRequest, ListWebhooksRequest, OutcomeKind, WebhookDelivery,
        webhook_service_client::WebhookServiceClient,
    },
    store::events::{NewEvent, record_events},
};
use http_body_util::{BodyExt, Full};
use sqlx::{PgPool, postgres::PgPoolOptions};
use tonic::{Code, transport::Channel};

use crate::{
    cluster::Cluster,
    helpers::{
        Authed, Bearer, Clients, TestApp,
        child::ChildServer,
        error_reason,
        internals::{Application, ServeArgs, TenantId, create_tenant},
        outcome, spawn_app_with, violation_descriptions, violation_fields,
    },
};

// ------------------------------------------------------------ the receiver

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reply {
    Status(u16),
    /// Never answers (within the test).
    Hang,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    body: Vec<u8>,
    at: Instant,
}

impl Received {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
    fn event_id(&self) -> String {
        self.json()["data"]["eventId"].as_str().unwrap().to_owned()
    }
}

#[derive(Default)]
struct ReceiverState {
    /// Replies to the next requests, in order; then `otherwise`.
    script: VecDeque<Reply>,
    otherwise: Option<Reply>,
    received: Vec<Received>,
}

/// A webhook receiver: a hyper HTTP/1.1 server on a loopback port.
#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    async fn start(otherwise: Reply) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(ReceiverState {
            otherwise: Some(otherwise),
            ..Default::default()
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(answer(&state, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}/hooks/gapscore", self.addr)
    }

    fn script(&self, replies: &[Reply]) {
        self.state.lock().unwrap().script.extend(replies);
    }

    fn answer_from_now(&self, reply: Reply) {
        self.state.lock().unwrap().otherwise = Some(reply);
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits until `enough` holds for the requests received; panics after
    /// `within` (a bound on the wait, not a measurement).
    async fn wait_for(
        &self,
        within: Duration,
        what: &str,
        enough: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if enough(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "still waiting for {what} after {within:?}; received {}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn answer(
    state: &Mutex<ReceiverState>,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let (id, timestamp, signature, content_type) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
        header("content-type"),
    );
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let reply = {
        let mut state = state.lock().unwrap();
        state.received.push(Received {
            id,
            timestamp,
            signature,
            content_type,
            body: body.to_vec(),
            at: Instant::now(),
        });
        let next = state.script.pop_front();
        next.or(state.otherwise).unwrap()
    };
    let status = match reply {
        Reply::Status(status) => status,
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            200
        }
    };
    hyper::Response::builder()
        .status(status)
        .body(Full::new(Bytes::from_static(b"ok")))
        .unwrap()
}

// ------------------------------------------------- signatures, independently

/// Verifies a delivery as the Standard Webhooks specification describes it
/// (spec/standard-webhooks.md, "Verifying webhook authenticity"), written
/// from its text with `ring` (not the server's `hmac`): the key is the
/// base64 after `whsec_`; the signed content `{id}.{timestamp}.{body}`;
/// the header a space-separated list of `v1,<base64 HMAC-SHA256>`; the
/// timestamp within 5 minutes of now.
fn verify_from_spec(secret: &str, received: &Received) -> Result<(), String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").ok_or("no whsec_ prefix")?)
        .map_err(|e| format!("secret is not base64: {e}"))?;
    let timestamp: i64 = received
        .timestamp
        .parse()
        .map_err(|_| "webhook-timestamp is not an integer")?;
    if (chrono::Utc::now().timestamp() - timestamp).abs() > 300 {
        return Err("webhook-timestamp is more than 5 minutes off".into());
    }
    let mut content = format!("{}.{}.", received.id, received.timestamp).into_bytes();
    content.extend_from_slice(&received.body);
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
        &content,
    );
    let expected = STANDARD.encode(tag.as_ref());
    let found = received
        .signature
        .split(' ')
        .any(|s| s.split_once(',') == Some(("v1", expected.as_str())));
    found
        .then_some(())
        .ok_or_else(|| format!("no v1 signature matches in {:?}", received.signature))
}

/// Verifies a delivery with the PyPI `standardwebhooks` package
/// (tests/reference/webhook_verify.py); `None` (said on stderr) when
/// python3 or the package is missing.
fn verify_with_python_library(secret: &str, received: &Received) -> Option<Result<String, String>> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/webhook_verify.py"
    );
    let input = serde_json::json!({
        "secret": secret,
        "headers": {
            "webhook-id": received.id,
            "webhook-timestamp": received.timestamp,
            "webhook-signature": received.signature,
        },
        "body": String::from_utf8(received.body.clone()).unwrap(),
    });
    let child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("SKIPPED the standardwebhooks check: python3 is not installed");
        return None;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    match output.status.code() {
        Some(0) => Some(Ok(stdout)),
        Some(3) => {
            eprintln!("SKIPPED the standardwebhooks check: {stdout}");
            None
        }
        _ => Some(Err(stdout)),
    }
}

// ----------------------------------------------------------------- helpers

/// Settings for fast tests: http to loopback allowed, short waits.
fn fast(args: &mut ServeArgs) {
    args.webhook_allow_http_loopback = true;
    args.webhook_poll_ms = 50;
    args.webhook_retry_base_ms = 300;
    args.webhook_timeout_ms = 2000;
}

fn webhooks(app: &TestApp) -> WebhookServiceClient<Authed> {
    WebhookServiceClient::new(app.clients.authed())
}

fn webhooks_over(channel: Channel, key: &str) -> WebhookServiceClient<Authed> {
    WebhookServiceClient::new(Clients::new(channel, Bearer::new(key).unwrap()).authed())
}

/// Creates a webhook to `url`; its id and secret.
async fn create(
    client: &mut WebhookServiceClient<Authed>,
    url: &str,
    min_tier: EffortTier,
) -> (String, String) {
    let created = client
        .create_webhook(CreateWebhookRequest {
            url: url.into(),
            min_tier: min_tier as i32,
        })
        .await
        .expect("webhook created")
        .into_inner();
    (created.webhook.unwrap().webhook_id, created.secret)
}

fn new_event(customer: &str, tier: EffortTier) -> NewEvent {
    NewEvent {
        customer_id: customer.into(),
        tier: tier as i16,
        previous_tier: EffortTier::Low as i16,
        tier_source: 2,
        reasons: vec!["3 contacts".into()],
        journey_id: Some(format!("j-{customer}")),
        response_id: None,
        holdout: false,
    }
}

/// Records events as a write does (its own transaction); their ids.
async fn raise(pool: &PgPool, tenant: TenantId, events: &[NewEvent]) -> Vec<String> {
    let mut tx = pool.begin().await.unwrap();
    let stored = record_events(&mut tx, tenant, events).await.unwrap();
    tx.commit().await.unwrap();
    stored.iter().map(|e| e.event_id.to_string()).collect()
}

/// The whole delivery log of a webhook.
async fn log(client: &mut WebhookServiceClient<Authed>, webhook_id: &str) -> Vec<WebhookDelivery> {
    client
        .list_webhook_deliveries(ListWebhookDeliveriesRequest {
            webhook_id: webhook_id.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("delivery log")
        .into_inner()
        .deliveries
}

/// Waits until the log satisfies `enough`; panics after `within`.
async fn wait_for_log(
    client: &mut WebhookServiceClient<Authed>,
    webhook_id: &str,
    within: Duration,
    enough: impl Fn(&[WebhookDelivery]) -> bool,
) -> Vec<WebhookDelivery> {
    let deadline = Instant::now() + within;
    loop {
        let entries = log(client, webhook_id).await;
        if enough(&entries) {
            return entries;
        }
        assert!(
            Instant::now() < deadline,
            "the delivery log did not get there in {within:?}: {entries:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn delivered(entries: &[WebhookDelivery]) -> usize {
    entries
        .iter()
        .filter(|d| d.status == DeliveryStatus::Delivered as i32)
        .count()
}

/// Another server on the same database (a replica), without a new tenant;
/// sending on the returned channel stops it (and closes its pools).
async fn spawn_replica(
    pool: PgPool,
    configure: impl FnOnce(&mut ServeArgs),
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let mut args = ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServeArgs::default()
    };
    configure(&mut args);
    let app = Application::build(args, pool)
        .await
        .expect("replica builds");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    (stop, server)
}

// ------------------------------------------------------------------- tests

#[sqlx::test]
async fn webhook_one_event_is_one_signed_delivery_that_verifies_independently(pool: PgPool) {
    let app = spawn_app_with(pool, fast).await;
    let receiver = Receiver::start(Reply::Status(204)).await;
    let medium = Receiver::start(Reply::Status(200)).await;
    let mut client = webhooks(&app);
    let (high_id, secret) = create(&mut client, &receiver.url(), EffortTier::Unspecified).await;
    let (medium_id, _) = create(&mut client, &medium.url(), EffortTier::Medium).await;

    // A MEDIUM event goes only to the webhook that asked for MEDIUM.
    let ids = raise(
        &app.pool,
        app.tenant,
        &[
            new_event("c-high", EffortTier::High),
            new_event("c-medium", EffortTier::Medium),
        ],
    )
    .await;
    let got = receiver
        .wait_for(Duration::from_secs(20), "one delivery", |r| !r.is_empty())
        .await;
    medium
        .wait_for(Duration::from_secs(20), "two deliveries", |r| r.len() == 2)
        .await;
    wait_for_log(&mut client, &high_id, Duration::from_secs(10), |l| {
        delivered(l) == 1
    })
    .await;
    // Several more polls of the worker: still one request.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_all = receiver.received();
    assert_eq!(got_all.len(), 1, "{got_all:?}");
    let one = &got[0];
    assert_eq!(one.id, ids[0], "webhook-id is the event id");
    assert_eq!(one.content_type, "application/json");
    assert_eq!(one.event_id(), ids[0]);
    let body = one.json();
    assert_eq!(body["type"], "customer.at_risk");
    assert_eq!(body["data"]["customerId"], "c-high");
    assert_eq!(body["data"]["tier"], "EFFORT_TIER_HIGH");
    assert_eq!(body["data"]["previousTier"], "EFFORT_TIER_LOW");
    assert_eq!(body["data"]["reasons"], serde_json::json!(["3 contacts"]));
    assert_eq!(body["data"]["journeyId"], "j-c-high");

    verify_from_spec(&secret, one).expect("the signature verifies (spec text)");
    // A changed body or another secret fails the same check.
    let mut forged = one.clone();
    forged.body = forged.body.replace_ascii_first(b"c-high", b"c-hagh");
    assert!(verify_from_spec(&secret, &forged).is_err());
    let (_, other_secret) = create(&mut client, &receiver.url(), EffortTier::High).await;
    assert!(verify_from_spec(&other_secret, one).is_err());
    if let Some(result) = verify_with_python_library(&secret, one) {
        assert_eq!(result, Ok(ids[0].clone()), "standardwebhooks verifies");
        let rejected = verify_with_python_library(&secret, &forged).unwrap();
        assert!(rejected.is_err(), "{rejected:?}");
    }

    let entries = log(&mut client, &high_id).await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.event_id, ids[0]);
    assert_eq!(entry.customer_id, "c-high");
    assert_eq!(entry.attempts, 1);
    assert_eq!(entry.last_error, "");
    assert!(entry.last_attempt_time.is_some() && entry.event_time.is_some());
    assert!(entry.next_attempt_time.is_none(), "not pending");
    assert_eq!(log(&mut client, &medium_id).await.len(), 2);
}

/// `replace_ascii_first` for a byte vector (a forged body).
trait ReplaceFirst {
    fn replace_ascii_first(self, from: &[u8], to: &[u8]) -> Self;
}

impl ReplaceFirst for Vec<u8> {
    fn replace_ascii_first(self, from: &[u8], to: &[u8]) -> Self {
        let at = self
            .windows(from.len())
            .position(|w| w == from)
            .expect("present");
        let mut out = self[..at].to_vec();
        out.extend_from_slice(to);
        out.extend_from_slice(&self[at + from.len()..]);
        out
    }
}

#[sqlx::test]
async fn webhook_crud_lists_pages_deletes_and_limits(pool: PgPool) {
    let app = spawn_app_with(pool, fast).await;
    let mut client = webhooks(&app);
    let mut ids = Vec::new();
    for i in 0..3 {
        let created = client
            .create_webhook(CreateWebhookRequest {
                url: format!("https://hooks{i}.example.com/gapscore"),
                min_tier: 0,
            })
            .await
            .unwrap()
            .into_inner();
        let webhook = created.webhook.unwrap();
        assert_eq!(webhook.min_tier, EffortTier::High as i32, "HIGH by default");
        assert!(webhook.create_time.is_some());
        let key = STANDARD
            .decode(
                created
                    .secret
                    .strip_prefix("whsec_")
                    .expect("whsec_ prefix"),
            )
            .expect("base64 after the prefix");
        assert!((24..=64).contains(&key.len()), "{}", key.len());
        ids.push(webhook.webhook_id);
    }
    // Paged in creation order, never with a secret (the message has none).
    let mut listed = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_webhooks(ListWebhooksRequest {
                page_size: 2,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.webhooks.len() <= 2);
        listed.extend(page.webhooks.into_iter().map(|w| (w.webhook_id, w.url)));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let listed_ids: Vec<&String> = listed.iter().map(|(id, _)| id).collect();
    assert_eq!(listed_ids, ids.iter().collect::<Vec<_>>());
    assert_eq!(listed[1].1, "https://hooks1.example.com/gapscore");
    let bad_token = client
        .list_webhooks(ListWebhooksRequest {
            page_size: 2,
            page_token: "garbage".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violation_fields(&bad_token), ["page_token"]);

    // Delete: gone from the list; unknown or already deleted ids NOT_FOUND.
    client
        .delete_webhook(DeleteWebhookRequest {
            webhook_id: ids[1].clone(),
        })
        .await
        .unwrap();
    for unknown in [
        ids[1].clone(),
        uuid::Uuid::new_v4().to_string(),
        "nope".into(),
    ] {
        let err = client
            .delete_webhook(DeleteWebhookRequest {
                webhook_id: unknown.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{unknown}: {err:?}");
        let err = client
            .list_webhook_deliveries(ListWebhookDeliveriesRequest {
                webhook_id: unknown.clone(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{unknown}: {err:?}");
    }
    let err = client
        .delete_webhook(DeleteWebhookRequest::default())
        .await
        .unwrap_err();
    assert_eq!(violation_fields(&err), ["webhook_id"]);
    let left = client
        .list_webhooks(ListWebhooksRequest::default())
        .await
        .unwrap()
        .into_inner()
        .webhooks;
    assert_eq!(left.len(), 2);

    // Another tenant sees none of them and cannot delete them.
    let other_key = app.add_tenant("globex").await;
    let mut other = webhooks_over(app.channel.clone(), &other_key);
    assert!(
        other
            .list_webhooks(ListWebhooksRequest::default())
            .await
            .unwrap()
            .into_inner()
            .webhooks
            .is_empty()
    );
    let err = other
        .delete_webhook(DeleteWebhookRequest {
            webhook_id: ids[0].clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // At most 10 per tenant, concurrent creates included.
    let creates = (0..12).map(|i| {
        let mut client = client.clone();
        async move {
            client
                .create_webhook(CreateWebhookRequest {
                    url: format!("https://more{i}.example.com/"),
                    min_tier: 0,
                })
                .await
        }
    });
    let results = futures::future::join_all(creates).await;
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(refused.len(), 4, "2 existing + 8 created = 10");
    for err in refused {
        assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
        assert_eq!(error_reason(err), "WEBHOOK_LIMIT");
    }
}

#[sqlx::test]
async fn webhook_urls_are_checked_and_http_needs_the_operator_flag(pool: PgPool) {
    let app = spawn_app_with(pool, |args| args.webhook_poll_ms = 50).await;
    let client = webhooks(&app);
    let refused = |url: &str, min_tier: i32| {
        let mut client = client.clone();
        let url = url.to_owned();
        async move {
            client
                .create_webhook(CreateWebhookRequest { url, min_tier })
                .await
                .unwrap_err()
        }
    };
    let err = refused("http://127.0.0.1:9/hook", 0).await;
    assert_eq!(violation_fields(&err), ["url"]);
    assert!(
        violation_descriptions(&err)[0].contains("--webhook-allow-http-loopback"),
        "{err:?}"
    );
    for url in [
        "",
        "not a url",
        "ftp://example.com/x",
        "http://example.com/",
    ] {
        let err = refused(url, 0).await;
        assert_eq!(violation_fields(&err), ["url"], "{url}");
    }
    // Every violation at once.
    let err = refused("gopher://x", 9).await;
    assert_eq!(violation_fields(&err), ["url", "min_tier"]);
    // Nothing was created.
    assert!(
        webhooks(&app)
            .list_webhooks(ListWebhooksRequest::default())
            .await
            .unwrap()
            .into_inner()
            .webhooks
            .is_empty()
    );
}

#[sqlx::test]
async fn webhook_receiver_failing_three_times_gets_four_attempts_with_growing_delays(pool: PgPool) {
    let app = spawn_app_with(pool, |args| {
        fast(args);
        // Waits of 0.375-0.5 s, 0.75-1 s and 1.5-2 s: each longer than the
        // last by more than the worker's 50 ms poll.
        args.webhook_retry_base_ms = 500;
    })
    .await;
    let receiver = Receiver::start(Reply::Status(200)).await;
    receiver.script(&[Reply::Status(500), Reply::Status(503), Reply::Status(500)]);
    let mut client = webhooks(&app);
    let (webhook_id, secret) = create(&mut client, &receiver.url(), EffortTier::High).await;
    let ids = raise(&app.pool, app.tenant, &[new_event("c-1", EffortTier::High)]).await;

    // After the third failure the log shows it, and the next attempt due.
    let entries = wait_for_log(&mut client, &webhook_id, Duration::from_secs(20), |l| {
        l.len() == 1 && l[0].attempts == 3 && l[0].last_error == "HTTP 500"
    })
    .await;
    assert_eq!(entries[0].status, DeliveryStatus::Pending as i32);
    assert!(entries[0].next_attempt_time.is_some());
    let got = receiver
        .wait_for(Duration::from_secs(20), "four attempts", |r| r.len() == 4)
        .await;
    let entries = wait_for_log(&mut client, &webhook_id, Duration::from_secs(10), |l| {
        delivered(l) == 1
    })
    .await;
    assert_eq!(entries[0].attempts, 4);
    assert_eq!(entries[0].last_error, "", "cleared by the success");
    for attempt in &got {
        assert_eq!(attempt.id, ids[0], "every attempt carries the event's id");
        verify_from_spec(&secret, attempt).expect("every attempt is signed");
    }
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(
        gaps[0] < gaps[1] && gaps[1] < gaps[2],
        "delays grow: {gaps:?}"
    );
    assert!(gaps[0] >= Duration::from_millis(300), "{gaps:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 4, "nothing after the success");
}

#[sqlx::test]
async fn webhook_retries_stop_as_failed_after_the_give_up_time(pool: PgPool) {
    let app = spawn_app_with(pool, |args| {
        fast(args);
        args.webhook_retry_base_ms = 200;
        args.webhook_give_up_secs = 1;
    })
    .await;
    let receiver = Receiver::start(Reply::Status(500)).await;
    let mut client = webhooks(&app);
    let (webhook_id, _) = create(&mut client, &receiver.url(), EffortTier::High).await;
    raise(&app.pool, app.tenant, &[new_event("c-1", EffortTier::High)]).await;
    let entries = wait_for_log(&mut client, &webhook_id, Duration::from_secs(20), |l| {
        l.len() == 1 && l[0].status == DeliveryStatus::Failed as i32
    })
    .await;
    assert!(entries[0].attempts >= 2, "{entries:?}");
    assert_eq!(entries[0].last_error, "HTTP 500");
    assert!(entries[0].next_attempt_time.is_none());
    let attempts = receiver.received().len();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        receiver.received().len(),
        attempts,
        "no attempt after FAILED"
    );
}

#[sqlx::test]
async fn webhook_hanging_receiver_does_not_block_another_webhook_or_ingest(pool: PgPool) {
    let app = spawn_app_with(pool, |args| {
        fast(args);
        args.webhook_timeout_ms = 30_000;
    })
    .await;
    let hanging = Receiver::start(Reply::Hang).await;
    let healthy = Receiver::start(Reply::Status(200)).await;
    let mut client = webhooks(&app);
    let (hanging_id, _) = create(&mut client, &hanging.url(), EffortTier::High).await;
    let (healthy_id, _) = create(&mut client, &healthy.url(), EffortTier::High).await;
    let events: Vec<NewEvent> = (0..5)
        .map(|i| new_event(&format!("c-{i}"), EffortTier::High))
        .collect();
    raise(&app.pool, app.tenant, &events).await;
    healthy
        .wait_for(Duration::from_secs(20), "all five", |r| r.len() == 5)
        .await;
    wait_for_log(&mut client, &healthy_id, Duration::from_secs(10), |l| {
        delivered(l) == 5
    })
    .await;
    // Meanwhile the hanging receiver holds exactly one attempt, still in
    // flight (no error recorded), and has been sent nothing else.
    assert_eq!(hanging.received().len(), 1);
    let stuck = log(&mut client, &hanging_id).await;
    assert_eq!(stuck.len(), 5);
    assert!(
        stuck
            .iter()
            .all(|d| d.status == DeliveryStatus::Pending as i32 && d.last_error.is_empty()),
        "{stuck:?}"
    );
    assert_eq!(stuck.iter().map(|d| d.attempts).sum::<i32>(), 1);
    // Ingest goes on.
    app.submit_outcomes(vec![outcome(
        "o-1",
        "c-1",
        OutcomeKind::Repurchase,
        "2026-01-01T00:00:00Z",
    )])
    .await
    .expect("a write while a receiver hangs");
}

#[sqlx::test]
async fn webhook_two_replicas_deliver_each_event_once(pool: PgPool) {
    let app = spawn_app_with(pool.clone(), fast).await;
    let (stop_replica, replica) = spawn_replica(pool, fast).await;
    let receiver = Receiver::start(Reply::Status(200)).await;
    let mut client = webhooks(&app);
    let (webhook_id, _) = create(&mut client, &receiver.url(), EffortTier::High).await;
    let (second_id, _) = create(&mut client, &receiver.url(), EffortTier::High).await;
    let mut ids = Vec::new();
    for batch in 0..10 {
        let events: Vec<NewEvent> = (0..3)
            .map(|i| new_event(&format!("c-{batch}-{i}"), EffortTier::High))
            .collect();
        ids.extend(raise(&app.pool, app.tenant, &events).await);
    }
    receiver
        .wait_for(Duration::from_secs(30), "60 deliveries", |r| r.len() >= 60)
        .await;
    for id in [&webhook_id, &second_id] {
        wait_for_log(&mut client, id, Duration::from_secs(10), |l| {
            delivered(l) == 30
        })
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut per_event: HashMap<String, usize> = HashMap::new();
    for r in receiver.received() {
        *per_event.entry(r.id).or_default() += 1;
    }
    assert_eq!(per_event.len(), 30);
    for id in &ids {
        assert_eq!(per_event.get(id), Some(&2), "once per webhook: {id}");
    }
    for id in [&webhook_id, &second_id] {
        assert!(log(&mut client, id).await.iter().all(|d| d.attempts == 1));
    }
    stop_replica.send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), replica).await;
}

#[sqlx::test]
async fn webhook_deleted_stops_its_deliveries(pool: PgPool) {
    let app = spawn_app_with(pool, |args| {
        fast(args);
        args.webhook_retry_base_ms = 100;
    })
    .await;
    let receiver = Receiver::start(Reply::Status(500)).await;
    let mut client = webhooks(&app);
    let (webhook_id, _) = create(&mut client, &receiver.url(), EffortTier::High).await;
    raise(&app.pool, app.tenant, &[new_event("c-1", EffortTier::High)]).await;
    receiver
        .wait_for(Duration::from_secs(20), "two failed attempts", |r| {
            r.len() >= 2
        })
        .await;
    client
        .delete_webhook(DeleteWebhookRequest {
            webhook_id: webhook_id.clone(),
        })
        .await
        .unwrap();
    // An attempt in flight at the delete may still arrive; none after it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at_delete = receiver.received().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), at_delete);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0, "the deliveries went with the webhook");
}

#[sqlx::test]
async fn webhook_erased_events_cancel_their_pending_deliveries(pool: PgPool) {
    let app = spawn_app_with(pool, |args| {
        fast(args);
        args.webhook_retry_base_ms = 100;
    })
    .await;
    let receiver = Receiver::start(Reply::Status(500)).await;
    let mut client = webhooks(&app);
    let (webhook_id, _) = create(&mut client, &receiver.url(), EffortTier::High).await;
    let ids = raise(
        &app.pool,
        app.tenant,
        &[
            new_event("c-erased", EffortTier::High),
            new_event("c-kept", EffortTier::High),
        ],
    )
    .await;
    receiver
        .wait_for(Duration::from_secs(20), "an attempt of each", |r| {
            ids.iter().all(|id| r.iter().any(|x| &x.id == id))
        })
        .await;
    // Erasure deletes the customer's events (SPEC §3.2's DeleteCustomerData);
    // the delivery goes with its event.
    sqlx::query("DELETE FROM at_risk_events WHERE tenant_id = $1 AND customer_id = 'c-erased'")
        .bind(app.tenant.0)
        .execute(&app.pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let erased_attempts = || {
        receiver
            .received()
            .iter()
            .filter(|r| r.id == ids[0])
            .count()
    };
    let before = erased_attempts();
    receiver.answer_from_now(Reply::Status(200));
    wait_for_log(&mut client, &webhook_id, Duration::from_secs(20), |l| {
        l.len() == 1 && delivered(l) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(erased_attempts(), before, "no attempt after the erasure");
    assert_eq!(log(&mut client, &webhook_id).await[0].event_id, ids[1]);
}

// ------------------------------------------------------------------ faults

/// Events produced vs delivered in a fault test, for RELIABILITY.md.
fn report(test: &str, produced: &[String], received: &[Received]) {
    let distinct: std::collections::HashSet<&String> = received.iter().map(|r| &r.id).collect();
    let delivered = produced.iter().filter(|id| distinct.contains(id)).count();
    println!(
        "{test}: events produced {}, delivered {delivered}, requests {} (at least once)",
        produced.len(),
        received.len()
    );
    assert_eq!(delivered, produced.len(), "no event lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_faults_database_crash_between_commit_and_delivery() {
    let cluster = Arc::new(
        tokio::task::spawn_blocking(Cluster::create)
            .await
            .expect("a private PostgreSQL cluster (initdb/pg_ctl as postgres)"),
    );
    let service_pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(1))
        .connect_with(cluster.connect_options())
        .await
        .unwrap();
    gapscore::store::migrate(&service_pool).await.unwrap();
    let mut app = spawn_app_with(service_pool, |args| {
        fast(args);
        // Slow enough that the crash comes before the worker looks.
        args.webhook_poll_ms = 1500;
    })
    .await;
    let receiver = Receiver::start(Reply::Status(200)).await;
    let mut client = webhooks(&app);
    create(&mut client, &receiver.url(), EffortTier::High).await;
    let direct = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(cluster.connect_options())
        .await
        .unwrap();
    // Committed, then the database crashes at once (every backend killed).
    let mut produced = Vec::new();
    for i in 0..30 {
        let event = new_event(&format!("c-{i}"), EffortTier::High);
        produced.extend(raise(&direct, app.tenant, &[event]).await);
    }
    let before_crash = receiver.received().len();
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.crash())
        .await
        .unwrap();
    direct.close().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.start())
        .await
        .unwrap();
    // And events committed after the recovery follow them.
    let direct = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(cluster.connect_options())
        .await
        .unwrap();
    for i in 30..40 {
        let event = new_event(&format!("c-{i}"), EffortTier::High);
        produced.extend(raise(&direct, app.tenant, &[event]).await);
    }
    let received = receiver
        .wait_for(Duration::from_secs(60), "every committed event", |r| {
            let ids: std::collections::HashSet<&String> = r.iter().map(|x| &x.id).collect();
            produced.iter().all(|id| ids.contains(id))
        })
        .await;
    println!("delivered before the crash: {before_crash}");
    report(
        "database crash between commit and delivery",
        &produced,
        &received,
    );
    app.shutdown.take().unwrap().send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), &mut app.server).await;
}

#[sqlx::test]
async fn webhook_faults_service_killed_mid_delivery_is_retried(pool: PgPool) {
    let (tenant, key) = create_tenant(&pool, "acme").await;
    let env = [
        ("GAPSCORE_WEBHOOK_ALLOW_HTTP_LOOPBACK", "true".to_owned()),
        ("GAPSCORE_WEBHOOK_POLL_MS", "50".to_owned()),
        ("GAPSCORE_WEBHOOK_TIMEOUT_MS", "2000".to_owned()),
        ("GAPSCORE_WEBHOOK_RETRY_BASE_MS", "300".to_owned()),
    ];
    let mut first = ChildServer::start(&pool, &env).await;
    let receiver = Receiver::start(Reply::Status(200)).await;
    receiver.script(&[Reply::Hang]);
    let mut client = webhooks_over(first.channel.clone(), &key);
    let (webhook_id, _) = create(&mut client, &receiver.url(), EffortTier::High).await;
    // Five events; the first attempt hangs, the others wait behind it
    // (one attempt in flight per webhook).
    let events: Vec<NewEvent> = (0..5)
        .map(|i| new_event(&format!("c-{i}"), EffortTier::High))
        .collect();
    let produced = raise(&pool, tenant, &events).await;
    receiver
        .wait_for(Duration::from_secs(20), "the first attempt", |r| {
            r.len() == 1
        })
        .await;
    // Killed while the receiver holds the attempt: nothing is recorded.
    first.process.kill().unwrap();
    first.process.wait().unwrap();
    let second = ChildServer::start(&pool, &env).await;
    let mut client = webhooks_over(second.channel.clone(), &key);
    let entries = wait_for_log(&mut client, &webhook_id, Duration::from_secs(30), |l| {
        delivered(l) == 5
    })
    .await;
    let received = receiver.received();
    assert_eq!(received.len(), 6, "the killed attempt, then one each");
    let hung = &received[0].id;
    assert_eq!(received.iter().filter(|r| &r.id == hung).count(), 2);
    for entry in entries {
        let expected = if &entry.event_id == hung { 2 } else { 1 };
        assert_eq!(
            entry.attempts, expected,
            "the killed attempt counts: {entry:?}"
        );
    }
    report("service killed mid-delivery", &produced, &received);
}
