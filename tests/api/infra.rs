//! Health, reflection and authentication.

use gapscore::proto::v1::ListQuestionsRequest;
use std::time::Duration;

use sqlx::PgPool;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{app::wait_for_health_of, error_reason, internals::revoke_key, spawn_app};

#[sqlx::test]
async fn health_needs_no_key_and_reports_serving(pool: PgPool) {
    let app = spawn_app(pool).await;
    // The watcher reports within one interval (200 ms in tests).
    let service = "gapscore.v1.SurveyService";
    wait_for_health_of(
        &app.channel,
        service,
        ServingStatus::Serving,
        Duration::from_secs(3),
    )
    .await;
}

#[sqlx::test]
async fn calls_without_a_valid_key_are_unauthenticated(pool: PgPool) {
    let app = spawn_app(pool).await;
    for key in [
        None,
        Some("gsk_000000000000_nope"),
        Some("garbage"),
        Some(""),
    ] {
        let err = app
            .catalog_as(key)
            .list_questions(ListQuestionsRequest {})
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{key:?}");
    }
    assert_eq!(app.questions().await.len(), 15);
}

#[sqlx::test]
async fn a_revoked_key_stops_working_immediately(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.catalog()
        .list_questions(ListQuestionsRequest {})
        .await
        .unwrap();
    let key_id = app.key.split('_').nth(1).unwrap().to_owned();
    assert!(revoke_key(&app.pool, &key_id).await);
    let err = app
        .catalog()
        .list_questions(ListQuestionsRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(error_reason(&err), "UNAUTHENTICATED", "{err:?}");
}

/// The README's run command must not inherit the test suite's database:
/// cargo's `[env]` (in `.cargo/config.toml`) applies to `cargo run` as well
/// as to `cargo test`, so a `DATABASE_URL` there would put the service's
/// schema in the test server's maintenance database. The tests get their
/// default from `scripts/test` instead.
#[test]
fn test_settings_do_not_leak_into_the_run_command() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for config in [".cargo/config.toml", ".cargo/config"] {
        if let Ok(text) = std::fs::read_to_string(root.join(config)) {
            assert!(
                !text.contains("DATABASE_URL"),
                "{config} sets DATABASE_URL for every cargo command, `cargo run` included"
            );
        }
    }
    let script = std::fs::read_to_string(root.join("scripts/test")).unwrap();
    assert!(
        script.contains("DATABASE_URL"),
        "scripts/test sets the tests' default"
    );
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("```sh\ncargo run --release -- serve\n```"));
    assert!(readme.contains("```sh\nscripts/test\n```"));
}
