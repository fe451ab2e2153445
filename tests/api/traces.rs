//! Distributed tracing end to end: the real binary exporting over OTLP to a
//! receiver this test runs (the OTLP `TraceService`, from the
//! opentelemetry-proto crate's generated code), with calls over gRPC and
//! over JSON over HTTP that carry a W3C `traceparent`.

use std::time::Duration;

use bytes::Bytes;
use gapscore::proto::v1::{ListQuestionsRequest, catalog_service_client::CatalogServiceClient};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value,
    trace::v1::Span,
};
use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::helpers::{
    child::ChildServer,
    http::{HttpClient, Protocol},
    internals::create_tenant,
};

/// Passes every span it is sent to the test.
struct Receiver(mpsc::UnboundedSender<Span>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                for span in scope.spans {
                    let _ = self.0.send(span);
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// Starts the receiver on a free port; its address and the spans it gets.
async fn start_receiver() -> (std::net::SocketAddr, mpsc::UnboundedReceiver<Span>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Receiver(tx)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (addr, rx)
}

/// A span's string attribute.
fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
}

/// The caller's trace and span ids, hex, as a traceparent carries them.
struct Caller {
    trace_id: &'static str,
    span_id: &'static str,
}

impl Caller {
    fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.span_id)
    }
}

const OVER_GRPC: Caller = Caller {
    trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
    span_id: "00f067aa0ba902b7",
};
const OVER_HTTP: Caller = Caller {
    trace_id: "0af7651916cd43dd8448eb211c80319c",
    span_id: "b7ad6b7169203331",
};

#[sqlx::test]
async fn calls_over_both_transports_join_the_callers_trace_at_the_otlp_receiver(pool: PgPool) {
    let (_, key) = create_tenant(&pool, "acme").await;
    let (receiver, mut spans) = start_receiver().await;
    let server = ChildServer::start(
        &pool,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{receiver}")),
            // Batches sent every 100 ms rather than every 5 s.
            ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
        ],
    )
    .await;

    // Over gRPC, the traceparent as metadata.
    let authorization: tonic::metadata::MetadataValue<_> = format!("Bearer {key}").parse().unwrap();
    let traceparent: tonic::metadata::MetadataValue<_> = OVER_GRPC.traceparent().parse().unwrap();
    let mut catalog = CatalogServiceClient::with_interceptor(
        server.connect(),
        move |mut request: tonic::Request<()>| {
            request
                .metadata_mut()
                .insert("authorization", authorization.clone());
            request
                .metadata_mut()
                .insert("traceparent", traceparent.clone());
            Ok(request)
        },
    );
    catalog
        .list_questions(ListQuestionsRequest {})
        .await
        .unwrap();

    // Over HTTP, the traceparent as a header.
    let http = HttpClient::new(server.addr, Protocol::Http1, Some(&key));
    let request = http
        .request(http::Method::GET, "/v1/questions")
        .header("traceparent", OVER_HTTP.traceparent())
        .body(Bytes::new())
        .unwrap();
    assert_eq!(http.send(request).await.status, 200);

    // Both calls' spans arrive, each in its caller's trace, as a child of
    // the caller's span.
    let mut found = [None, None];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while found.iter().any(Option::is_none) {
        let span = tokio::time::timeout_at(deadline, spans.recv())
            .await
            .expect("both calls' spans reach the receiver within 30 s")
            .expect("the receiver runs");
        for (slot, caller) in found.iter_mut().zip([&OVER_GRPC, &OVER_HTTP]) {
            if hex::encode(&span.trace_id) == caller.trace_id {
                *slot = Some(span.clone());
            }
        }
    }
    let [over_grpc, over_http] = found.map(Option::unwrap);
    for (span, caller, transport) in [
        (&over_grpc, &OVER_GRPC, "grpc"),
        (&over_http, &OVER_HTTP, "http"),
    ] {
        assert_eq!(span.name, "rpc");
        assert_eq!(hex::encode(&span.parent_span_id), caller.span_id);
        assert_ne!(
            hex::encode(&span.span_id),
            caller.span_id,
            "a span of its own"
        );
        assert_eq!(
            attribute(span, "method"),
            Some("/gapscore.v1.CatalogService/ListQuestions")
        );
        assert_eq!(attribute(span, "transport"), Some(transport));
        assert_eq!(attribute(span, "code"), Some("OK"));
        assert_eq!(attribute(span, "trace_id"), Some(caller.trace_id));
    }
}
