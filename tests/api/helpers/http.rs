//! A plain HTTP client for JSON over HTTP: one connection per request,
//! HTTP/1.1 or HTTP/2 (h2c with prior knowledge) as the test chooses, the
//! way `curl` or `curl --http2-prior-knowledge` would talk to the server.

use std::{io::Read, net::SocketAddr};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;

/// Which HTTP the connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

/// An answer, its body as received (perhaps gzip).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub version: http::Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body, decompressed when it was sent gzip.
    pub fn text(&self) -> Vec<u8> {
        if self
            .headers
            .get(http::header::CONTENT_ENCODING)
            .is_some_and(|v| v == "gzip")
        {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&self.body[..])
                .read_to_end(&mut out)
                .expect("a gzip body");
            out
        } else {
            self.body.to_vec()
        }
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.text()).unwrap_or_else(|err| {
            panic!(
                "{} answered no JSON ({err}): {}",
                self.status,
                String::from_utf8_lossy(&self.text())
            )
        })
    }

    /// The `google.rpc.Status` code of an error body.
    pub fn code(&self) -> i64 {
        self.json()["code"].as_i64().expect("a google.rpc.Status")
    }

    /// The ErrorInfo reason of an error body.
    pub fn reason(&self) -> String {
        self.detail("type.googleapis.com/google.rpc.ErrorInfo")["reason"]
            .as_str()
            .expect("an ErrorInfo reason")
            .to_owned()
    }

    /// The detail of type `url` of an error body.
    pub fn detail(&self, url: &str) -> Value {
        let json = self.json();
        json["details"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["@type"] == url).cloned())
            .unwrap_or_else(|| panic!("no {url} in {json}"))
    }

    /// The fields of an error body's BadRequest.
    pub fn violation_fields(&self) -> Vec<String> {
        self.detail("type.googleapis.com/google.rpc.BadRequest")["fieldViolations"]
            .as_array()
            .expect("field violations")
            .iter()
            .map(|v| v["field"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// A client of the server at `addr`.
#[derive(Debug, Clone)]
pub struct HttpClient {
    pub addr: SocketAddr,
    pub protocol: Protocol,
    /// Sent as `authorization: Bearer <key>` when set.
    pub key: Option<String>,
}

impl HttpClient {
    pub fn new(addr: SocketAddr, protocol: Protocol, key: Option<&str>) -> Self {
        Self {
            addr,
            protocol,
            key: key.map(str::to_owned),
        }
    }

    /// The same client with another key (None: no `authorization`).
    pub fn with_key(&self, key: Option<&str>) -> Self {
        Self::new(self.addr, self.protocol, key)
    }

    /// A request to `path_and_query` with the client's key.
    pub fn request(&self, method: Method, path_and_query: &str) -> http::request::Builder {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("http://{}{path_and_query}", self.addr));
        if let Some(key) = &self.key {
            builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {key}"));
        }
        builder
    }

    pub async fn get(&self, path_and_query: &str) -> Answer {
        self.send(
            self.request(Method::GET, path_and_query)
                .body(Bytes::new())
                .unwrap(),
        )
        .await
    }

    /// A request without a body (a read's GET with its query, or an
    /// AIP-135 DELETE).
    pub async fn bodiless(&self, method: Method, path_and_query: &str) -> Answer {
        self.send(
            self.request(method, path_and_query)
                .body(Bytes::new())
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        let request = self
            .request(Method::POST, path)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Bytes::from(serde_json::to_vec(body).unwrap()))
            .unwrap();
        self.send(request).await
    }

    /// Sends `request` on a new connection.
    pub async fn send(&self, request: Request<Bytes>) -> Answer {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("server reachable");
        stream.set_nodelay(true).unwrap();
        let io = TokioIo::new(stream);
        let mut request = request.map(Full::new);
        if self.protocol == Protocol::Http1 {
            // HTTP/1.1 sends the path and a Host header; HTTP/2 the whole URI.
            let path = request.uri().path_and_query().unwrap().clone();
            *request.uri_mut() = http::Uri::from(path);
            let host = self.addr.to_string().parse().unwrap();
            request.headers_mut().insert(http::header::HOST, host);
        }
        let response = match self.protocol {
            Protocol::Http1 => {
                let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
                    .await
                    .expect("HTTP/1.1 handshake");
                tokio::spawn(connection);
                sender.send_request(request).await
            }
            Protocol::Http2 => {
                let (mut sender, connection) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                        .await
                        .expect("HTTP/2 handshake");
                tokio::spawn(connection);
                sender.send_request(request).await
            }
        }
        .expect("the server answers");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("the whole body").to_bytes();
        Answer {
            status: parts.status,
            version: parts.version,
            headers: parts.headers,
            body,
        }
    }
}
