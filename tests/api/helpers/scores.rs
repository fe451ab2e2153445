//! Every score that existed before answer frames, read through the API for
//! one tenant, so two tenants can be compared read by read: SPEC §16.1 says
//! EXPECTATION, IMPORTANCE and COMPETITOR answers change none of them.

use gapscore::proto::v1::*;
use prost::Message;
use prost_types::Timestamp;

use super::TestApp;

/// What to read: a window holding every record, a region label value, a
/// survey id, the customers whose risk to read and the trends' bucket.
pub struct Probe {
    pub start: Timestamp,
    pub end: Timestamp,
    pub region: &'static str,
    pub survey_id: &'static str,
    pub customers: Vec<String>,
    pub bucket: TrendBucket,
    /// THEMES questions that only the data set with frames answers (the
    /// demo's `competitors_do_better` and `competitors_do_worse`): figures
    /// that are new rather than changed, left out of the perception gaps.
    pub new_themes: &'static [&'static str],
}

/// `gap` without the theme reports of `questions`.
fn without_themes(
    mut gap: GetPerceptionGapResponse,
    questions: &[&str],
) -> GetPerceptionGapResponse {
    let reports = gap
        .overall
        .iter_mut()
        .chain(gap.groups.iter_mut().filter_map(|g| g.report.as_mut()));
    for report in reports {
        report
            .themes
            .retain(|t| !questions.contains(&t.question.as_str()));
    }
    gap
}

/// One read: its name, its answer's protobuf bytes (or the status code),
/// and the answer as text for a failure message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub name: String,
    pub bytes: Vec<u8>,
    pub text: String,
}

fn read<M: Message + std::fmt::Debug>(name: &str, answer: Result<M, tonic::Status>) -> Read {
    match answer {
        Ok(m) => Read {
            name: name.to_owned(),
            bytes: m.encode_to_vec(),
            text: format!("{m:#?}"),
        },
        Err(status) => Read {
            name: name.to_owned(),
            bytes: Vec::new(),
            text: format!("error {:?}: {}", status.code(), status.message()),
        },
    }
}

/// The first read whose answer differs between `a` and `b`, with both
/// answers; `None` when every read is byte-identical.
pub fn first_difference(a: &[Read], b: &[Read]) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} reads against {}", a.len(), b.len()));
    }
    a.iter().zip(b).find(|(x, y)| x != y).map(|(x, y)| {
        let cut = |s: &str| s.chars().take(6_000).collect::<String>();
        format!(
            "{} differs:\n--- without frames\n{}\n--- with frames\n{}",
            x.name,
            cut(&x.text),
            cut(&y.text)
        )
    })
}

/// Every existing score of the tenant of `key`: GetPerceptionGap (whole
/// scope, by region, filtered by region, by survey id), GetEffortIndex,
/// GetLoyaltyRisk, GetScorecard without the two fields frames added
/// (`top_priority`, `largest_shortfall`), GetTrend of every metric, every
/// page of ListAtRiskCustomers (customers only, without the holdout flag:
/// page tokens are sealed per call, and the holdout is the tenant's keyed
/// assignment) and GetCustomerRisk of each probed customer.
pub async fn existing_scores(app: &TestApp, key: &str, probe: &Probe) -> Vec<Read> {
    let scoring = || app.scoring_as(Some(key));
    let window = ScoreFilter {
        start_time: Some(probe.start),
        end_time: Some(probe.end),
        ..Default::default()
    };
    let scoped = |labels: &[(&str, &str)], survey_id: &str| ScoreFilter {
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        survey_id: survey_id.to_owned(),
        ..window.clone()
    };
    let gap = |filter: ScoreFilter, group_by: &str| GetPerceptionGapRequest {
        filter: Some(filter),
        group_by: group_by.to_owned(),
        ..Default::default()
    };
    let mut out = Vec::new();
    for (name, request) in [
        ("GetPerceptionGap", gap(window.clone(), "")),
        (
            "GetPerceptionGap group_by region",
            gap(window.clone(), "region"),
        ),
        (
            "GetPerceptionGap region filter",
            gap(scoped(&[("region", probe.region)], ""), ""),
        ),
        (
            "GetPerceptionGap survey_id, group_by product",
            gap(scoped(&[], probe.survey_id), "product"),
        ),
        (
            "GetPerceptionGap no filter",
            GetPerceptionGapRequest::default(),
        ),
    ] {
        let answer = scoring().get_perception_gap(request).await;
        out.push(read(
            name,
            answer.map(|r| without_themes(r.into_inner(), probe.new_themes)),
        ));
    }
    for (name, filter) in [
        ("", window.clone()),
        (" region filter", scoped(&[("region", probe.region)], "")),
    ] {
        let effort = scoring()
            .get_effort_index(GetEffortIndexRequest {
                filter: Some(filter.clone()),
                confidence_level: None,
            })
            .await;
        out.push(read(
            &format!("GetEffortIndex{name}"),
            effort.map(|r| r.into_inner()),
        ));
        let loyalty = scoring()
            .get_loyalty_risk(GetLoyaltyRiskRequest {
                filter: Some(filter.clone()),
                confidence_level: None,
            })
            .await;
        out.push(read(
            &format!("GetLoyaltyRisk{name}"),
            loyalty.map(|r| r.into_inner()),
        ));
        let card = scoring()
            .get_scorecard(GetScorecardRequest {
                filter: Some(filter),
            })
            .await
            .map(|r| GetScorecardResponse {
                top_priority: None,
                largest_shortfall: None,
                ..r.into_inner()
            });
        out.push(read(&format!("GetScorecard{name}"), card));
    }
    let customer = RespondentRole::Customer;
    let trends: [(TrendMetric, &str, RespondentRole, RespondentRole); 8] = [
        (
            TrendMetric::FavorableShare,
            "overall_experience",
            customer,
            RespondentRole::Unspecified,
        ),
        (
            TrendMetric::FavorableShare,
            "speed",
            customer,
            RespondentRole::Unspecified,
        ),
        (
            TrendMetric::NetScore,
            "likelihood_to_recommend",
            customer,
            RespondentRole::Unspecified,
        ),
        (
            TrendMetric::GapPoints,
            "speed",
            RespondentRole::Leadership,
            customer,
        ),
        (
            TrendMetric::EffortIndexMean,
            "",
            RespondentRole::Unspecified,
            RespondentRole::Unspecified,
        ),
        (
            TrendMetric::HighEffortShare,
            "",
            RespondentRole::Unspecified,
            RespondentRole::Unspecified,
        ),
        (
            TrendMetric::CesMean,
            "",
            RespondentRole::Unspecified,
            RespondentRole::Unspecified,
        ),
        (
            TrendMetric::NegativeWordOfMouthShare,
            "",
            RespondentRole::Unspecified,
            RespondentRole::Unspecified,
        ),
    ];
    for (metric, question, role, to_role) in trends {
        let answer = scoring()
            .get_trend(GetTrendRequest {
                metric: metric as i32,
                bucket: probe.bucket as i32,
                filter: Some(window.clone()),
                question: question.to_owned(),
                role: role as i32,
                to_role: to_role as i32,
                confidence_level: None,
            })
            .await;
        out.push(read(
            &format!("GetTrend {metric:?} {question}"),
            answer.map(|r| r.into_inner()),
        ));
    }
    for min_tier in [EffortTier::High, EffortTier::Low] {
        let mut token = String::new();
        let mut customers = Vec::new();
        let mut error = None;
        loop {
            let page = app
                .customers_as(Some(key))
                .list_at_risk_customers(ListAtRiskCustomersRequest {
                    filter: Some(window.clone()),
                    min_tier: min_tier as i32,
                    page_size: 1000,
                    page_token: token,
                })
                .await;
            match page {
                Ok(page) => {
                    let page = page.into_inner();
                    // The holdout flag is the tenant's keyed assignment
                    // under its model (SPEC §12.2), not a score of its data.
                    customers.extend(page.customers.into_iter().map(|c| AtRiskCustomer {
                        holdout: false,
                        ..c
                    }));
                    if page.next_page_token.is_empty() {
                        break;
                    }
                    token = page.next_page_token;
                }
                Err(status) => {
                    error = Some(status);
                    break;
                }
            }
        }
        let all = ListAtRiskCustomersResponse {
            customers,
            next_page_token: String::new(),
        };
        out.push(read(
            &format!("ListAtRiskCustomers {min_tier:?}"),
            error.map_or(Ok(all), Err),
        ));
    }
    for id in &probe.customers {
        let answer = app
            .customers_as(Some(key))
            .get_customer_risk(GetCustomerRiskRequest {
                customer_id: id.clone(),
                filter: None,
                confidence_level: None,
            })
            .await;
        out.push(read(
            &format!("GetCustomerRisk {id}"),
            answer.map(|r| r.into_inner()),
        ));
    }
    out
}
