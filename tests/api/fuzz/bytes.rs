//! Arbitrary bytes to every method path: the valid request of each RPC,
//! mutated (truncated, flipped, extended, invalid UTF-8, huge lengths, deep
//! nesting) or replaced by random bytes.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use gapscore::proto::v1::*;
use proptest::{collection::vec, prelude::*, sample::Index};
use prost::Message;
use sqlx::PgPool;
use tonic::Code;

use super::harness::{
    Tally, acceptable, assert_healthy, fuzz, other_query_filter, start, unchanged,
};
use crate::helpers::{card_update_journey, raw::raw_call, ts};

/// Every method path, whether it is client-streaming, and a valid request
/// to mutate.
fn methods() -> Vec<(&'static str, bool, Vec<u8>)> {
    let response = SurveyResponse {
        id: "raw1".into(),
        role: 3,
        submitted_at: Some(ts("2025-01-01T00:00:00Z")),
        labels: BTreeMap::from([("region".into(), "emea".into())]),
        answers: vec![Answer {
            question: "speed".into(),
            score: Some(3),
            comment: "ok".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let journey = card_update_journey("raw-j1", "c1");
    let outcome = Outcome {
        id: "raw-o1".into(),
        customer_id: "c1".into(),
        kind: 1,
        occurred: true,
        observed_at: Some(ts("2025-01-01T00:00:00Z")),
    };
    let filter = other_query_filter();
    let e = |m: &dyn Fn() -> Vec<u8>| m();
    vec![
        (
            "/gapscore.v1.SurveyService/SubmitSurveyResponses",
            false,
            e(&|| {
                SubmitSurveyResponsesRequest {
                    responses: vec![response.clone()],
                }
                .encode_to_vec()
            }),
        ),
        (
            "/gapscore.v1.SurveyService/StreamSurveyResponses",
            true,
            e(&|| {
                StreamSurveyResponsesRequest {
                    responses: vec![response.clone()],
                }
                .encode_to_vec()
            }),
        ),
        (
            "/gapscore.v1.SurveyService/GetSurveyResponse",
            false,
            GetSurveyResponseRequest {
                id: "seed-r1".into(),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.SurveyService/ListSurveyResponses",
            false,
            ListSurveyResponsesRequest {
                filter: filter.clone(),
                page_size: 2,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.JourneyService/SubmitJourneys",
            false,
            SubmitJourneysRequest {
                journeys: vec![journey.clone()],
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.JourneyService/StreamJourneys",
            true,
            StreamJourneysRequest {
                journeys: vec![journey],
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.JourneyService/GetJourney",
            false,
            GetJourneyRequest {
                id: "seed-j1".into(),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.JourneyService/ListJourneys",
            false,
            ListJourneysRequest {
                filter: filter.clone(),
                page_size: 2,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.OutcomeService/SubmitOutcomes",
            false,
            SubmitOutcomesRequest {
                outcomes: vec![outcome],
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.OutcomeService/ListOutcomes",
            false,
            ListOutcomesRequest {
                filter: filter.clone(),
                page_size: 2,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.CustomerService/GetCustomerRisk",
            false,
            GetCustomerRiskRequest {
                customer_id: "seed-c1".into(),
                filter: filter.clone(),
                confidence_level: Some(0.9),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.CustomerService/ListAtRiskCustomers",
            false,
            ListAtRiskCustomersRequest {
                filter: filter.clone(),
                min_tier: 1,
                page_size: 1,
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.CustomerService/DeleteCustomerData",
            false,
            DeleteCustomerDataRequest {
                customer_id: "raw-c9".into(),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.ScoringService/GetPerceptionGap",
            false,
            GetPerceptionGapRequest {
                filter: filter.clone(),
                questions: vec!["speed".into()],
                confidence_level: Some(0.9),
                group_by: "region".into(),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.ScoringService/GetEffortIndex",
            false,
            GetEffortIndexRequest {
                filter: filter.clone(),
                confidence_level: Some(0.9),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.ScoringService/GetLoyaltyRisk",
            false,
            GetLoyaltyRiskRequest {
                filter: filter.clone(),
                confidence_level: Some(0.9),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.ScoringService/GetScorecard",
            false,
            GetScorecardRequest {
                filter: filter.clone(),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.ScoringService/GetTrend",
            false,
            GetTrendRequest {
                metric: 4,
                bucket: 2,
                filter: Some(ScoreFilter {
                    start_time: Some(ts("2025-01-01T00:00:00Z")),
                    end_time: Some(ts("2025-03-01T00:00:00Z")),
                    ..Default::default()
                }),
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.CatalogService/ListQuestions",
            false,
            Vec::new(),
        ),
        (
            "/gapscore.v1.CatalogService/UpsertQuestion",
            false,
            UpsertQuestionRequest {
                question: Some(Question {
                    key: "raw_q".into(),
                    kind: 1,
                    text: "Raw?".into(),
                    scale_min: 1,
                    scale_max: 5,
                    favorable_min: 4,
                    unfavorable_max: Some(2),
                    built_in: false,
                }),
            }
            .encode_to_vec(),
        ),
        (
            "/gapscore.v1.CatalogService/GetScoringModel",
            false,
            Vec::new(),
        ),
        (
            "/gapscore.v1.CatalogService/UpdateScoringModel",
            false,
            UpdateScoringModelRequest {
                model: Some(ScoringModel {
                    min_group_size: 5,
                    confidence_level: 0.95,
                    weights: Some(EffortWeights {
                        extra_contact: 15.0,
                        channel_switch: 10.0,
                        failed_self_service: 10.0,
                        transfer: 10.0,
                        repeated_information: 10.0,
                        minute: 0.5,
                        free_minutes: 5.0,
                        time_cap: 30.0,
                        unresolved: 30.0,
                    }),
                    low_effort_below: 20.0,
                    high_effort_from: 50.0,
                    prior_strength: 50.0,
                    priors: (1..=4)
                        .map(|kind| OutcomePrior {
                            kind,
                            low_mean: 0.2,
                            high_mean: 0.4,
                        })
                        .collect(),
                    etag: "stale".into(),
                    ..Default::default()
                }),
            }
            .encode_to_vec(),
        ),
    ]
}

/// How the bytes of a case are made from the method's valid request.
#[derive(Debug, Clone)]
enum Bytes {
    Random(Vec<u8>),
    Truncated(Index),
    Flipped(Index, u8),
    Appended(Vec<u8>),
    /// A string (or nested message) field 1 holding invalid UTF-8.
    InvalidUtf8,
    /// A length prefix far beyond the message.
    HugeLength,
    /// Groups nested far beyond prost's recursion limit.
    DeepNesting,
}

fn bytes_case() -> BoxedStrategy<Bytes> {
    prop_oneof![
        3 => vec(any::<u8>(), 0..64).prop_map(Bytes::Random),
        1 => vec(any::<u8>(), 0..4096).prop_map(Bytes::Random),
        2 => any::<Index>().prop_map(Bytes::Truncated),
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Bytes::Flipped(i, b)),
        2 => vec(any::<u8>(), 1..32).prop_map(Bytes::Appended),
        1 => Just(Bytes::InvalidUtf8),
        1 => Just(Bytes::HugeLength),
        1 => Just(Bytes::DeepNesting),
    ]
    .boxed()
}

fn make_bytes(valid: &[u8], case: &Bytes) -> Vec<u8> {
    match case {
        Bytes::Random(b) => b.clone(),
        Bytes::Truncated(i) if valid.is_empty() => vec![i.index(256) as u8],
        Bytes::Truncated(i) => valid[..i.index(valid.len())].to_vec(),
        Bytes::Flipped(_, b) if valid.is_empty() => vec![*b],
        Bytes::Flipped(i, b) => {
            let mut v = valid.to_vec();
            let at = i.index(v.len());
            v[at] ^= b.max(&1);
            v
        }
        Bytes::Appended(extra) => [valid, extra].concat(),
        // Field 1 (length-delimited) of 7 bytes: a field 1 of 3 bytes that
        // are not UTF-8, then the same bytes directly.
        Bytes::InvalidUtf8 => [
            valid,
            &[0x0a, 0x05, 0x0a, 0x03, 0xff, 0xfe, 0xfd],
            &[0x0a, 0x03, 0xc3, 0x28, 0xa0],
        ]
        .concat(),
        Bytes::HugeLength => [
            valid,
            &[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        ]
        .concat(),
        Bytes::DeepNesting => [vec![0x0b; 10_000], vec![0x0c; 10_000]].concat(),
    }
}

#[sqlx::test]
async fn fuzz_arbitrary_bytes_to_every_rpc(pool: PgPool) {
    let started = Instant::now();
    let ctx = start(pool).await;
    let tally = Arc::new(Tally::default());
    for (path, streaming, valid) in methods() {
        // The valid request itself is served (so mutations start from a
        // message the server accepts).
        raw_call(&ctx.app, path, streaming, valid.clone())
            .await
            .or_else(|s| {
                if matches!(s.code(), Code::NotFound | Code::Aborted) {
                    Ok(vec![])
                } else {
                    Err(s)
                }
            })
            .unwrap_or_else(|s| panic!("{path}: the valid request fails: {s:?}"));
        let rpc: &'static str = path.trim_start_matches("/gapscore.v1.");
        let c = ctx.clone();
        fuzz(&tally, rpc, bytes_case, move |case: Bytes| {
            let ctx = c.clone();
            let body = make_bytes(&valid, &case);
            async move {
                let before = ctx.snapshot().await;
                let len = body.len();
                let result = raw_call(&ctx.app, path, streaming, body).await;
                match result {
                    Ok(_) => Ok(Code::Ok),
                    Err(status) => {
                        unchanged(&before, &ctx.snapshot().await)?;
                        acceptable(&status, len)
                    }
                }
            }
        })
        .await;
    }
    assert_healthy(&ctx).await;
    tally.print("arbitrary bytes", started);
}
