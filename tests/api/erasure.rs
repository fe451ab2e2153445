//! CustomerService.DeleteCustomerData: right-to-erasure across responses,
//! journeys and outcomes, scoped to one customer of one tenant.

use gapscore::proto::v1::{
    DeleteCustomerDataResponse, OutcomeKind, RespondentRole, SubmitJourneysRequest,
    SubmitOutcomesRequest, SurveyResponse,
};
use sqlx::PgPool;
use tonic::Code;

use crate::helpers::{
    TestApp, card_update_journey,
    internals::{TenantId, tenant_id},
    outcome, rating, response, simple_journey, spawn_app, violation_fields,
};

/// A CUSTOMER survey response with two answers.
fn two_answers(id: &str, respondent_id: Option<&str>) -> SurveyResponse {
    SurveyResponse {
        respondent_id: respondent_id.unwrap_or_default().into(),
        ..response(
            id,
            RespondentRole::Customer,
            "2026-01-01T00:00:00Z",
            vec![rating("ease", 2), rating("csat", 1)],
        )
    }
}

/// Per tenant and customer: (responses, answers, journeys, touchpoints, outcomes).
async fn holdings(pool: &PgPool, tenant: TenantId, customer: &str) -> [i64; 5] {
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(tenant.0)
            .bind(customer)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    [
        count("SELECT count(*) FROM survey_responses WHERE tenant_id = $1 AND respondent_id = $2")
            .await,
        count(
            "SELECT count(*) FROM answers a JOIN survey_responses r USING (tenant_id, rid)
             WHERE a.tenant_id = $1 AND r.respondent_id = $2",
        )
        .await,
        count("SELECT count(*) FROM journeys WHERE tenant_id = $1 AND customer_id = $2").await,
        count(
            "SELECT count(*) FROM touchpoints t JOIN journeys j USING (tenant_id, jid)
             WHERE t.tenant_id = $1 AND j.customer_id = $2",
        )
        .await,
        count("SELECT count(*) FROM outcomes WHERE tenant_id = $1 AND customer_id = $2").await,
    ]
}

async fn load(app: &TestApp, key: &str) {
    let mut responses: Vec<_> = ["c-1", "c-1", "c-2", "c-10"]
        .iter()
        .enumerate()
        .map(|(i, customer)| two_answers(&format!("r{i}"), Some(customer)))
        .collect();
    responses.push(two_answers("anon", None));
    app.submit_responses_as(key, responses).await.unwrap();
    app.journeys_as(Some(key))
        .submit_journeys(SubmitJourneysRequest {
            journeys: vec![
                card_update_journey("j1", "c-1"),
                simple_journey("j2", "c-1", "2026-01-01T00:00:00Z"),
                card_update_journey("j3", "c-2"),
                simple_journey("shared-id", "c-10", "2026-01-01T00:00:00Z"),
            ],
        })
        .await
        .unwrap();
    app.outcomes_as(Some(key))
        .submit_outcomes(SubmitOutcomesRequest {
            outcomes: vec![
                outcome("o1", "c-1", OutcomeKind::Repurchase, "2026-02-01T00:00:00Z"),
                outcome("o2", "c-1", OutcomeKind::Disloyalty, "2026-02-02T00:00:00Z"),
                outcome(
                    "o3",
                    "c-1",
                    OutcomeKind::NegativeWordOfMouth,
                    "2026-02-03T00:00:00Z",
                ),
                outcome("o4", "c-2", OutcomeKind::Repurchase, "2026-02-01T00:00:00Z"),
            ],
        })
        .await
        .unwrap();
}

async fn erase(
    app: &TestApp,
    key: Option<&str>,
    customer_id: &str,
) -> Result<DeleteCustomerDataResponse, tonic::Status> {
    app.erase(key, customer_id).await
}

#[sqlx::test]
async fn erasure_removes_exactly_that_customers_data_in_that_tenant(pool: PgPool) {
    let app = spawn_app(pool).await;
    let b_key = app.add_tenant("b").await;
    let b = tenant_id(&app.pool, "b").await;
    load(&app, &app.key).await;
    load(&app, &b_key).await;
    assert_eq!(
        holdings(&app.pool, app.tenant, "c-1").await,
        [2, 4, 2, 7, 3]
    );

    let erased = erase(&app, Some(&app.key), "c-1").await.unwrap();
    assert_eq!(
        (
            erased.survey_responses_deleted,
            erased.journeys_deleted,
            erased.outcomes_deleted
        ),
        (2, 2, 3)
    );
    assert_eq!(holdings(&app.pool, app.tenant, "c-1").await, [0; 5]);
    // Answers and touchpoints went with their parents, nothing else did.
    let total = |sql: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(total("SELECT count(*) FROM answers WHERE tenant_id = (SELECT tenant_id FROM tenants WHERE name = 'acme')").await, 3 * 2);
    assert_eq!(
        holdings(&app.pool, app.tenant, "c-2").await,
        [1, 2, 1, 6, 1]
    );
    assert_eq!(
        holdings(&app.pool, app.tenant, "c-10").await,
        [1, 2, 1, 1, 0]
    );
    // The other tenant's c-1 is untouched.
    assert_eq!(holdings(&app.pool, b, "c-1").await, [2, 4, 2, 7, 3]);
    assert_eq!(
        total("SELECT count(*) FROM survey_responses WHERE respondent_id IS NULL").await,
        2
    );

    // Erasing again finds nothing; erasing in b removes b's copy only.
    let again = erase(&app, Some(&app.key), "c-1").await.unwrap();
    assert_eq!(
        (
            again.survey_responses_deleted,
            again.journeys_deleted,
            again.outcomes_deleted
        ),
        (0, 0, 0)
    );
    let in_b = erase(&app, Some(&b_key), "c-1").await.unwrap();
    assert_eq!(
        (
            in_b.survey_responses_deleted,
            in_b.journeys_deleted,
            in_b.outcomes_deleted
        ),
        (2, 2, 3)
    );
    assert_eq!(holdings(&app.pool, b, "c-1").await, [0; 5]);
    assert_eq!(holdings(&app.pool, b, "c-2").await, [1, 2, 1, 6, 1]);
}

#[sqlx::test]
async fn erasure_validates_the_customer_id_and_needs_a_key(pool: PgPool) {
    let app = spawn_app(pool).await;
    for bad in ["", "has space", &"x".repeat(129)] {
        let err = erase(&app, Some(&app.key), bad).await.unwrap_err();
        assert_eq!(violation_fields(&err), ["customer_id"], "{bad:?}");
    }
    let err = erase(&app, None, "c-1").await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let nothing = erase(&app, Some(&app.key), "never-seen").await.unwrap();
    assert_eq!(nothing, DeleteCustomerDataResponse::default());
}
