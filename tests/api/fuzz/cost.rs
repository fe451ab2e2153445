//! The cost dimension (issue 11, "Tests"): the largest well-formed request
//! of every RPC is answered within [`TIME_BOUND`] and grows the process's
//! resident memory by less than [`RSS_BOUND`].
//!
//! "Largest": every repeated field at its limit and every string at its
//! length limit, with as many records as fit in the 4 MiB message limit;
//! for ingest also the request with the most elements (1,000 records, each
//! with every nested list at its limit, strings short). A field without a
//! limit (`GetPerceptionGapRequest.questions`) gets 1,000 valid keys. The
//! answer may be a success or any answer bad input may get
//! ([`acceptable`]); never a code the API does not document.
//!
//! The bounds are generous on purpose: the test runs unoptimized, on a
//! 2-core machine shared with other test processes, and the server shares
//! this process (and its memory figure) with the tests running beside it.

use std::time::{Duration, Instant};

use gapscore::proto::v1::*;
use prost::{Message, Name};
use sqlx::PgPool;
use tonic::Code;

use super::harness::{Ctx, MAX_MESSAGE_BYTES, acceptable, start};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{
    app::health,
    internals::decoded_estimate,
    memory::{peak_rss_growth, rss_bytes},
    ts,
};

/// Wall time one largest request may take, answer included.
const TIME_BOUND: Duration = Duration::from_secs(20);
/// What one largest request may add to the process's resident memory.
const RSS_BOUND: u64 = 256 << 20;

/// A page of 1,000 records of the largest size encodes to more than the
/// 4 MiB message limit (9 MB for survey responses), which tonic answers
/// OUT_OF_RANGE: pages are bounded by record count, not by bytes. An open
/// finding, outside what this test bounds (time and memory).
const PAGE_OVER_MESSAGE_LIMIT: &[Code] = &[Code::OutOfRange];

/// Room left under the message limit for gRPC framing.
const FIT: usize = MAX_MESSAGE_BYTES - 1024;

/// `text` padded with `fill` to `len` characters.
fn pad(text: &str, len: usize, fill: char) -> String {
    let mut s = text.to_owned();
    while s.chars().count() < len {
        s.push(fill);
    }
    s
}

fn labels() -> std::collections::BTreeMap<String, String> {
    (0..16)
        .map(|k| (pad(&format!("l{k:02}"), 63, 'x'), pad("", 128, 'v')))
        .collect()
}

fn filter() -> Option<ScoreFilter> {
    Some(ScoreFilter {
        start_time: Some(ts("2020-01-01T00:00:00Z")),
        end_time: Some(ts("2026-01-01T00:00:00Z")),
        labels: labels(),
        survey_id: pad("s", 128, 'x'),
        intent: pad("i", 63, 'x'),
    })
}

/// The most records `make(n)` can hold within the message limit, up to `max`.
fn fit<T: Message>(max: usize, make: impl Fn(usize) -> T) -> T {
    let (mut low, mut high) = (1, max);
    while low < high {
        let mid = (low + high).div_ceil(2);
        if make(mid).encoded_len() <= FIT {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    make(low)
}

/// Keys of the 99 RATING questions and the THEMES question acme gets, so a
/// response can answer 100 distinct questions.
fn rating_keys() -> Vec<String> {
    (0..99).map(|i| format!("q{i}")).collect()
}
const THEMES_KEY: &str = "t";

async fn add_questions(ctx: &Ctx) {
    let mut catalog = ctx.app.catalog();
    let text = pad("Question", 1000, '.');
    for (key, kind) in rating_keys()
        .into_iter()
        .map(|k| (k, QuestionKind::Rating))
        .chain([(THEMES_KEY.to_owned(), QuestionKind::Themes)])
    {
        let rating = kind == QuestionKind::Rating;
        catalog
            .upsert_question(UpsertQuestionRequest {
                question: Some(Question {
                    key,
                    kind: kind as i32,
                    text: text.clone(),
                    scale_min: if rating { 1 } else { 0 },
                    scale_max: if rating { 5 } else { 0 },
                    favorable_min: if rating { 4 } else { 0 },
                    unfavorable_max: rating.then_some(2),
                    built_in: false,
                }),
            })
            .await
            .expect("question added");
    }
}

/// 100 answers: 99 ratings with `comment`, and 80 themes (20 distinct, each
/// sent four ways) of `theme_chars` characters.
fn answers(comment: &str, theme_chars: usize) -> Vec<Answer> {
    let mut out: Vec<Answer> = rating_keys()
        .into_iter()
        .map(|question| Answer {
            question,
            score: Some(3),
            comment: comment.to_owned(),
            ..Answer::default()
        })
        .collect();
    let themes = (0..20)
        .flat_map(|t| {
            let theme = pad(&format!("theme{t:02}"), theme_chars, 'z');
            [
                theme.clone(),
                theme.to_uppercase(),
                format!(" {theme} "),
                format!("{theme}\t"),
            ]
        })
        .collect();
    out.push(Answer {
        question: THEMES_KEY.into(),
        themes,
        ..Answer::default()
    });
    out
}

/// A response with every string at its limit.
fn wide_response(tag: &str, i: usize) -> SurveyResponse {
    SurveyResponse {
        id: pad(&format!("{tag}{i}-"), 128, 'x'),
        role: RespondentRole::Customer as i32,
        respondent_id: pad(&format!("c{i}-"), 128, 'x'),
        survey_id: pad("s", 128, 'x'),
        submitted_at: Some(ts("2025-05-01T00:00:00Z")),
        labels: labels(),
        answers: answers(&pad("", 4000, 'c'), 64),
    }
}

/// A response with every list at its limit and short strings.
fn many_response(tag: &str, i: usize) -> SurveyResponse {
    SurveyResponse {
        id: format!("{tag}{i}"),
        role: RespondentRole::Staff as i32,
        submitted_at: Some(ts("2025-05-02T00:00:00Z")),
        labels: (0..16).map(|k| (format!("k{k}"), "v".into())).collect(),
        answers: answers("", 1),
        ..SurveyResponse::default()
    }
}

fn wide_journey(i: usize) -> Journey {
    let touchpoints = (0..200)
        .map(|k| Touchpoint {
            channel: Channel::Phone as i32,
            initiator: Initiator::Customer as i32,
            occurred_at: Some(prost_types::Timestamp {
                seconds: 1_740_000_000 + k * 60,
                nanos: 999_999_999,
            }),
            duration_seconds: 86_400,
            wait_seconds: 86_400,
            outcome: TouchpointOutcome::Unresolved as i32,
            transfers: 50,
            repeated_information: true,
        })
        .collect();
    Journey {
        id: pad(&format!("j{i}-"), 128, 'x'),
        customer_id: pad(&format!("c{i}-"), 128, 'x'),
        intent: pad("i", 63, 'x'),
        labels: labels(),
        touchpoints,
        ..Journey::default()
    }
}

fn outcome(i: usize) -> Outcome {
    Outcome {
        id: pad(&format!("o{i}-"), 128, 'x'),
        customer_id: pad(&format!("c{i}-"), 128, 'x'),
        kind: OutcomeKind::NegativeWordOfMouth as i32,
        occurred: true,
        observed_at: Some(ts("2025-05-03T00:00:00Z")),
    }
}

/// Runs one largest request and checks its bounds.
async fn bounded<M: Message + Name, T>(
    rpc: &str,
    request: &M,
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) {
    bounded_or(rpc, request, &[], call).await;
}

/// [`bounded`], where `also` are codes the answer may have beyond what bad
/// input may get.
async fn bounded_or<M: Message + Name, T>(
    rpc: &str,
    request: &M,
    also: &[Code],
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) {
    let len = request.encoded_len();
    let estimate = decoded_estimate(request);
    let started = Instant::now();
    let (growth, result) = peak_rss_growth(tokio::time::timeout(TIME_BOUND, call)).await;
    let elapsed = started.elapsed();
    let result = result.unwrap_or_else(|_| panic!("{rpc}: no answer within {TIME_BOUND:?}"));
    let code = match result {
        Ok(_) => Code::Ok,
        Err(status) if also.contains(&status.code()) => status.code(),
        Err(status) => acceptable(&status, len).unwrap_or_else(|e| panic!("{rpc}: {e}")),
    };
    eprintln!(
        "  {rpc:<40} {len:>8} B wire {:>5} MB est. {code:?} in {:.2} s, RSS +{} MB (now {} MB)",
        estimate >> 20,
        elapsed.as_secs_f64(),
        growth >> 20,
        rss_bytes() >> 20
    );
    assert!(
        growth < RSS_BOUND,
        "{rpc}: RSS grew by {growth} bytes (bound {RSS_BOUND})"
    );
}

#[sqlx::test]
async fn fuzz_cost_the_largest_request_of_every_rpc_is_answered_within_bounds(pool: PgPool) {
    let ctx = start(pool).await;
    add_questions(&ctx).await;
    let app = &ctx.app;
    eprintln!(
        "fuzz (cost): bounds {TIME_BOUND:?} and {} MB per request",
        RSS_BOUND >> 20
    );

    // Ingest.
    for (shape, make) in [
        ("wide", wide_response as fn(&str, usize) -> SurveyResponse),
        ("many", many_response),
    ] {
        let r = fit(1000, |n| SubmitSurveyResponsesRequest {
            responses: (0..n).map(|i| make(&format!("u{shape}"), i)).collect(),
        });
        let rpc = format!("SubmitSurveyResponses ({shape})");
        bounded(&rpc, &r, app.survey().submit_survey_responses(r.clone())).await;
        let m = fit(1000, |n| StreamSurveyResponsesRequest {
            responses: (0..n).map(|i| make(&format!("s{shape}"), i)).collect(),
        });
        let rpc = format!("StreamSurveyResponses ({shape})");
        let mut client = app.survey();
        let call = client.stream_survey_responses(tokio_stream::iter(vec![m.clone()]));
        bounded(&rpc, &m, call).await;
    }
    let r = fit(1000, |n| SubmitJourneysRequest {
        journeys: (0..n).map(wide_journey).collect(),
    });
    bounded(
        "SubmitJourneys",
        &r,
        app.journeys().submit_journeys(r.clone()),
    )
    .await;
    let m = fit(1000, |n| StreamJourneysRequest {
        journeys: (0..n).map(wide_journey).collect(),
    });
    let mut client = app.journeys();
    let call = client.stream_journeys(tokio_stream::iter(vec![m.clone()]));
    bounded("StreamJourneys", &m, call).await;
    let r = SubmitOutcomesRequest {
        outcomes: (0..1000).map(outcome).collect(),
    };
    bounded(
        "SubmitOutcomes",
        &r,
        app.outcomes().submit_outcomes(r.clone()),
    )
    .await;

    // Catalog.
    let r = UpsertQuestionRequest {
        question: Some(Question {
            key: pad("k", 63, 'x'),
            kind: QuestionKind::Rating as i32,
            text: pad("", 1000, 't'),
            scale_min: 0,
            scale_max: 10,
            favorable_min: 9,
            unfavorable_max: Some(6),
            built_in: false,
        }),
    };
    bounded(
        "UpsertQuestion",
        &r,
        app.catalog().upsert_question(r.clone()),
    )
    .await;
    let r = ListQuestionsRequest {};
    bounded("ListQuestions", &r, app.catalog().list_questions(r)).await;
    let r = GetScoringModelRequest {};
    let model = app
        .catalog()
        .get_scoring_model(r)
        .await
        .expect("the model")
        .into_inner()
        .model;
    bounded("GetScoringModel", &r, app.catalog().get_scoring_model(r)).await;
    let r = UpdateScoringModelRequest { model };
    bounded(
        "UpdateScoringModel",
        &r,
        app.catalog().update_scoring_model(r.clone()),
    )
    .await;

    // Reads, with every filter field at its limit, then the largest page.
    let id = pad("uwide0-", 128, 'x');
    let r = GetSurveyResponseRequest { id: id.clone() };
    bounded(
        "GetSurveyResponse",
        &r,
        app.survey().get_survey_response(r.clone()),
    )
    .await;
    let r = GetJourneyRequest {
        id: pad("j0-", 128, 'x'),
    };
    bounded("GetJourney", &r, app.journeys().get_journey(r.clone())).await;
    let r = ListSurveyResponsesRequest {
        filter: filter(),
        role: RespondentRole::Customer as i32,
        respondent_id: pad("c0-", 128, 'x'),
        page_size: 1000,
        page_token: String::new(),
    };
    bounded(
        "ListSurveyResponses",
        &r,
        app.survey().list_survey_responses(r.clone()),
    )
    .await;
    let r = ListSurveyResponsesRequest {
        page_size: 1000,
        ..ListSurveyResponsesRequest::default()
    };
    bounded_or(
        "ListSurveyResponses (page of 1000)",
        &r,
        PAGE_OVER_MESSAGE_LIMIT,
        app.survey().list_survey_responses(r.clone()),
    )
    .await;
    let r = ListJourneysRequest {
        filter: filter(),
        customer_id: pad("c0-", 128, 'x'),
        page_size: 1000,
        page_token: String::new(),
    };
    bounded("ListJourneys", &r, app.journeys().list_journeys(r.clone())).await;
    let r = ListJourneysRequest {
        page_size: 1000,
        ..ListJourneysRequest::default()
    };
    bounded_or(
        "ListJourneys (page of 1000)",
        &r,
        PAGE_OVER_MESSAGE_LIMIT,
        app.journeys().list_journeys(r.clone()),
    )
    .await;
    // Outcomes have neither a survey nor an intent to filter by.
    let r = ListOutcomesRequest {
        filter: filter().map(|f| ScoreFilter {
            survey_id: String::new(),
            intent: String::new(),
            ..f
        }),
        customer_id: pad("c0-", 128, 'x'),
        kind: OutcomeKind::NegativeWordOfMouth as i32,
        page_size: 1000,
        page_token: String::new(),
    };
    bounded("ListOutcomes", &r, app.outcomes().list_outcomes(r.clone())).await;
    let r = ListAtRiskCustomersRequest {
        filter: filter(),
        min_tier: EffortTier::Low as i32,
        page_size: 1000,
        page_token: String::new(),
    };
    bounded(
        "ListAtRiskCustomers",
        &r,
        app.customers().list_at_risk_customers(r.clone()),
    )
    .await;
    let r = GetCustomerRiskRequest {
        customer_id: pad("c0-", 128, 'x'),
        filter: filter(),
        confidence_level: Some(0.999),
    };
    bounded(
        "GetCustomerRisk",
        &r,
        app.customers().get_customer_risk(r.clone()),
    )
    .await;

    // Scoring, over the whole window and with every filter field set.
    for (what, filter) in [("all", None), ("filtered", filter())] {
        let mut questions: Vec<String> = rating_keys();
        questions.push(THEMES_KEY.into());
        let questions = questions.iter().cycle().take(1000).cloned().collect();
        let r = GetPerceptionGapRequest {
            filter: filter.clone(),
            questions,
            confidence_level: Some(0.999),
            group_by: pad("l00", 63, 'x'),
        };
        let rpc = format!("GetPerceptionGap ({what})");
        bounded(&rpc, &r, app.scoring().get_perception_gap(r.clone())).await;
        let r = GetEffortIndexRequest {
            filter: filter.clone(),
            confidence_level: Some(0.999),
        };
        let rpc = format!("GetEffortIndex ({what})");
        bounded(&rpc, &r, app.scoring().get_effort_index(r.clone())).await;
        let r = GetLoyaltyRiskRequest {
            filter: filter.clone(),
            confidence_level: Some(0.999),
        };
        let rpc = format!("GetLoyaltyRisk ({what})");
        bounded(&rpc, &r, app.scoring().get_loyalty_risk(r.clone())).await;
        let r = GetScorecardRequest {
            filter: filter.clone(),
        };
        let rpc = format!("GetScorecard ({what})");
        bounded(&rpc, &r, app.scoring().get_scorecard(r.clone())).await;
        let r = GetTrendRequest {
            metric: TrendMetric::GapPoints as i32,
            bucket: TrendBucket::Week as i32,
            filter: filter.clone(),
            question: "q0".into(),
            role: RespondentRole::Staff as i32,
            to_role: RespondentRole::Customer as i32,
            confidence_level: Some(0.999),
        };
        let rpc = format!("GetTrend ({what})");
        bounded(&rpc, &r, app.scoring().get_trend(r.clone())).await;
    }

    // Erasure last.
    let r = DeleteCustomerDataRequest {
        customer_id: pad("c0-", 128, 'x'),
    };
    bounded(
        "DeleteCustomerData",
        &r,
        app.customers().delete_customer_data(r.clone()),
    )
    .await;

    // Still serving (the harness's `assert_healthy` lists a page, which the
    // largest records push over the message limit, see above).
    assert!(!app.server.is_finished(), "the server task ended");
    assert_eq!(health(&app.channel, "").await, Some(ServingStatus::Serving));
    app.catalog()
        .list_questions(ListQuestionsRequest {})
        .await
        .expect("a valid call succeeds");
}
