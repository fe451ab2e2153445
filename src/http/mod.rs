//! JSON over HTTP on the gRPC port (SPEC §13): every unary RPC, at the verb
//! and path of its `google.api.http` annotation (AIP-127), over HTTP/1.1
//! and HTTP/2 (h2c with prior knowledge; over TLS, h2 by ALPN).
//!
//! [`HttpJsonLayer`] is the outermost layer of the server. A request whose
//! content type is `application/grpc*` passes through untouched; any other
//! is an HTTP/JSON call: its route is looked up ([`routes`]), it is turned
//! into the gRPC request it stands for ([`request`]) and sent *into the
//! same service stack* in-process, so the span and metrics, the in-flight
//! bound, authentication (the same `authorization: Bearer` key), the
//! tenant's rate limit and budgets, the decode budget and the handlers are
//! the gRPC ones, unchanged. Its answer is turned back into JSON
//! ([`response`]), a failure into a JSON `google.rpc.Status` with the
//! matching HTTP status ([`status`]), gzip-compressed when the client asks
//! ([`gzip`]). Streaming RPCs stay gRPC-only.
//!
//! The scheme: reads are `GET` with query parameters
//! (`GET /v1/surveyResponses/{id}`, `GET /v1/scoring/perceptionGap?...`),
//! writes are custom methods, `POST /v1/<collection>:<verb>` with the
//! request message as the body (`POST /v1/surveyResponses:submit`).
//! `GET /openapi.json` serves the OpenAPI document of them all
//! ([`openapi`]), without a key.

pub mod descriptors;
pub mod gzip;
pub mod json_cost;
pub mod openapi;
pub mod request;
pub mod response;
pub mod routes;
pub mod status;

use std::{
    collections::HashMap,
    task::{Context, Poll},
};

use bytes::Bytes;
use tonic::{Code, Status, body::Body};
use tonic_types::{ErrorDetails, StatusExt};
use tower::Service;

use crate::layer::BoxFuture;

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

/// The `route` of the HTTP metrics for a request no route matches.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Marks a gRPC request made from an HTTP/JSON call (an extension of the
/// forwarded request), so the call's span says which transport it came
/// over and the `grpc_server_*` metrics count only calls made over gRPC.
#[derive(Debug, Clone, Copy)]
pub struct ForwardedFromHttp;

/// See the module docs.
#[derive(Debug, Clone, Copy)]
pub struct HttpJsonLayer {
    /// The largest request body (after decompression) and response message.
    max_bytes: usize,
}

impl HttpJsonLayer {
    /// Bodies and responses bounded by the gRPC message limit.
    pub fn new(max_message_bytes: usize) -> Self {
        Self {
            max_bytes: max_message_bytes,
        }
    }
}

impl<S> tower::Layer<S> for HttpJsonLayer {
    type Service = HttpJson<S>;

    fn layer(&self, inner: S) -> HttpJson<S> {
        HttpJson {
            inner,
            max_bytes: self.max_bytes,
        }
    }
}

/// The service stack `inner` with JSON over HTTP in front of it.
#[derive(Debug, Clone)]
pub struct HttpJson<S> {
    inner: S,
    max_bytes: usize,
}

/// gRPC (and gRPC-Web) requests say so in their content type.
fn is_grpc<B>(request: &http::Request<B>) -> bool {
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

impl<S, B> Service<http::Request<Body>> for HttpJson<S>
where
    S: Service<http::Request<Body>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone that was driven to readiness serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if is_grpc(&request) {
            return Box::pin(async move { Ok(inner.call(request).await?.map(Body::new)) });
        }
        let max_bytes = self.max_bytes;
        Box::pin(async move {
            let started = std::time::Instant::now();
            let method = request.method().clone();
            let gzip = gzip::accepts_gzip(request.headers());
            let (route, answer) = serve(inner, request, max_bytes).await?;
            let seconds = started.elapsed().as_secs_f64();
            crate::metrics::record_http(&method, route, answer.status().as_u16(), seconds);
            Ok(finish(answer, gzip))
        })
    }
}

/// The answer to one HTTP/JSON request, and the route it matched (its
/// template, the label of its metrics).
async fn serve<S, B>(
    mut inner: S,
    request: http::Request<Body>,
    max_bytes: usize,
) -> Result<(&'static str, http::Response<Vec<u8>>), S::Error>
where
    S: Service<http::Request<Body>, Response = http::Response<B>>,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = request.uri().path();
    if path == OPENAPI_PATH && request.method() == http::Method::GET {
        return Ok((
            OPENAPI_PATH,
            json_response(openapi::document_bytes().to_vec()),
        ));
    }
    let (route, bindings) = match routes::Routes::get().find(request.method(), path) {
        routes::Found::Route(route, bindings) => (route, bindings),
        routes::Found::OtherVerbs(verbs) => {
            let allowed: Vec<&str> = verbs.iter().map(http::Method::as_str).collect();
            let status = not_routed(
                Code::Unimplemented,
                format!("{path} answers {} only", allowed.join(", ")),
                "METHOD_NOT_ALLOWED",
            );
            let mut response = status::response(&status);
            *response.status_mut() = http::StatusCode::METHOD_NOT_ALLOWED;
            response.headers_mut().insert(
                http::header::ALLOW,
                allowed.join(", ").parse().expect("verbs are header text"),
            );
            return Ok((UNMATCHED_ROUTE, response));
        }
        routes::Found::None => {
            let status = not_routed(
                Code::NotFound,
                format!("no endpoint {path}: GET {OPENAPI_PATH} lists them all"),
                "ENDPOINT_NOT_FOUND",
            );
            return Ok((UNMATCHED_ROUTE, status::response(&status)));
        }
    };
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(ForwardedFromHttp);
    let forwarded = request::forward(parts, body, route, bindings, max_bytes);
    let answer = inner.call(forwarded).await?;
    let response = match response::read(answer, &route.output(), max_bytes).await {
        Ok(json) => json_response(json),
        Err(status) => status::response(&status),
    };
    Ok((route.template.as_str(), response))
}

/// A status for a request no RPC answers.
fn not_routed(code: Code, message: String, reason: &str) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, crate::grpc::error::DOMAIN, HashMap::new());
    Status::with_error_details(code, message, details)
}

fn json_response(body: Vec<u8>) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// `answer` as sent: gzip-compressed when the client accepts it.
fn finish(answer: http::Response<Vec<u8>>, gzip: bool) -> http::Response<Body> {
    let (mut parts, body) = answer.into_parts();
    parts.headers.insert(
        http::header::VARY,
        http::HeaderValue::from_static("accept-encoding"),
    );
    let body = if gzip && !body.is_empty() {
        parts.headers.insert(
            http::header::CONTENT_ENCODING,
            http::HeaderValue::from_static("gzip"),
        );
        gzip::compress(&body)
    } else {
        body
    };
    http::Response::from_parts(
        parts,
        Body::new(http_body_util::Full::new(Bytes::from(body))),
    )
}
