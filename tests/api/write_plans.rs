//! What a write batch's own statements read does not grow with the
//! tenant's history (issue 12, the ingest profile of 2026-12-02): the tier
//! assessments of a batch's customers and the framed rollup's pairing with
//! the EXPERIENCE answers read the batch's own rows, on a fresh database
//! whose tables the planner has no statistics for yet (the first minutes
//! of every new deployment, and of the benchmark's ingest), where it once
//! chose to scan every `ease` answer of the tenant per batch.
//!
//! Rows read are counted, not timed: `pg_stat_xact_user_tables` holds the
//! tuples the current transaction fetched from each table (sequential
//! scans and index scans), so each test runs the store's statement in a
//! transaction of its own and reads the counters before it ends.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use gapscore::{
    domain::{Scope, Window, enums::AnswerFrame},
    proto::v1::{RespondentRole, SurveyResponse},
    store::{
        assessments, catalog,
        loyalty::{self, Assessment},
        responses::{self, AnswerRecord, ResponseRecord},
    },
};
use sqlx::{PgConnection, PgPool};

use crate::helpers::{TestApp, ease_response, journey_from, spawn_app, stuck};

/// Customers in the history the tests write before they measure.
const CUSTOMERS: usize = 2_000;

/// When every record of the history happened: the tests assess whole
/// histories and an explicit window around it, never the rolling one.
const AT: &str = "2026-06-15T12:00:00Z";

fn customer(i: usize) -> String {
    format!("cust-{i}")
}

/// `CUSTOMERS` customers, each with an `ease` answer and a journey,
/// written through the service in batches of 1,000.
async fn history(app: &TestApp) {
    let responses: Vec<SurveyResponse> = (0..CUSTOMERS)
        .map(|i| ease_response(&format!("r-{i}"), &customer(i), AT, 1 + (i % 7) as i32))
        .collect();
    for batch in responses.chunks(1000) {
        app.submit_responses(batch.to_vec()).await.unwrap();
    }
    let journeys: Vec<_> = (0..CUSTOMERS / 2)
        .map(|i| journey_from(&format!("j-{i}"), &customer(i), AT, &stuck()))
        .collect();
    for batch in journeys.chunks(1000) {
        app.submit_journeys(batch.to_vec()).await.unwrap();
    }
}

/// Tuples this transaction read from the record tables so far (sequential
/// and index fetches), per table.
async fn tuples_read(conn: &mut PgConnection) -> BTreeMap<String, i64> {
    sqlx::query_as(
        "SELECT relname::text, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) \
         FROM pg_stat_xact_user_tables \
         WHERE relname IN ('survey_responses', 'answers', 'framed_answers', 'journeys', \
                           'assessments')",
    )
    .fetch_all(conn)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

fn total(read: &BTreeMap<String, i64>) -> i64 {
    read.values().sum()
}

/// The 2-customer batch the tests assess: one with a journey, one without.
fn batch() -> Vec<String> {
    vec![customer(7), customer(CUSTOMERS - 3)]
}

#[sqlx::test]
async fn assessing_a_batch_reads_only_its_customers_rows(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    history(&app).await;
    let (model, etag) = catalog::get_scoring_model(&pool, app.tenant).await.unwrap();
    let model = model.effort_model();
    let at: DateTime<Utc> = AT.parse().unwrap();
    let around = Scope {
        window: Window {
            start: Some(at - chrono::Duration::days(30)),
            end: None,
        },
        ..Scope::default()
    };
    let customers = batch();

    for scope in [Scope::default(), around] {
        let mut tx = pool.begin().await.unwrap();
        let assessed: Vec<Assessment> =
            loyalty::assess_customers(&mut tx, app.tenant, &scope, &model, &customers)
                .await
                .unwrap();
        // The assessment is still right: both customers, the first one's
        // journey and both `ease` answers.
        assert_eq!(assessed.len(), 2, "{assessed:?}");
        assert!(assessed.iter().all(|a| a.latest_ease.is_some()));
        assert_eq!(
            assessed
                .iter()
                .filter(|a| a.worst_journey_id.is_some())
                .count(),
            1
        );
        let read = tuples_read(&mut tx).await;
        // Two customers hold two responses, two answers and one journey;
        // a few more for index bookkeeping. The history holds thousands.
        assert!(
            total(&read) <= 40,
            "assessing 2 customers over {:?} read {read:?}",
            scope.window
        );
        tx.rollback().await.unwrap();
    }

    // The write path's statement: the rolling window and the whole history
    // assessed, and the whole-history rows rewritten, in one statement.
    let mut tx = pool.begin().await.unwrap();
    let assessed = assessments::assess_and_record(
        &mut tx,
        app.tenant,
        &Scope::default(),
        (&model, &etag),
        &customers,
    )
    .await
    .unwrap();
    assert_eq!(assessed.len(), 2);
    let read = tuples_read(&mut tx).await;
    assert!(
        total(&read) <= 60,
        "assessing and recording 2 customers read {read:?}"
    );
    tx.rollback().await.unwrap();
}

#[sqlx::test]
async fn a_framed_answer_is_paired_by_lookup_not_by_scan(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    history(&app).await;
    // The history's answers are all `ease`; the framed answer below is of
    // `ease` too, so a scan by question would read every one of them.
    let record = ResponseRecord {
        id: "framed-1".into(),
        role: RespondentRole::Customer as i16,
        respondent_id: Some(customer(11)),
        survey_id: None,
        submitted_at: AT.parse().unwrap(),
        labels: BTreeMap::new(),
        answers: vec![
            AnswerRecord {
                question: "ease".into(),
                score: Some(6),
                themes: Vec::new(),
                comment: None,
                frame: AnswerFrame::Experience,
                competitor: None,
            },
            AnswerRecord {
                question: "ease".into(),
                score: Some(4),
                themes: Vec::new(),
                comment: None,
                frame: AnswerFrame::Expectation,
                competitor: None,
            },
        ],
        content_hash: vec![1; 32],
    };
    let mut tx = pool.begin().await.unwrap();
    let before = total(&tuples_read(&mut tx).await);
    let counts = responses::upsert(&mut tx, app.tenant, &[record])
        .await
        .unwrap();
    assert_eq!(counts.inserted, 1);
    let read = tuples_read(&mut tx).await;
    assert!(
        total(&read) - before <= 20,
        "writing one response with one framed answer read {read:?}"
    );
    // And the pairing found the EXPERIENCE answer: the rollup holds one
    // paired framed answer with its experience score.
    let (paired, experience): (i64, i64) = sqlx::query_as(
        "SELECT sum(answers)::bigint, sum(sum_experience)::bigint FROM frame_daily \
         WHERE tenant_id = $1 AND paired",
    )
    .bind(app.tenant.0)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!((paired, experience), (1, 6));
    tx.rollback().await.unwrap();
}
