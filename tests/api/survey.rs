//! SurveyService through the real server: ingest semantics, validation,
//! streaming, get, list and tenant isolation.

use std::{collections::BTreeMap, time::Instant};

use gapscore::proto::v1::{
    Answer, GetSurveyResponseRequest, IngestCounts, ListSurveyResponsesRequest, RespondentRole,
    ScoreFilter, StreamSurveyResponsesRequest, SubmitSurveyResponsesRequest, SurveyResponse,
};
use sqlx::PgPool;
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{
    TestApp, error_reason, rating, refused_at, response, sorted, spawn_app, themes, ts,
    violation_fields,
};

// ---------------------------------------------------------------- builders

/// A valid customer response with one rating.
fn simple(id: &str) -> SurveyResponse {
    response(
        id,
        RespondentRole::Customer,
        "2026-01-01T00:00:00Z",
        vec![rating("overall_experience", 4)],
    )
}

/// A realistic response with six answers, as in the throughput test.
fn six_answers(id: String, n: usize) -> SurveyResponse {
    let role = match n % 3 {
        0 => RespondentRole::Leadership,
        1 => RespondentRole::Staff,
        _ => RespondentRole::Customer,
    };
    SurveyResponse {
        id,
        role: role as i32,
        respondent_id: format!("cust-{}", n % 5000),
        survey_id: "wave-2026-q1".into(),
        submitted_at: Some(prost_types::Timestamp {
            seconds: 1_767_225_600 + (n as i64 % 86_400) * 60,
            nanos: 0,
        }),
        labels: BTreeMap::from([
            ("region".into(), ["emea", "amer", "apac"][n % 3].into()),
            ("product".into(), ["cards", "loans"][n % 2].into()),
        ]),
        answers: vec![
            rating("overall_experience", 1 + (n % 5) as i32),
            rating("speed", 1 + (n % 4) as i32),
            rating("ease", 1 + (n % 7) as i32),
            rating("likelihood_to_recommend", (n % 11) as i32),
            themes("improve", &["wait time", "billing"]),
            Answer {
                question: "csat".into(),
                score: Some(3),
                comment: "fine".into(),
                ..Default::default()
            },
        ],
    }
}

fn counts(inserted: i64, updated: i64, unchanged: i64) -> IngestCounts {
    IngestCounts {
        inserted,
        updated,
        unchanged,
    }
}

async fn get(app: &TestApp, id: &str) -> Result<SurveyResponse, tonic::Status> {
    app.survey()
        .get_survey_response(GetSurveyResponseRequest { id: id.into() })
        .await
        .map(|r| r.into_inner().response.expect("response is set"))
}

/// (responses, answers) stored for all tenants.
async fn stored(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM survey_responses), (SELECT count(*) FROM answers)")
        .fetch_one(pool)
        .await
        .unwrap()
}

// ---------------------------------------------------------------- submit and get

#[sqlx::test]
async fn a_submitted_response_comes_back_normalized(pool: PgPool) {
    let app = spawn_app(pool).await;
    let sent = SurveyResponse {
        id: "resp-1".into(),
        role: RespondentRole::Customer as i32,
        respondent_id: "cust-42".into(),
        survey_id: "wave-1".into(),
        submitted_at: Some(ts("2026-03-01T10:00:00.123456789Z")),
        labels: BTreeMap::from([
            ("region".into(), "emea".into()),
            ("product".into(), "cards".into()),
        ]),
        answers: vec![
            Answer {
                comment: "The portal kept timing out.".into(),
                ..rating("ease", 2)
            },
            themes(
                "improve",
                &["  Wait Time ", "billing", "wait time", "BILLING"],
            ),
            rating("likelihood_to_recommend", 0),
        ],
    };
    assert_eq!(
        app.submit_responses(vec![sent.clone()]).await.unwrap(),
        counts(1, 0, 0)
    );

    let back = get(&app, "resp-1").await.unwrap();
    let expected = SurveyResponse {
        // PostgreSQL keeps microseconds.
        submitted_at: Some(ts("2026-03-01T10:00:00.123456Z")),
        answers: vec![
            sent.answers[0].clone(),
            themes("improve", &["wait time", "billing"]),
            sent.answers[2].clone(),
        ],
        ..sent.clone()
    };
    assert_eq!(back, expected);
    // Empty optional strings are stored as NULL.
    let nulls: (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT a.comment, r.respondent_id FROM answers a JOIN survey_responses r USING (tenant_id, rid)
         WHERE a.question = 'improve'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(nulls, (None, Some("cust-42".into())));

    // Sending back exactly what Get returned changes nothing.
    assert_eq!(
        app.submit_responses(vec![back]).await.unwrap(),
        counts(0, 0, 1)
    );
    // Nor does the original, un-normalized form.
    assert_eq!(
        app.submit_responses(vec![sent]).await.unwrap(),
        counts(0, 0, 1)
    );
}

#[sqlx::test]
async fn get_of_an_unknown_id_is_not_found(pool: PgPool) {
    let app = spawn_app(pool).await;
    let err = get(&app, "nope").await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(error_reason(&err), "NOT_FOUND");
    let err = get(&app, "").await.unwrap_err();
    assert_eq!(violation_fields(&err), ["id"]);
    let err = get(&app, "bad id").await.unwrap_err();
    assert_eq!(violation_fields(&err), ["id"]);
}

// ---------------------------------------------------------------- validation

/// One broken record per rule of SPEC §3.1, each with the path it must be
/// reported at.
fn broken_records() -> Vec<(SurveyResponse, &'static str)> {
    let ok = || simple("x");
    let future = chrono::Utc::now() + chrono::Duration::minutes(10);
    let with_labels = |pairs: Vec<(String, String)>| SurveyResponse {
        labels: pairs.into_iter().collect(),
        ..ok()
    };
    let with_answers = |answers: Vec<Answer>| SurveyResponse { answers, ..ok() };
    vec![
        (
            SurveyResponse {
                id: "".into(),
                ..ok()
            },
            "id",
        ),
        (
            SurveyResponse {
                id: "has space".into(),
                ..ok()
            },
            "id",
        ),
        (
            SurveyResponse {
                id: "x".repeat(129),
                ..ok()
            },
            "id",
        ),
        (SurveyResponse { role: 0, ..ok() }, "role"),
        (SurveyResponse { role: 9, ..ok() }, "role"),
        (
            SurveyResponse {
                respondent_id: "cust/1".into(),
                ..ok()
            },
            "respondent_id",
        ),
        (
            SurveyResponse {
                survey_id: "w".repeat(129),
                ..ok()
            },
            "survey_id",
        ),
        (
            SurveyResponse {
                submitted_at: None,
                ..ok()
            },
            "submitted_at",
        ),
        (
            SurveyResponse {
                submitted_at: Some(ts(&future.to_rfc3339())),
                ..ok()
            },
            "submitted_at",
        ),
        (
            SurveyResponse {
                submitted_at: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -5,
                }),
                ..ok()
            },
            "submitted_at",
        ),
        (
            with_labels((0..17).map(|i| (format!("k{i}"), "v".into())).collect()),
            "labels",
        ),
        (
            with_labels(vec![("Region".into(), "emea".into())]),
            "labels[\"Region\"]",
        ),
        (
            with_labels(vec![("region".into(), "".into())]),
            "labels[\"region\"]",
        ),
        (
            with_labels(vec![("region".into(), "r".repeat(129))]),
            "labels[\"region\"]",
        ),
        (
            with_labels(vec![("region".into(), "em\0ea".into())]),
            "labels[\"region\"]",
        ),
        (with_answers(vec![]), "answers"),
        (with_answers(vec![rating("", 3)]), "answers[0].question"),
        (
            with_answers(vec![rating("no_such_question", 3)]),
            "answers[0].question",
        ),
        (
            with_answers(vec![rating("speed", 3), rating("speed", 4)]),
            "answers[1].question",
        ),
        (
            with_answers(vec![Answer {
                score: None,
                ..rating("speed", 0)
            }]),
            "answers[0].score",
        ),
        (with_answers(vec![rating("speed", 6)]), "answers[0].score"),
        (with_answers(vec![rating("speed", 0)]), "answers[0].score"),
        (
            with_answers(vec![rating("likelihood_to_recommend", 11)]),
            "answers[0].score",
        ),
        (
            with_answers(vec![Answer {
                themes: vec!["fast".into()],
                ..rating("speed", 3)
            }]),
            "answers[0].themes",
        ),
        (
            with_answers(vec![Answer {
                score: Some(3),
                ..themes("improve", &["billing"])
            }]),
            "answers[0].score",
        ),
        (
            with_answers(vec![themes("improve", &[])]),
            "answers[0].themes",
        ),
        (
            with_answers(vec![Answer {
                themes: (0..21).map(|i| format!("t{i}")).collect(),
                ..themes("improve", &[])
            }]),
            "answers[0].themes",
        ),
        (
            with_answers(vec![themes("improve", &["billing", "   "])]),
            "answers[0].themes[1]",
        ),
        (
            with_answers(vec![Answer {
                themes: vec!["t".repeat(65)],
                ..themes("improve", &[])
            }]),
            "answers[0].themes[0]",
        ),
        (
            with_answers(vec![themes("improve", &["bill\0ing"])]),
            "answers[0].themes[0]",
        ),
        (
            with_answers(vec![Answer {
                comment: "c".repeat(4001),
                ..rating("speed", 3)
            }]),
            "answers[0].comment",
        ),
        (
            with_answers(vec![Answer {
                comment: "nul\0".into(),
                ..rating("speed", 3)
            }]),
            "answers[0].comment",
        ),
    ]
}

#[sqlx::test]
async fn every_rule_is_reported_with_its_path_and_nothing_is_stored(pool: PgPool) {
    let app = spawn_app(pool).await;
    let cases = broken_records();
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for (i, (mut record, path)) in cases.into_iter().enumerate() {
        if path != "id" {
            record.id = format!("r{i}");
        }
        batch.push(record);
        expected.push(format!("responses[{i}].{path}"));
    }
    // And a duplicate id, reported at the second occurrence.
    let dup = batch.len();
    batch.push(simple("twin"));
    batch.push(simple("twin"));
    expected.push(format!("responses[{}].id", dup + 1));

    let err = app.submit_responses(batch).await.unwrap_err();
    assert_eq!(error_reason(&err), "INVALID_ARGUMENT");
    assert_eq!(sorted(violation_fields(&err)), sorted(expected));
    let details = err.get_details_bad_request().unwrap();
    for v in &details.field_violations {
        assert!(!v.description.is_empty(), "{v:?}");
    }
    let describe = |field: &str| {
        details
            .field_violations
            .iter()
            .filter(|v| v.field == field)
            .map(|v| v.description.clone())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let unknown = describe("responses[17].answers[0].question");
    assert!(
        unknown.contains("CatalogService/ListQuestions"),
        "{unknown}"
    );
    let twin = describe(&format!("responses[{}].id", dup + 1));
    assert!(twin.contains(&format!("responses[{dup}].id")), "{twin}");
    assert_eq!(stored(&app.pool).await, (0, 0));
}

#[sqlx::test]
async fn more_than_100_answers_are_rejected(pool: PgPool) {
    let app = spawn_app(pool).await;
    let record = SurveyResponse {
        answers: (0..101).map(|_| rating("speed", 3)).collect(),
        ..simple("r1")
    };
    let err = app.submit_responses(vec![record]).await.unwrap_err();
    assert!(violation_fields(&err).contains(&"responses[0].answers".to_string()));
    assert_eq!(stored(&app.pool).await, (0, 0));
}

#[sqlx::test]
async fn limits_are_inclusive(pool: PgPool) {
    let app = spawn_app(pool).await;
    let soon = chrono::Utc::now() + chrono::Duration::minutes(4);
    let record = SurveyResponse {
        id: "r".repeat(128),
        respondent_id: "c".repeat(128),
        submitted_at: Some(ts(&soon.to_rfc3339())),
        labels: (0..16)
            .map(|i| (format!("k{i}"), "v".repeat(128)))
            .collect(),
        answers: vec![
            Answer {
                comment: "é".repeat(4000),
                ..rating("likelihood_to_recommend", 10)
            },
            rating("ease", 7),
            rating("speed", 1),
            Answer {
                // 25 tags, 20 after de-duplication.
                themes: (0..25).map(|i| format!(" T{} ", i % 20)).collect(),
                ..themes("do_well", &[])
            },
            themes("improve", &["é".repeat(64).as_str()]),
        ],
        ..simple("x")
    };
    assert_eq!(
        app.submit_responses(vec![record]).await.unwrap(),
        counts(1, 0, 0)
    );
    let back = get(&app, &"r".repeat(128)).await.unwrap();
    assert_eq!(back.answers[3].themes.len(), 20);
    assert_eq!(back.answers[3].themes[0], "t0");
}

#[sqlx::test]
async fn one_bad_record_stores_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut batch: Vec<_> = (0..10).map(|i| simple(&format!("r{i}"))).collect();
    batch[7].answers[0].score = Some(9);
    let err = app.submit_responses(batch).await.unwrap_err();
    assert_eq!(violation_fields(&err), ["responses[7].answers[0].score"]);
    assert!(err.message().contains("responses[7].answers[0].score"));
    assert_eq!(stored(&app.pool).await, (0, 0));
}

#[sqlx::test]
async fn batches_hold_1_to_1000_records(pool: PgPool) {
    let app = spawn_app(pool).await;
    let err = app.submit_responses(vec![]).await.unwrap_err();
    assert_eq!(violation_fields(&err), ["responses"]);
    let batch: Vec<_> = (0..1001).map(|i| simple(&format!("r{i}"))).collect();
    let err = app.submit_responses(batch.clone()).await.unwrap_err();
    assert_eq!(violation_fields(&err), ["responses"]);
    assert_eq!(stored(&app.pool).await, (0, 0));
    let ok = app.submit_responses(batch[..1000].to_vec()).await.unwrap();
    assert_eq!(ok, counts(1000, 0, 0));
}

#[sqlx::test]
async fn a_thoroughly_broken_batch_still_gets_a_readable_error(pool: PgPool) {
    let app = spawn_app(pool).await;
    // Three violations per record, long label keys included: the error must
    // still fit in the trailers a client accepts.
    let batch: Vec<_> = (0..1000)
        .map(|i| SurveyResponse {
            role: 0,
            labels: BTreeMap::from([("K".repeat(500), "v".into())]),
            answers: vec![rating("no_such_question", 1)],
            ..simple(&format!("r{i}"))
        })
        .collect();
    let err = app.submit_responses(batch).await.unwrap_err();
    let fields = violation_fields(&err);
    assert!(!fields.is_empty() && fields.len() < 3000);
    assert_eq!(fields[0], "responses[0].role");
    assert!(
        err.message()
            .contains(&format!("(and {} more violations)", 3000 - 1)),
        "{}",
        err.message()
    );
    assert_eq!(stored(&app.pool).await, (0, 0));
}

// ---------------------------------------------------------------- idempotency

#[sqlx::test]
async fn resending_is_idempotent_and_edits_replace(pool: PgPool) {
    let app = spawn_app(pool).await;
    let batch: Vec<_> = (0..20).map(|i| six_answers(format!("r{i}"), i)).collect();
    assert_eq!(
        app.submit_responses(batch.clone()).await.unwrap(),
        counts(20, 0, 0)
    );
    assert_eq!(stored(&app.pool).await, (20, 120));
    let versions = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT string_agg(xmin::text, ',' ORDER BY rid) FROM survey_responses",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    let before = versions().await;

    assert_eq!(
        app.submit_responses(batch.clone()).await.unwrap(),
        counts(0, 0, 20)
    );
    assert_eq!(
        versions().await,
        before,
        "an identical re-send writes nothing"
    );

    let mut edited = batch.clone();
    edited[5].answers[0].score = Some(1);
    edited[5].answers.truncate(2);
    edited[5].labels.insert("tier".into(), "gold".into());
    assert_eq!(
        app.submit_responses(edited.clone()).await.unwrap(),
        counts(0, 1, 19)
    );
    assert_eq!(stored(&app.pool).await, (20, 116));
    let back = get(&app, "r5").await.unwrap();
    assert_eq!(back.answers.len(), 2);
    assert_eq!(back.answers[0].score, Some(1));
    assert_eq!(back.labels["tier"], "gold");

    // Mixed: some new, some changed back, the rest unchanged.
    let mut mixed = batch;
    mixed.push(six_answers("r20".into(), 20));
    mixed.push(six_answers("r21".into(), 21));
    assert_eq!(app.submit_responses(mixed).await.unwrap(), counts(2, 1, 19));
    assert_eq!(stored(&app.pool).await, (22, 132));
}

// ---------------------------------------------------------------- streaming

fn message(ids: std::ops::Range<usize>) -> StreamSurveyResponsesRequest {
    StreamSurveyResponsesRequest {
        responses: ids.map(|i| six_answers(format!("s{i}"), i)).collect(),
    }
}

#[sqlx::test]
async fn a_stream_commits_each_message_and_reports_totals(pool: PgPool) {
    let app = spawn_app(pool).await;
    let messages = vec![message(0..10), message(10..20), message(20..25)];
    let done = app
        .survey()
        .stream_survey_responses(tokio_stream::iter(messages.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.counts, Some(counts(25, 0, 0)));
    assert_eq!(done.messages, 3);

    let done = app
        .survey()
        .stream_survey_responses(tokio_stream::iter(messages))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.counts, Some(counts(0, 0, 25)));
    assert_eq!(stored(&app.pool).await, (25, 150));

    let done = app
        .survey()
        .stream_survey_responses(tokio_stream::empty())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((done.counts, done.messages), (Some(counts(0, 0, 0)), 0));
}

#[sqlx::test]
async fn an_invalid_message_ends_the_stream_and_earlier_ones_stay(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut bad = message(30..40);
    bad.responses[2].role = 0;
    bad.responses[4].answers[1].score = Some(99);
    let messages = vec![message(0..10), message(10..20), message(20..30), bad];
    let err = app
        .survey()
        .stream_survey_responses(tokio_stream::iter(messages))
        .await
        .unwrap_err();
    assert_eq!(
        violation_fields(&err),
        [
            "messages[3].responses[2].role",
            "messages[3].responses[4].answers[1].score"
        ]
    );
    assert!(err.message().contains("messages[3]"), "{}", err.message());
    assert_eq!(stored(&app.pool).await, (30, 180));

    // An empty message is invalid too.
    assert_eq!(
        refused_at(
            app.survey()
                .stream_survey_responses(tokio_stream::iter(vec![
                    message(0..1),
                    StreamSurveyResponsesRequest::default(),
                ]))
        )
        .await,
        ["messages[1].responses"]
    );
}

/// 50 messages of 1,000 records with six answers each, generated lazily on
/// the client so neither side holds the whole stream.
#[sqlx::test]
async fn a_50000_record_stream_ingests_completely(pool: PgPool) {
    let app = spawn_app(pool).await;
    const MESSAGES: usize = 50;
    const PER_MESSAGE: usize = 1000;
    let stream = futures::stream::iter((0..MESSAGES).map(|m| {
        StreamSurveyResponsesRequest {
            responses: (m * PER_MESSAGE..(m + 1) * PER_MESSAGE)
                .map(|i| six_answers(format!("bulk-{i}"), i))
                .collect(),
        }
    }));
    let started = Instant::now();
    let done = app
        .survey()
        .stream_survey_responses(stream)
        .await
        .unwrap()
        .into_inner();
    let elapsed = started.elapsed();
    let total = (MESSAGES * PER_MESSAGE) as i64;
    assert_eq!(done.counts, Some(counts(total, 0, 0)));
    assert_eq!(done.messages, MESSAGES as i64);
    assert_eq!(stored(&app.pool).await, (total, total * 6));
    eprintln!(
        "ingested {total} survey responses ({} answers) in {:.2} s: {:.0} records/s",
        total * 6,
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
}

// ---------------------------------------------------------------- list

async fn list(
    app: &TestApp,
    request: ListSurveyResponsesRequest,
) -> Result<(Vec<SurveyResponse>, String), tonic::Status> {
    app.survey().list_survey_responses(request).await.map(|r| {
        let r = r.into_inner();
        (r.responses, r.next_page_token)
    })
}

#[sqlx::test]
async fn pages_walk_every_record_once_in_order(pool: PgPool) {
    let app = spawn_app(pool).await;
    // Many records share a timestamp, so the id breaks ties.
    let batch: Vec<_> = (0..237)
        .map(|i| SurveyResponse {
            submitted_at: Some(prost_types::Timestamp {
                seconds: 1_767_225_600 + (i % 17) * 3600,
                nanos: 0,
            }),
            ..simple(&format!("p{i:03}"))
        })
        .collect();
    app.submit_responses(batch).await.unwrap();

    let mut pages = 0;
    let mut seen: Vec<(i64, String)> = Vec::new();
    let mut token = String::new();
    loop {
        let (page, next) = list(
            &app,
            ListSurveyResponsesRequest {
                page_size: 50,
                page_token: token,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        pages += 1;
        assert!(page.len() <= 50);
        seen.extend(
            page.into_iter()
                .map(|r| (r.submitted_at.unwrap().seconds, r.id)),
        );
        if next.is_empty() {
            break;
        }
        token = next;
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 237);
    let mut expected = seen.clone();
    expected.sort();
    expected.dedup();
    assert_eq!(seen, expected, "ordered by (submitted_at, id), no repeats");

    // page_size may change between pages.
    let (first, token) = list(
        &app,
        ListSurveyResponsesRequest {
            page_size: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (second, _) = list(
        &app,
        ListSurveyResponsesRequest {
            page_size: 7,
            page_token: token,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(first.len(), 10);
    assert_eq!(second[0].id, seen[10].1);
}

#[sqlx::test]
async fn page_size_defaults_and_is_coerced(pool: PgPool) {
    let app = spawn_app(pool).await;
    let batch: Vec<_> = (0..1000).map(|i| simple(&format!("a{i:04}"))).collect();
    app.submit_responses(batch).await.unwrap();
    app.submit_responses((0..5).map(|i| simple(&format!("b{i}"))).collect())
        .await
        .unwrap();

    let (page, next) = list(&app, ListSurveyResponsesRequest::default())
        .await
        .unwrap();
    assert_eq!(page.len(), 50);
    assert!(!next.is_empty());
    let (page, next) = list(
        &app,
        ListSurveyResponsesRequest {
            page_size: 5000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(page.len(), 1000);
    let (rest, last) = list(
        &app,
        ListSurveyResponsesRequest {
            page_size: 5000,
            page_token: next,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((rest.len(), last.as_str()), (5, ""));
    // Answers come with every listed response.
    assert!(
        rest.iter()
            .all(|r| r.answers == vec![rating("overall_experience", 4)])
    );

    assert_eq!(
        refused_at(list(
            &app,
            ListSurveyResponsesRequest {
                page_size: -1,
                ..Default::default()
            },
        ))
        .await,
        ["page_size"]
    );
}

#[sqlx::test]
async fn filters_restrict_the_listing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let rec = |id: &str, role: RespondentRole, at: &str, region: &str, survey: &str, who: &str| {
        SurveyResponse {
            role: role as i32,
            submitted_at: Some(ts(at)),
            labels: BTreeMap::from([
                ("region".into(), region.into()),
                ("product".into(), "cards".into()),
            ]),
            survey_id: survey.into(),
            respondent_id: who.into(),
            ..simple(id)
        }
    };
    use RespondentRole::{Customer, Leadership, Staff};
    app.submit_responses(vec![
        rec("a", Customer, "2026-01-01T00:00:00Z", "emea", "w1", "c1"),
        rec("b", Customer, "2026-01-02T00:00:00Z", "amer", "w1", "c2"),
        rec("c", Leadership, "2026-01-03T00:00:00Z", "emea", "w2", ""),
        rec("d", Staff, "2026-01-04T00:00:00Z", "emea", "w2", "s1"),
        rec("e", Customer, "2026-01-05T00:00:00Z", "emea", "", "c1"),
    ])
    .await
    .unwrap();
    let filtered = |filter: ScoreFilter| ListSurveyResponsesRequest {
        filter: Some(filter),
        ..Default::default()
    };

    // The window is half-open: [start, end).
    let window = filtered(ScoreFilter {
        start_time: Some(ts("2026-01-02T00:00:00Z")),
        end_time: Some(ts("2026-01-04T00:00:00Z")),
        ..Default::default()
    });
    assert_eq!(app.list_all_responses(window).await, ["b", "c"]);
    let from = filtered(ScoreFilter {
        start_time: Some(ts("2026-01-04T00:00:00Z")),
        ..Default::default()
    });
    assert_eq!(app.list_all_responses(from).await, ["d", "e"]);

    let labels = filtered(ScoreFilter {
        labels: BTreeMap::from([
            ("region".into(), "emea".into()),
            ("product".into(), "cards".into()),
        ]),
        ..Default::default()
    });
    assert_eq!(app.list_all_responses(labels).await, ["a", "c", "d", "e"]);
    let no_match = filtered(ScoreFilter {
        labels: BTreeMap::from([
            ("region".into(), "emea".into()),
            ("product".into(), "loans".into()),
        ]),
        ..Default::default()
    });
    assert!(app.list_all_responses(no_match).await.is_empty());

    let survey = filtered(ScoreFilter {
        survey_id: "w2".into(),
        // `intent` does not apply to survey responses.
        intent: "ignored".into(),
        ..Default::default()
    });
    assert_eq!(app.list_all_responses(survey).await, ["c", "d"]);

    let role = ListSurveyResponsesRequest {
        role: Customer as i32,
        ..Default::default()
    };
    assert_eq!(app.list_all_responses(role).await, ["a", "b", "e"]);
    let respondent = ListSurveyResponsesRequest {
        respondent_id: "c1".into(),
        ..Default::default()
    };
    assert_eq!(app.list_all_responses(respondent).await, ["a", "e"]);

    let combined = ListSurveyResponsesRequest {
        role: Customer as i32,
        respondent_id: "c1".into(),
        filter: Some(ScoreFilter {
            end_time: Some(ts("2026-01-03T00:00:00Z")),
            labels: BTreeMap::from([("region".into(), "emea".into())]),
            survey_id: "w1".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(app.list_all_responses(combined).await, ["a"]);
}

#[sqlx::test]
async fn invalid_filters_are_rejected(pool: PgPool) {
    let app = spawn_app(pool).await;
    assert_eq!(
        sorted(
            refused_at(list(
                &app,
                ListSurveyResponsesRequest {
                    role: 9,
                    respondent_id: "bad id".into(),
                    filter: Some(ScoreFilter {
                        start_time: Some(ts("2026-01-02T00:00:00Z")),
                        end_time: Some(ts("2026-01-02T00:00:00Z")),
                        labels: BTreeMap::from([("Bad".into(), "x".into())]),
                        survey_id: "bad/id".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ))
            .await
        ),
        sorted(vec![
            "role",
            "respondent_id",
            "filter.end_time",
            "filter.labels[\"Bad\"]",
            "filter.survey_id",
        ])
    );
}

#[sqlx::test]
async fn page_tokens_only_work_for_their_query_and_tenant(pool: PgPool) {
    let app = spawn_app(pool).await;
    let b_key = app.add_tenant("b").await;
    let batch: Vec<_> = (0..5).map(|i| simple(&format!("r{i}"))).collect();
    app.submit_responses(batch.clone()).await.unwrap();
    app.survey_as(Some(&b_key))
        .submit_survey_responses(SubmitSurveyResponsesRequest { responses: batch })
        .await
        .unwrap();

    let query = ListSurveyResponsesRequest {
        page_size: 2,
        ..Default::default()
    };
    let (_, token) = list(&app, query.clone()).await.unwrap();
    assert!(!token.is_empty());

    let other_query = ListSurveyResponsesRequest {
        role: RespondentRole::Customer as i32,
        page_token: token.clone(),
        ..query.clone()
    };
    let err = list(&app, other_query).await.unwrap_err();
    assert_eq!(violation_fields(&err), ["page_token"]);

    assert_eq!(
        refused_at(
            app.survey_as(Some(&b_key))
                .list_survey_responses(ListSurveyResponsesRequest {
                    page_token: token.clone(),
                    ..query.clone()
                })
        )
        .await,
        ["page_token"]
    );

    assert_eq!(
        refused_at(list(
            &app,
            ListSurveyResponsesRequest {
                page_token: "not-a-token".into(),
                ..query.clone()
            },
        ))
        .await,
        ["page_token"]
    );

    // The genuine token still works.
    let (page, _) = list(
        &app,
        ListSurveyResponsesRequest {
            page_token: token,
            ..query
        },
    )
    .await
    .unwrap();
    assert_eq!(page.len(), 2);
}

// ---------------------------------------------------------------- tenants

#[sqlx::test]
async fn tenants_are_isolated(pool: PgPool) {
    let app = spawn_app(pool).await;
    let b_key = app.add_tenant("b").await;
    let a_records: Vec<_> = (0..3).map(|i| six_answers(format!("r{i}"), i)).collect();
    let mut a_all = a_records.clone();
    a_all.push(simple("a-only"));
    assert_eq!(app.submit_responses(a_all).await.unwrap(), counts(4, 0, 0));
    let a_before = get(&app, "r0").await.unwrap();

    // Tenant B sends the same ids with other content: new records for B.
    let b_records: Vec<_> = a_records
        .iter()
        .map(|r| SurveyResponse {
            role: RespondentRole::Leadership as i32,
            answers: vec![rating("speed", 5)],
            ..r.clone()
        })
        .collect();
    let b = app.survey_as(Some(&b_key));
    let b_counts = b
        .clone()
        .submit_survey_responses(SubmitSurveyResponsesRequest {
            responses: b_records.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .counts;
    assert_eq!(b_counts, Some(counts(3, 0, 0)));

    let b_r0 = b
        .clone()
        .get_survey_response(GetSurveyResponseRequest { id: "r0".into() })
        .await
        .unwrap()
        .into_inner()
        .response
        .unwrap();
    assert_eq!(b_r0, b_records[0]);
    let err = b
        .clone()
        .get_survey_response(GetSurveyResponseRequest {
            id: "a-only".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let b_list = b
        .clone()
        .list_survey_responses(ListSurveyResponsesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut b_ids: Vec<_> = b_list.responses.into_iter().map(|r| r.id).collect();
    b_ids.sort();
    assert_eq!(b_ids, ["r0", "r1", "r2"]);

    // A is untouched.
    assert_eq!(get(&app, "r0").await.unwrap(), a_before);
    assert_eq!(
        app.list_all_responses(ListSurveyResponsesRequest::default())
            .await
            .len(),
        4
    );
    assert_eq!(
        app.submit_responses(a_records).await.unwrap(),
        counts(0, 0, 3),
        "A's records were not replaced by B's"
    );
}
