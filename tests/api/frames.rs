//! Answer frames (SPEC §16.1) through the real server: what is stored and
//! returned, idempotency, every new validation rule, and EXPERIENCE-only
//! scores.

use gapscore::proto::v1::{
    Answer, AnswerFrame, GetPerceptionGapRequest, GetSurveyResponseRequest, IngestCounts,
    RespondentRole, SurveyResponse,
};
use sqlx::PgPool;

use crate::helpers::{
    TestApp, framed, rating, refused_at, response, spawn_app, sql, themes, versus,
};

/// A customer's answers to `speed` in every frame, and a THEMES answer.
fn every_frame(id: &str, experience: i32) -> SurveyResponse {
    response(
        id,
        RespondentRole::Customer,
        "2026-02-01T10:00:00Z",
        vec![
            framed("speed", AnswerFrame::Expectation, 5),
            rating("speed", experience),
            framed("speed", AnswerFrame::Importance, 4),
            versus("speed", "acme", 2),
            versus("speed", "globex", 3),
            themes("competitors_do_better", &["Price"]),
        ],
    )
}

async fn get(app: &TestApp, id: &str) -> SurveyResponse {
    app.survey()
        .get_survey_response(GetSurveyResponseRequest { id: id.into() })
        .await
        .expect("get")
        .into_inner()
        .response
        .expect("response")
}

fn counts(inserted: i64, updated: i64, unchanged: i64) -> IngestCounts {
    IngestCounts {
        inserted,
        updated,
        unchanged,
    }
}

#[sqlx::test]
async fn every_frame_is_stored_and_returned_in_order(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sent = every_frame("r1", 3);
    assert_eq!(
        app.submit_responses(vec![sent.clone()]).await.unwrap(),
        counts(1, 0, 0)
    );
    let back = get(&app, "r1").await;
    let normalized_themes = Answer {
        themes: vec!["price".into()],
        ..sent.answers[5].clone()
    };
    let mut want = sent.answers.clone();
    want[5] = normalized_themes;
    assert_eq!(back.answers, want);
    // Only the EXPERIENCE answers are in `answers`, the rest in
    // `framed_answers`: every existing score reads the first.
    assert_eq!(sql::rows_in(&pool, "answers").await, 2);
    assert_eq!(sql::rows_in(&pool, "framed_answers").await, 4);
    // What Get returned re-sends as unchanged; a changed expectation is an
    // update that replaces every answer.
    assert_eq!(
        app.submit_responses(vec![back.clone()]).await.unwrap(),
        counts(0, 0, 1)
    );
    let mut changed = back;
    changed.answers[0].score = Some(4);
    changed.answers.truncate(2);
    assert_eq!(
        app.submit_responses(vec![changed.clone()]).await.unwrap(),
        counts(0, 1, 0)
    );
    assert_eq!(get(&app, "r1").await.answers, changed.answers);
    assert_eq!(sql::rows_in(&pool, "framed_answers").await, 1);
}

#[sqlx::test]
async fn an_explicit_experience_frame_is_the_same_as_none(pool: PgPool) {
    let app = spawn_app(pool).await;
    let plain = response(
        "r1",
        RespondentRole::Customer,
        "2026-02-01T10:00:00Z",
        vec![rating("speed", 4)],
    );
    app.submit_responses(vec![plain.clone()]).await.unwrap();
    let mut explicit = plain.clone();
    explicit.answers[0].frame = AnswerFrame::Experience as i32;
    assert_eq!(
        app.submit_responses(vec![explicit]).await.unwrap(),
        counts(0, 0, 1)
    );
    assert_eq!(get(&app, "r1").await, plain);
}

#[sqlx::test]
async fn every_frame_rule_names_its_field_and_nothing_is_written(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let bad = |answers: Vec<Answer>| {
        response(
            "bad",
            RespondentRole::Customer,
            "2026-02-01T10:00:00Z",
            answers,
        )
    };
    let no_competitor = framed("speed", AnswerFrame::Competitor, 3);
    let competitor_elsewhere = Answer {
        competitor: "acme".into(),
        ..framed("speed", AnswerFrame::Expectation, 3)
    };
    let framed_themes = Answer {
        frame: AnswerFrame::Expectation as i32,
        ..themes("improve", &["wait"])
    };
    let unknown_frame = Answer {
        frame: 9,
        ..rating("speed", 3)
    };
    let cases: Vec<(SurveyResponse, Vec<&str>)> = vec![
        (
            bad(vec![no_competitor]),
            vec!["responses[0].answers[0].competitor"],
        ),
        (
            bad(vec![competitor_elsewhere]),
            vec!["responses[0].answers[0].competitor"],
        ),
        (
            bad(vec![versus("speed", "ACME Inc", 3)]),
            vec!["responses[0].answers[0].competitor"],
        ),
        (
            bad(vec![framed_themes]),
            vec!["responses[0].answers[0].frame"],
        ),
        (
            bad(vec![unknown_frame]),
            vec!["responses[0].answers[0].frame"],
        ),
        (
            bad(vec![
                framed("speed", AnswerFrame::Expectation, 3),
                framed("speed", AnswerFrame::Expectation, 4),
                versus("speed", "acme", 3),
                versus("speed", "acme", 2),
                rating("speed", 3),
                rating("speed", 3),
                // Not repeats: other frames and another competitor.
                framed("speed", AnswerFrame::Importance, 3),
                versus("speed", "globex", 3),
            ]),
            vec![
                "responses[0].answers[1].frame",
                "responses[0].answers[3].competitor",
                "responses[0].answers[5].question",
            ],
        ),
        (
            bad(vec![framed("speed", AnswerFrame::Importance, 9)]),
            vec!["responses[0].answers[0].score"],
        ),
    ];
    for (record, fields) in cases {
        let got =
            refused_at(app.submit_responses(vec![every_frame("ok", 3), record.clone()])).await;
        let want: Vec<String> = fields
            .iter()
            .map(|f| f.replace("responses[0]", "responses[1]"))
            .collect();
        assert_eq!(got, want, "{record:?}");
    }
    assert_eq!(sql::rows_in(&pool, "survey_responses").await, 0);
    assert_eq!(sql::rows_in(&pool, "framed_answers").await, 0);
}

#[sqlx::test]
async fn framed_answers_leave_the_perception_gap_unchanged(pool: PgPool) {
    let app = spawn_app(pool).await;
    let gap = || async {
        app.scoring()
            .get_perception_gap(GetPerceptionGapRequest::default())
            .await
            .unwrap()
            .into_inner()
    };
    let plain: Vec<SurveyResponse> = (0..6)
        .map(|i| {
            response(
                &format!("r{i}"),
                RespondentRole::Customer,
                "2026-02-01T10:00:00Z",
                vec![
                    rating("speed", 1 + i % 5),
                    themes("competitors_do_better", &["price"]),
                ],
            )
        })
        .collect();
    app.submit_responses(plain.clone()).await.unwrap();
    let before = gap().await;
    let with_frames: Vec<SurveyResponse> = plain
        .into_iter()
        .map(|mut r| {
            r.answers.push(framed("speed", AnswerFrame::Expectation, 5));
            r.answers
                .push(framed("convenience", AnswerFrame::Importance, 1));
            r.answers.push(versus("speed", "acme", 1));
            r
        })
        .collect();
    app.submit_responses(with_frames).await.unwrap();
    assert_eq!(gap().await, before);
    assert!(
        before
            .overall
            .unwrap()
            .themes
            .iter()
            .any(|t| t.question == "competitors_do_better"),
        "the new built-in THEMES question is reported like the others"
    );
}
