//! JSON and gRPC agree on random valid requests (bounded cases, like
//! `fuzz`: `GAPSCORE_FUZZ_CASES`, 32 by default): the same batches of
//! survey responses sent over both to two tenants answer and store the
//! same, and random perception-gap reads of that data answer the same.

use std::sync::Arc;

use gapscore::proto::v1::{GetPerceptionGapRequest, ScoreFilter, SurveyResponse};
use proptest::{collection::vec, option, prelude::*, sample::subsequence};
use sqlx::PgPool;
use tonic::Code;

use super::{grpc_json, http_call, http_result, json_of, route};
use crate::{
    fuzz::{
        harness::{Tally, fuzz},
        records::valid_survey_response,
        values::{valid_labels, valid_ts},
    },
    helpers::{
        http::{HttpClient, Protocol},
        spawn_app,
    },
};

struct Ctx {
    app: crate::helpers::TestApp,
    grpc_key: String,
    http_key: String,
}

fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![Just(Protocol::Http1), Just(Protocol::Http2)]
}

fn perception_gap_request() -> impl Strategy<Value = GetPerceptionGapRequest> {
    let questions = [
        "overall_experience",
        "ease",
        "csat",
        "likelihood_to_recommend",
    ]
    .map(str::to_owned)
    .to_vec();
    (
        option::of(valid_ts()),
        option::of(valid_ts()),
        valid_labels(),
        prop_oneof![Just(String::new()), "w[0-9]"],
        subsequence(questions, 0..=4),
        option::of(0.5f64..0.999),
        prop_oneof![Just(String::new()), "[a-z][a-z0-9_]{0,5}"],
    )
        .prop_map(
            |(start_time, end_time, labels, survey_id, questions, confidence_level, group_by)| {
                let (start_time, end_time) = match (start_time, end_time) {
                    (Some(s), Some(e)) if (s.seconds, s.nanos) > (e.seconds, e.nanos) => {
                        (Some(e), Some(s))
                    }
                    other => other,
                };
                GetPerceptionGapRequest {
                    filter: Some(ScoreFilter {
                        start_time,
                        end_time,
                        labels,
                        survey_id,
                        intent: String::new(),
                    }),
                    questions,
                    confidence_level,
                    group_by,
                }
            },
        )
}

#[sqlx::test]
async fn json_and_grpc_agree_on_random_valid_submissions_and_perception_gaps(pool: PgPool) {
    let app = spawn_app(pool).await;
    let grpc_key = app.add_tenant("over-grpc").await;
    let http_key = app.add_tenant("over-http").await;
    let ctx = Arc::new(Ctx {
        app,
        grpc_key,
        http_key,
    });
    let tally = Arc::new(Tally::default());
    let started = std::time::Instant::now();

    let shared = ctx.clone();
    fuzz(
        &tally,
        "http: SubmitSurveyResponses",
        || (vec(valid_survey_response(), 1..4), protocol()),
        move |(responses, protocol): (Vec<SurveyResponse>, Protocol)| {
            let ctx = shared.clone();
            async move {
                let route = route("SubmitSurveyResponses");
                let request = serde_json::json!({ "responses": responses.iter().map(json_of).collect::<Vec<_>>() });
                let client = HttpClient::new(ctx.app.addr, protocol, Some(&ctx.http_key));
                let grpc = grpc_json(&ctx.app, &ctx.grpc_key, route, &request).await;
                let http = http_result(&http_call(&client, route, &request).await);
                prop_assert_eq!(&http, &grpc);
                // What was stored reads back the same.
                let read = serde_json::json!({ "id": responses[0].id });
                let route = super::route("GetSurveyResponse");
                prop_assert_eq!(
                    http_result(&http_call(&client, route, &read).await),
                    grpc_json(&ctx.app, &ctx.grpc_key, route, &read).await
                );
                Ok(if grpc.is_ok() { Code::Ok } else { Code::InvalidArgument })
            }
        },
    )
    .await;

    let shared = ctx.clone();
    fuzz(
        &tally,
        "http: GetPerceptionGap",
        || (perception_gap_request(), protocol()),
        move |(request, protocol): (GetPerceptionGapRequest, Protocol)| {
            let ctx = shared.clone();
            async move {
                let route = route("GetPerceptionGap");
                let request = json_of(&request);
                // One tenant, both transports.
                let client = HttpClient::new(ctx.app.addr, protocol, Some(&ctx.grpc_key));
                let grpc = grpc_json(&ctx.app, &ctx.grpc_key, route, &request).await;
                let http = http_result(&http_call(&client, route, &request).await);
                prop_assert_eq!(&http, &grpc, "{}", request);
                Ok(if grpc.is_ok() {
                    Code::Ok
                } else {
                    Code::InvalidArgument
                })
            }
        },
    )
    .await;
    tally.print("JSON over HTTP against gRPC", started);
}
