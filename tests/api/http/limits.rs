//! Sizes and compression: bodies are bounded like gRPC messages, gzip is
//! accepted and sent when asked on both transports, the decompressed size
//! is what the limits and the decode budget count, so a gzip bomb gets no
//! further than the bytes it expands to.

use std::io::Write;

use bytes::Bytes;
use flate2::{Compression, write::GzEncoder};
use gapscore::proto::v1::{
    ListQuestionsRequest, SubmitSurveyResponsesRequest,
    catalog_service_client::CatalogServiceClient, survey_service_client::SurveyServiceClient,
};
use serde_json::json;
use sqlx::PgPool;
use tonic::{Code, codec::CompressionEncoding};

use crate::helpers::{
    TestApp,
    http::{HttpClient, Protocol},
    rating,
    raw::RawCodec,
    response, spawn_app, spawn_app_with,
};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A POST of `body` (raw bytes) with the given content encoding.
async fn post_raw(
    client: &HttpClient,
    path: &str,
    body: Vec<u8>,
    encoding: Option<&str>,
) -> crate::helpers::http::Answer {
    let mut request = client
        .request(http::Method::POST, path)
        .header(http::header::CONTENT_TYPE, "application/json");
    if let Some(encoding) = encoding {
        request = request.header(http::header::CONTENT_ENCODING, encoding);
    }
    client.send(request.body(Bytes::from(body)).unwrap()).await
}

fn one_response() -> serde_json::Value {
    let r = response(
        "r1",
        gapscore::proto::v1::RespondentRole::Customer,
        "2026-03-02T10:00:00Z",
        vec![rating("overall_experience", 4)],
    );
    json!({ "responses": [super::json_of(&r)] })
}

#[sqlx::test]
async fn a_body_over_the_message_limit_is_413(pool: PgPool) {
    let app = spawn_app(pool).await;
    let limit = 4 * 1024 * 1024;
    for protocol in [Protocol::Http1, Protocol::Http2] {
        let client = HttpClient::new(app.addr, protocol, Some(&app.key));
        let mut body = serde_json::to_vec(&one_response()).unwrap();
        body.resize(limit, b' ');
        let answer = post_raw(&client, "/v1/surveyResponses:submit", body.clone(), None).await;
        assert_eq!(
            answer.status,
            200,
            "at the limit: {}",
            String::from_utf8_lossy(&answer.text())
        );
        body.push(b' ');
        let answer = post_raw(&client, "/v1/surveyResponses:submit", body, None).await;
        assert_eq!(answer.status, 413, "{protocol:?}");
        assert_eq!(answer.reason(), "REQUEST_TOO_LARGE");
        assert_eq!(answer.code(), 11);
    }
}

#[sqlx::test]
async fn gzip_is_accepted_and_sent_over_http_when_asked(pool: PgPool) {
    let app = spawn_app(pool).await;
    let client = HttpClient::new(app.addr, Protocol::Http1, Some(&app.key));
    let body = serde_json::to_vec(&one_response()).unwrap();
    let answer = post_raw(
        &client,
        "/v1/surveyResponses:submit",
        gzip(&body),
        Some("gzip"),
    )
    .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.text())
    );
    assert_eq!(answer.json(), json!({ "counts": { "inserted": "1" } }));

    let plain = client.get("/v1/questions").await;
    assert!(plain.headers.get(http::header::CONTENT_ENCODING).is_none());
    let request = client
        .request(http::Method::GET, "/v1/questions")
        .header(http::header::ACCEPT_ENCODING, "gzip")
        .body(Bytes::new())
        .unwrap();
    let compressed = client.send(request).await;
    assert_eq!(compressed.headers[http::header::CONTENT_ENCODING], "gzip");
    assert!(
        compressed.body.len() < plain.body.len() / 2,
        "{} vs {}",
        compressed.body.len(),
        plain.body.len()
    );
    assert_eq!(compressed.json(), plain.json());

    let answer = post_raw(&client, "/v1/surveyResponses:submit", body, Some("br")).await;
    assert_eq!(answer.status, 415);
    assert_eq!(answer.reason(), "UNSUPPORTED_CONTENT_ENCODING");
}

#[sqlx::test]
async fn a_gzip_bomb_over_http_stops_at_the_limit(pool: PgPool) {
    let app = spawn_app(pool).await;
    let client = HttpClient::new(app.addr, Protocol::Http2, Some(&app.key));
    // 1 GiB of spaces after a valid body: about 1 MiB of gzip.
    let json = serde_json::to_vec(&one_response()).unwrap();
    let chunk = vec![b' '; 1 << 20];
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&json).unwrap();
    for _ in 0..1024 {
        encoder.write_all(&chunk).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 4 << 20, "{}", bomb.len());
    let answer = post_raw(&client, "/v1/surveyResponses:submit", bomb, Some("gzip")).await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.reason(), "REQUEST_TOO_LARGE");
    // Nothing was stored, and the server is fine.
    let answer = client.get("/v1/surveyResponses").await;
    assert_eq!(answer.json(), json!({}));
}

#[sqlx::test]
async fn a_dense_json_body_takes_its_parsed_size_from_the_decode_budget(pool: PgPool) {
    // 1 MiB of budget: the JSON below is 600 KB but parses to far more.
    let app = spawn_app_with(pool, |args| args.max_decoded_bytes_in_flight = 1 << 20).await;
    let client = HttpClient::new(app.addr, Protocol::Http1, Some(&app.key));
    let dense = format!("{{\"responses\":[{}]}}", vec!["{}"; 200_000].join(","));
    for (body, encoding) in [
        (dense.clone().into_bytes(), None),
        (gzip(dense.as_bytes()), Some("gzip")),
    ] {
        let answer = post_raw(&client, "/v1/surveyResponses:submit", body, encoding).await;
        assert_eq!(
            answer.status,
            429,
            "{}",
            String::from_utf8_lossy(&answer.text())
        );
        assert_eq!(answer.code(), 8);
        assert_eq!(answer.reason(), "DECODED_MESSAGE_TOO_LARGE");
    }
    // A small call still fits.
    let body = serde_json::to_vec(&one_response()).unwrap();
    let answer = post_raw(&client, "/v1/surveyResponses:submit", body, None).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.text())
    );
}

#[sqlx::test]
async fn grpc_accepts_and_sends_gzip_when_asked_and_counts_the_decompressed_size(pool: PgPool) {
    let app = spawn_app(pool).await;
    let bearer = TestApp::bearer(Some(&app.key));
    let mut catalog = CatalogServiceClient::with_interceptor(app.channel.clone(), bearer.clone())
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let response = catalog
        .list_questions(ListQuestionsRequest {})
        .await
        .expect("a gzip call");
    assert_eq!(
        response
            .metadata()
            .get("grpc-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip"),
        "the answer is compressed when the client accepts gzip"
    );
    assert_eq!(response.into_inner().questions.len(), 15);

    // 2 million empty responses: a few KB of gzip, 4 MB decompressed and
    // far more decoded: counted on the decompressed bytes, before prost
    // builds one.
    let mut survey = SurveyServiceClient::with_interceptor(app.channel.clone(), bearer)
        .send_compressed(CompressionEncoding::Gzip);
    let request = SubmitSurveyResponsesRequest {
        responses: vec![Default::default(); 2_000_000],
    };
    let err = survey.submit_survey_responses(request).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        crate::helpers::violation_fields(&err).contains(&"responses".to_owned()),
        "{err:?}"
    );

    // 64 MiB of zeros in 64 KiB of gzip: refused while decompressing, at
    // the message limit.
    let mut grpc =
        tonic::client::Grpc::new(app.clients.authed()).send_compressed(CompressionEncoding::Gzip);
    grpc.ready().await.unwrap();
    let err = grpc
        .unary(
            tonic::Request::new(vec![0u8; 64 << 20]),
            http::uri::PathAndQuery::from_static(
                "/gapscore.v1.SurveyService/SubmitSurveyResponses",
            ),
            RawCodec,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("decompressing"), "{err:?}");
    // The server is fine.
    catalog
        .list_questions(ListQuestionsRequest {})
        .await
        .expect("still serving");
}
