//! The worker loop: fan out, claim, deliver, record.

use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinSet;

use super::{
    Settings, backoff, client::Post, client::WebhookClient, payload, signing, target::check_url,
};
use crate::store::webhooks::{self as db, Attempt, Claimed};

/// Webhooks fanned out per pass, and events per webhook: bounded work per
/// statement; a webhook further behind is picked again next pass.
const FAN_OUT_WEBHOOKS: i64 = 100;
const FAN_OUT_EVENTS: i64 = 1000;

/// How often the outcome of an attempt is written before it is left to the
/// lease (the attempt is then made again: at least once).
const RECORD_TRIES: u32 = 3;

pub async fn run(pool: PgPool, settings: Settings) {
    let client = WebhookClient::new(settings.timeout);
    let lease = settings.lease().as_secs_f64();
    let mut in_flight = JoinSet::new();
    let mut ticks = tokio::time::interval(settings.poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        while in_flight.try_join_next().is_some() {}
        match db::fan_out(&pool, FAN_OUT_WEBHOOKS, FAN_OUT_EVENTS).await {
            Ok(0) => {}
            Ok(n) => {
                metrics::counter!("gapscore_webhook_deliveries_created_total").increment(n);
                tracing::debug!(deliveries = n, "webhook deliveries created");
            }
            Err(err) => tracing::warn!(error = %err, "webhook fan-out failed; will retry"),
        }
        let free = settings.concurrency.saturating_sub(in_flight.len());
        if free == 0 {
            continue;
        }
        let claimed = match db::claim_due(&pool, free as i64, lease).await {
            Ok(claimed) => claimed,
            Err(err) => {
                tracing::warn!(error = %err, "claiming webhook deliveries failed; will retry");
                continue;
            }
        };
        for delivery in claimed {
            let (pool, client, settings) = (pool.clone(), client.clone(), settings.clone());
            in_flight.spawn(async move { deliver(&pool, &client, &settings, delivery).await });
        }
    }
}

/// Makes one claimed attempt and records its outcome.
async fn deliver(pool: &PgPool, client: &WebhookClient, settings: &Settings, claimed: Claimed) {
    let id = claimed.event.event_id.to_string();
    let answer = match check_url(&claimed.url, settings.allow_http_loopback) {
        Err(why) => Err(format!("the URL is no longer allowed: it {why}")),
        Ok(_) => {
            let body = payload::body(&claimed);
            let timestamp = chrono::Utc::now().timestamp();
            let signature = signing::signature(&claimed.secret, &id, timestamp, &body);
            client
                .post(Post {
                    url: &claimed.url,
                    webhook_id: &id,
                    timestamp,
                    signature: &signature,
                    body,
                })
                .await
        }
    };
    let attempt = match &answer {
        Ok(_) => Attempt::Delivered,
        Err(error) => Attempt::Failed {
            error: error.clone(),
            retry_in_secs: backoff::retry_delay(
                settings.retry_base,
                claimed.attempts.max(1) as u32,
                rand::random::<f64>(),
            )
            .as_secs_f64(),
            give_up_secs: settings.give_up_after.as_secs_f64(),
        },
    };
    let mut tries = 0;
    let status = loop {
        tries += 1;
        match db::record_attempt(pool, &claimed, &attempt).await {
            Ok(status) => break status,
            Err(err) if tries < RECORD_TRIES => {
                tracing::debug!(error = %err, "recording a webhook attempt failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(err) => {
                tracing::warn!(
                    tenant = claimed.tenant_id,
                    webhook_id = %claimed.webhook_id,
                    event_id = %id,
                    error = %err,
                    "cannot record a webhook attempt; it will be made again when its lease ends"
                );
                return;
            }
        }
    };
    let outcome = match (&answer, status) {
        (_, None) => "superseded",
        (Ok(_), _) => "delivered",
        (Err(_), Some(db::FAILED)) => "failed",
        (Err(_), _) => "retrying",
    };
    metrics::counter!("gapscore_webhook_attempts_total", "outcome" => outcome).increment(1);
    match &answer {
        Ok(status) => tracing::debug!(
            tenant = claimed.tenant_id,
            webhook_id = %claimed.webhook_id,
            event_id = %id,
            attempt = claimed.attempts,
            status,
            "webhook delivered"
        ),
        // The URL is the tenant's own, checked to carry no credentials.
        Err(error) => tracing::info!(
            tenant = claimed.tenant_id,
            webhook_id = %claimed.webhook_id,
            event_id = %id,
            attempt = claimed.attempts,
            error,
            outcome,
            "webhook attempt failed"
        ),
    }
}
