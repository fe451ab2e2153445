//! The question catalog and the scoring model of each tenant.

use sqlx::{FromRow, PgConnection, PgPool, Row, postgres::PgRow};

use super::StoreResult;
use crate::domain::{
    Numbered, TenantId,
    enums::QuestionKind,
    model::ScoringModel,
    question::{Question, built_in_questions},
};

/// A question row; the kind is stored as its number
/// ([`Numbered::db`]). A number this release does not know fails to
/// decode, as any other corrupt column would.
impl<'r> FromRow<'r, PgRow> for Question {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        let kind: i16 = row.try_get("kind")?;
        Ok(Question {
            key: row.try_get("key")?,
            kind: QuestionKind::from_db(kind).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "kind".into(),
                source: format!("unknown question kind {kind}").into(),
            })?,
            text: row.try_get("text")?,
            scale_min: row.try_get("scale_min")?,
            scale_max: row.try_get("scale_max")?,
            favorable_min: row.try_get("favorable_min")?,
            unfavorable_max: row.try_get("unfavorable_max")?,
            built_in: row.try_get("built_in")?,
        })
    }
}

/// Copies the built-in questions and the default scoring model to a new tenant.
pub async fn seed_tenant(conn: &mut PgConnection, tenant: TenantId) -> StoreResult<()> {
    for q in built_in_questions() {
        insert_question(&mut *conn, tenant, &q).await?;
    }
    let model = ScoringModel::default();
    sqlx::query("INSERT INTO scoring_models (tenant_id, model, etag) VALUES ($1, $2, $3)")
        .bind(tenant.0)
        .bind(sqlx::types::Json(&model))
        .bind(new_etag())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn insert_question(
    conn: &mut PgConnection,
    tenant: TenantId,
    q: &Question,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO questions (tenant_id, key, kind, text, scale_min, scale_max, favorable_min, unfavorable_max, built_in)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (tenant_id, key) DO UPDATE SET kind = EXCLUDED.kind, text = EXCLUDED.text,
           scale_min = EXCLUDED.scale_min, scale_max = EXCLUDED.scale_max,
           favorable_min = EXCLUDED.favorable_min, unfavorable_max = EXCLUDED.unfavorable_max",
    )
    .bind(tenant.0)
    .bind(&q.key)
    .bind(q.kind.db())
    .bind(&q.text)
    .bind(q.scale_min)
    .bind(q.scale_max)
    .bind(q.favorable_min)
    .bind(q.unfavorable_max)
    .bind(q.built_in)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every question of a tenant, ordered by key.
pub async fn list_questions(pool: &PgPool, tenant: TenantId) -> StoreResult<Vec<Question>> {
    Ok(sqlx::query_as(
        "SELECT key, kind, text, scale_min, scale_max, favorable_min, unfavorable_max, built_in
         FROM questions WHERE tenant_id = $1 ORDER BY key",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?)
}

/// What happened to an upserted question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpsertOutcome {
    Created,
    Updated,
    /// The key belongs to a built-in question.
    BuiltIn,
    /// The scale or kind would change while answers exist.
    ScaleLocked,
}

/// Creates or changes a custom question. Locks the row so a concurrent
/// answer insert cannot slip between the check and the change.
pub async fn upsert_question(
    pool: &PgPool,
    tenant: TenantId,
    q: &Question,
) -> StoreResult<UpsertOutcome> {
    let mut tx = pool.begin().await?;
    let existing: Option<Question> = sqlx::query_as(
        "SELECT key, kind, text, scale_min, scale_max, favorable_min, unfavorable_max, built_in
         FROM questions WHERE tenant_id = $1 AND key = $2 FOR UPDATE",
    )
    .bind(tenant.0)
    .bind(&q.key)
    .fetch_optional(&mut *tx)
    .await?;
    let outcome = match &existing {
        None => UpsertOutcome::Created,
        Some(old) if old.built_in => return Ok(UpsertOutcome::BuiltIn),
        Some(old) => {
            let scale_changed =
                old.kind != q.kind || old.scale_min != q.scale_min || old.scale_max != q.scale_max;
            if scale_changed {
                let answered: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM answers WHERE tenant_id = $1 AND question = $2)",
                )
                .bind(tenant.0)
                .bind(&q.key)
                .fetch_one(&mut *tx)
                .await?;
                if answered {
                    return Ok(UpsertOutcome::ScaleLocked);
                }
            }
            UpsertOutcome::Updated
        }
    };
    let custom = Question {
        built_in: false,
        ..q.clone()
    };
    insert_question(&mut tx, tenant, &custom).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// A fresh etag. Random rather than a content hash, so A -> B -> A still
/// invalidates an editor's copy of the first A.
fn new_etag() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The model in force for a tenant, with its etag.
pub async fn get_scoring_model(
    pool: &PgPool,
    tenant: TenantId,
) -> StoreResult<(ScoringModel, String)> {
    let row: Option<(sqlx::types::Json<ScoringModel>, String)> =
        sqlx::query_as("SELECT model, etag FROM scoring_models WHERE tenant_id = $1")
            .bind(tenant.0)
            .fetch_optional(pool)
            .await?;
    Ok(match row {
        Some((model, etag)) => (model.0, etag),
        None => (ScoringModel::default(), String::new()),
    })
}

/// Replaces the model if `expected_etag` is current; returns the new etag, or
/// `None` when the etag is stale.
pub async fn update_scoring_model(
    pool: &PgPool,
    tenant: TenantId,
    model: &ScoringModel,
    expected_etag: &str,
) -> StoreResult<Option<String>> {
    let etag = new_etag();
    let done = sqlx::query(
        "INSERT INTO scoring_models (tenant_id, model, etag) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO UPDATE SET model = EXCLUDED.model, etag = EXCLUDED.etag, updated_at = now()
         WHERE scoring_models.etag = $4",
    )
    .bind(tenant.0)
    .bind(sqlx::types::Json(model))
    .bind(&etag)
    .bind(expected_etag)
    .execute(pool)
    .await?;
    Ok((done.rows_affected() == 1).then_some(etag))
}
