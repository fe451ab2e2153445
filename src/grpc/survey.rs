//! `gapscore.v1.SurveyService`: ingest (unary batch and client stream), get
//! and list of survey responses.
//!
//! Ingest validates every rule of SPEC §3.1 and reports every violation with
//! its path; a batch is stored atomically or not at all. Records are
//! normalized (themes trimmed, lower-cased and de-duplicated, empty optional
//! strings absent, `submitted_at` at microsecond precision) before they are
//! hashed, so the content hash of a record equals the hash of what
//! `GetSurveyResponse` returns for it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use super::{
    ApiError, ApiResult, AppState,
    scope::scope_from_filter,
    validate::{
        Violations, check_id, check_labels, check_text, check_timestamp, is_key, utc_to_timestamp,
    },
};
use crate::{
    proto::v1::{survey_service_server::SurveyService, *},
    service::page,
    store::{
        catalog::{KIND_RATING, KIND_THEMES, Question},
        ingest,
        responses::{self, AnswerRecord, ListFilter, ResponseRecord},
        scope::Scope,
        tenants::TenantId,
    },
};

/// Records per unary call or stream message (SPEC §3.2).
pub const MAX_RESPONSES_PER_MESSAGE: usize = 1000;
/// Answers per response (SPEC §3.1).
pub const MAX_ANSWERS: usize = 100;
/// Distinct themes per THEMES answer, after normalization.
pub const MAX_THEMES: usize = 20;
/// Characters per theme, after normalization.
pub const MAX_THEME_CHARS: usize = 64;
/// Characters per comment.
pub const MAX_COMMENT_CHARS: usize = 4000;
/// How far in the future `submitted_at` may be (clock skew allowance).
pub const MAX_FUTURE_MINUTES: i64 = 5;

/// Implements `SurveyService`.
#[derive(Clone)]
pub struct SurveyServiceImpl {
    pub state: AppState,
}

#[tonic::async_trait]
impl SurveyService for SurveyServiceImpl {
    async fn submit_survey_responses(
        &self,
        request: Request<SubmitSurveyResponsesRequest>,
    ) -> Result<Response<SubmitSurveyResponsesResponse>, Status> {
        let tenant = super::tenant(&request)?;
        let counts = ingest(&self.state, tenant, &request.into_inner().responses).await?;
        Ok(Response::new(SubmitSurveyResponsesResponse {
            counts: Some(counts_to_proto(counts)),
        }))
    }

    async fn stream_survey_responses(
        &self,
        request: Request<tonic::Streaming<StreamSurveyResponsesRequest>>,
    ) -> Result<Response<StreamSurveyResponsesResponse>, Status> {
        let tenant = super::tenant(&request)?;
        let mut stream = request.into_inner();
        let mut totals = ingest::IngestCounts::default();
        let mut messages: i64 = 0;
        // One message at a time: memory stays bounded by one message however
        // long the stream is, and HTTP/2 flow control paces the client.
        while let Some(message) = stream.message().await? {
            match ingest(&self.state, tenant, &message.responses).await {
                Ok(counts) => {
                    totals += counts;
                    messages += 1;
                }
                Err(ApiError::InvalidArgument(violations)) => {
                    // `messages` is also the 0-based ordinal of this message.
                    return Err(ApiError::InvalidArgument(
                        violations.prefixed(&format!("messages[{messages}].")),
                    )
                    .into());
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(Response::new(StreamSurveyResponsesResponse {
            counts: Some(counts_to_proto(totals)),
            messages,
        }))
    }

    async fn get_survey_response(
        &self,
        request: Request<GetSurveyResponseRequest>,
    ) -> Result<Response<GetSurveyResponseResponse>, Status> {
        let tenant = super::tenant(&request)?;
        let id = request.into_inner().id;
        let mut v = Violations::default();
        check_id(&mut v, "id", &id);
        v.into_result()?;
        let record = responses::get(&self.state.pool, tenant, &id)
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::NotFound {
                what: "survey response",
                id,
            })?;
        Ok(Response::new(GetSurveyResponseResponse {
            response: Some(record_to_proto(&record)),
        }))
    }

    async fn list_survey_responses(
        &self,
        request: Request<ListSurveyResponsesRequest>,
    ) -> Result<Response<ListSurveyResponsesResponse>, Status> {
        let tenant = super::tenant(&request)?;
        Ok(Response::new(
            list(&self.state, tenant, request.into_inner()).await?,
        ))
    }
}

/// Validates one batch against the tenant's catalog and upserts it in one
/// transaction. Violation paths start at `responses`.
async fn ingest(
    state: &AppState,
    tenant: TenantId,
    batch: &[SurveyResponse],
) -> ApiResult<ingest::IngestCounts> {
    if batch.is_empty() || batch.len() > MAX_RESPONSES_PER_MESSAGE {
        return Err(ApiError::invalid(
            "responses",
            format!(
                "must contain 1-{MAX_RESPONSES_PER_MESSAGE} responses, got {}",
                batch.len()
            ),
        ));
    }
    let mut keys: Vec<String> = batch
        .iter()
        .flat_map(|r| &r.answers)
        .map(|a| a.question.as_str())
        .filter(|q| is_key(q))
        .map(str::to_owned)
        .collect();
    keys.sort_unstable();
    keys.dedup();

    let mut tx = state.pool.begin().await.map_err(ApiError::from)?;
    // The questions stay share-locked until commit, so their scales cannot
    // change between validation and the write.
    let questions = responses::lock_questions(&mut tx, tenant, &keys).await?;
    let catalog: HashMap<&str, &Question> = questions.iter().map(|q| (q.key.as_str(), q)).collect();
    let records = validate_batch(batch, &catalog)?;
    let counts = responses::upsert(&mut tx, tenant, &records).await?;
    let committed = tx.commit().await;
    // Even if the commit's outcome is unknown, the write may stand.
    state.calibration.wrote(tenant);
    committed.map_err(ApiError::from)?;
    counts.record_metrics("survey_response");
    Ok(counts)
}

/// Checks every record and returns them normalized, or every violation found.
/// (Also used by the benchmark's COPY loader, so it stores exactly what
/// ingest stores.)
pub(crate) fn validate_batch(
    batch: &[SurveyResponse],
    catalog: &HashMap<&str, &Question>,
) -> Result<Vec<ResponseRecord>, ApiError> {
    let mut v = Violations::default();
    let mut first_index: HashMap<&str, usize> = HashMap::with_capacity(batch.len());
    let mut records = Vec::with_capacity(batch.len());
    for (i, response) in batch.iter().enumerate() {
        let path = format!("responses[{i}]");
        if !response.id.is_empty() {
            if let Some(first) = first_index.get(response.id.as_str()) {
                v.add(
                    format!("{path}.id"),
                    format!(
                        "duplicates responses[{first}].id ({:?}); an id may appear only once per batch",
                        response.id
                    ),
                );
            } else {
                first_index.insert(&response.id, i);
            }
        }
        if let Some(record) = normalize_response(&mut v, &path, response, catalog) {
            records.push(record);
        }
    }
    v.into_result()?;
    Ok(records)
}

/// Validates one response; returns the normalized record when it is valid.
/// Violations are added under `path` (e.g. `responses[3]`).
fn normalize_response(
    v: &mut Violations,
    path: &str,
    r: &SurveyResponse,
    catalog: &HashMap<&str, &Question>,
) -> Option<ResponseRecord> {
    // Valid when nothing was found (`len` counts unlisted violations too).
    let before = v.len();

    check_id(v, &format!("{path}.id"), &r.id);
    let role = match RespondentRole::try_from(r.role) {
        Ok(RespondentRole::Unspecified) => {
            v.add(format!("{path}.role"), "is required");
            0
        }
        Ok(role) => role as i16,
        Err(_) => {
            v.add(
                format!("{path}.role"),
                format!("{} is not a RespondentRole", r.role),
            );
            0
        }
    };
    if !r.respondent_id.is_empty() {
        check_id(v, &format!("{path}.respondent_id"), &r.respondent_id);
    }
    if !r.survey_id.is_empty() {
        check_id(v, &format!("{path}.survey_id"), &r.survey_id);
    }
    let submitted_at = check_timestamp(
        v,
        &format!("{path}.submitted_at"),
        r.submitted_at.as_ref(),
        Some(chrono::Duration::minutes(MAX_FUTURE_MINUTES)),
    )
    .map(truncate_to_micros);
    check_labels(v, &format!("{path}.labels"), r.labels.iter());

    if r.answers.is_empty() {
        v.add(format!("{path}.answers"), "at least one answer is required");
    } else if r.answers.len() > MAX_ANSWERS {
        v.add(
            format!("{path}.answers"),
            format!(
                "at most {MAX_ANSWERS} answers are allowed, got {}",
                r.answers.len()
            ),
        );
    }
    let mut answered: HashMap<&str, usize> = HashMap::with_capacity(r.answers.len());
    let mut answers = Vec::with_capacity(r.answers.len());
    for (j, a) in r.answers.iter().enumerate() {
        let apath = format!("{path}.answers[{j}]");
        if a.question.is_empty() {
            v.add(format!("{apath}.question"), "is required");
        } else if let Some(first) = answered.get(a.question.as_str()) {
            v.add(format!("{apath}.question"),
                format!(
                    "question {:?} is already answered at {path}.answers[{first}]; a question may appear only once per response",
                    a.question
                ),
            );
        } else {
            answered.insert(&a.question, j);
        }
        check_text(
            v,
            &format!("{apath}.comment"),
            &a.comment,
            MAX_COMMENT_CHARS,
        );
        let question = catalog.get(a.question.as_str()).copied();
        let Some(question) = question else {
            if !a.question.is_empty() {
                v.add(
                    format!("{apath}.question"),
                    super::validate::unknown_question(&a.question, catalog.keys().copied()),
                );
            }
            continue;
        };
        let (score, themes) = match question.kind {
            KIND_RATING => {
                match a.score {
                    None => v.add(
                        format!("{apath}.score"),
                        format!("is required for RATING question {:?}", question.key),
                    ),
                    Some(s) if s < question.scale_min || s > question.scale_max => v.add(
                        format!("{apath}.score"),
                        format!(
                            "{s} is outside the scale of question {:?} ({}-{})",
                            question.key, question.scale_min, question.scale_max
                        ),
                    ),
                    Some(_) => {}
                }
                if !a.themes.is_empty() {
                    v.add(
                        format!("{apath}.themes"),
                        format!("must be empty for RATING question {:?}", question.key),
                    );
                }
                (a.score, Vec::new())
            }
            KIND_THEMES => {
                if a.score.is_some() {
                    v.add(
                        format!("{apath}.score"),
                        format!("must not be set for THEMES question {:?}", question.key),
                    );
                }
                (None, normalize_themes(v, &apath, &question.key, &a.themes))
            }
        };
        answers.push(AnswerRecord {
            question: a.question.clone(),
            score,
            themes,
            comment: non_empty(&a.comment),
        });
    }

    let submitted_at = submitted_at?;
    if v.len() != before {
        return None;
    }
    let mut record = ResponseRecord {
        id: r.id.clone(),
        role,
        respondent_id: non_empty(&r.respondent_id),
        survey_id: non_empty(&r.survey_id),
        submitted_at,
        labels: r.labels.clone(),
        answers,
        content_hash: Vec::new(),
    };
    record.content_hash = content_hash(&record);
    Some(record)
}

/// Trims, lower-cases and de-duplicates (keeping the first occurrence's
/// position) the themes of a THEMES answer, checking each one and the count.
fn normalize_themes(
    v: &mut Violations,
    apath: &str,
    question: &str,
    themes: &[String],
) -> Vec<String> {
    if themes.is_empty() {
        v.add(
            format!("{apath}.themes"),
            format!("THEMES question {question:?} needs 1-{MAX_THEMES} themes"),
        );
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::with_capacity(themes.len().min(MAX_THEMES));
    for (k, theme) in themes.iter().enumerate() {
        let theme = theme.trim().to_lowercase();
        let tpath = format!("{apath}.themes[{k}]");
        if theme.is_empty() {
            v.add(tpath, "must not be blank");
        } else if theme.chars().count() > MAX_THEME_CHARS {
            v.add(
                tpath,
                format!("must be at most {MAX_THEME_CHARS} characters after trimming"),
            );
        } else if theme.contains('\0') {
            v.add(tpath, "must not contain NUL characters");
        } else if !out.contains(&theme) {
            out.push(theme);
        }
    }
    if out.len() > MAX_THEMES {
        v.add(
            format!("{apath}.themes"),
            format!(
                "at most {MAX_THEMES} distinct themes are allowed, got {}",
                out.len()
            ),
        );
    }
    out
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// PostgreSQL keeps microseconds; normalizing first makes what is stored,
/// hashed and returned the same instant.
fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// SHA-256 of the normalized record's protobuf encoding (label maps are
/// `BTreeMap`s, so the encoding is deterministic).
fn content_hash(record: &ResponseRecord) -> Vec<u8> {
    Sha256::digest(record_to_proto(record).encode_to_vec()).to_vec()
}

fn record_to_proto(r: &ResponseRecord) -> SurveyResponse {
    SurveyResponse {
        id: r.id.clone(),
        role: i32::from(r.role),
        respondent_id: r.respondent_id.clone().unwrap_or_default(),
        survey_id: r.survey_id.clone().unwrap_or_default(),
        submitted_at: Some(utc_to_timestamp(r.submitted_at)),
        labels: r.labels.clone(),
        answers: r
            .answers
            .iter()
            .map(|a| Answer {
                question: a.question.clone(),
                score: a.score,
                themes: a.themes.clone(),
                comment: a.comment.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

fn counts_to_proto(c: ingest::IngestCounts) -> IngestCounts {
    IngestCounts {
        inserted: c.inserted,
        updated: c.updated,
        unchanged: c.unchanged,
    }
}

async fn list(
    state: &AppState,
    tenant: TenantId,
    request: ListSurveyResponsesRequest,
) -> ApiResult<ListSurveyResponsesResponse> {
    let page_size = page::page_size(request.page_size)?;
    let filter = list_filter(&request)?;
    // The token is bound to the tenant and every scoping field; page_size
    // may change between pages (AIP-158), and `intent` does not apply here.
    let query = ListSurveyResponsesRequest {
        page_size: 0,
        page_token: String::new(),
        filter: request.filter.clone().map(|f| ScoreFilter {
            intent: String::new(),
            ..f
        }),
        ..request.clone()
    };
    let fingerprint = page::fingerprint(tenant.0, &query);
    let after = page::decode_time_position(&fingerprint, &request.page_token)?;

    let mut rows = responses::list(
        &state.pool,
        tenant,
        &filter,
        after.as_ref().map(|(t, id)| (*t, id.as_str())),
        page_size + 1,
    )
    .await?;
    let next_page_token = if rows.len() as i64 > page_size {
        rows.truncate(page_size as usize);
        let last = rows.last().expect("page_size is at least 1");
        page::encode(
            &fingerprint,
            &(last.submitted_at.timestamp_micros(), last.id.clone()),
        )
    } else {
        String::new()
    };
    Ok(ListSurveyResponsesResponse {
        responses: rows.iter().map(record_to_proto).collect(),
        next_page_token,
    })
}

/// Validates the scoping fields of a list request, collecting every violation.
fn list_filter(request: &ListSurveyResponsesRequest) -> ApiResult<ListFilter> {
    let mut v = Violations::default();
    let scope = match scope_from_filter(request.filter.as_ref(), "filter") {
        Ok(scope) => scope,
        Err(ApiError::InvalidArgument(found)) => {
            for (field, description) in found.items() {
                v.add(field.clone(), description.clone());
            }
            Scope::default()
        }
        Err(other) => return Err(other),
    };
    let mut filter = ListFilter {
        scope,
        ..ListFilter::default()
    };
    match RespondentRole::try_from(request.role) {
        Ok(RespondentRole::Unspecified) => {}
        Ok(role) => filter.role = Some(role as i16),
        Err(_) => v.add("role", format!("{} is not a RespondentRole", request.role)),
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
    use super::*;

    fn rating(key: &str, min: i32, max: i32) -> Question {
        Question {
            key: key.into(),
            kind: KIND_RATING,
            text: String::new(),
            scale_min: min,
            scale_max: max,
            favorable_min: max,
            unfavorable_max: None,
            built_in: true,
        }
    }

    fn themes_question(key: &str) -> Question {
        Question {
            kind: KIND_THEMES,
            ..rating(key, 0, 0)
        }
    }

    fn response(id: &str, answers: Vec<Answer>) -> SurveyResponse {
        SurveyResponse {
            id: id.into(),
            role: RespondentRole::Customer as i32,
            submitted_at: Some(prost_types::Timestamp {
                seconds: 1_767_225_600,
                nanos: 123_456_789,
            }),
            answers,
            ..Default::default()
        }
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::InvalidArgument(v) => v.items().iter().map(|(f, _)| f.clone()).collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn themes_are_trimmed_lower_cased_and_deduplicated_in_order() {
        let mut v = Violations::default();
        let out = normalize_themes(
            &mut v,
            "a",
            "improve",
            &[" Speed ".into(), "price".into(), "SPEED".into()],
        );
        assert!(v.is_empty());
        assert_eq!(out, ["speed", "price"]);
    }

    #[test]
    fn equal_content_hashes_equal_and_survives_a_round_trip() {
        let speed = rating("speed", 1, 5);
        let improve = themes_question("improve");
        let catalog: HashMap<&str, &Question> = [("speed", &speed), ("improve", &improve)].into();
        let answers = |themes: Vec<&str>| {
            vec![
                Answer {
                    question: "speed".into(),
                    score: Some(4),
                    ..Default::default()
                },
                Answer {
                    question: "improve".into(),
                    themes: themes.into_iter().map(String::from).collect(),
                    ..Default::default()
                },
            ]
        };
        let a = validate_batch(&[response("r1", answers(vec!["Wait", "wait "]))], &catalog)
            .unwrap()
            .remove(0);
        let b = validate_batch(&[response("r1", answers(vec!["wait"]))], &catalog)
            .unwrap()
            .remove(0);
        assert_eq!(a.content_hash, b.content_hash);
        // What Get returns hashes like what was sent.
        let back = validate_batch(&[record_to_proto(&a)], &catalog)
            .unwrap()
            .remove(0);
        assert_eq!(back.content_hash, a.content_hash);
        assert_eq!(back.submitted_at.timestamp_subsec_nanos(), 123_456_000);
        let c = validate_batch(&[response("r1", answers(vec!["price"]))], &catalog)
            .unwrap()
            .remove(0);
        assert_ne!(a.content_hash, c.content_hash);
    }

    #[test]
    fn duplicate_ids_and_questions_name_both_places() {
        let speed = rating("speed", 1, 5);
        let catalog: HashMap<&str, &Question> = [("speed", &speed)].into();
        let answer = Answer {
            question: "speed".into(),
            score: Some(3),
            ..Default::default()
        };
        let err = validate_batch(
            &[
                response("r1", vec![answer.clone()]),
                response("r1", vec![answer.clone(), answer]),
            ],
            &catalog,
        )
        .unwrap_err();
        assert_eq!(
            fields(err),
            ["responses[1].id", "responses[1].answers[1].question"]
        );
    }
}
