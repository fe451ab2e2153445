//! Tenant isolation across every RPC, with two tenants using the same record,
//! customer and question ids: nothing one tenant does (submit, stream, edit
//! its catalog and scoring model, erase a customer) changes anything the
//! other sees, and neither can read the other's records.

use std::collections::BTreeMap;

use gapscore::proto::v1::{
    Answer, Channel, DeleteCustomerDataRequest, EffortTier, GetCustomerRiskRequest,
    GetEffortIndexRequest, GetJourneyRequest, GetLoyaltyRiskRequest, GetPerceptionGapRequest,
    GetScorecardRequest, GetScoringModelRequest, GetSurveyResponseRequest, GetTrendRequest,
    Initiator, Journey, ListAtRiskCustomersRequest, ListJourneysRequest, ListOutcomesRequest,
    ListQuestionsRequest, ListSurveyResponsesRequest, OutcomeKind, Question, QuestionKind,
    RespondentRole, ScoreFilter, StreamJourneysRequest, StreamSurveyResponsesRequest,
    SubmitJourneysRequest, SubmitOutcomesRequest, SubmitSurveyResponsesRequest, SurveyResponse,
    TouchpointOutcome, TrendBucket, TrendMetric, UpdateScoringModelRequest, UpsertQuestionRequest,
};
use sqlx::PgPool;
use tonic::Code;

use crate::helpers::{TestApp, outcome, rating, spawn_app, tp, ts};

/// January 2026.
fn window() -> Option<ScoreFilter> {
    crate::helpers::window("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
}

/// A tenant's data set; `flavour` changes the content under the same ids.
fn responses(flavour: i32) -> Vec<SurveyResponse> {
    let roles = [
        RespondentRole::Leadership,
        RespondentRole::Staff,
        RespondentRole::Customer,
    ];
    (0..30)
        .map(|i| SurveyResponse {
            id: format!("r{i}"),
            role: roles[i % 3] as i32,
            respondent_id: format!("c{}", i % 5),
            survey_id: "wave-1".into(),
            submitted_at: Some(ts(&format!("2026-01-{:02}T10:00:00Z", 1 + i % 28))),
            labels: BTreeMap::from([("region".into(), format!("r{}", i % 2))]),
            answers: vec![
                rating("overall_experience", 1 + (i as i32 + flavour) % 5),
                rating("ease", 1 + (i as i32 * flavour) % 7),
                rating("shared_q", (i as i32 + flavour) % 3),
                Answer {
                    question: "improve".into(),
                    score: None,
                    themes: vec![format!("theme{}", (i as i32 + flavour) % 4)],
                    comment: format!("comment {flavour}"),
                    ..Default::default()
                },
            ],
        })
        .collect()
}

fn journeys(flavour: i32) -> Vec<Journey> {
    (0..10)
        .map(|i| {
            let day = 1 + i % 28;
            let mut touchpoints = vec![tp(
                Channel::Web,
                Initiator::Customer,
                &format!("2026-01-{day:02}T09:00:00Z"),
                60 * (1 + flavour),
                0,
                TouchpointOutcome::Unresolved,
            )];
            for k in 0..(i + flavour) % 4 {
                touchpoints.push(tp(
                    Channel::Phone,
                    Initiator::Customer,
                    &format!("2026-01-{day:02}T1{k}:00:00Z"),
                    300,
                    120,
                    if k == 2 {
                        TouchpointOutcome::Resolved
                    } else {
                        TouchpointOutcome::Unresolved
                    },
                ));
            }
            Journey {
                id: format!("j{i}"),
                customer_id: format!("c{}", i % 5),
                intent: "update_payment_method".into(),
                labels: BTreeMap::from([("region".into(), format!("r{}", i % 2))]),
                touchpoints,
                effort_index: 0.0,
                effort_tier: 0,
            }
        })
        .collect()
}

/// Loads a tenant's data through every ingest RPC, customizing its catalog.
async fn load(app: &TestApp, key: &str, flavour: i32) {
    app.catalog_as(Some(key))
        .upsert_question(UpsertQuestionRequest {
            question: Some(Question {
                key: "shared_q".into(),
                kind: QuestionKind::Rating as i32,
                text: format!("shared question {flavour}"),
                scale_min: 0,
                scale_max: 2 + flavour,
                favorable_min: 2,
                unfavorable_max: None,
                built_in: false,
            }),
        })
        .await
        .unwrap();
    let all = responses(flavour);
    let counts = app
        .survey_as(Some(key))
        .submit_survey_responses(SubmitSurveyResponsesRequest {
            responses: all[..20].to_vec(),
        })
        .await
        .unwrap()
        .into_inner()
        .counts
        .unwrap();
    assert_eq!(counts.inserted, 20, "the other tenant's ids are not ours");
    let counts = app
        .survey_as(Some(key))
        .stream_survey_responses(futures::stream::iter(vec![StreamSurveyResponsesRequest {
            responses: all[20..].to_vec(),
        }]))
        .await
        .unwrap()
        .into_inner()
        .counts
        .unwrap();
    assert_eq!(counts.inserted, 10);
    let js = journeys(flavour);
    let counts = app
        .journeys_as(Some(key))
        .submit_journeys(SubmitJourneysRequest {
            journeys: js[..5].to_vec(),
        })
        .await
        .unwrap()
        .into_inner()
        .counts
        .unwrap();
    assert_eq!(counts.inserted, 5);
    let counts = app
        .journeys_as(Some(key))
        .stream_journeys(futures::stream::iter(vec![StreamJourneysRequest {
            journeys: js[5..].to_vec(),
        }]))
        .await
        .unwrap()
        .into_inner()
        .counts
        .unwrap();
    assert_eq!(counts.inserted, 5);
    let kinds = [
        OutcomeKind::NegativeWordOfMouth,
        OutcomeKind::Repurchase,
        OutcomeKind::Disloyalty,
    ];
    let outcomes = (0..6)
        .map(|i| {
            let mut o = outcome(
                &format!("o{i}"),
                &format!("c{}", i % 5),
                kinds[(i + flavour as usize) % 3],
                "2026-01-30T12:00:00Z",
            );
            o.occurred = (i + flavour as usize).is_multiple_of(2);
            o
        })
        .collect();
    let counts = app
        .outcomes_as(Some(key))
        .submit_outcomes(SubmitOutcomesRequest { outcomes })
        .await
        .unwrap()
        .into_inner()
        .counts
        .unwrap();
    assert_eq!(counts.inserted, 6);
    let mut model = app.scoring_model_as(key).await;
    model.min_group_size = 1 + flavour;
    model.high_effort_from = 40.0 + f64::from(flavour);
    app.catalog_as(Some(key))
        .update_scoring_model(UpdateScoringModelRequest { model: Some(model) })
        .await
        .unwrap();
}

/// One read as a tenant saw it: the RPC, its status code and what it
/// answered, as text.
type Seen = (&'static str, Code, String);

/// What a tenant sees through every read RPC.
async fn sweep(app: &TestApp, key: &str) -> Vec<Seen> {
    fn show<T: std::fmt::Debug>(
        name: &'static str,
        result: Result<tonic::Response<T>, tonic::Status>,
    ) -> Seen {
        match result {
            Ok(response) => (name, Code::Ok, format!("{:?}", response.into_inner())),
            Err(status) => (name, status.code(), status.message().to_owned()),
        }
    }
    let k = Some(key);
    let mut seen = Vec::new();
    let (mut survey, mut journeys, mut outcomes, mut customers, mut scoring, mut catalog) = (
        app.survey_as(k),
        app.journeys_as(k),
        app.outcomes_as(k),
        app.customers_as(k),
        app.scoring_as(k),
        app.catalog_as(k),
    );
    for id in ["r0", "r25", "missing"] {
        seen.push(show(
            "GetSurveyResponse",
            survey
                .get_survey_response(GetSurveyResponseRequest { id: id.into() })
                .await,
        ));
    }
    seen.push(show(
        "ListSurveyResponses",
        survey
            .list_survey_responses(ListSurveyResponsesRequest {
                page_size: 1000,
                ..Default::default()
            })
            .await,
    ));
    for id in ["j0", "j9", "missing"] {
        seen.push(show(
            "GetJourney",
            journeys
                .get_journey(GetJourneyRequest { id: id.into() })
                .await,
        ));
    }
    seen.push(show(
        "ListJourneys",
        journeys
            .list_journeys(ListJourneysRequest {
                page_size: 1000,
                ..Default::default()
            })
            .await,
    ));
    seen.push(show(
        "ListOutcomes",
        outcomes
            .list_outcomes(ListOutcomesRequest {
                page_size: 1000,
                ..Default::default()
            })
            .await,
    ));
    for customer in ["c0", "c1", "c4", "missing"] {
        seen.push(show(
            "GetCustomerRisk",
            customers
                .get_customer_risk(GetCustomerRiskRequest {
                    customer_id: customer.into(),
                    filter: window(),
                    confidence_level: None,
                })
                .await,
        ));
    }
    seen.push(show(
        "ListAtRiskCustomers",
        customers
            .list_at_risk_customers(ListAtRiskCustomersRequest {
                filter: window(),
                min_tier: EffortTier::Low as i32,
                page_size: 1000,
                page_token: String::new(),
            })
            .await,
    ));
    seen.push(show(
        "GetPerceptionGap",
        scoring
            .get_perception_gap(GetPerceptionGapRequest {
                filter: window(),
                group_by: "region".into(),
                ..Default::default()
            })
            .await,
    ));
    seen.push(show(
        "GetEffortIndex",
        scoring
            .get_effort_index(GetEffortIndexRequest {
                filter: window(),
                confidence_level: None,
            })
            .await,
    ));
    seen.push(show(
        "GetLoyaltyRisk",
        scoring
            .get_loyalty_risk(GetLoyaltyRiskRequest {
                filter: window(),
                confidence_level: None,
            })
            .await,
    ));
    seen.push(show(
        "GetScorecard",
        scoring
            .get_scorecard(GetScorecardRequest { filter: window() })
            .await,
    ));
    for metric in [
        TrendMetric::FavorableShare,
        TrendMetric::EffortIndexMean,
        TrendMetric::NegativeWordOfMouthShare,
    ] {
        seen.push(show(
            "GetTrend",
            scoring
                .get_trend(GetTrendRequest {
                    metric: metric as i32,
                    bucket: TrendBucket::Week as i32,
                    filter: window(),
                    question: "overall_experience".into(),
                    role: RespondentRole::Customer as i32,
                    ..Default::default()
                })
                .await,
        ));
    }
    seen.push(show(
        "ListQuestions",
        catalog.list_questions(ListQuestionsRequest {}).await,
    ));
    seen.push(show(
        "GetScoringModel",
        catalog.get_scoring_model(GetScoringModelRequest {}).await,
    ));
    seen
}

fn assert_same(before: &[Seen], after: &[Seen], what: &str) {
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(after) {
        assert_eq!(b, a, "{what}");
    }
}

#[sqlx::test]
async fn nothing_one_tenant_does_changes_what_another_sees(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (a, b) = (app.key.clone(), app.add_tenant("globex").await);

    load(&app, &b, 1).await;
    let b_before = sweep(&app, &b).await;
    // Sanity: B sees its data (no call failed except the missing ids).
    let failures: Vec<(&str, Code)> = b_before
        .iter()
        .filter(|(_, code, _)| *code != Code::Ok)
        .map(|(rpc, code, _)| (*rpc, *code))
        .collect();
    assert_eq!(
        failures,
        [
            ("GetSurveyResponse", Code::NotFound),
            ("GetJourney", Code::NotFound),
            ("GetCustomerRisk", Code::NotFound),
        ],
        "{b_before:#?}"
    );

    // A uses the same ids with other content, a different custom question
    // and scoring model.
    load(&app, &a, 2).await;
    let a_before = sweep(&app, &a).await;
    assert_same(
        &b_before,
        &sweep(&app, &b).await,
        "A's ingest changed B's view",
    );
    assert_ne!(a_before, b_before, "the data sets should differ");

    // B erases a customer id both use: only B's records go.
    let erased = app
        .customers_as(Some(&b))
        .delete_customer_data(DeleteCustomerDataRequest {
            customer_id: "c1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    // c1 is the respondent of r1, r6, …, r26, the customer of j1 and j6
    // and of o1.
    assert_eq!(
        (
            erased.survey_responses_deleted,
            erased.journeys_deleted,
            erased.outcomes_deleted
        ),
        (6, 2, 1)
    );
    assert_same(
        &a_before,
        &sweep(&app, &a).await,
        "B's erasure changed A's view",
    );

    // A's edits do not reach B's records: B re-sends its own and nothing
    // changes.
    let counts = app
        .survey_as(Some(&b))
        .submit_survey_responses(SubmitSurveyResponsesRequest {
            responses: responses(1)[..10].to_vec(),
        })
        .await
        .unwrap()
        .into_inner()
        .counts
        .unwrap();
    assert_eq!(
        counts.inserted + counts.unchanged,
        10,
        "{counts:?}: B's records were changed by A"
    );
    assert_eq!(counts.updated, 0);

    // Erasing for a customer only the other tenant has deletes nothing.
    let none = app
        .customers_as(Some(&a))
        .delete_customer_data(DeleteCustomerDataRequest {
            customer_id: "only-b".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            none.survey_responses_deleted,
            none.journeys_deleted,
            none.outcomes_deleted
        ),
        (0, 0, 0)
    );
    let status = app
        .customers_as(Some(&a))
        .get_customer_risk(GetCustomerRiskRequest {
            customer_id: "only-b".into(),
            filter: None,
            confidence_level: None,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}
