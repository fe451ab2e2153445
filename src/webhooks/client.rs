//! The HTTP client deliveries are POSTed with: hyper's pooled client
//! (already built for tonic) over rustls with Mozilla's roots, HTTP/1.1,
//! no redirects followed (a receiver that moved answers 3xx, which is a
//! failed attempt, so a signed event is never sent somewhere unregistered).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};

/// One delivery request, ready to send.
pub struct Post<'a> {
    pub url: &'a str,
    pub webhook_id: &'a str,
    pub timestamp: i64,
    pub signature: &'a str,
    pub body: Vec<u8>,
}

/// What the receiver made of an attempt: `Ok` for a 2xx answer, else the
/// error recorded in the delivery log (the status, or how the connection
/// failed).
pub type Answer = Result<u16, String>;

/// The worker's client.
#[derive(Clone)]
pub struct WebhookClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl WebhookClient {
    /// A client whose attempts end after `timeout` (connect, TLS, and the
    /// answer's status line and headers together).
    pub fn new(timeout: Duration) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .expect("ring supports the default protocol versions")
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(4)
            .build(https);
        Self { client, timeout }
    }

    /// POSTs one delivery and says how the receiver answered.
    pub async fn post(&self, post: Post<'_>) -> Answer {
        let request = http::Request::post(post.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(
                http::header::USER_AGENT,
                concat!("gapscore-webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header("webhook-id", post.webhook_id)
            .header("webhook-timestamp", post.timestamp.to_string())
            .header("webhook-signature", post.signature)
            .body(Full::new(Bytes::from(post.body)))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        match tokio::time::timeout(self.timeout, self.client.request(request)).await {
            Err(_) => Err(format!("timed out after {} ms", self.timeout.as_millis())),
            Ok(Err(e)) => Err(connection_error(&e)),
            Ok(Ok(response)) => {
                let status = response.status();
                // The body is not read: nothing in it matters, and a huge
                // one must not cost anything. Dropping it closes the
                // connection instead of returning it to the pool.
                if status.is_success() {
                    Ok(status.as_u16())
                } else {
                    Err(format!("HTTP {}", status.as_u16()))
                }
            }
        }
    }
}

/// A connection failure with its cause chain (hyper's top-level message
/// is only "client error (Connect)").
fn connection_error(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
