//! The question catalog and the scoring model of each tenant.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use super::{StoreResult, tenants::TenantId};

/// `gapscore.v1.QuestionKind` values as stored.
pub const KIND_RATING: i16 = 1;
pub const KIND_THEMES: i16 = 2;

/// A catalog question.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Question {
    pub key: String,
    pub kind: i16,
    pub text: String,
    pub scale_min: i32,
    pub scale_max: i32,
    pub favorable_min: i32,
    pub unfavorable_max: Option<i32>,
    pub built_in: bool,
}

impl Question {
    pub fn is_rating(&self) -> bool {
        self.kind == KIND_RATING
    }
}

fn rating(key: &str, text: &str, min: i32, max: i32, fav: i32, unfav: i32) -> Question {
    Question {
        key: key.into(),
        kind: KIND_RATING,
        text: text.into(),
        scale_min: min,
        scale_max: max,
        favorable_min: fav,
        unfavorable_max: Some(unfav),
        built_in: true,
    }
}

fn themes(key: &str, text: &str) -> Question {
    Question {
        key: key.into(),
        kind: KIND_THEMES,
        text: text.into(),
        scale_min: 0,
        scale_max: 0,
        favorable_min: 0,
        unfavorable_max: None,
        built_in: true,
    }
}

/// The built-in questions of SPEC §4, which every tenant starts with.
pub fn built_in_questions() -> Vec<Question> {
    vec![
        rating(
            "overall_experience",
            "The customer experience is superior",
            1,
            5,
            4,
            2,
        ),
        rating(
            "customer_centricity",
            "The company is customer-centric",
            1,
            5,
            4,
            2,
        ),
        rating("speed", "Speed of service", 1, 5, 4, 2),
        rating("convenience", "Convenience", 1, 5, 4, 2),
        rating("knowledgeable_help", "Knowledgeable help", 1, 5, 4, 2),
        rating("friendly_support", "Friendly support", 1, 5, 4, 2),
        rating(
            "ease",
            "The company made it easy for me to handle my issue (CES 2.0)",
            1,
            7,
            5,
            3,
        ),
        rating(
            "likelihood_to_recommend",
            "How likely are you to recommend us? (NPS)",
            0,
            10,
            9,
            6,
        ),
        rating("csat", "How satisfied are you? (top-2-box)", 1, 5, 4, 2),
        themes("do_well", "What do we do well?"),
        themes("improve", "What could be improved?"),
        themes(
            "competitors_do_differently",
            "What does the competition do differently?",
        ),
        themes(
            "continue_or_start",
            "What should we continue or start doing?",
        ),
    ]
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
    .bind(q.kind)
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

/// Prior means of one outcome kind for the LOW and HIGH tiers (SPEC §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OutcomePriorMeans {
    pub low: f64,
    pub high: f64,
}

/// Effort weights of SPEC §6.1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EffortWeights {
    pub extra_contact: f64,
    pub channel_switch: f64,
    pub failed_self_service: f64,
    pub transfer: f64,
    pub repeated_information: f64,
    pub minute: f64,
    pub free_minutes: f64,
    pub time_cap: f64,
    pub unresolved: f64,
}

impl Default for EffortWeights {
    fn default() -> Self {
        Self {
            extra_contact: 15.0,
            channel_switch: 10.0,
            failed_self_service: 10.0,
            transfer: 10.0,
            repeated_information: 10.0,
            minute: 0.5,
            free_minutes: 5.0,
            time_cap: 30.0,
            unresolved: 30.0,
        }
    }
}

/// A tenant's scoring settings (SPEC §7.5), stored as JSON so new settings
/// can be added without a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoringModel {
    pub min_group_size: i32,
    pub confidence_level: f64,
    pub weights: EffortWeights,
    pub low_effort_below: f64,
    pub high_effort_from: f64,
    pub prior_strength: f64,
    pub negative_word_of_mouth: OutcomePriorMeans,
    pub disloyalty: OutcomePriorMeans,
    pub repurchase: OutcomePriorMeans,
    pub spend_increase: OutcomePriorMeans,
}

impl Default for ScoringModel {
    fn default() -> Self {
        Self {
            min_group_size: 5,
            confidence_level: 0.95,
            weights: EffortWeights::default(),
            low_effort_below: 20.0,
            high_effort_from: 50.0,
            prior_strength: 50.0,
            negative_word_of_mouth: OutcomePriorMeans {
                low: 0.01,
                high: 0.81,
            },
            disloyalty: OutcomePriorMeans {
                low: 0.09,
                high: 0.96,
            },
            repurchase: OutcomePriorMeans {
                low: 0.94,
                high: 0.04,
            },
            spend_increase: OutcomePriorMeans {
                low: 0.88,
                high: 0.04,
            },
        }
    }
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

impl ScoringModel {
    /// The effort part of the model, for `scoring::effort`.
    pub fn effort_model(&self) -> crate::scoring::effort::EffortModel {
        let w = &self.weights;
        crate::scoring::effort::EffortModel {
            weight_extra_contact: w.extra_contact,
            weight_channel_switch: w.channel_switch,
            weight_failed_self_service: w.failed_self_service,
            weight_transfer: w.transfer,
            weight_repeated_information: w.repeated_information,
            free_minutes: w.free_minutes,
            minutes_rate: w.minute,
            time_cap: w.time_cap,
            weight_unresolved: w.unresolved,
            tier_low_below: self.low_effort_below,
            tier_high_from: self.high_effort_from,
        }
    }

    /// The loyalty priors, for `scoring::loyalty`.
    pub fn prior_model(&self) -> crate::scoring::loyalty::PriorModel {
        use crate::scoring::loyalty::{PriorMeans, PriorModel};
        let side = |pick: fn(&OutcomePriorMeans) -> f64| PriorMeans {
            negative_word_of_mouth: pick(&self.negative_word_of_mouth),
            disloyalty: pick(&self.disloyalty),
            repurchase: pick(&self.repurchase),
            spend_increase: pick(&self.spend_increase),
        };
        PriorModel {
            prior_strength: self.prior_strength,
            low: side(|p| p.low),
            high: side(|p| p.high),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_model_matches_the_scoring_defaults() {
        let model = ScoringModel::default();
        assert_eq!(
            model.effort_model(),
            crate::scoring::effort::EffortModel::default()
        );
        assert_eq!(
            model.prior_model(),
            crate::scoring::loyalty::PriorModel::default()
        );
    }
}
