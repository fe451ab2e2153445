//! Security: every kind of bad key gets the same answer, and neither API
//! keys nor free-text comments ever reach the logs.

use std::{
    collections::BTreeMap,
    io,
    sync::{Arc, Mutex},
};

use gapscore::proto::v1::{
    Answer, GetSurveyResponseRequest, ListQuestionsRequest, RespondentRole, SubmitJourneysRequest,
    SubmitSurveyResponsesRequest, SurveyResponse,
};
use sqlx::PgPool;
use tonic::Code;
use tracing_subscriber::{EnvFilter, fmt::MakeWriter};

use crate::helpers::{
    TestApp, error_reason,
    internals::{
        revoke_key,
        telemetry::{self, LogFormat},
    },
    simple_journey, spawn_app, ts, violation_fields,
};

/// Log output collected in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

struct CapturedWriter(Arc<Mutex<Vec<u8>>>);

impl io::Write for CapturedWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = CapturedWriter;
    fn make_writer(&'a self) -> Self::Writer {
        CapturedWriter(self.0.clone())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The secret part of a `gsk_<id>_<secret>` key (the id is not secret: the
/// CLI lists it).
fn secret_of(key: &str) -> &str {
    key.rsplit('_').next().unwrap()
}

fn response_with_comment(id: &str, comment: &str) -> SurveyResponse {
    SurveyResponse {
        id: id.into(),
        role: RespondentRole::Customer as i32,
        respondent_id: "cust-1".into(),
        survey_id: String::new(),
        submitted_at: Some(ts("2026-01-05T10:00:00Z")),
        labels: BTreeMap::new(),
        answers: vec![Answer {
            question: "overall_experience".into(),
            score: Some(2),
            themes: vec![],
            comment: comment.into(),
            ..Default::default()
        }],
    }
}

/// Calls made with a real key, other keys and a comment, covering success,
/// validation failure and authentication failure.
async fn traffic(app: &TestApp, comment: &str, unknown_key: &str, revoked_key: &str) {
    app.catalog()
        .list_questions(ListQuestionsRequest {})
        .await
        .unwrap();
    // Stored (or unchanged, the second time) and read back.
    let counts = app
        .survey()
        .submit_survey_responses(SubmitSurveyResponsesRequest {
            responses: vec![response_with_comment("r1", comment)],
        })
        .await
        .expect("the response is stored")
        .into_inner()
        .counts
        .unwrap();
    assert_eq!(counts.inserted + counts.unchanged, 1, "{counts:?}");
    let back = app
        .survey()
        .get_survey_response(GetSurveyResponseRequest { id: "r1".into() })
        .await
        .expect("the response reads back")
        .into_inner()
        .response
        .unwrap();
    assert_eq!(back.answers[0].comment, comment);
    // Rejected by validation: a NUL and an over-long comment.
    let err = app
        .survey()
        .submit_survey_responses(SubmitSurveyResponsesRequest {
            responses: vec![
                response_with_comment("r2", &format!("{comment}\0")),
                response_with_comment("r3", &comment.repeat(400)),
            ],
        })
        .await
        .expect_err("invalid comments are rejected");
    assert_eq!(
        violation_fields(&err),
        [
            "responses[0].answers[0].comment",
            "responses[1].answers[0].comment"
        ]
    );
    // A label value carrying the text, valid and invalid.
    let mut journey = simple_journey("j1", "cust-1", "2026-01-05T10:00:00Z");
    journey.labels.insert("note".into(), comment.into());
    app.journeys()
        .submit_journeys(SubmitJourneysRequest {
            journeys: vec![journey.clone()],
        })
        .await
        .unwrap();
    journey
        .labels
        .insert("Bad Key".into(), format!("{comment}\0"));
    let err = app
        .journeys()
        .submit_journeys(SubmitJourneysRequest {
            journeys: vec![journey],
        })
        .await
        .expect_err("an invalid label is rejected");
    let fields = violation_fields(&err);
    assert!(
        !fields.is_empty() && fields.iter().all(|f| f.starts_with("journeys[0].labels")),
        "{fields:?}"
    );
    // Bad keys.
    for key in [unknown_key, revoked_key, "not-a-key"] {
        let err = app
            .catalog_as(Some(key))
            .list_questions(ListQuestionsRequest {})
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
    }
}

#[sqlx::test]
async fn api_keys_and_comments_never_reach_the_logs(pool: PgPool) {
    let captured = Captured::default();
    // Everything, at every level, from every crate, in both formats.
    let pretty = tracing::subscriber::set_default(telemetry::subscriber(
        LogFormat::Pretty,
        EnvFilter::new("trace"),
        captured.clone(),
    ));
    let app = spawn_app(pool).await;
    let revoked = app.add_tenant("globex").await;
    let revoked_id = revoked.split('_').nth(1).unwrap().to_owned();
    assert!(revoke_key(&app.pool, &revoked_id).await);
    let unknown = "gsk_0123456789ab_00112233445566778899aabbccddeeff0011223344556677";
    let comment = "PRIVATE-COMMENT-d41d8cd9 my card was charged twice";
    traffic(&app, comment, unknown, &revoked).await;
    drop(pretty);
    let json = tracing::subscriber::set_default(telemetry::subscriber(
        LogFormat::Json,
        EnvFilter::new("trace"),
        captured.clone(),
    ));
    traffic(&app, comment, unknown, &revoked).await;
    drop(json);

    let logs = captured.text();
    // The capture works: the per-RPC spans are there, with the tenant.
    assert!(logs.contains("rpc finished"), "nothing captured");
    assert!(logs.contains("/gapscore.v1.SurveyService/SubmitSurveyResponses"));
    assert!(logs.contains("UNAUTHENTICATED"));
    assert!(logs.contains("tenant"));
    eprintln!("captured {} bytes of logs at trace level", logs.len());
    for (what, secret) in [
        ("the API key", app.key.as_str()),
        ("the API key's secret", secret_of(&app.key)),
        ("the revoked key's secret", secret_of(&revoked)),
        ("the unknown key's secret", secret_of(unknown)),
        ("the malformed key", "not-a-key"),
        ("the comment", "PRIVATE-COMMENT-d41d8cd9"),
        ("the comment", "charged twice"),
    ] {
        assert!(!logs.contains(secret), "{what} appears in the logs");
    }
}

#[sqlx::test]
async fn every_kind_of_bad_key_gets_the_same_answer(pool: PgPool) {
    let app = spawn_app(pool).await;
    let revoked = app.add_tenant("globex").await;
    let revoked_id = revoked.split('_').nth(1).unwrap().to_owned();
    assert!(revoke_key(&app.pool, &revoked_id).await);
    let key_id = app.key.split('_').nth(1).unwrap();
    let wrong_secret = format!("gsk_{key_id}_{}", "0".repeat(48));
    let long = "x".repeat(4000);
    let keys: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("empty", Some(String::new())),
        ("garbage", Some("garbage".into())),
        (
            "well-formed, unknown",
            Some(format!("gsk_0123456789ab_{}", "a".repeat(48))),
        ),
        ("known id, wrong secret", Some(wrong_secret)),
        ("revoked", Some(revoked)),
        ("truncated", Some(app.key[..app.key.len() - 1].to_owned())),
        ("with a suffix", Some(format!("{}0", app.key))),
        ("SQL", Some("' OR '1'='1".into())),
        ("very long", Some(long)),
    ];
    let mut answers = Vec::new();
    for (what, key) in &keys {
        let err = app
            .catalog_as(key.as_deref())
            .list_questions(ListQuestionsRequest {})
            .await
            .expect_err(what);
        answers.push((
            what,
            err.code(),
            err.message().to_owned(),
            error_reason(&err),
        ));
    }
    // Schemes other than Bearer, sent raw.
    for raw in ["Basic dXNlcjpwYXNz", "Bearer", "Token abc"] {
        let mut request = tonic::Request::new(ListQuestionsRequest {});
        request
            .metadata_mut()
            .insert("authorization", raw.parse().unwrap());
        let err = app
            .catalog_as(None)
            .list_questions(request)
            .await
            .expect_err(raw);
        answers.push((
            &"other scheme",
            err.code(),
            err.message().to_owned(),
            error_reason(&err),
        ));
    }
    let first = &answers[0];
    assert_eq!(first.1, Code::Unauthenticated);
    assert_eq!(first.3, "UNAUTHENTICATED");
    for answer in &answers {
        assert_eq!(
            (answer.1, &answer.2, &answer.3),
            (first.1, &first.2, &first.3),
            "{} differs",
            answer.0
        );
    }
    // And the real key still works.
    app.catalog()
        .list_questions(ListQuestionsRequest {})
        .await
        .unwrap();
}
