//! `gapscore.v1.SurveyService`: ingest (unary batch and client stream), get
//! and list of survey responses, over [`crate::service::survey`].

use super::{
    convert,
    ingest::{
        ClientStream, counts_to_proto, optional, page_request, record_time, required, submit_stream,
    },
    routes,
};
use crate::{
    domain::{
        IngestCounts, Numbered, TenantId, Violations,
        enums::{AnswerFrame, Role},
        violations::check_id,
    },
    proto::v1::{survey_service_server::SurveyService, *},
    service::{
        ServiceResult, Services, page,
        survey::{self as service, SubmittedAnswer, SubmittedResponse, response_message},
    },
    store::responses::ListFilter,
};

/// Implements `SurveyService`.
#[derive(Clone)]
pub struct SurveyServiceImpl {
    pub state: Services,
}

routes! {
    impl SurveyService for SurveyServiceImpl {
        submit_survey_responses(SubmitSurveyResponsesRequest) -> SubmitSurveyResponsesResponse = submit;
        stream_survey_responses(tonic::Streaming<StreamSurveyResponsesRequest>) -> StreamSurveyResponsesResponse = stream;
        get_survey_response(GetSurveyResponseRequest) -> GetSurveyResponseResponse = get;
        list_survey_responses(ListSurveyResponsesRequest) -> ListSurveyResponsesResponse = list;
    }
}

/// `SubmitSurveyResponses`.
async fn submit(
    services: &Services,
    tenant: TenantId,
    request: SubmitSurveyResponsesRequest,
) -> ServiceResult<SubmitSurveyResponsesResponse> {
    let counts = submit_batch(services, tenant, request.responses).await?;
    Ok(SubmitSurveyResponsesResponse {
        counts: Some(counts_to_proto(counts)),
    })
}

/// `StreamSurveyResponses`.
async fn stream(
    services: &Services,
    tenant: TenantId,
    messages: ClientStream<StreamSurveyResponsesRequest>,
) -> Result<StreamSurveyResponsesResponse, tonic::Status> {
    let (counts, messages) = submit_stream(messages, |message| {
        submit_batch(services, tenant, message.responses)
    })
    .await?;
    Ok(StreamSurveyResponsesResponse {
        counts: Some(counts),
        messages,
    })
}

/// One batch of responses, converted and submitted.
async fn submit_batch(
    services: &Services,
    tenant: TenantId,
    responses: Vec<SurveyResponse>,
) -> ServiceResult<IngestCounts> {
    service::submit(services, tenant, submitted(responses)).await
}

/// `GetSurveyResponse`.
async fn get(
    services: &Services,
    tenant: TenantId,
    request: GetSurveyResponseRequest,
) -> ServiceResult<GetSurveyResponseResponse> {
    let record = service::get(services, tenant, &request.id).await?;
    Ok(GetSurveyResponseResponse {
        response: Some(response_message(&record)),
    })
}

/// `ListSurveyResponses`.
async fn list(
    services: &Services,
    tenant: TenantId,
    request: ListSurveyResponsesRequest,
) -> ServiceResult<ListSurveyResponsesResponse> {
    let size = page::page_size(request.page_size)?;
    let filter = list_filter(&request)?;
    let token = request.page_token.clone();
    let page = page_request(tenant, size, token, &fingerprint_query(request));
    let page = service::list(services, tenant, &filter, &page).await?;
    Ok(ListSurveyResponsesResponse {
        responses: page.items.iter().map(response_message).collect(),
        next_page_token: page.next_page_token,
    })
}

fn submitted(responses: Vec<SurveyResponse>) -> Vec<SubmittedResponse> {
    responses.into_iter().map(SubmittedResponse::from).collect()
}

impl From<SurveyResponse> for SubmittedResponse {
    fn from(r: SurveyResponse) -> Self {
        SubmittedResponse {
            id: r.id,
            role: required::<Role>(r.role, "a RespondentRole"),
            respondent_id: r.respondent_id,
            survey_id: r.survey_id,
            submitted_at: record_time(r.submitted_at.as_ref()),
            labels: r.labels,
            answers: r
                .answers
                .into_iter()
                .map(|a| SubmittedAnswer {
                    question: a.question,
                    score: a.score,
                    themes: a.themes,
                    comment: a.comment,
                    frame: optional::<AnswerFrame>(a.frame, "an AnswerFrame")
                        .map(|f| f.unwrap_or(AnswerFrame::Experience)),
                    competitor: a.competitor,
                })
                .collect(),
        }
    }
}

/// The query a page token is bound to: every scoping field (`intent` does
/// not apply here).
fn fingerprint_query(request: ListSurveyResponsesRequest) -> ListSurveyResponsesRequest {
    ListSurveyResponsesRequest {
        page_size: 0,
        page_token: String::new(),
        filter: request.filter.map(|f| ScoreFilter {
            intent: String::new(),
            ..f
        }),
        ..request
    }
}

/// Converts the scoping fields of a list request, collecting every violation.
fn list_filter(request: &ListSurveyResponsesRequest) -> ServiceResult<ListFilter> {
    let mut v = Violations::default();
    let mut filter = ListFilter {
        scope: convert::scope(&mut v, "filter", request.filter.as_ref()),
        ..ListFilter::default()
    };
    match optional::<Role>(request.role, "a RespondentRole") {
        Ok(role) => filter.role = role.map(Role::db),
        Err(description) => v.add("role", description),
    }
    if !request.respondent_id.is_empty() {
        check_id(&mut v, "respondent_id", &request.respondent_id);
        filter.respondent_id = Some(request.respondent_id.clone());
    }
    v.into_result()?;
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::{enums::QuestionKind, question::Question};

    #[test]
    fn what_get_returns_hashes_like_what_was_sent() {
        let question = |key: &str, kind: QuestionKind| Question {
            key: key.into(),
            kind,
            text: String::new(),
            scale_min: 1,
            scale_max: 5,
            favorable_min: 4,
            unfavorable_max: None,
            built_in: true,
        };
        let (speed, improve) = (
            question("speed", QuestionKind::Rating),
            question("improve", QuestionKind::Themes),
        );
        let catalog: HashMap<&str, &Question> = [("speed", &speed), ("improve", &improve)].into();
        let sent = SurveyResponse {
            id: "r1".into(),
            role: RespondentRole::Customer as i32,
            submitted_at: Some(prost_types::Timestamp {
                seconds: 1_767_225_600,
                nanos: 123_456_789,
            }),
            answers: vec![
                Answer {
                    question: "speed".into(),
                    score: Some(4),
                    ..Default::default()
                },
                Answer {
                    question: "improve".into(),
                    themes: vec!["Wait".into(), "wait ".into()],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let check = |r: SurveyResponse| service::check_batch(&submitted(vec![r]), &catalog);
        let stored = check(sent).unwrap().remove(0);
        let back = check(response_message(&stored)).unwrap().remove(0);
        assert_eq!(back.content_hash, stored.content_hash);
        assert_eq!(back.submitted_at.timestamp_subsec_nanos(), 123_456_000);
    }

    #[test]
    fn wire_values_that_do_not_convert_say_why() {
        let r = SubmittedResponse::from(SurveyResponse {
            role: 9,
            ..Default::default()
        });
        assert_eq!(r.role, Err("9 is not a RespondentRole".into()));
        assert_eq!(r.submitted_at, Err("is required".into()));
    }
}
