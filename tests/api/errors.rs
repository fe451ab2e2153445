//! Error messages a newcomer understands (issue 4): each says what went
//! wrong and what to do next.

use gapscore::proto::v1::*;
use sqlx::PgPool;
use tonic::Code;

use crate::helpers::{spawn_app, ts, violation_fields};

#[sqlx::test]
async fn a_call_without_a_key_says_how_to_send_one_and_where_to_get_one(pool: PgPool) {
    let app = spawn_app(pool).await;
    for key in [None, Some("gsk_000000000000_nope")] {
        let err = app
            .scoring_as(key)
            .get_scorecard(GetScorecardRequest::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        let message = err.message();
        assert!(message.contains("authorization: Bearer <key>"), "{message}");
        assert!(message.contains("grpcurl: -H"), "{message}");
        assert!(
            message.contains("gapscore key create --tenant"),
            "{message}"
        );
    }
}

#[sqlx::test]
async fn an_unknown_question_says_how_to_list_the_keys_and_suggests_one(pool: PgPool) {
    let app = spawn_app(pool).await;
    let err = app
        .scoring()
        .get_perception_gap(GetPerceptionGapRequest {
            questions: vec!["overall_experiance".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violation_fields(&err), ["questions[0]"]);
    let message = err.message();
    assert!(
        message.contains("unknown question \"overall_experiance\""),
        "{message}"
    );
    assert!(
        message.contains("overall_experience"),
        "names the valid keys: {message}"
    );
    assert!(
        message.contains("CatalogService/ListQuestions"),
        "{message}"
    );

    // The same words for a trend and for ingest.
    let err = app
        .scoring()
        .get_trend(GetTrendRequest {
            metric: TrendMetric::FavorableShare as i32,
            question: "overall_experiance".into(),
            role: RespondentRole::Customer as i32,
            bucket: TrendBucket::Week as i32,
            filter: Some(ScoreFilter {
                start_time: Some(ts("2026-10-05T00:00:00Z")),
                end_time: Some(ts("2026-11-02T00:00:00Z")),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().contains("overall_experience"),
        "{}",
        err.message()
    );
}
