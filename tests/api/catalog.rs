//! CatalogService: built-in and custom questions, the scoring model and its etag.

use gapscore::proto::v1::*;
use sqlx::PgPool;
use tonic::Code;

use crate::helpers::{error_reason, rating, refused_at, response, spawn_app, violation_fields};

fn custom(key: &str, min: i32, max: i32, fav: i32, unfav: Option<i32>) -> Question {
    Question {
        key: key.into(),
        kind: QuestionKind::Rating as i32,
        text: "Custom".into(),
        scale_min: min,
        scale_max: max,
        favorable_min: fav,
        unfavorable_max: unfav,
        built_in: false,
    }
}

#[sqlx::test]
async fn every_tenant_starts_with_the_built_in_questions(pool: PgPool) {
    let app = spawn_app(pool).await;
    let qs = app.questions().await;
    let keys: Vec<_> = qs.iter().map(|q| q.key.as_str()).collect();
    assert_eq!(keys.len(), 15);
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ordered by key");
    let ease = qs.iter().find(|q| q.key == "ease").unwrap();
    assert_eq!(
        (
            ease.scale_min,
            ease.scale_max,
            ease.favorable_min,
            ease.unfavorable_max
        ),
        (1, 7, 5, Some(3))
    );
    let nps = qs
        .iter()
        .find(|q| q.key == "likelihood_to_recommend")
        .unwrap();
    assert_eq!(
        (
            nps.scale_min,
            nps.scale_max,
            nps.favorable_min,
            nps.unfavorable_max
        ),
        (0, 10, 9, Some(6))
    );
    assert!(qs.iter().all(|q| q.built_in));
    assert_eq!(
        qs.iter()
            .filter(|q| q.kind == QuestionKind::Themes as i32)
            .count(),
        6
    );
}

#[sqlx::test]
async fn custom_questions_are_created_updated_and_validated(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut catalog = app.catalog();
    let r = catalog
        .upsert_question(UpsertQuestionRequest {
            question: Some(custom("billing_clarity", 1, 10, 8, Some(4))),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.created);
    let r = catalog
        .upsert_question(UpsertQuestionRequest {
            question: Some(custom("billing_clarity", 1, 10, 7, None)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!r.created);
    assert_eq!(r.question.unwrap().unfavorable_max, None);

    let err = catalog
        .upsert_question(UpsertQuestionRequest {
            question: Some(custom("ease", 1, 10, 7, None)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&err), "BUILT_IN_QUESTION");

    let err = catalog
        .upsert_question(UpsertQuestionRequest {
            question: Some(custom("Bad Key", 5, 5, 9, Some(9))),
        })
        .await
        .unwrap_err();
    let fields = violation_fields(&err);
    for f in [
        "question.key",
        "question.scale_max",
        "question.favorable_min",
        "question.unfavorable_max",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
    }
    assert_eq!(
        refused_at(catalog.upsert_question(UpsertQuestionRequest {
            question: Some(custom("wide", 0, 101, 50, None)),
        }))
        .await,
        ["question.scale_max"]
    );
}

#[sqlx::test]
async fn a_scale_cannot_change_once_answers_exist(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut catalog = app.catalog();
    catalog
        .upsert_question(UpsertQuestionRequest {
            question: Some(custom("q1", 1, 5, 4, None)),
        })
        .await
        .unwrap();
    app.submit_responses(vec![response(
        "r1",
        RespondentRole::Customer,
        "2026-01-01T00:00:00Z",
        vec![rating("q1", 4)],
    )])
    .await
    .unwrap();
    let err = catalog
        .upsert_question(UpsertQuestionRequest {
            question: Some(custom("q1", 1, 7, 5, None)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&err), "QUESTION_HAS_ANSWERS");
    // The wording and favorable threshold may still change.
    catalog
        .upsert_question(UpsertQuestionRequest {
            question: Some(custom("q1", 1, 5, 5, None)),
        })
        .await
        .unwrap();
}

#[sqlx::test]
async fn the_scoring_model_uses_an_etag(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut catalog = app.catalog();
    let model = app.scoring_model().await;
    assert_eq!(model.min_group_size, 5);
    assert_eq!(model.weights.as_ref().unwrap().extra_contact, 15.0);
    assert_eq!(model.priors.len(), 4);
    assert!(!model.etag.is_empty());

    let mut changed = model.clone();
    changed.min_group_size = 10;
    let updated = catalog
        .update_scoring_model(UpdateScoringModelRequest {
            model: Some(changed.clone()),
        })
        .await
        .unwrap()
        .into_inner()
        .model
        .unwrap();
    assert_eq!(updated.min_group_size, 10);
    assert_ne!(updated.etag, model.etag);

    // The first etag is stale now, even for content equal to the original.
    let err = catalog
        .update_scoring_model(UpdateScoringModelRequest {
            model: Some(model.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(error_reason(&err), "STALE_ETAG");

    // A → B → A: the content is the first one's again, its etag is not.
    let back = catalog
        .update_scoring_model(UpdateScoringModelRequest {
            model: Some(ScoringModel {
                etag: updated.etag.clone(),
                ..model.clone()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .model
        .unwrap();
    assert_eq!(back.min_group_size, model.min_group_size);
    assert_ne!(
        back.etag, model.etag,
        "an etag names a version, not a content"
    );
    assert_ne!(back.etag, updated.etag);
    let err = catalog
        .update_scoring_model(UpdateScoringModelRequest {
            model: Some(changed.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::Aborted,
        "the first A's etag after A → B → A"
    );
    assert_eq!(error_reason(&err), "STALE_ETAG");
    let updated = back;

    let mut bad = updated.clone();
    bad.high_effort_from = 10.0;
    bad.low_effort_below = 20.0;
    assert_eq!(
        refused_at(catalog.update_scoring_model(UpdateScoringModelRequest { model: Some(bad) }))
            .await,
        ["model.high_effort_from"]
    );

    let got = app.scoring_model().await;
    assert_eq!(got, updated);
}

#[sqlx::test]
async fn catalogs_are_isolated_between_tenants(pool: PgPool) {
    let app = spawn_app(pool).await;
    let other = app.add_tenant("globex").await;
    app.catalog()
        .upsert_question(UpsertQuestionRequest {
            question: Some(custom("mine", 1, 5, 4, None)),
        })
        .await
        .unwrap();
    let theirs = app
        .catalog_as(Some(&other))
        .list_questions(ListQuestionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .questions;
    assert!(theirs.iter().all(|q| q.key != "mine"));
    let m = app.scoring_model().await;
    let mut changed = m.clone();
    changed.min_group_size = 3;
    app.catalog()
        .update_scoring_model(UpdateScoringModelRequest {
            model: Some(changed),
        })
        .await
        .unwrap();
    let theirs = app.scoring_model_as(&other).await;
    assert_eq!(theirs.min_group_size, 5);
}

/// An etag no version can have (one with a NUL, which PostgreSQL cannot
/// even compare) is stale like any other, not an internal error; the model
/// stays as it was.
#[sqlx::test]
async fn an_etag_with_a_nul_is_stale(pool: PgPool) {
    let app = spawn_app(pool).await;
    let model = app.scoring_model().await;
    let err = app
        .catalog()
        .update_scoring_model(UpdateScoringModelRequest {
            model: Some(ScoringModel {
                etag: format!("{}\0", model.etag),
                min_group_size: 9,
                ..model.clone()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(error_reason(&err), "STALE_ETAG");
    assert_eq!(app.scoring_model().await, model);
}
