//! Decoding is bounded before it happens (issue 11, finding 4; SPEC §14):
//! repeated fields are counted on the wire against their limits, and the
//! decoded size of the messages being served is held against
//! `--max-decoded-bytes-in-flight`.

use std::time::{Duration, Instant};

use gapscore::proto::v1::*;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{
    ease_response, error_reason, internals::decoded_estimate, memory::peak_rss_growth,
    raw::raw_call, spawn_app, spawn_app_with, violation_fields,
};

const AT: &str = "2025-06-01T10:00:00Z";

/// What one decode bomb may add to the process's memory. Before the counts
/// were checked on the wire, the first bomb below grew it by 731 MB (and
/// took 9.7 s); now only its 4 MB of wire bytes (client and server copies)
/// remain.
/// Generous, because other tests share the process.
const BOMB_RSS_BOUND: u64 = 128 << 20;
/// How long refusing a bomb may take on a loaded 2-core machine.
const BOMB_TIME_BOUND: Duration = Duration::from_secs(10);

#[sqlx::test]
async fn two_million_empty_responses_are_refused_by_their_count_before_they_are_decoded(
    pool: PgPool,
) {
    let app = spawn_app(pool).await;
    // `responses` (field 1) = an empty SurveyResponse, 2 million times:
    // 4 MB, under the 4 MiB message limit.
    let bomb = [0x0a, 0x00].repeat(2_000_000);
    let cases = [
        (
            "/gapscore.v1.SurveyService/SubmitSurveyResponses",
            false,
            "responses",
        ),
        (
            "/gapscore.v1.SurveyService/StreamSurveyResponses",
            true,
            "messages[0].responses",
        ),
    ];
    for (path, streaming, field) in cases {
        let started = Instant::now();
        let (growth, result) = peak_rss_growth(raw_call(&app, path, streaming, bomb.clone())).await;
        let status = result.expect_err("the bomb is refused");
        println!(
            "{path}: refused in {:?}, RSS grew by {} MB",
            started.elapsed(),
            growth >> 20
        );
        assert_eq!(violation_fields(&status), [field], "{status:?}");
        assert!(status.message().contains("got 2000000"), "{status:?}");
        assert!(
            growth < BOMB_RSS_BOUND,
            "{path}: RSS grew by {growth} bytes"
        );
        assert!(started.elapsed() < BOMB_TIME_BOUND, "{path}");
    }

    // One response with a million empty answers (field 7).
    let answers = [0x3a, 0x00].repeat(1_000_000);
    let mut nested = vec![0x0a];
    prost::encoding::encode_varint(answers.len() as u64, &mut nested);
    nested.extend(&answers);
    let (growth, result) = peak_rss_growth(raw_call(
        &app,
        "/gapscore.v1.SurveyService/SubmitSurveyResponses",
        false,
        nested,
    ))
    .await;
    let status = result.expect_err("refused");
    assert_eq!(violation_fields(&status), ["responses[0].answers"]);
    assert!(growth < BOMB_RSS_BOUND, "RSS grew by {growth} bytes");
}

fn batch(prefix: &str, n: usize) -> Vec<SurveyResponse> {
    (0..n)
        .map(|i| ease_response(&format!("{prefix}-{i}"), "c-1", AT, 5))
        .collect()
}

/// Waits until acme's response `id` is stored (its message was served).
async fn stored(app: &crate::helpers::TestApp, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = app
            .survey()
            .get_survey_response(GetSurveyResponseRequest { id: id.into() })
            .await;
        if found.is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "{id} never stored: {found:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[sqlx::test]
async fn a_batch_that_does_not_fit_the_budget_waits_for_the_holder_and_small_calls_pass(
    pool: PgPool,
) {
    let big = |prefix: &str| batch(prefix, 200);
    let big_bytes = decoded_estimate(&SubmitSurveyResponsesRequest {
        responses: big("x"),
    });
    let small_bytes = decoded_estimate(&SubmitSurveyResponsesRequest {
        responses: batch("s", 1),
    });
    // One big message fits, two do not; a small one fits beside a big one.
    let budget = big_bytes + big_bytes / 2;
    assert!(
        small_bytes * 4 < big_bytes / 2,
        "{small_bytes} vs {big_bytes}"
    );
    let app = spawn_app_with(pool, |args| args.max_decoded_bytes_in_flight = budget).await;
    let globex = app.add_tenant("globex").await;

    // acme's stream holds its message's share while the stream is open.
    let (tx, rx) = mpsc::channel(1);
    let mut client = app.survey();
    let stream = tokio::spawn(async move {
        client
            .stream_survey_responses(ReceiverStream::new(rx))
            .await
    });
    let message = |responses| StreamSurveyResponsesRequest { responses };
    tx.send(message(big("a1"))).await.unwrap();
    stored(&app, "a1-199").await;

    let refused = app
        .submit_responses_as(&globex, big("b"))
        .await
        .expect_err("no budget left for a second big message");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(error_reason(&refused), "DECODE_BUDGET_EXHAUSTED");
    assert!(refused.get_details_retry_info().is_some(), "{refused:?}");
    for i in 0..5 {
        app.submit_responses_as(&globex, batch(&format!("s{i}"), 1))
            .await
            .expect("a small call fits beside the stream's message");
    }
    app.catalog_as(Some(&globex))
        .list_questions(ListQuestionsRequest {})
        .await
        .expect("a read fits");

    // The stream's next message replaces its share rather than adding to it.
    tx.send(message(big("a2"))).await.unwrap();
    stored(&app, "a2-199").await;

    // The stream ends: its share returns, and the big batch fits; a unary
    // call returns its share when it answers, so a second one fits too.
    drop(tx);
    let answer = stream
        .await
        .unwrap()
        .expect("the stream ends OK")
        .into_inner();
    assert_eq!(answer.messages, 2);
    for prefix in ["b", "c"] {
        app.submit_responses_as(&globex, big(prefix))
            .await
            .expect("fits once the stream has ended");
    }
}

#[sqlx::test]
async fn a_message_larger_than_the_whole_budget_is_refused_without_a_retry(pool: PgPool) {
    let responses = batch("x", 200);
    let bytes = decoded_estimate(&SubmitSurveyResponsesRequest {
        responses: responses.clone(),
    });
    let app = spawn_app_with(pool, |args| args.max_decoded_bytes_in_flight = bytes / 2).await;
    let refused = app
        .submit_responses(responses)
        .await
        .expect_err("can never fit");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(error_reason(&refused), "DECODED_MESSAGE_TOO_LARGE");
    assert!(
        refused.get_details_retry_info().is_none(),
        "a retry cannot help"
    );
    app.submit_responses(batch("y", 1))
        .await
        .expect("a small batch fits");
}

#[sqlx::test]
async fn a_stream_message_over_a_count_is_named_by_its_ordinal_and_the_earlier_ones_stay(
    pool: PgPool,
) {
    let app = spawn_app(pool).await;
    let mut over = batch("m1", 1);
    over[0].answers = vec![over[0].answers[0].clone(); 101];
    let messages = vec![
        StreamSurveyResponsesRequest {
            responses: batch("m0", 3),
        },
        StreamSurveyResponsesRequest { responses: over },
    ];
    let refused = app
        .survey()
        .stream_survey_responses(tokio_stream::iter(messages))
        .await
        .expect_err("the second message is refused");
    assert_eq!(
        violation_fields(&refused),
        ["messages[1].responses[0].answers"]
    );
    stored(&app, "m0-2").await;
}
