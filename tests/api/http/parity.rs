//! Every unary RPC over HTTP/JSON gives the answer it gives over gRPC, on
//! HTTP/1.1 and on HTTP/2.

use std::collections::BTreeSet;

use gapscore::proto::v1::{OutcomeKind, Question, QuestionKind, RespondentRole};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{grpc_json, http_call, http_result, json_of, route, without_page_token};
use crate::helpers::{
    http::{HttpClient, Protocol},
    internals::{Routes, demo},
    outcome, rating, response, simple_journey, spawn_app,
};

/// A read of the demo tenant per read RPC (the ids are the demo's).
fn reads(survey_id: &str, journey_id: &str) -> Vec<(&'static str, Value)> {
    let start = demo::demo_start().to_rfc3339();
    let end = demo::demo_end().to_rfc3339();
    let window = json!({ "startTime": start, "endTime": end });
    let middle = (demo::demo_start() + (demo::demo_end() - demo::demo_start()) / 2).to_rfc3339();
    let second_half = json!({ "startTime": middle, "endTime": end });
    let emea = json!({ "startTime": start, "endTime": end, "labels": { "region": "emea" } });
    vec![
        ("GetSurveyResponse", json!({ "id": survey_id })),
        (
            "ListSurveyResponses",
            json!({ "filter": emea, "role": "RESPONDENT_ROLE_CUSTOMER", "pageSize": 7 }),
        ),
        ("GetJourney", json!({ "id": journey_id })),
        ("ListJourneys", json!({ "filter": window, "pageSize": 5 })),
        (
            "ListOutcomes",
            json!({ "kind": "OUTCOME_KIND_REPURCHASE", "pageSize": 5 }),
        ),
        (
            "GetCustomerRisk",
            json!({ "customerId": "cust-0001", "filter": window }),
        ),
        (
            "ListAtRiskCustomers",
            json!({ "minTier": "EFFORT_TIER_MEDIUM", "pageSize": 5 }),
        ),
        ("ListQuestions", json!({})),
        ("GetScoringModel", json!({})),
        (
            "GetPerceptionGap",
            json!({ "filter": window, "questions": ["overall_experience", "ease"], "confidenceLevel": 0.9, "groupBy": "region" }),
        ),
        ("GetEffortIndex", json!({ "filter": emea })),
        (
            "GetLoyaltyRisk",
            json!({ "filter": window, "confidenceLevel": 0.99 }),
        ),
        ("GetScorecard", json!({ "filter": window })),
        (
            "GetTrend",
            json!({ "metric": "TREND_METRIC_FAVORABLE_SHARE", "bucket": "TREND_BUCKET_MONTH", "filter": window, "question": "overall_experience", "role": "RESPONDENT_ROLE_CUSTOMER" }),
        ),
        (
            "GetChange",
            json!({ "metric": "TREND_METRIC_NET_SCORE", "filter": second_half, "baselineStartTime": start, "baselineEndTime": middle, "question": "likelihood_to_recommend", "role": "RESPONDENT_ROLE_CUSTOMER" }),
        ),
        ("GetExpectationGap", json!({ "filter": window })),
        ("GetCompetitiveGap", json!({ "filter": window })),
        ("GetPriorityMap", json!({ "filter": window })),
        (
            "GetKeyDrivers",
            json!({ "filter": window, "driverQuestions": ["speed", "convenience"], "bootstrapSamples": 50, "seed": "7" }),
        ),
        (
            "GetFollowUpEffect",
            json!({ "filter": window, "outcomeKind": "OUTCOME_KIND_DISLOYALTY", "confidenceLevel": 0.9 }),
        ),
        ("ListWebhooks", json!({ "pageSize": 5 })),
    ]
}

/// The writes, in order, each sent to its own fresh tenant per transport.
fn writes() -> Vec<(&'static str, Value)> {
    let responses = [
        response(
            "r1",
            RespondentRole::Customer,
            "2026-03-02T10:00:00Z",
            vec![rating("overall_experience", 4)],
        ),
        response(
            "r2",
            RespondentRole::Leadership,
            "2026-03-02T11:00:00Z",
            vec![rating("overall_experience", 5)],
        ),
    ];
    let responses: Vec<Value> = responses.iter().map(json_of).collect();
    let journey = json_of(&simple_journey("j1", "c1", "2026-03-02T10:00:00Z"));
    let outcome = json_of(&outcome(
        "o1",
        "c1",
        OutcomeKind::Repurchase,
        "2026-03-03T10:00:00Z",
    ));
    let question = json_of(&Question {
        key: "speed".into(),
        kind: QuestionKind::Rating as i32,
        text: "How fast were we?".into(),
        scale_min: 1,
        scale_max: 5,
        favorable_min: 4,
        unfavorable_max: Some(2),
        built_in: false,
    });
    vec![
        ("SubmitSurveyResponses", json!({ "responses": responses })),
        // The same again: unchanged.
        ("SubmitSurveyResponses", json!({ "responses": responses })),
        ("SubmitJourneys", json!({ "journeys": [journey] })),
        ("SubmitOutcomes", json!({ "outcomes": [outcome] })),
        (
            "RecordFollowUps",
            json!({ "followUps": [{ "id": "f1", "customerId": "c1", "action": "FOLLOW_UP_ACTION_CALLBACK", "occurredAt": "2026-03-04T10:00:00Z" }] }),
        ),
        ("UpsertQuestion", json!({ "question": question })),
        ("DeleteCustomerData", json!({ "customerId": "c1" })),
        // An invalid write fails alike.
        ("SubmitOutcomes", json!({ "outcomes": [{ "id": "o2" }] })),
        ("RecordFollowUps", json!({ "followUps": [{ "id": "f2" }] })),
        // A webhook's id and secret are random, so its writes are compared
        // where they fail: a refused URL and an unknown webhook.
        (
            "CreateWebhook",
            json!({ "url": "http://hooks.example.com/x" }),
        ),
        (
            "DeleteWebhook",
            json!({ "webhookId": "00000000-0000-4000-8000-000000000000" }),
        ),
        (
            "ListWebhookDeliveries",
            json!({ "webhookId": "00000000-0000-4000-8000-000000000000" }),
        ),
    ]
}

#[sqlx::test]
async fn every_unary_rpc_answers_the_same_over_http_json_as_over_grpc(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = demo::load(&pool).await.expect("the demo loads");
    let first_id = |answer: Value, list: &str| answer[list][0]["id"].as_str().unwrap().to_owned();
    let responses = grpc_json(
        &app,
        &key,
        route("ListSurveyResponses"),
        &json!({ "pageSize": 1 }),
    )
    .await
    .unwrap();
    let journeys = grpc_json(&app, &key, route("ListJourneys"), &json!({ "pageSize": 1 }))
        .await
        .unwrap();
    let reads = reads(
        &first_id(responses, "responses"),
        &first_id(journeys, "journeys"),
    );

    // Every route is exercised (UpdateScoringModel below).
    let covered: BTreeSet<&str> = reads
        .iter()
        .chain(writes().iter())
        .map(|(m, _)| *m)
        .chain(["UpdateScoringModel"])
        .collect();
    let routed: BTreeSet<&str> = Routes::get()
        .routes
        .iter()
        .map(|r| r.method.name())
        .collect();
    assert_eq!(covered, routed);

    for protocol in [Protocol::Http1, Protocol::Http2] {
        let client = HttpClient::new(app.addr, protocol, Some(&key));
        for (method, request) in &reads {
            let route = route(method);
            let grpc = grpc_json(&app, &key, route, request).await;
            // Every read answers on the demo tenant: parity of successes.
            if let Err(status) = &grpc {
                panic!("{method} {request}: {status}");
            }
            let answer = http_call(&client, route, request).await;
            let expected_version = match protocol {
                Protocol::Http1 => http::Version::HTTP_11,
                Protocol::Http2 => http::Version::HTTP_2,
            };
            assert_eq!(answer.version, expected_version);
            assert_eq!(
                answer.headers[http::header::CONTENT_TYPE],
                "application/json"
            );
            assert_eq!(
                http_result(&answer).map(without_page_token),
                grpc.map(without_page_token),
                "{protocol:?} {method} {request}"
            );
        }
    }
}

#[sqlx::test]
async fn a_page_token_from_http_turns_the_page_like_one_from_grpc(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = demo::load(&pool).await.expect("the demo loads");
    let client = HttpClient::new(app.addr, Protocol::Http1, Some(&key));
    let route = route("ListSurveyResponses");
    let first = http_call(&client, route, &json!({ "pageSize": 3 }))
        .await
        .json();
    let token = first["nextPageToken"]
        .as_str()
        .expect("more pages")
        .to_owned();
    let second = json!({ "pageSize": 3, "pageToken": token });
    let over_http = http_call(&client, route, &second).await.json();
    let over_grpc = grpc_json(&app, &key, route, &second).await.unwrap();
    assert_eq!(
        without_page_token(over_http.clone()),
        without_page_token(over_grpc)
    );
    assert_ne!(over_http["responses"], first["responses"]);
}

#[sqlx::test]
async fn the_same_writes_answer_the_same_and_store_the_same(pool: PgPool) {
    let app = spawn_app(pool).await;
    let grpc_key = app.add_tenant("over-grpc").await;
    let http_key = app.add_tenant("over-http").await;
    for protocol in [Protocol::Http1, Protocol::Http2] {
        let client = HttpClient::new(app.addr, protocol, Some(&http_key));
        for (method, request) in writes() {
            let route = route(method);
            let grpc = grpc_json(&app, &grpc_key, route, &request).await;
            let http = http_result(&http_call(&client, route, &request).await);
            assert_eq!(http, grpc, "{protocol:?} {method} {request}");
        }
        // Each tenant's model under its own etag (random per tenant).
        let mut answers = Vec::new();
        for (key, over_http) in [(&grpc_key, false), (&http_key, true)] {
            let model = grpc_json(&app, key, route("GetScoringModel"), &json!({}))
                .await
                .unwrap();
            let mut model = model["model"].clone();
            model["minGroupSize"] = json!(7);
            let request = json!({ "model": model });
            let route = route("UpdateScoringModel");
            let mut answer = if over_http {
                http_result(&http_call(&client.with_key(Some(key)), route, &request).await).unwrap()
            } else {
                grpc_json(&app, key, route, &request).await.unwrap()
            };
            assert_eq!(answer["model"]["minGroupSize"], 7);
            answer["model"]["etag"] = json!("<etag>");
            answers.push(answer);
        }
        assert_eq!(answers[0], answers[1]);
    }
    // What was stored reads back the same.
    for (method, request) in [
        ("ListSurveyResponses", json!({})),
        ("ListQuestions", json!({})),
        ("ListOutcomes", json!({})),
    ] {
        let route = route(method);
        assert_eq!(
            grpc_json(&app, &grpc_key, route, &request).await,
            grpc_json(&app, &http_key, route, &request).await,
            "{method}"
        );
    }
}
