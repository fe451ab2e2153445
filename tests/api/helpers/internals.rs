//! Every library internal the tests use, in one place: the paths below are
//! the only ones to mend when `src/` moves things. Tests talk to the server
//! over gRPC wherever they can; what is here has no RPC (tenants and keys
//! are made with the CLI, page tokens are opaque to clients) or is what a
//! test is about (the SQL effort expressions, the rollup, the report, the
//! benchmark harness).

pub use gapscore::{
    config::ServeArgs,
    domain::{
        Scope, TenantId, Window,
        enums::{AnswerFrame as StoredFrame, Role as StoredRole},
    },
    http::{
        self as json_http, descriptors as json_descriptors,
        routes::{Route, Routes},
    },
    scoring::{
        EffortComponents, EffortModel, EffortSums, EffortTier as ScoringTier,
        effort::EffortWeights,
        effort_breakdown,
        holdout::{holdout_key, is_holdout},
        stats::wilson_interval,
    },
    startup::Application,
    store::{
        case_rollup,
        catalog::get_scoring_model,
        drivers::{self as drivers_store, CompleteCaseSums, Variable},
        effort::{
            ChannelSums, channel_sums_raw, channel_sums_rollup, ease_histogram_raw,
            ease_histogram_rollup, journey_sums as journey_sums_raw,
        },
        effort_sql::{effort_index_sql, effort_points_sql, effort_tier_sql},
        frames::{self as frame_store, FrameMoments, FrameQuery, PairedSums},
        gap::{self, GapQuery, ScoreCount},
        journey_efforts::journey_sums as journey_sums_kept,
        loyalty::{AtRiskKey, at_risk_customers},
        migrate, rollup,
        tenants::{TenantRemoval, clear_tenant_data, page_token_key},
    },
    telemetry,
    tools::{
        bench::{
            self,
            rss::{Rss, proc_memory_kib},
        },
        bulk, demo, report,
    },
};
use sqlx::PgPool;

/// A new tenant and its key's secret (`gapscore tenant create`).
pub async fn create_tenant(pool: &PgPool, name: &str) -> (TenantId, String) {
    let (tenant, key) = gapscore::store::tenants::create_tenant(pool, name)
        .await
        .expect("tenant created");
    (TenantId(tenant.tenant_id), key.secret)
}

/// Another key for a tenant (`gapscore key create`); its secret.
pub async fn create_key(pool: &PgPool, tenant: TenantId) -> String {
    gapscore::store::tenants::create_key(pool, tenant)
        .await
        .expect("key created")
        .secret
}

/// Revokes a key by its id (`gapscore key revoke`); whether it existed.
pub async fn revoke_key(pool: &PgPool, key_id: &str) -> bool {
    gapscore::store::tenants::revoke_key(pool, key_id)
        .await
        .expect("revoke runs")
}

/// The id of a tenant by name.
pub async fn tenant_id(pool: &PgPool, name: &str) -> TenantId {
    let t = gapscore::store::tenants::find_tenant(pool, name)
        .await
        .expect("tenant lookup")
        .expect("tenant exists");
    TenantId(t.tenant_id)
}

/// A page token with the fingerprint the server gives `query` of `tenant`
/// and an arbitrary position: what a client that guessed the format could
/// forge.
pub fn forge_page_token(
    tenant: TenantId,
    query: &impl prost::Message,
    position: &impl serde::Serialize,
) -> String {
    use gapscore::service::page;
    page::encode(&page::fingerprint(tenant.0, query), position)
}

/// The position of an at-risk page token, serialized as the server does.
pub fn at_risk_position(
    tier: i32,
    worst_effort_index: f64,
    customer_id: String,
) -> serde_json::Value {
    serde_json::to_value(gapscore::store::loyalty::AtRiskKey {
        tier,
        worst_effort_index,
        customer_id,
    })
    .unwrap_or(serde_json::Value::Null)
}

/// Removes a tenant entirely (`gapscore tenant delete`): the rows removed
/// per table, `None` for an unknown tenant.
pub async fn delete_tenant(pool: &PgPool, name: &str) -> Option<TenantRemoval> {
    gapscore::store::tenants::delete_tenant(pool, name)
        .await
        .expect("tenant delete runs")
}

/// An at-risk page token sealed with `tenant`'s own key for `query` and
/// `position`: what the server itself would mint for that position.
pub async fn seal_at_risk_token(
    pool: &PgPool,
    tenant: TenantId,
    query: &impl prost::Message,
    position: &AtRiskKey,
) -> String {
    use gapscore::service::page;
    let secret = gapscore::store::tenants::page_token_key(pool, tenant)
        .await
        .expect("key read")
        .expect("tenant exists");
    page::seal(&secret, &page::fingerprint(tenant.0, query), position).expect("sealed")
}

/// The decoded size the server estimates for `message` before decoding it
/// (what it takes from `--max-decoded-bytes-in-flight`).
pub fn decoded_estimate<M: prost::Message + prost::Name>(message: &M) -> u64 {
    use gapscore::decode::{scan::scan, schema::Schema};
    let schema = Schema::get();
    let index = schema.message(&M::full_name()).expect("a gapscore message");
    scan(schema, index, &message.encode_to_vec()).decoded_bytes
}

/// The status a database error reaches a client as: the store's
/// classification of a real `sqlx::Error`, mapped by the transport.
pub fn status_of_database_error(err: sqlx::Error) -> tonic::Status {
    use gapscore::{service::ServiceError, store::StoreError};
    tonic::Status::from(ServiceError::Store(StoreError::from(err)))
}
