//! Operating tenants (issue 11, SPEC §14): removing a tenant, the at-risk
//! list's pages and tokens, label indexes, the compactor going on past a
//! failing tenant, erasure fencing writes in flight, and one snapshot per
//! report.

use std::{
    collections::BTreeSet,
    process::Command,
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use gapscore::proto::v1::*;
use sqlx::PgPool;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

use crate::helpers::{
    TestApp, card_update_journey, ease_response,
    internals::{
        AtRiskKey, EffortModel, Scope, ScoringTier, TenantId, at_risk_customers, delete_tenant,
        report, rollup, seal_at_risk_token,
    },
    journey_from, outcome, rating, response, simple_journey, spawn_app, spawn_app_with, stuck,
    two_calls, violation_fields,
};

// ------------------------------------------------------------ tenant delete

/// Every base table with a `tenant_id` column, from `information_schema`,
/// so a table a later migration adds is checked too.
async fn tenant_tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.table_name::text FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id'
           AND t.table_type = 'BASE TABLE'
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Rows of `tenant` per table with a `tenant_id` column (zeros included).
async fn holdings(pool: &PgPool, tenant: TenantId) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for table in tenant_tables(pool).await {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = $1"
        )))
        .bind(tenant.0)
        .fetch_one(pool)
        .await
        .unwrap();
        out.push((table, n));
    }
    out
}

/// Responses (ratings, themes-free), journeys, outcomes, a custom question
/// and a scoring-model edit for the tenant of `key`.
async fn load_everything(app: &TestApp, key: &str) {
    app.catalog_as(Some(key))
        .upsert_question(UpsertQuestionRequest {
            question: Some(Question {
                key: "billing_clarity".into(),
                kind: QuestionKind::Rating as i32,
                text: "Custom".into(),
                scale_min: 1,
                scale_max: 5,
                favorable_min: 4,
                unfavorable_max: None,
                built_in: false,
            }),
        })
        .await
        .unwrap();
    let mut responses = Vec::new();
    for (i, role) in [
        RespondentRole::Leadership,
        RespondentRole::Staff,
        RespondentRole::Customer,
    ]
    .into_iter()
    .cycle()
    .take(12)
    .enumerate()
    {
        responses.push(SurveyResponse {
            respondent_id: format!("c-{i}"),
            ..response(
                &format!("r{i}"),
                role,
                &format!("2026-01-{:02}T10:00:00Z", 1 + i),
                vec![
                    rating("overall_experience", 1 + (i as i32 % 5)),
                    rating("ease", 1 + (i as i32 % 7)),
                    rating("billing_clarity", 3),
                ],
            )
        });
    }
    app.submit_responses_as(key, responses).await.unwrap();
    app.submit_journeys_as(
        key,
        vec![
            card_update_journey("j1", "c-1"),
            simple_journey("j2", "c-2", "2026-01-03T00:00:00Z"),
        ],
    )
    .await
    .unwrap();
    app.submit_outcomes_as(
        key,
        vec![outcome(
            "o1",
            "c-1",
            OutcomeKind::NegativeWordOfMouth,
            "2026-02-01T00:00:00Z",
        )],
    )
    .await
    .unwrap();
    let mut model = app.scoring_model_as(key).await;
    model.min_group_size = 2;
    app.catalog_as(Some(key))
        .update_scoring_model(UpdateScoringModelRequest { model: Some(model) })
        .await
        .unwrap();
}

async fn scorecard(app: &TestApp, key: &str) -> GetScorecardResponse {
    app.scoring_as(Some(key))
        .get_scorecard(GetScorecardRequest::default())
        .await
        .unwrap()
        .into_inner()
}

/// Finding 11: deleting a tenant cascaded into the rollup trigger, which
/// appended negative deltas for the vanishing tenant and failed
/// `gap_daily`'s foreign key. Now `tenant delete` removes every row of
/// the tenant in every table, and nothing of anyone else.
#[sqlx::test]
async fn tenant_delete_removes_every_row_of_the_tenant_and_nothing_else(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let beta_key = app.add_tenant("beta").await;
    load_everything(&app, &app.key).await;
    load_everything(&app, &beta_key).await;
    // A second key, and folded as well as pending rollup rows.
    crate::helpers::internals::create_tenant(&pool, "unused").await;
    crate::helpers::internals::create_key(&pool, app.tenant).await;
    rollup::compact(&pool, app.tenant).await.unwrap();
    app.submit_responses(vec![response(
        "late",
        RespondentRole::Customer,
        "2026-01-20T00:00:00Z",
        vec![rating("overall_experience", 5)],
    )])
    .await
    .unwrap();

    let beta = crate::helpers::internals::tenant_id(&pool, "beta").await;
    let beta_rows = holdings(&pool, beta).await;
    let beta_card = scorecard(&app, &beta_key).await;
    let acme_rows = holdings(&pool, app.tenant).await;
    for table in [
        "answers",
        "api_keys",
        "effort_daily",
        "gap_daily",
        "journeys",
        "outcomes",
        "questions",
        "scoring_models",
        "survey_responses",
        "touchpoints",
    ] {
        let n = acme_rows.iter().find(|(t, _)| t == table).map(|(_, n)| *n);
        assert!(n.unwrap_or(0) > 0, "acme has no {table} rows to delete");
    }

    let removed = delete_tenant(&pool, "acme").await.expect("acme exists");
    assert_eq!(removed.tenant.name, "acme");
    // The report names every table that held rows, with its count.
    let expected: Vec<(String, i64)> = acme_rows.into_iter().filter(|(_, n)| *n > 0).collect();
    assert_eq!(removed.rows, expected);

    for (table, n) in holdings(&pool, app.tenant).await {
        assert_eq!(n, 0, "{table} still holds rows of the deleted tenant");
    }
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants WHERE tenant_id = $1")
        .bind(app.tenant.0)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(holdings(&pool, beta).await, beta_rows);
    assert_eq!(scorecard(&app, &beta_key).await, beta_card);
    let err = app
        .catalog()
        .list_questions(ListQuestionsRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    // Deleting it again finds nothing.
    assert!(delete_tenant(&pool, "acme").await.is_none());
}

/// Clearing a tenant (what `demo` does to refresh its own) empties every
/// table of its data and of state derived from it — current tiers, events,
/// follow-ups, the rollup, and any table a later migration adds — and keeps
/// its keys, its webhooks and its event sequence; another tenant is left
/// alone.
#[sqlx::test]
async fn a_tenant_clear_empties_its_data_and_derived_state_and_keeps_keys_webhooks_and_sequence(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone()).await;
    let beta_key = app.add_tenant("beta").await;
    load_everything(&app, &app.key).await;
    load_everything(&app, &beta_key).await;
    gapscore::proto::v1::webhook_service_client::WebhookServiceClient::new(app.clients.authed())
        .create_webhook(CreateWebhookRequest {
            url: "https://example.com/hook".into(),
            min_tier: EffortTier::High as i32,
        })
        .await
        .unwrap();
    // A hard time now, inside the rolling risk window: a current tier and
    // an event.
    let now = chrono::Utc::now().to_rfc3339();
    app.submit_responses(vec![ease_response("hard", "c-now", &now, 1)])
        .await
        .unwrap();
    let before = holdings(&pool, app.tenant).await;
    let count = |rows: &[(String, i64)], table: &str| {
        rows.iter().find(|(t, _)| t == table).map_or(0, |(_, n)| *n)
    };
    for table in ["customer_tiers", "at_risk_events", "gap_daily", "webhooks"] {
        assert!(
            count(&before, table) > 0,
            "acme has no {table} rows to begin with"
        );
    }
    let last_seq: i64 =
        sqlx::query_scalar("SELECT max(seq) FROM at_risk_events WHERE tenant_id = $1")
            .bind(app.tenant.0)
            .fetch_one(&pool)
            .await
            .unwrap();
    let beta = crate::helpers::internals::tenant_id(&pool, "beta").await;
    let beta_rows = holdings(&pool, beta).await;

    crate::helpers::internals::clear_tenant_data(&pool, app.tenant)
        .await
        .unwrap();

    let kept = ["api_keys", "event_counters", "tenants", "webhooks"];
    let built_in: i64 =
        sqlx::query_scalar("SELECT count(*) FROM questions WHERE tenant_id = $1 AND built_in")
            .bind(app.tenant.0)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(built_in > 0);
    for (table, n) in holdings(&pool, app.tenant).await {
        if kept.contains(&table.as_str()) {
            assert_eq!(n, count(&before, &table), "{table} was not kept");
        } else if table == "questions" {
            assert_eq!(n, built_in, "only the built-in questions are left");
        } else if table == "scoring_models" {
            assert!(n <= 1, "{n} scoring models");
        } else {
            assert_eq!(n, 0, "{table} still holds rows of the cleared tenant");
        }
    }
    assert_eq!(holdings(&pool, beta).await, beta_rows);
    let fresh_key = app.add_tenant("fresh").await;
    let mut model = app.scoring_model_as(&app.key).await;
    let mut fresh = app.scoring_model_as(&fresh_key).await;
    (model.etag, fresh.etag) = (String::new(), String::new());
    assert_eq!(model, fresh, "the scoring model is back to its default");

    // The tenant works as new, and its next event follows the old ones.
    load_everything(&app, &app.key).await;
    app.submit_responses(vec![ease_response("hard", "c-now", &now, 1)])
        .await
        .unwrap();
    let first_seq: i64 =
        sqlx::query_scalar("SELECT min(seq) FROM at_risk_events WHERE tenant_id = $1")
            .bind(app.tenant.0)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        first_seq > last_seq,
        "event {first_seq} after the clear, {last_seq} before"
    );
    app.submit_responses_as(&beta_key, vec![ease_response("hard", "c-now", &now, 1)])
        .await
        .unwrap();
    assert_eq!(
        scorecard(&app, &app.key).await,
        scorecard(&app, &beta_key).await
    );
}

fn gapscore(url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gapscore"))
        .args(args)
        .env("DATABASE_URL", url)
        .output()
        .expect("the gapscore binary runs")
}

#[sqlx::test]
async fn the_cli_deletes_a_tenant_and_prints_what_it_removed(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    load_everything(&app, &app.key).await;
    let url = crate::helpers::child::database_url(&pool).await;
    let out = gapscore(&url, &["tenant", "delete", "acme"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.starts_with("deleted tenant acme"), "{stdout}");
    // `table rows` lines, the names padded to the longest.
    let removed: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    for line in [
        &["survey_responses", "12"][..],
        &["answers", "36"],
        &["api_keys", "1"],
        &["tenants", "1"],
    ] {
        assert!(
            removed.iter().any(|r| r.as_slice() == line),
            "{line:?} missing from {stdout}"
        );
    }
    let again = gapscore(&url, &["tenant", "delete", "acme"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("no tenant named \"acme\""),
        "{again:?}"
    );
}

// ---------------------------------------------------------- at-risk pages

/// 30 customers: HIGH by `ease` (1-3) or by hard journeys, MEDIUM and LOW
/// ones, several with exactly the same worst journey (ties broken by id).
async fn at_risk_population(app: &TestApp) -> BTreeSet<String> {
    let mut responses = Vec::new();
    let mut journeys = Vec::new();
    for i in 0..30 {
        let c = format!("cust-{i:02}");
        let day = format!("2026-02-{:02}T09:00:00Z", 1 + i % 20);
        match i % 5 {
            0 => responses.push(ease_response(&format!("e{i}"), &c, &day, 1 + i % 3)),
            1 => journeys.push(journey_from(&format!("j{i}"), &c, &day, &stuck())),
            2 => journeys.push(journey_from(&format!("j{i}"), &c, &day, &two_calls(i % 3))),
            3 => responses.push(ease_response(&format!("e{i}"), &c, &day, 7)),
            _ => {
                responses.push(ease_response(&format!("e{i}"), &c, &day, 2));
                journeys.push(journey_from(&format!("j{i}"), &c, &day, &stuck()));
            }
        }
    }
    app.submit_responses(responses).await.unwrap();
    app.submit_journeys(journeys).await.unwrap();
    (0..30).map(|i| format!("cust-{i:02}")).collect()
}

async fn at_risk_page(
    app: &TestApp,
    min_tier: EffortTier,
    page_size: i32,
    page_token: String,
) -> ListAtRiskCustomersResponse {
    app.customers()
        .list_at_risk_customers(ListAtRiskCustomersRequest {
            min_tier: min_tier as i32,
            page_size,
            page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

/// Findings 13 and 14: walking the list page by page gives every at-risk
/// customer exactly once, in the order of one big page, and no token
/// shows a customer id (they were base64 JSON with the last id in clear).
#[sqlx::test]
async fn at_risk_pages_walk_the_list_once_in_order_with_opaque_tokens(pool: PgPool) {
    let app = spawn_app(pool).await;
    let everyone = at_risk_population(&app).await;
    for min_tier in [EffortTier::High, EffortTier::Medium, EffortTier::Low] {
        let whole = at_risk_page(&app, min_tier, 1000, String::new()).await;
        assert!(whole.next_page_token.is_empty());
        let expected: Vec<String> = whole
            .customers
            .iter()
            .map(|c| c.customer_id.clone())
            .collect();
        assert!(expected.len() >= 10, "{min_tier:?}: {expected:?}");
        let mut walked = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let page = at_risk_page(&app, min_tier, 4, token).await;
            assert!(page.customers.len() <= 4);
            walked.extend(page.customers.iter().map(|c| c.customer_id.clone()));
            pages += 1;
            if page.next_page_token.is_empty() {
                break;
            }
            let raw = URL_SAFE_NO_PAD
                .decode(&page.next_page_token)
                .expect("a token is base64url");
            let text = String::from_utf8_lossy(&raw);
            for id in &everyone {
                assert!(!text.contains(id.as_str()), "token shows {id}: {text:?}");
            }
            assert!(!text.contains("cust-"), "{text:?}");
            token = page.next_page_token;
            assert!(pages <= 30, "the walk does not end");
        }
        assert_eq!(walked, expected, "{min_tier:?}");
        assert_eq!(pages, expected.len().div_ceil(4), "{min_tier:?}");
    }
    // Equal worst indexes are ordered by id (the tie-break the token holds).
    let all = at_risk_page(&app, EffortTier::Low, 1000, String::new()).await;
    let key = |c: &AtRiskCustomer| (-c.tier, -(c.worst_effort_index * 1e6) as i64);
    for pair in all.customers.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            key(a) < key(b) || (key(a) == key(b) && a.customer_id < b.customer_id),
            "{a:?} before {b:?}"
        );
    }
}

/// A page reads at most `limit` rows out of the database: the ordering key
/// is computed and the keyset and LIMIT applied in SQL.
#[sqlx::test]
async fn an_at_risk_page_loads_only_its_rows(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    at_risk_population(&app).await;
    let model = EffortModel::default();
    let all = at_risk_customers(
        &pool,
        app.tenant,
        &Scope::default(),
        (&model, None),
        ScoringTier::Low,
        None,
        1000,
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 30);
    let after = AtRiskKey::of(&all[9]);
    let page = at_risk_customers(
        &pool,
        app.tenant,
        &Scope::default(),
        (&model, None),
        ScoringTier::Low,
        Some(&after),
        5,
    )
    .await
    .unwrap();
    assert_eq!(page, all[10..15]);
}

/// A sealed token is still checked: a position no customer can have (a
/// NUL in the id) is refused at `page_token`, not sent to PostgreSQL, and
/// a token sealed for another tenant is refused.
#[sqlx::test]
async fn sealed_tokens_with_impossible_positions_are_refused(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    at_risk_population(&app).await;
    let query = ListAtRiskCustomersRequest {
        min_tier: EffortTier::High as i32,
        ..Default::default()
    };
    let beta_key = app.add_tenant("beta").await;
    let beta = crate::helpers::internals::tenant_id(&pool, "beta").await;
    let sane = AtRiskKey {
        tier: 3,
        worst_effort_index: 50.0,
        customer_id: "cust-04".into(),
    };
    let nul = AtRiskKey {
        customer_id: "c\0".into(),
        ..sane.clone()
    };
    let list = |token: String, key: String| {
        let app = &app;
        let query = query.clone();
        async move {
            app.customers_as(Some(&key))
                .list_at_risk_customers(ListAtRiskCustomersRequest {
                    page_token: token,
                    ..query
                })
                .await
        }
    };
    let token = seal_at_risk_token(&pool, app.tenant, &query, &sane).await;
    list(token, app.key.clone()).await.expect("a sane position");
    let token = seal_at_risk_token(&pool, app.tenant, &query, &nul).await;
    let err = list(token, app.key.clone()).await.unwrap_err();
    assert_eq!(violation_fields(&err), ["page_token"]);
    // Sealed with beta's key for beta's query: not acme's token.
    let token = seal_at_risk_token(&pool, beta, &query, &sane).await;
    list(token.clone(), beta_key)
        .await
        .expect("beta's own token");
    let err = list(token, app.key.clone()).await.unwrap_err();
    assert_eq!(violation_fields(&err), ["page_token"]);
}

// ----------------------------------------------------------- label indexes

/// How often PostgreSQL has used `index` (its statistics are flushed by the
/// server's backends when they go idle, within about a second). On the
/// partitioned schema (`scripts/test --partitioned`) the scans are counted
/// on the partitions' indexes, the children of `index`.
async fn index_scans(pool: &PgPool, index: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(sum(s.idx_scan), 0)::bigint FROM pg_stat_user_indexes s
         WHERE s.indexrelname = $1 OR s.indexrelid IN (
             SELECT h.inhrelid FROM pg_inherits h JOIN pg_class i ON i.oid = h.inhparent
             WHERE i.relname = $1 AND i.relnamespace = current_schema()::regnamespace)",
    )
    .bind(index)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn wait_for_index_use(pool: &PgPool, index: &str, before: i64) -> i64 {
    let started = Instant::now();
    loop {
        let now = index_scans(pool, index).await;
        if now > before {
            return now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{index} was never used"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Finding 13: `labels @>` list filters had no index. At 20,000 journeys
/// and responses with 500 label values, a label-filtered ListJourneys and
/// ListSurveyResponses are served by the GIN indexes of migration 0010.
#[sqlx::test]
async fn label_filtered_lists_use_the_label_indexes(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    // Rows no request needs to make one by one: 20,000 of each, directly.
    sqlx::query(
        "INSERT INTO journeys (tenant_id, id, customer_id, intent, labels, started_at,
           content_hash, customer_touchpoints, channel_switches, failed_self_service,
           transfers, repeated_information, customer_seconds, resolved,
           first_customer_resolved, has_assisted, first_assisted_resolved, distinct_channels)
         SELECT $1, 'j' || i, 'c' || i, 'x', jsonb_build_object('account', 'a' || (i % 500)),
           '2026-01-01'::timestamptz + i * interval '1 minute', '\\x00',
           1, 0, 0, 0, 0, 60, true, true, false, false, 1
         FROM generate_series(1, 20000) i",
    )
    .bind(app.tenant.0)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO survey_responses (tenant_id, id, role, respondent_id, submitted_at, labels,
           content_hash)
         SELECT $1, 'r' || i, 3, 'c' || i, '2026-01-01'::timestamptz + i * interval '1 minute',
           jsonb_build_object('account', 'a' || (i % 500)), '\\x00'
         FROM generate_series(1, 20000) i",
    )
    .bind(app.tenant.0)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE journeys, survey_responses")
        .execute(&pool)
        .await
        .unwrap();
    let filter = Some(ScoreFilter {
        labels: [("account".to_string(), "a7".to_string())].into(),
        ..Default::default()
    });

    let before = index_scans(&pool, "journeys_labels").await;
    let journeys = app
        .journeys()
        .list_journeys(ListJourneysRequest {
            filter: filter.clone(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(journeys.journeys.len(), 40);
    wait_for_index_use(&pool, "journeys_labels", before).await;

    let before = index_scans(&pool, "survey_responses_labels").await;
    let responses = app
        .survey()
        .list_survey_responses(ListSurveyResponsesRequest {
            filter,
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(responses.responses.len(), 40);
    wait_for_index_use(&pool, "survey_responses_labels", before).await;
}

// --------------------------------------------------------------- compactor

/// Finding 14: the compactor stopped at the first failing tenant. One
/// tenant's fold is made to fail (a trigger refuses its folded rows); the
/// others are folded and the failure is reported with the tenant.
#[sqlx::test]
async fn the_compactor_goes_on_past_a_failing_tenant(pool: PgPool) {
    // The server's own compactor sleeps through the test.
    let app = spawn_app_with(pool.clone(), |args| {
        args.rollup_compact_interval_ms = 3_600_000
    })
    .await;
    let beta_key = app.add_tenant("beta").await;
    let beta = crate::helpers::internals::tenant_id(&pool, "beta").await;
    assert!(app.tenant.0 < beta.0, "acme is folded first");
    let rated = |id: &str| {
        response(
            id,
            RespondentRole::Customer,
            "2026-01-05T10:00:00Z",
            vec![rating("overall_experience", 4)],
        )
    };
    app.submit_responses(vec![rated("a1")]).await.unwrap();
    app.submit_responses_as(&beta_key, vec![rated("b1")])
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE FUNCTION refuse_fold() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'fold refused for this tenant'; END $$;
         CREATE TRIGGER refuse_fold BEFORE INSERT ON gap_daily FOR EACH ROW
           WHEN (NEW.compacted AND NEW.tenant_id = {})
           EXECUTE FUNCTION refuse_fold();",
        app.tenant.0
    )))
    .execute(&pool)
    .await
    .unwrap();
    let pending = |tenant: TenantId| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM gap_daily WHERE tenant_id = $1 AND NOT compacted",
            )
            .bind(tenant.0)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert!(pending(app.tenant).await > 0 && pending(beta).await > 0);

    let pass = rollup::compact_pending(&pool).await.expect("the pass runs");
    let failed: Vec<i64> = pass.failed.iter().map(|(t, _)| t.0).collect();
    assert_eq!(failed, [app.tenant.0]);
    assert!(
        format!("{:?}", pass.failed[0].1).contains("fold refused"),
        "{:?}",
        pass.failed
    );
    assert_eq!(pending(beta).await, 0, "beta was not folded");
    // The failed fold rolled back: acme's deltas are still there and count.
    assert!(pending(app.tenant).await > 0);
}

// ----------------------------------------------------------- erasure fence

/// PostgreSQL backends of this database waiting for a lock of `kind`
/// (`transactionid`/`tuple` for row locks, `advisory`).
async fn waiting_on(pool: &PgPool, kind: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = $1",
    )
    .bind(kind)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Finding 14: erasure did not fence writes in flight. A stream's message
/// has written a journey of customer X but not committed (it is held on a
/// row lock of another journey); DeleteCustomerData(X) is called; then the
/// message commits. Before the fix the erasure answered OK at once, having
/// seen nothing, and the commit brought X's journey back; now the erasure
/// waits for the write and removes it.
#[sqlx::test]
async fn erasure_waits_for_a_write_in_flight_and_removes_it(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.submit_journeys(vec![simple_journey("j2", "y", "2026-01-01T00:00:00Z")])
        .await
        .unwrap();
    // Hold j2's row so the stream's message blocks after writing j1.
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM journeys WHERE id = 'j2' FOR UPDATE")
        .execute(&mut *holder)
        .await
        .unwrap();

    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let mut journeys = app.journeys();
    let stream =
        tokio::spawn(async move { journeys.stream_journeys(ReceiverStream::new(rx)).await });
    tx.send(StreamJourneysRequest {
        journeys: vec![
            simple_journey("j1", "x", "2026-01-02T00:00:00Z"),
            simple_journey("j2", "y", "2026-01-03T00:00:00Z"),
        ],
    })
    .await
    .unwrap();
    let started = Instant::now();
    while waiting_on(&pool, "transactionid").await + waiting_on(&pool, "tuple").await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the write never blocked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let erase = {
        let mut customers = app.customers();
        tokio::spawn(async move {
            customers
                .delete_customer_data(DeleteCustomerDataRequest {
                    customer_id: "x".into(),
                })
                .await
        })
    };
    // Either the erasure answers (it did not wait) or it waits on the fence.
    let started = Instant::now();
    while !erase.is_finished() && waiting_on(&pool, "advisory").await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the erasure hangs"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    holder.rollback().await.unwrap();
    drop(tx);
    let streamed = stream.await.unwrap().expect("the stream commits");
    assert_eq!(streamed.into_inner().messages, 1);
    let erased = erase
        .await
        .unwrap()
        .expect("the erasure succeeds")
        .into_inner();

    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM journeys WHERE customer_id = 'x'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "X's journey survived its erasure");
    assert_eq!(erased.journeys_deleted, 1);
}

/// An erasure racing submits of the same customer's records, the batches
/// in either order: no deadlock surfaces (every call succeeds).
#[sqlx::test]
async fn erasure_and_submits_of_one_customer_do_not_deadlock(pool: PgPool) {
    let app = spawn_app(pool).await;
    for round in 0..8 {
        let mut ids: Vec<String> = (0..6).map(|i| format!("j{i}")).collect();
        if round % 2 == 1 {
            ids.reverse();
        }
        let batch: Vec<Journey> = ids
            .iter()
            .map(|id| simple_journey(id, "x", "2026-01-01T00:00:00Z"))
            .collect();
        let outcomes: Vec<Outcome> = ids
            .iter()
            .map(|id| outcome(id, "x", OutcomeKind::Repurchase, "2026-01-01T00:00:00Z"))
            .collect();
        // (Two submits of overlapping batches in opposite orders are
        // finding 7's own case, not the erasure's.)
        let (journeys, erased, outcomes) = tokio::join!(
            app.submit_journeys(batch),
            app.erase(Some(&app.key), "x"),
            app.submit_outcomes(outcomes),
        );
        journeys.expect("journeys");
        erased.expect("erasure");
        outcomes.expect("outcomes");
    }
}

// --------------------------------------------------------------- report

/// Finding 16, "one snapshot per report": a write committed after the
/// report's snapshot is taken, before any figure is read, shows in no part
/// of it (the scorecard's scores read concurrently, on several
/// connections); the next report shows it.
#[sqlx::test]
async fn a_report_reads_one_snapshot(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    load_everything(&app, &app.key).await;
    let before = report::build(&pool, "acme").await.unwrap();
    let during = report::build_after(&pool, "acme", async || {
        let mut late = Vec::new();
        for i in 0..20 {
            late.push(SurveyResponse {
                respondent_id: format!("late-{i}"),
                ..response(
                    &format!("late{i}"),
                    RespondentRole::Customer,
                    "2026-01-15T10:00:00Z",
                    vec![
                        rating("overall_experience", 5),
                        rating("ease", 1),
                        rating("likelihood_to_recommend", 10),
                    ],
                )
            });
        }
        app.submit_responses(late).await.unwrap();
        app.submit_journeys(vec![card_update_journey("late-j", "late-0")])
            .await
            .unwrap();
    })
    .await
    .unwrap();
    assert!(
        during == before,
        "a write after the snapshot shows in the report"
    );
    let after = report::build(&pool, "acme").await.unwrap();
    assert!(after != before, "the next report shows the write");
}
