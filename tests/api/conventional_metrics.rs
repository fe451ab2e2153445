//! The operations kit's metric names (deploy/ dashboards and alerts read
//! them) end to end: the real binary with `/metrics` on, calls over gRPC
//! and over JSON over HTTP, then a scrape.

use std::collections::BTreeMap;

use gapscore::proto::v1::ListQuestionsRequest;
use sqlx::PgPool;
use tonic::Code;

use crate::helpers::{
    Clients, TestApp,
    child::ChildServer,
    http::{HttpClient, Protocol},
    internals::create_tenant,
};

/// The Prometheus text at `http://addr/metrics`.
async fn scrape(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    body
}

/// The value of the sample `name` whose labels are exactly `labels`, if
/// the scrape has it. Labels are compared as a set: the exposition format
/// does not fix their order.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: BTreeMap<&str, &str> = labels.iter().copied().collect();
    text.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, rest) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.strip_suffix('}')?),
            None => (series, ""),
        };
        if series_name != name {
            return None;
        }
        let found: BTreeMap<&str, &str> = rest
            .split(',')
            .filter(|pair| !pair.is_empty())
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                Some((key, value.strip_prefix('"')?.strip_suffix('"')?))
            })
            .collect();
        (found == wanted).then(|| value.parse().ok()).flatten()
    })
}

const CATALOG: (&str, &str) = ("grpc_service", "gapscore.v1.CatalogService");
const LIST_QUESTIONS: (&str, &str) = ("grpc_method", "ListQuestions");
const UNARY: (&str, &str) = ("grpc_type", "unary");

#[sqlx::test]
async fn grpc_and_http_calls_are_counted_under_the_conventional_names(pool: PgPool) {
    let (_, key) = create_tenant(&pool, "acme").await;
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server =
        ChildServer::start(&pool, &[("GAPSCORE_METRICS_LISTEN", metrics.to_string())]).await;

    // Over gRPC: two answered calls and one without a key.
    let clients = Clients::new(server.connect(), TestApp::bearer(Some(&key)));
    for _ in 0..2 {
        clients
            .catalog()
            .list_questions(ListQuestionsRequest {})
            .await
            .unwrap();
    }
    let keyless = Clients::new(server.connect(), TestApp::bearer(None));
    let err = keyless
        .catalog()
        .list_questions(ListQuestionsRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    // Over HTTP: the same RPC, a read of a missing resource, a path no
    // route has, and the OpenAPI document.
    let http = HttpClient::new(server.addr, Protocol::Http1, Some(&key));
    assert_eq!(http.get("/v1/questions").await.status, 200);
    assert_eq!(http.get("/v1/journeys/no-such-journey").await.status, 404);
    assert_eq!(http.get("/v1/nowhere/at/all").await.status, 404);
    assert_eq!(http.get("/openapi.json").await.status, 200);

    let text = scrape(metrics).await;
    let value = |name: &str, labels: &[(&str, &str)]| {
        sample(&text, name, labels).unwrap_or_else(|| {
            let known: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with(name.split('{').next().unwrap()))
                .collect();
            panic!("no {name} {labels:?} in:\n{}", known.join("\n"))
        })
    };

    // The gRPC names count the three calls that came over gRPC, not the
    // one forwarded from HTTP.
    let call = [CATALOG, LIST_QUESTIONS, UNARY];
    assert_eq!(value("grpc_server_started_total", &call), 3.0);
    let handled = |code| {
        value(
            "grpc_server_handled_total",
            &[CATALOG, LIST_QUESTIONS, UNARY, ("grpc_code", code)],
        )
    };
    assert_eq!(handled("OK"), 2.0);
    assert_eq!(handled("Unauthenticated"), 1.0);
    assert_eq!(value("grpc_server_handling_seconds_count", &call), 3.0);
    assert!(value("grpc_server_handling_seconds_sum", &call) > 0.0);
    assert_eq!(
        value(
            "grpc_server_handling_seconds_bucket",
            &[CATALOG, LIST_QUESTIONS, UNARY, ("le", "+Inf")]
        ),
        3.0
    );
    // The health probe the test waited on is a gRPC call too.
    assert!(
        value(
            "grpc_server_handled_total",
            &[
                ("grpc_service", "grpc.health.v1.Health"),
                ("grpc_method", "Check"),
                UNARY,
                ("grpc_code", "OK"),
            ],
        ) >= 1.0
    );

    // The HTTP names: by route template, never by path.
    let request = |route, code| {
        value(
            "http_server_requests_total",
            &[("method", "GET"), ("route", route), ("code", code)],
        )
    };
    assert_eq!(request("/v1/questions", "200"), 1.0);
    assert_eq!(request("/v1/journeys/{id}", "404"), 1.0);
    assert_eq!(request("unmatched", "404"), 1.0);
    assert_eq!(request("/openapi.json", "200"), 1.0);
    assert_eq!(
        value(
            "http_server_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/v1/questions")]
        ),
        1.0
    );
    assert!(!text.contains("no-such-journey"), "a path became a label");

    // The gapscore names count every call, whatever its transport.
    let rpc = |code| {
        value(
            "gapscore_rpc_requests_total",
            &[
                ("method", "/gapscore.v1.CatalogService/ListQuestions"),
                ("code", code),
            ],
        )
    };
    assert_eq!(rpc("OK"), 3.0);
    assert_eq!(rpc("UNAUTHENTICATED"), 1.0);
}
