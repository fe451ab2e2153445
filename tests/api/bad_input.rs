//! The edges of bad input (issue "bad input"), one test each, where no other
//! test already covers them: invalid UTF-8 and NUL bytes PostgreSQL cannot
//! store, 10,000-character strings, a 5 MiB message, negative and huge
//! numbers, timestamps 10,000 years away, SQL fragments stored literally,
//! 1,001 records in a stream message, forged page tokens and another
//! tenant's token for outcomes.
//!
//! Covered elsewhere: 1,001 records and duplicate ids in a unary batch
//! (survey.rs, journeys.rs, outcomes.rs), NUL in survey labels, themes and
//! comments (survey.rs), unknown question keys (errors.rs, survey.rs), page
//! tokens of another query or tenant for responses, journeys and at-risk
//! customers (survey.rs, journeys.rs, loyalty.rs).

use std::collections::BTreeMap;

use gapscore::proto::v1::*;
use prost::Message;
use prost_types::Timestamp;
use sqlx::PgPool;
use tonic::{Code, Status};

use crate::helpers::{
    TestApp, error_reason,
    internals::{at_risk_position, forge_page_token},
    lists::ListRpc,
    raw::raw_call,
    refused_at, simple_journey, snapshot, sorted, spawn_app,
    sql::rows_in,
    ts, violation_fields,
};

const SQL: &str = "'; DROP TABLE answers; --";
/// 10,000 years in seconds.
const TEN_THOUSAND_YEARS: i64 = 315_569_520_000;

fn response(id: &str) -> SurveyResponse {
    SurveyResponse {
        id: id.into(),
        role: RespondentRole::Customer as i32,
        submitted_at: Some(ts("2026-01-01T00:00:00Z")),
        answers: vec![Answer {
            question: "speed".into(),
            score: Some(3),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn outcome(id: &str) -> Outcome {
    Outcome {
        id: id.into(),
        customer_id: "c1".into(),
        kind: OutcomeKind::Repurchase as i32,
        occurred: true,
        observed_at: Some(ts("2026-01-01T00:00:00Z")),
    }
}

#[sqlx::test]
async fn invalid_utf8_is_invalid_argument_and_stores_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let before = snapshot(&app.pool, "").await;
    // SubmitSurveyResponsesRequest { responses: [SurveyResponse { id: <ff fe fd> }] }
    let body = vec![0x0a, 0x05, 0x0a, 0x03, 0xff, 0xfe, 0xfd];
    for (path, streaming) in [
        ("/gapscore.v1.SurveyService/SubmitSurveyResponses", false),
        ("/gapscore.v1.SurveyService/StreamSurveyResponses", true),
        ("/gapscore.v1.JourneyService/SubmitJourneys", false),
        ("/gapscore.v1.OutcomeService/SubmitOutcomes", false),
    ] {
        let err = raw_call(&app, path, streaming, body.clone())
            .await
            .expect_err(path);
        assert_eq!(err.code(), Code::InvalidArgument, "{path}: {err:?}");
        assert_eq!(error_reason(&err), "MALFORMED_MESSAGE", "{path}");
        assert!(
            err.message().contains(".id"),
            "{path} names the field: {}",
            err.message()
        );
    }
    // GetSurveyResponseRequest { id: <c3 28> } (a broken two-byte sequence).
    let err = raw_call(
        &app,
        "/gapscore.v1.SurveyService/GetSurveyResponse",
        false,
        vec![0x0a, 0x02, 0xc3, 0x28],
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(error_reason(&err), "MALFORMED_MESSAGE");
    assert_eq!(snapshot(&app.pool, "").await, before);
}

#[sqlx::test]
async fn nul_bytes_postgresql_cannot_store_are_rejected_at_their_field(pool: PgPool) {
    let app = spawn_app(pool).await;
    let before = snapshot(&app.pool, "").await;

    let mut journey = simple_journey("j1", "c1", "2026-01-01T00:00:00Z");
    journey.labels.insert("note".into(), "a\0b".into());
    assert_eq!(
        refused_at(app.journeys().submit_journeys(SubmitJourneysRequest {
            journeys: vec![journey],
        }))
        .await,
        ["journeys[0].labels[\"note\"]"]
    );

    assert_eq!(
        refused_at(app.catalog().upsert_question(UpsertQuestionRequest {
            question: Some(Question {
                key: "nps_q".into(),
                kind: QuestionKind::Rating as i32,
                text: "How\0likely?".into(),
                scale_min: 0,
                scale_max: 10,
                favorable_min: 9,
                unfavorable_max: Some(6),
                built_in: false,
            }),
        }))
        .await,
        ["question.text"]
    );

    // In ids and in the filters of reads, which PostgreSQL would get as
    // query parameters.
    assert_eq!(
        refused_at(app.survey().get_survey_response(GetSurveyResponseRequest {
            id: "r\u{0}1".into(),
        }))
        .await,
        ["id"]
    );
    assert_eq!(
        sorted(
            refused_at(app.journeys().list_journeys(ListJourneysRequest {
                customer_id: "c\0".into(),
                filter: Some(ScoreFilter {
                    labels: BTreeMap::from([("region".into(), "em\0ea".into())]),
                    ..Default::default()
                }),
                ..Default::default()
            }))
            .await
        ),
        ["customer_id", "filter.labels[\"region\"]"]
    );
    assert_eq!(
        refused_at(
            app.customers()
                .delete_customer_data(DeleteCustomerDataRequest {
                    customer_id: "c\0".into(),
                })
        )
        .await,
        ["customer_id"]
    );
    assert_eq!(snapshot(&app.pool, "").await, before);
}

#[sqlx::test]
async fn ten_thousand_character_strings_are_rejected_at_their_field(pool: PgPool) {
    let app = spawn_app(pool).await;
    let long = "x".repeat(10_000);
    let before = snapshot(&app.pool, "").await;

    let mut record = response("r1");
    record.respondent_id = long.clone();
    record.survey_id = long.clone();
    record.labels.insert("region".into(), long.clone());
    record.labels.insert(long.clone(), "v".into());
    record.answers = vec![
        Answer {
            comment: long.clone(),
            ..record.answers[0].clone()
        },
        Answer {
            question: "improve".into(),
            themes: vec![long.clone()],
            ..Default::default()
        },
    ];
    let long_id = response(&long);
    let err = app
        .submit_responses(vec![record, long_id])
        .await
        .unwrap_err();
    let fields = violation_fields(&err);
    // The label key is caller input: its path is cut short.
    let clipped = fields
        .iter()
        .find(|f| f.starts_with("responses[0].labels[\"xxx"))
        .cloned();
    let clipped = clipped.expect("the long label key is reported");
    assert!(clipped.len() <= 256 && clipped.ends_with('…'), "{clipped}");
    assert_eq!(
        sorted(fields.into_iter().filter(|f| *f != clipped).collect()),
        [
            "responses[0].answers[0].comment",
            "responses[0].answers[1].themes[0]",
            "responses[0].labels[\"region\"]",
            "responses[0].respondent_id",
            "responses[0].survey_id",
            "responses[1].id",
        ]
    );
    assert!(err.message().len() < 1_000, "the message stays short");

    let mut journey = simple_journey("j1", &long, "2026-01-01T00:00:00Z");
    journey.intent = long.clone();
    assert_eq!(
        sorted(
            refused_at(app.journeys().submit_journeys(SubmitJourneysRequest {
                journeys: vec![journey],
            }))
            .await
        ),
        ["journeys[0].customer_id", "journeys[0].intent"]
    );
    assert_eq!(
        refused_at(app.catalog().upsert_question(UpsertQuestionRequest {
            question: Some(Question {
                key: "long_q".into(),
                kind: QuestionKind::Themes as i32,
                text: long.clone(),
                ..Default::default()
            }),
        }))
        .await,
        ["question.text"]
    );
    assert_eq!(
        refused_at(app.scoring().get_perception_gap(GetPerceptionGapRequest {
            questions: vec![long.clone()],
            ..Default::default()
        }))
        .await,
        ["questions[0]"]
    );
    assert_eq!(
        refused_at(
            app.journeys()
                .get_journey(GetJourneyRequest { id: long.clone() })
        )
        .await,
        ["id"]
    );
    assert_eq!(snapshot(&app.pool, "").await, before);
}

#[sqlx::test]
async fn a_5_mib_message_is_refused_and_the_server_stays_up(pool: PgPool) {
    let app = spawn_app(pool).await;
    // 1,000 records that would each be valid, 5.3 KB apiece.
    let batch: Vec<SurveyResponse> = (0..1000)
        .map(|i| {
            let mut r = response(&format!("r{i}"));
            r.labels = (0..16)
                .map(|k| (format!("k{k}"), "v".repeat(128)))
                .collect();
            r.answers[0].comment = "c".repeat(3000);
            r
        })
        .collect();
    let request = SubmitSurveyResponsesRequest { responses: batch };
    let size = request.encoded_len();
    assert!(size > 5 << 20, "{size} bytes");
    let err = app
        .survey()
        .submit_survey_responses(request.clone())
        .await
        .unwrap_err();
    // The limit is 4 MiB (SPEC §8); tonic answers OUT_OF_RANGE and names it.
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    assert!(err.message().contains("4194304"), "{}", err.message());
    let err = app
        .survey()
        .stream_survey_responses(tokio_stream::iter(vec![StreamSurveyResponsesRequest {
            responses: request.responses,
        }]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    assert_eq!(rows_in(&app.pool, "survey_responses").await, 0);
    // Still up: the same records in messages under the limit are stored.
    let ok = app.submit_responses(vec![response("small")]).await.unwrap();
    assert_eq!(ok.inserted, 1);
}

#[sqlx::test]
async fn negative_and_huge_numbers_are_rejected_at_their_field(pool: PgPool) {
    let app = spawn_app(pool).await;
    let before = snapshot(&app.pool, "").await;

    let mut low = response("r1");
    low.answers[0].score = Some(i32::MIN);
    low.role = i32::MAX;
    let mut high = response("r2");
    high.answers[0].score = Some(i32::MAX);
    let err = app.submit_responses(vec![low, high]).await.unwrap_err();
    assert_eq!(
        sorted(violation_fields(&err)),
        [
            "responses[0].answers[0].score",
            "responses[0].role",
            "responses[1].answers[0].score"
        ]
    );

    let mut journey = simple_journey("j1", "c1", "2026-01-01T00:00:00Z");
    let tp = &mut journey.touchpoints[0];
    (tp.duration_seconds, tp.wait_seconds, tp.transfers) = (i32::MIN, i32::MAX, i32::MAX);
    tp.channel = i32::MIN;
    assert_eq!(
        sorted(
            refused_at(app.journeys().submit_journeys(SubmitJourneysRequest {
                journeys: vec![journey],
            }))
            .await
        ),
        [
            "journeys[0].touchpoints[0].channel",
            "journeys[0].touchpoints[0].duration_seconds",
            "journeys[0].touchpoints[0].transfers",
            "journeys[0].touchpoints[0].wait_seconds",
        ]
    );

    let mut o = outcome("o1");
    o.kind = -1;
    assert_eq!(
        refused_at(
            app.outcomes()
                .submit_outcomes(SubmitOutcomesRequest { outcomes: vec![o] })
        )
        .await,
        ["outcomes[0].kind"]
    );

    // A scale whose span overflows i32.
    assert_eq!(
        refused_at(app.catalog().upsert_question(UpsertQuestionRequest {
            question: Some(Question {
                key: "wide".into(),
                kind: QuestionKind::Rating as i32,
                text: "Wide?".into(),
                scale_min: i32::MIN,
                scale_max: i32::MAX,
                favorable_min: 0,
                unfavorable_max: Some(i32::MIN),
                built_in: false,
            }),
        }))
        .await,
        ["question.scale_max"]
    );

    for size in [-1, i32::MIN] {
        assert_eq!(
            refused_at(app.outcomes().list_outcomes(ListOutcomesRequest {
                page_size: size,
                ..Default::default()
            }))
            .await,
            ["page_size"],
            "{size}"
        );
        assert_eq!(
            refused_at(
                app.customers()
                    .list_at_risk_customers(ListAtRiskCustomersRequest {
                        page_size: size,
                        ..Default::default()
                    })
            )
            .await,
            ["page_size"],
            "{size}"
        );
    }
    // The largest page size is coerced, not rejected.
    app.journeys()
        .list_journeys(ListJourneysRequest {
            page_size: i32::MAX,
            ..Default::default()
        })
        .await
        .unwrap();

    for level in [
        f64::INFINITY,
        f64::NEG_INFINITY,
        -1e308,
        1e308,
        f64::MIN_POSITIVE,
    ] {
        assert_eq!(
            refused_at(app.scoring().get_effort_index(GetEffortIndexRequest {
                confidence_level: Some(level),
                ..Default::default()
            }))
            .await,
            ["confidence_level"],
            "{level}"
        );
        assert_eq!(
            refused_at(app.customers().get_customer_risk(GetCustomerRiskRequest {
                customer_id: "c1".into(),
                confidence_level: Some(level),
                ..Default::default()
            }))
            .await,
            ["confidence_level"],
            "{level}"
        );
    }

    let model = app.scoring_model().await;
    let mut bad = model.clone();
    bad.min_group_size = i32::MIN;
    bad.prior_strength = f64::INFINITY;
    bad.weights.as_mut().unwrap().minute = f64::NAN;
    bad.weights.as_mut().unwrap().time_cap = -f64::MAX;
    assert_eq!(
        sorted(
            refused_at(
                app.catalog()
                    .update_scoring_model(UpdateScoringModelRequest { model: Some(bad) })
            )
            .await
        ),
        [
            "model.min_group_size",
            "model.prior_strength",
            "model.weights.minute",
            "model.weights.time_cap"
        ]
    );
    assert_eq!(snapshot(&app.pool, "").await, before);
}

#[sqlx::test]
async fn timestamps_ten_thousand_years_away_are_rejected_at_their_field(pool: PgPool) {
    let app = spawn_app(pool).await;
    let before = snapshot(&app.pool, "").await;
    for seconds in [TEN_THOUSAND_YEARS, -TEN_THOUSAND_YEARS, i64::MAX, i64::MIN] {
        let far = Some(Timestamp { seconds, nanos: 0 });
        let mut r = response("r1");
        r.submitted_at = far;
        let err = app.submit_responses(vec![r]).await.unwrap_err();
        assert_eq!(
            violation_fields(&err),
            ["responses[0].submitted_at"],
            "{seconds}"
        );

        let mut j = simple_journey("j1", "c1", "2026-01-01T00:00:00Z");
        j.touchpoints[0].occurred_at = far;
        assert_eq!(
            refused_at(
                app.journeys()
                    .submit_journeys(SubmitJourneysRequest { journeys: vec![j] })
            )
            .await,
            ["journeys[0].touchpoints[0].occurred_at"],
            "{seconds}"
        );

        let mut o = outcome("o1");
        o.observed_at = far;
        assert_eq!(
            refused_at(
                app.outcomes()
                    .submit_outcomes(SubmitOutcomesRequest { outcomes: vec![o] })
            )
            .await,
            ["outcomes[0].observed_at"],
            "{seconds}"
        );

        assert_eq!(
            refused_at(app.scoring().get_scorecard(GetScorecardRequest {
                filter: Some(ScoreFilter {
                    start_time: far,
                    end_time: far,
                    ..Default::default()
                }),
            }))
            .await,
            ["filter.start_time", "filter.end_time"],
            "{seconds}"
        );
    }
    assert_eq!(snapshot(&app.pool, "").await, before);

    // The edges of the protobuf range: year 1 is stored and read back
    // exactly; a window to the end of year 9999 is accepted.
    let year_one = Timestamp {
        seconds: -62_135_596_800,
        nanos: 0,
    };
    let mut r = response("ancient");
    r.submitted_at = Some(year_one);
    app.submit_responses(vec![r]).await.unwrap();
    let back = app
        .survey()
        .get_survey_response(GetSurveyResponseRequest {
            id: "ancient".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .response
        .unwrap();
    assert_eq!(back.submitted_at, Some(year_one));
    let listed = app
        .survey()
        .list_survey_responses(ListSurveyResponsesRequest {
            filter: Some(ScoreFilter {
                start_time: Some(year_one),
                end_time: Some(Timestamp {
                    seconds: 253_402_300_799,
                    nanos: 999_999_999,
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.responses.len(), 1);
    // A trend over those 10,000 years has too many day buckets.
    assert_eq!(
        refused_at(app.scoring().get_trend(GetTrendRequest {
            metric: TrendMetric::EffortIndexMean as i32,
            bucket: TrendBucket::Day as i32,
            filter: listed_filter(year_one),
            ..Default::default()
        }))
        .await,
        ["filter"]
    );
}

fn listed_filter(start: Timestamp) -> Option<ScoreFilter> {
    Some(ScoreFilter {
        start_time: Some(start),
        end_time: Some(Timestamp {
            seconds: 253_402_300_799,
            nanos: 0,
        }),
        ..Default::default()
    })
}

#[sqlx::test]
async fn sql_fragments_and_quotes_are_stored_and_read_back_literally(pool: PgPool) {
    let app = spawn_app(pool).await;
    let quoted = "O'Brien said \"hi\"; -- \\ %_ $1";
    let mut r = response("r1");
    r.labels = BTreeMap::from([("note".into(), SQL.into()), ("who".into(), quoted.into())]);
    r.answers[0].comment = format!("{SQL} {quoted}");
    r.answers.push(Answer {
        question: "improve".into(),
        themes: vec!["'; drop table answers; --".into(), "a' or '1'='1".into()],
        ..Default::default()
    });
    app.submit_responses(vec![r.clone()]).await.unwrap();
    let back = app
        .survey()
        .get_survey_response(GetSurveyResponseRequest { id: "r1".into() })
        .await
        .unwrap()
        .into_inner()
        .response
        .unwrap();
    assert_eq!(back.labels, r.labels);
    assert_eq!(back.answers[0].comment, r.answers[0].comment);
    assert_eq!(back.answers[1].themes, r.answers[1].themes);

    // A label filter with the fragment matches exactly that record; a
    // fragment that would widen the match finds nothing.
    for (value, expected) in [(SQL, 1), ("x' OR '1'='1", 0), ("%", 0)] {
        let listed = app
            .survey()
            .list_survey_responses(ListSurveyResponsesRequest {
                filter: Some(ScoreFilter {
                    labels: BTreeMap::from([("note".into(), value.into())]),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.responses.len(), expected, "{value}");
    }

    let mut j = simple_journey("j1", "c1", "2026-01-01T00:00:00Z");
    j.labels.insert("note".into(), SQL.into());
    app.journeys()
        .submit_journeys(SubmitJourneysRequest {
            journeys: vec![j.clone()],
        })
        .await
        .unwrap();
    let back = app
        .journeys()
        .get_journey(GetJourneyRequest { id: "j1".into() })
        .await
        .unwrap()
        .into_inner()
        .journey
        .unwrap();
    assert_eq!(back.labels, j.labels);

    let q = app
        .catalog()
        .upsert_question(UpsertQuestionRequest {
            question: Some(Question {
                key: "sql_q".into(),
                kind: QuestionKind::Themes as i32,
                text: format!("{SQL} {quoted}"),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .question
        .unwrap();
    assert!(app.questions().await.contains(&q));
    assert_eq!(q.text, format!("{SQL} {quoted}"));

    // In an id the fragment is refused (ids are [A-Za-z0-9._:-]), and every
    // table is still there.
    assert_eq!(
        refused_at(
            app.survey()
                .get_survey_response(GetSurveyResponseRequest { id: SQL.into() })
        )
        .await,
        ["id"]
    );
    assert_eq!(rows_in(&app.pool, "answers").await, 2);
}

#[sqlx::test]
async fn a_stream_message_of_1001_records_ends_the_stream_and_stores_nothing_of_it(pool: PgPool) {
    let app = spawn_app(pool).await;
    let first = StreamSurveyResponsesRequest {
        responses: vec![response("s0")],
    };
    let big = StreamSurveyResponsesRequest {
        responses: (1..=1001).map(|i| response(&format!("s{i}"))).collect(),
    };
    assert_eq!(
        refused_at(
            app.survey()
                .stream_survey_responses(tokio_stream::iter(vec![first, big]))
        )
        .await,
        ["messages[1].responses"]
    );
    let stored: Vec<String> = sqlx::query_scalar("SELECT id FROM survey_responses")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, ["s0"]);

    let journeys = (0..1001)
        .map(|i| simple_journey(&format!("j{i}"), "c1", "2026-01-01T00:00:00Z"))
        .collect();
    assert_eq!(
        refused_at(
            app.journeys()
                .stream_journeys(tokio_stream::iter(vec![StreamJourneysRequest { journeys }]))
        )
        .await,
        ["messages[0].journeys"]
    );
    assert_eq!(rows_in(&app.pool, "journeys").await, 0);
}

#[sqlx::test]
async fn another_tenants_outcome_token_is_rejected_without_leaking_its_data(pool: PgPool) {
    let app = spawn_app(pool).await;
    let b_key = app.add_tenant("b").await;
    let secret: Vec<Outcome> = (0..3).map(|i| outcome(&format!("b-secret-{i}"))).collect();
    app.outcomes_as(Some(&b_key))
        .submit_outcomes(SubmitOutcomesRequest { outcomes: secret })
        .await
        .unwrap();
    app.outcomes()
        .submit_outcomes(SubmitOutcomesRequest {
            outcomes: vec![outcome("a1"), outcome("a2")],
        })
        .await
        .unwrap();
    let b_page = app
        .outcomes_as(Some(&b_key))
        .list_outcomes(ListOutcomesRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!b_page.next_page_token.is_empty());
    let err = app
        .outcomes()
        .list_outcomes(ListOutcomesRequest {
            page_size: 1,
            page_token: b_page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violation_fields(&err), ["page_token"]);
    assert!(!format!("{err:?}").contains("b-secret"), "{err:?}");
}

/// The error of `R`'s default query with a page token forged for `position`.
async fn forged_error<R: ListRpc>(app: &TestApp, position: &impl serde::Serialize) -> Status {
    let query = R::default();
    let mut request = query.clone();
    let token = forge_page_token(app.tenant, &query.fingerprint_query(), position);
    request.set_page(0, token);
    request
        .call(app, &app.key)
        .await
        .expect_err("a forged position is refused")
}

/// A token with the right fingerprint (tenant and query are guessable) but a
/// position PostgreSQL cannot take: it must be refused at `page_token`, not
/// fail in the database.
#[sqlx::test]
async fn forged_page_tokens_are_rejected_at_page_token(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.submit_responses(vec![response("r1"), response("r2")])
        .await
        .unwrap();
    let before = snapshot(&app.pool, "").await;
    let tenant = app.tenant;
    // Year -100,000 (chrono's range, not PostgreSQL's), and a NUL in the id.
    let positions: [(i64, &str); 3] = [
        (-3_217_000_000_000_000_000, "r1"),
        (7_830_000_000_000_000_000, "r1"),
        (1_767_225_600_000_000, "r\0"),
    ];
    for (micros, id) in positions {
        let position = (micros, id);
        let what = format!("({micros}, {id:?})");
        let refused = [
            forged_error::<ListSurveyResponsesRequest>(&app, &position).await,
            forged_error::<ListJourneysRequest>(&app, &position).await,
            forged_error::<ListOutcomesRequest>(&app, &position).await,
        ];
        for (err, rpc) in refused.iter().zip(["responses", "journeys", "outcomes"]) {
            assert_eq!(violation_fields(err), ["page_token"], "{rpc} {what}");
        }
    }
    let at_risk = ListAtRiskCustomersRequest {
        min_tier: EffortTier::High as i32,
        ..Default::default()
    };
    for (tier, index, customer_id) in [(3, 50.0, "c\0"), (i32::MIN, f64::MAX, "c1")] {
        let key = at_risk_position(tier, index, customer_id.into());
        let token = forge_page_token(tenant, &at_risk, &key);
        let result = app
            .customers()
            .list_at_risk_customers(ListAtRiskCustomersRequest {
                page_token: token,
                ..at_risk.clone()
            })
            .await;
        // An out-of-range but storable position is a valid (empty) page.
        if let Err(err) = result {
            assert_eq!(violation_fields(&err), ["page_token"], "{key:?}");
        } else {
            assert!(!customer_id.contains('\0'), "{key:?} was accepted");
        }
    }
    assert_eq!(snapshot(&app.pool, "").await, before);
}
