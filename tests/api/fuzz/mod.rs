//! Property-based fuzzing of every RPC through the real server (issue "bad
//! input"): well-typed requests drawn from adversarial pools mixed with
//! valid values, and arbitrary bytes sent to every method path.
//!
//! Per case: the answer is never INTERNAL/UNKNOWN/DATA_LOSS (nor any code
//! the API does not document for bad input), every INVALID_ARGUMENT names
//! its fields, a rejected write leaves every table byte-for-byte unchanged,
//! an accepted batch stores exactly its records, a stream stops at its bad
//! message with the earlier ones committed and nothing of the bad one, and
//! every successful scoring answer keeps its invariants (shares and
//! probabilities in [0, 1], estimates inside their intervals, counts within
//! their totals).
//!
//! Cases per RPC: `GAPSCORE_FUZZ_CASES` (default 32, what CI runs). The
//! codes observed per RPC are printed (`cargo test --test api fuzz --
//! --nocapture`).

mod bytes;
mod checks;
mod cost;
mod frames;
pub(crate) mod harness;
mod invariants;
mod lists;
pub(crate) mod records;
pub(crate) mod values;

use std::{sync::Arc, time::Instant};

use gapscore::proto::v1::*;
use proptest::{collection::vec, prelude::*};
use prost::Message;
use sqlx::PgPool;

use checks::*;
use harness::{Tally, assert_healthy, fuzz_rpc, read_checked, read_only, start};
use lists::check_list;
use records::*;
use values::*;

/// A read whose successful answer must pass `check(&request, &answer)`.
macro_rules! checked {
    ($c:ident, $r:ident, $client:ident . $method:ident, $check:path) => {{
        let mut client = $c.app.$client();
        let call = client.$method($r.clone());
        read_checked($c, $r.encoded_len(), call, |a| $check(&$r, a)).await
    }};
}

#[sqlx::test]
async fn fuzz_well_typed_requests_to_every_rpc(pool: PgPool) {
    let started = Instant::now();
    let ctx = start(pool).await;
    let tally = Arc::new(Tally::default());

    // Ingest, unary and streamed.
    fuzz_rpc!(
        ctx,
        &tally,
        "SurveyService/SubmitSurveyResponses",
        survey_batch(),
        |c, v| check_submit_survey(c, v).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "SurveyService/StreamSurveyResponses",
        stream_case(valid_survey_response(), survey_batch()),
        |c, v| check_stream_survey(c, v).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "JourneyService/SubmitJourneys",
        journey_batch(),
        |c, v| check_submit_journeys(c, v).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "JourneyService/StreamJourneys",
        stream_case(valid_journey(), journey_batch()),
        |c, v| check_stream_journeys(c, v).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "OutcomeService/SubmitOutcomes",
        outcome_batch(),
        |c, v| check_submit_outcomes(c, v).await
    );

    // Catalog.
    fuzz_rpc!(
        ctx,
        &tally,
        "CatalogService/ListQuestions",
        catalog_read(),
        |c, v| check_list_questions(c, v).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "CatalogService/GetScoringModel",
        catalog_read(),
        |c, v| check_get_scoring_model(c, v).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "CatalogService/UpsertQuestion",
        question(),
        |c, v| check_upsert_question(c, v).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "CatalogService/UpdateScoringModel",
        model(),
        |c, v| check_update_model(c, v).await
    );

    // Reads.
    fuzz_rpc!(
        ctx,
        &tally,
        "SurveyService/GetSurveyResponse",
        id(),
        |c, id| {
            let r = GetSurveyResponseRequest { id };
            read_only(c, r.encoded_len(), c.app.survey().get_survey_response(r)).await
        }
    );
    fuzz_rpc!(ctx, &tally, "JourneyService/GetJourney", id(), |c, id| {
        let r = GetJourneyRequest { id };
        read_only(c, r.encoded_len(), c.app.journeys().get_journey(r)).await
    });
    fuzz_rpc!(
        ctx,
        &tally,
        "SurveyService/ListSurveyResponses",
        (
            filter(),
            mix(0..=3, bad_int()),
            optional_id(),
            page_size(),
            token()
        )
            .prop_map(|(filter, role, respondent_id, page_size, token)| (
                ListSurveyResponsesRequest {
                    filter,
                    role,
                    respondent_id,
                    page_size,
                    page_token: String::new(),
                },
                token
            )),
        |c, (r, t)| check_list(c, r, t).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "JourneyService/ListJourneys",
        (
            filter(),
            mix(Just(String::new()), customer_id()),
            page_size(),
            token()
        )
            .prop_map(|(filter, customer_id, page_size, token)| (
                ListJourneysRequest {
                    filter,
                    customer_id,
                    page_size,
                    page_token: String::new(),
                },
                token
            )),
        |c, (r, t)| check_list(c, r, t).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "OutcomeService/ListOutcomes",
        (
            filter(),
            mix(Just(String::new()), customer_id()),
            mix(0..=4, bad_int()),
            page_size(),
            token()
        )
            .prop_map(|(filter, customer_id, kind, page_size, token)| (
                ListOutcomesRequest {
                    filter,
                    customer_id,
                    kind,
                    page_size,
                    page_token: String::new(),
                },
                token
            )),
        |c, (r, t)| check_list(c, r, t).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "CustomerService/ListAtRiskCustomers",
        (filter(), mix(0..=3, bad_int()), page_size(), token()).prop_map(
            |(filter, min_tier, page_size, token)| (
                ListAtRiskCustomersRequest {
                    filter,
                    min_tier,
                    page_size,
                    page_token: String::new(),
                },
                token
            )
        ),
        |c, (r, t)| check_list(c, r, t).await
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "CustomerService/GetCustomerRisk",
        (
            mix(prop_oneof!["c[0-9]", Just("seed-c1".to_owned())], nasty()),
            filter(),
            confidence()
        )
            .prop_map(
                |(customer_id, filter, confidence_level)| GetCustomerRiskRequest {
                    customer_id,
                    filter,
                    confidence_level,
                }
            ),
        |c, r| checked!(c, r, customers.get_customer_risk, invariants::customer_risk)
    );

    // Scoring.
    fuzz_rpc!(
        ctx,
        &tally,
        "ScoringService/GetPerceptionGap",
        (
            filter(),
            vec(question_key(), 0..3),
            confidence(),
            mix(prop_oneof![Just(String::new()), valid_key()], nasty())
        )
            .prop_map(|(filter, questions, confidence_level, group_by)| {
                GetPerceptionGapRequest {
                    filter,
                    questions,
                    confidence_level,
                    group_by,
                }
            }),
        |c, r| checked!(c, r, scoring.get_perception_gap, invariants::perception_gap)
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "ScoringService/GetEffortIndex",
        (filter(), confidence()).prop_map(|(filter, confidence_level)| GetEffortIndexRequest {
            filter,
            confidence_level
        }),
        |c, r| checked!(c, r, scoring.get_effort_index, invariants::effort)
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "ScoringService/GetLoyaltyRisk",
        (filter(), confidence()).prop_map(|(filter, confidence_level)| GetLoyaltyRiskRequest {
            filter,
            confidence_level
        }),
        |c, r| checked!(c, r, scoring.get_loyalty_risk, invariants::loyalty)
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "ScoringService/GetScorecard",
        filter().prop_map(|filter| GetScorecardRequest { filter }),
        |c, r| checked!(c, r, scoring.get_scorecard, invariants::scorecard)
    );
    fuzz_rpc!(
        ctx,
        &tally,
        "ScoringService/GetTrend",
        trend_request(),
        |c, r| checked!(c, r, scoring.get_trend, invariants::trend)
    );

    // Erasure last: it removes what the other checks look at.
    fuzz_rpc!(
        ctx,
        &tally,
        "CustomerService/DeleteCustomerData",
        customer_id(),
        |c, v| check_delete(c, v).await
    );

    assert_healthy(&ctx).await;
    tally.print("well-typed", started);
}
