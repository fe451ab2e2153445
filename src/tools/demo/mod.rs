//! `gapscore demo`: a realistic, deterministic data set in a `demo` tenant.
//!
//! The numbers echo the studies in SPEC §1: leaders rate the experience
//! superior about 80% of the time, customers about 8%; staff sit between.
//! Customers' themes reveal blind spots (wait times, billing errors,
//! failed self-service) that leadership does not mention. Journeys span
//! every channel, and customer 1 lives through the §1 card-update story.
//! Customers also say what they expected, what matters to them and how
//! competitors did (SPEC §16), so the expectation gap, the competitive gap
//! and the priority map have something to show; NPS falls in October and
//! has drivers of different weight (SPEC §10–§11, see `data`). Everything is generated
//! from fixed seeds and fixed dates, so every run loads the same records
//! and prints the same scores.
//!
//! The generator is in `data`, the answers in the other frames in `frames`;
//! this module loads the records and prints how to query them.

mod data;
mod follow_ups;
mod frames;

pub use data::{DemoData, FRAMES_SEED, SEED, card_update_story, demo_end, demo_start, generate};
pub use frames::without_frames;

use crate::domain::TenantId;

/// Loads the demo data set into the `demo` tenant (created, or emptied and
/// refilled), through the same validation and storage code as the gRPC API,
/// and returns a new API key for it. The data set is made of the messages a
/// client would send (tests send some of them over gRPC), converted as the
/// transport converts them and submitted to the services directly.
pub async fn load(pool: &sqlx::PgPool) -> anyhow::Result<String> {
    use crate::store::tenants;

    let tenant = match tenants::find_tenant(pool, DEMO_TENANT).await? {
        Some(t) => {
            let id = TenantId(t.tenant_id);
            crate::store::tenants::clear_tenant_data(pool, id).await?;
            id
        }
        None => TenantId(tenants::create_tenant(pool, DEMO_TENANT).await?.0.tenant_id),
    };
    let key = tenants::create_key(pool, tenant).await?;
    let data = generate(SEED, FRAMES_SEED);
    submit(pool, tenant, &data).await?;
    println!(
        "Loaded the demo tenant: {} survey responses, {} journeys, {} outcomes ({} to {}).",
        data.responses.len(),
        data.journeys.len(),
        data.outcomes.len(),
        demo_start().date_naive(),
        demo_end().date_naive(),
    );
    follow_ups::load(pool, tenant, &data).await?;
    Ok(key.secret)
}

/// Submits `data` to `tenant` through the services, as [`load`] does: the
/// tests also load variants of the data set (the demo without its framed
/// answers) into tenants of their own.
pub async fn submit(pool: &sqlx::PgPool, tenant: TenantId, data: &DemoData) -> anyhow::Result<()> {
    use anyhow::Context;

    use crate::service::{Services, journeys, outcomes, survey};

    let services = Services::new(pool.clone(), std::time::Duration::ZERO);
    fn converted<T: Clone + Into<U>, U>(chunk: &[T]) -> Vec<U> {
        chunk.iter().cloned().map(Into::into).collect()
    }
    for chunk in data.responses.chunks(survey::MAX_RESPONSES_PER_MESSAGE) {
        survey::submit(&services, tenant, converted(chunk))
            .await
            .context("loading survey responses")?;
    }
    for chunk in data.journeys.chunks(journeys::MAX_JOURNEYS) {
        journeys::submit(&services, tenant, &converted(chunk))
            .await
            .context("loading journeys")?;
    }
    for chunk in data.outcomes.chunks(outcomes::MAX_OUTCOMES) {
        outcomes::submit(&services, tenant, &converted(chunk))
            .await
            .context("loading outcomes")?;
    }
    Ok(())
}

/// The demo tenant's name.
pub const DEMO_TENANT: &str = "demo";

/// Ready-to-paste grpcurl commands for a server at `addr` with `key`.
pub fn grpcurl_commands(addr: &str, key: &str) -> String {
    let call = |method: &str, body: &str| {
        format!(
            "grpcurl -plaintext -H \"authorization: Bearer $GAPSCORE_KEY\" -d '{body}' {addr} gapscore.v1.{method}"
        )
    };
    [
        format!("export GAPSCORE_KEY={key}"),
        String::new(),
        "# The scorecard: delivery gap, largest gaps, NPS, CES, effort and loyalty".into(),
        call("ScoringService/GetScorecard", "{}"),
        String::new(),
        "# The perception gap per question and role, by region".into(),
        call(
            "ScoringService/GetPerceptionGap",
            r#"{"questions": ["overall_experience"], "group_by": "region"}"#,
        ),
        String::new(),
        "# Journey effort and the hidden-effort gap".into(),
        call("ScoringService/GetEffortIndex", "{}"),
        String::new(),
        "# Loyalty risk: likely detractors".into(),
        call("ScoringService/GetLoyaltyRisk", "{}"),
        String::new(),
        "# Who to call back first".into(),
        call("CustomerService/ListAtRiskCustomers", r#"{"page_size": 5}"#),
        String::new(),
        "# The card-update customer of SPEC §1".into(),
        call(
            "CustomerService/GetCustomerRisk",
            r#"{"customer_id": "cust-0001"}"#,
        ),
        String::new(),
        "# What customers expected against what they got (speed), and what leaders believe".into(),
        call(
            "ScoringService/GetExpectationGap",
            r#"{"questions": ["speed"]}"#,
        ),
        String::new(),
        "# Us against acme and globex".into(),
        call("ScoringService/GetCompetitiveGap", "{}"),
        String::new(),
        "# Importance against performance: where to concentrate".into(),
        call("ScoringService/GetPriorityMap", "{}"),
        String::new(),
        "# Did NPS really fall in October, or is it noise?".into(),
        call(
            "ScoringService/GetChange",
            r#"{"metric": "TREND_METRIC_NET_SCORE", "question": "likelihood_to_recommend", "role": "RESPONDENT_ROLE_CUSTOMER", "filter": {"startTime": "2026-10-01T00:00:00Z", "endTime": "2026-11-01T00:00:00Z"}, "baselineStartTime": "2026-09-01T00:00:00Z", "baselineEndTime": "2026-10-01T00:00:00Z"}"#,
        ),
        String::new(),
        "# What moves customers' likelihood to recommend most".into(),
        call("ScoringService/GetKeyDrivers", "{}"),
    ]
    .join("\n")
}
