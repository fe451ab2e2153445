//! Errors over HTTP: each canonical code a client can provoke, as a JSON
//! `google.rpc.Status` with the details a gRPC caller gets and the HTTP
//! status of its code; keys and tenant isolation.

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;

use super::{http_call, route};
use crate::{
    helpers::{
        app::wait_for_health,
        http::{HttpClient, Protocol},
        spawn_app, spawn_app_with,
    },
    proxy::Proxy,
};

const RETRY_INFO: &str = "type.googleapis.com/google.rpc.RetryInfo";

#[sqlx::test]
async fn invalid_records_are_400_with_every_field_violation(pool: PgPool) {
    let app = spawn_app(pool).await;
    let client = HttpClient::new(app.addr, Protocol::Http1, Some(&app.key));
    let answer = client
        .post(
            "/v1/surveyResponses:submit",
            &json!({ "responses": [{ "id": "r1", "answers": [{ "question": "nope", "score": 3 }] }] }),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.code(), 3);
    assert_eq!(answer.reason(), "INVALID_ARGUMENT");
    let fields = answer.violation_fields();
    for field in [
        "responses[0].role",
        "responses[0].submitted_at",
        "responses[0].answers[0].question",
    ] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
}

#[sqlx::test]
async fn unknown_json_fields_and_bad_values_are_400_naming_the_field(pool: PgPool) {
    let app = spawn_app(pool).await;
    let client = HttpClient::new(app.addr, Protocol::Http2, Some(&app.key));
    let answer = client
        .post(
            "/v1/journeys:submit",
            &json!({ "journeys": [{ "id": "j1", "custmerId": "c1" }] }),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.reason(), "INVALID_JSON");
    assert_eq!(answer.violation_fields(), ["journeys[0].custmerId"]);

    let answer = client.get("/v1/surveyResponses?pageSize=ten").await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.violation_fields(), ["pageSize"]);
    let answer = client.get("/v1/surveyResponses?colour=red").await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.violation_fields(), ["colour"]);

    let answer = client
        .get("/v1/scoring/trend?metric=TREND_METRIC_FAVORABLE_SHARE")
        .await;
    assert_eq!(answer.status, 400, "a trend without its window");
    assert!(!answer.violation_fields().is_empty());
    let answer = client
        .send(
            client
                .request(http::Method::POST, "/v1/outcomes:submit")
                .body(bytes::Bytes::from_static(b"{\"outcomes\": ["))
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.reason(), "INVALID_JSON");
}

#[sqlx::test]
async fn missing_wrong_and_revoked_keys_are_401_and_tenants_see_only_their_own(pool: PgPool) {
    let app = spawn_app(pool).await;
    let other = app.add_tenant("globex").await;
    let acme = HttpClient::new(app.addr, Protocol::Http1, Some(&app.key));
    for client in [acme.with_key(None), acme.with_key(Some("gsk_nope_nope"))] {
        let answer = client.get("/v1/questions").await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.code(), 16);
        assert_eq!(answer.reason(), "UNAUTHENTICATED");
    }
    let answer = acme
        .post(
            "/v1/surveyResponses:submit",
            &json!({ "responses": [{
            "id": "acme-only", "role": "RESPONDENT_ROLE_CUSTOMER",
            "submittedAt": "2026-03-02T10:00:00Z",
            "answers": [{ "question": "overall_experience", "score": 4 }] }] }),
        )
        .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.text())
    );
    assert_eq!(acme.get("/v1/surveyResponses/acme-only").await.status, 200);
    let globex = acme.with_key(Some(&other));
    let answer = globex.get("/v1/surveyResponses/acme-only").await;
    assert_eq!(answer.status, 404, "another tenant's record does not exist");
    assert_eq!(answer.code(), 5);
    assert_eq!(answer.reason(), "NOT_FOUND");
    assert_eq!(globex.get("/v1/surveyResponses").await.json(), json!({}));
}

#[sqlx::test]
async fn a_stale_etag_is_409_aborted(pool: PgPool) {
    let app = spawn_app(pool).await;
    let client = HttpClient::new(app.addr, Protocol::Http1, Some(&app.key));
    let model = client.get("/v1/scoringModel").await.json()["model"].clone();
    let update = json!({ "model": model });
    assert_eq!(
        client.post("/v1/scoringModel:update", &update).await.status,
        200
    );
    let answer = client.post("/v1/scoringModel:update", &update).await;
    assert_eq!(answer.status, 409);
    assert_eq!(answer.code(), 10);
}

#[sqlx::test]
async fn a_rate_limited_tenant_gets_429_with_retry_after(pool: PgPool) {
    let app = spawn_app_with(pool, |args| {
        args.tenant_rate_limit = std::num::NonZeroU32::new(1);
        args.tenant_rate_burst = std::num::NonZeroU32::new(1);
    })
    .await;
    let client = HttpClient::new(app.addr, Protocol::Http2, Some(&app.key));
    let mut limited = None;
    for _ in 0..5 {
        let answer = client.get("/v1/questions").await;
        if answer.status == 429 {
            limited = Some(answer);
            break;
        }
    }
    let answer = limited.expect("a second call within the second is limited");
    assert_eq!(answer.code(), 8);
    assert_eq!(answer.reason(), "RATE_LIMITED");
    let retry_after: u64 = answer.headers[http::header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=1).contains(&retry_after), "{retry_after}");
    assert!(
        answer.detail(RETRY_INFO)["retryDelay"]
            .as_str()
            .unwrap()
            .ends_with('s')
    );
}

#[sqlx::test]
async fn a_database_outage_is_503_with_retry_after(pool: PgPool) {
    let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let options = (*pool.connect_options())
        .clone()
        .host("127.0.0.1")
        .port(proxy.addr.port());
    let through = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_millis(500))
        .connect_with(options)
        .await
        .unwrap();
    let app = spawn_app(through).await;
    let client = HttpClient::new(app.addr, Protocol::Http1, Some(&app.key));
    assert_eq!(client.get("/v1/questions").await.status, 200);
    proxy.cut();
    wait_for_health(
        &app.channel,
        tonic_health::pb::health_check_response::ServingStatus::NotServing,
        Duration::from_secs(5),
    )
    .await;
    let answer = client.get("/v1/questions").await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.code(), 14);
    assert_eq!(answer.reason(), "DATABASE_UNAVAILABLE");
    assert!(answer.headers.contains_key(http::header::RETRY_AFTER));
    proxy.restore();
}

#[sqlx::test]
async fn unknown_paths_are_404_and_wrong_verbs_405(pool: PgPool) {
    let app = spawn_app(pool).await;
    let client = HttpClient::new(app.addr, Protocol::Http1, Some(&app.key));
    let answer = client.get("/v1/nothing").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.reason(), "ENDPOINT_NOT_FOUND");
    let answer = client.get("/v1/surveyResponses:submit").await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.headers[http::header::ALLOW], "POST");
    // A missing record is NOT_FOUND from the service, over the route.
    let answer = http_call(&client, route("GetJourney"), &json!({ "id": "none" })).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.reason(), "NOT_FOUND");
}
