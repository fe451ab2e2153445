//! Phases 4 and 5: unary latency under load at the top level, reads
//! (`GetCustomerRisk`) and small writes (`SubmitSurveyResponses` of 10
//! records), with the server's peak RSS meanwhile.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tonic::Status;

use super::{Config, data::Generator, percentile_ms, rss::Rss};
use crate::{
    client::Clients,
    proto::v1::{GetCustomerRiskRequest, SubmitSurveyResponsesRequest},
};

/// One latency-under-load measurement.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    pub call: String,
    pub callers: usize,
    pub calls: usize,
    pub errors: usize,
    pub per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub peak_rss_mib: f64,
}

/// Calls `call(worker, i)` from `cfg.load_callers` tasks for
/// `cfg.load_duration`, measuring the server's peak RSS meanwhile.
async fn measure<F, Fut>(cfg: &Config, rss: &Rss, name: &str, call: F) -> LoadResult
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), Status>> + Send,
{
    let (callers, duration) = (cfg.load_callers, cfg.load_duration);
    rss.start_phase();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..callers {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut i) = (Vec::new(), 0usize, 0u64);
            while started.elapsed() < duration {
                let t = Instant::now();
                match call(w, i).await {
                    Ok(()) => lat.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
                i += 1;
            }
            (lat, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::<Duration>::new(), 0);
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    all.sort();
    LoadResult {
        call: name.to_owned(),
        callers,
        calls: all.len(),
        errors,
        per_s: all.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: percentile_ms(&all, 50.0),
        p99_ms: percentile_ms(&all, 99.0),
        peak_rss_mib: rss.phase_peak_mib(),
    }
}

/// GetCustomerRisk and SubmitSurveyResponses(10) at `load_callers`.
pub(super) async fn load_phase(
    cfg: &Config,
    g: &Generator,
    scoring: &Clients,
    ingest: &Clients,
    journeys: u64,
    rss: &Rss,
    log: &(dyn Fn(&str) + Sync),
) -> anyhow::Result<Vec<LoadResult>> {
    // Customers with journeys, drawn by a seeded index.
    let customers: Arc<Vec<String>> = Arc::new(
        (0..1000u64)
            .map(|i| {
                g.journey("b", (i.wrapping_mul(7_919) + 13) % journeys.max(1))
                    .customer_id
            })
            .collect(),
    );
    let c = scoring.clone();
    // Warm-up.
    for id in customers.iter().take(20) {
        c.customers()
            .get_customer_risk(GetCustomerRiskRequest {
                customer_id: id.clone(),
                ..Default::default()
            })
            .await?;
    }
    let reads = measure(cfg, rss, "GetCustomerRisk", move |w, i| {
        let mut client = c.customers();
        let id = customers[((w as u64 * 31 + i * 17) % customers.len() as u64) as usize].clone();
        async move {
            client
                .get_customer_risk(GetCustomerRiskRequest {
                    customer_id: id,
                    ..Default::default()
                })
                .await
                .map(|_| ())
        }
    })
    .await;

    let (c, g) = (ingest.clone(), *g);
    let writes = measure(
        cfg,
        rss,
        "SubmitSurveyResponses (10 records)",
        move |w, i| {
            let mut client = c.survey();
            let base = (w as u64) * 10_000_000 + i * 10;
            let responses = (base..base + 10).map(|k| g.response("l", k)).collect();
            async move {
                client
                    .submit_survey_responses(SubmitSurveyResponsesRequest { responses })
                    .await
                    .map(|_| ())
            }
        },
    )
    .await;
    let out = vec![reads, writes];
    for r in &out {
        log(&format!(
            "{} at {} callers: {:.0}/s p50 {:.1} ms p99 {:.1} ms ({} errors)",
            r.call, r.callers, r.per_s, r.p50_ms, r.p99_ms, r.errors
        ));
    }
    Ok(out)
}
