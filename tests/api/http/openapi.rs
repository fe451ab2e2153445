//! The OpenAPI document: served without a key, equal to the committed
//! file (which CI regenerates and validates), and every operation in it
//! answers.

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{
    http::{HttpClient, Protocol},
    rating, response, simple_journey, spawn_app,
};

#[sqlx::test]
async fn the_served_document_is_the_committed_one_and_every_path_answers(pool: PgPool) {
    let app = spawn_app(pool).await;
    let anonymous = HttpClient::new(app.addr, Protocol::Http1, None);
    let served = anonymous.get("/openapi.json").await;
    assert_eq!(served.status, 200);
    let committed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/openapi/gapscore.v1.json"
    ))
    .expect("openapi/gapscore.v1.json is committed");
    assert!(
        served.text() == committed,
        "openapi/gapscore.v1.json is stale: `gapscore openapi > openapi/gapscore.v1.json`"
    );

    // Records named `x`, so reads of `x` find one.
    app.submit_responses(vec![response(
        "x",
        gapscore::proto::v1::RespondentRole::Customer,
        "2026-03-02T10:00:00Z",
        vec![rating("overall_experience", 4)],
    )])
    .await
    .unwrap();
    app.submit_journeys(vec![simple_journey("x", "c1", "2026-03-02T10:00:00Z")])
        .await
        .unwrap();

    // Two webhooks: one for the delete, one whose deliveries are read.
    let mut webhooks = gapscore::proto::v1::webhook_service_client::WebhookServiceClient::new(
        app.clients.authed(),
    );
    let mut webhook = async || {
        webhooks
            .create_webhook(gapscore::proto::v1::CreateWebhookRequest {
                url: "https://hooks.example.com/x".into(),
                min_tier: 0,
            })
            .await
            .unwrap()
            .into_inner()
            .webhook
            .unwrap()
            .webhook_id
    };
    let (deleted_webhook, read_webhook) = (webhook().await, webhook().await);

    let document: Value = served.json();
    let client = anonymous.with_key(Some(&app.key));
    let mut operations = 0;
    for (path, verbs) in document["paths"].as_object().unwrap() {
        // The journey's customer, but not for the erasure, which would
        // leave the other reads nothing to find.
        let customer = if path.ends_with(":deleteData") {
            "gone"
        } else {
            "c1"
        };
        let webhook = if path.ends_with("/deliveries") {
            &read_webhook
        } else {
            &deleted_webhook
        };
        let concrete = path
            .replace("{id}", "x")
            .replace("{customer_id}", customer)
            .replace("{webhook_id}", webhook);
        assert!(
            !concrete.contains('{'),
            "{path} has a variable the test does not fill"
        );
        for verb in verbs.as_object().unwrap().keys() {
            let answer = match verb.as_str() {
                "get" => client.get(&concrete).await,
                "post" => client.post(&concrete, &json!({})).await,
                "delete" => {
                    let request = client.request(http::Method::DELETE, &concrete);
                    client
                        .send(request.body(bytes::Bytes::new()).unwrap())
                        .await
                }
                other => panic!("{path}: unexpected verb {other}"),
            };
            operations += 1;
            assert!(
                ![404, 405, 501].contains(&answer.status.as_u16()),
                "{verb} {path}: {} {}",
                answer.status,
                String::from_utf8_lossy(&answer.text())
            );
            // Every answer is JSON: a message or a google.rpc.Status.
            let _ = answer.json();
            if answer.status != 200 {
                assert!(answer.json()["code"].is_i64(), "{verb} {path}");
            }
        }
    }
    assert_eq!(
        operations,
        crate::helpers::internals::Routes::get().routes.len()
    );
}
