//! CustomerService.DeleteCustomerData: right-to-erasure across responses,
//! journeys and outcomes, scoped to one customer of one tenant.

use gapscore::{
    proto::v1::{
        DeleteCustomerDataRequest, DeleteCustomerDataResponse, OutcomeKind, SubmitJourneysRequest,
        SubmitOutcomesRequest,
    },
    store::tenants::TenantId,
};
use sqlx::PgPool;
use tonic::Code;

use crate::{
    helpers::{TestApp, spawn_app, violation_fields},
    journeys::{card_update_journey, simple_journey},
    outcomes::outcome,
};

/// Inserts a CUSTOMER survey response with two answers by raw SQL.
async fn insert_response(pool: &PgPool, tenant: TenantId, id: &str, respondent_id: Option<&str>) {
    let rid: i64 = sqlx::query_scalar(
        "INSERT INTO survey_responses (tenant_id, id, role, respondent_id, submitted_at, content_hash)
         VALUES ($1, $2, 3, $3, '2026-01-01T00:00:00Z', '\\x00') RETURNING rid",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(respondent_id)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO answers (tenant_id, rid, question, role, submitted_at, score, ordinal)
         VALUES ($1, $2, 'ease', 3, '2026-01-01T00:00:00Z', 2, 0),
                ($1, $2, 'csat', 3, '2026-01-01T00:00:00Z', 1, 1)",
    )
    .bind(tenant.0)
    .bind(rid)
    .execute(pool)
    .await
    .unwrap();
}

async fn tenant_id(pool: &PgPool, name: &str) -> TenantId {
    TenantId(
        sqlx::query_scalar("SELECT tenant_id FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await
            .unwrap(),
    )
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

async fn load(app: &TestApp, key: &str, tenant: TenantId, prefix: &str) {
    for (i, customer) in ["c-1", "c-1", "c-2", "c-10"].iter().enumerate() {
        insert_response(&app.pool, tenant, &format!("{prefix}r{i}"), Some(customer)).await;
    }
    insert_response(&app.pool, tenant, &format!("{prefix}anon"), None).await;
    app.journeys_as(Some(key))
        .submit_journeys(SubmitJourneysRequest {
            journeys: vec![
                card_update_journey(&format!("{prefix}j1"), "c-1"),
                simple_journey(&format!("{prefix}j2"), "c-1", "2026-01-01T00:00:00Z"),
                card_update_journey(&format!("{prefix}j3"), "c-2"),
                simple_journey("shared-id", "c-10", "2026-01-01T00:00:00Z"),
            ],
        })
        .await
        .unwrap();
    app.outcomes_as(Some(key))
        .submit_outcomes(SubmitOutcomesRequest {
            outcomes: vec![
                outcome(
                    &format!("{prefix}o1"),
                    "c-1",
                    OutcomeKind::Repurchase,
                    "2026-02-01T00:00:00Z",
                ),
                outcome(
                    &format!("{prefix}o2"),
                    "c-1",
                    OutcomeKind::Disloyalty,
                    "2026-02-02T00:00:00Z",
                ),
                outcome(
                    &format!("{prefix}o3"),
                    "c-1",
                    OutcomeKind::NegativeWordOfMouth,
                    "2026-02-03T00:00:00Z",
                ),
                outcome(
                    &format!("{prefix}o4"),
                    "c-2",
                    OutcomeKind::Repurchase,
                    "2026-02-01T00:00:00Z",
                ),
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
    Ok(app
        .customers_as(key)
        .delete_customer_data(DeleteCustomerDataRequest {
            customer_id: customer_id.into(),
        })
        .await?
        .into_inner())
}

#[sqlx::test]
async fn erasure_removes_exactly_that_customers_data_in_that_tenant(pool: PgPool) {
    let app = spawn_app(pool).await;
    let b_key = app.add_tenant("b").await;
    let b = tenant_id(&app.pool, "b").await;
    load(&app, &app.key, app.tenant, "").await;
    load(&app, &b_key, b, "").await;
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
