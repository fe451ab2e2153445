//! Survey responses: ingest of a batch, get and list.
//!
//! Ingest validates every rule of SPEC §3.1 and reports every violation with
//! its path; a batch is stored atomically or not at all. Records are
//! normalized (themes trimmed, lower-cased and de-duplicated, empty optional
//! strings absent, `submitted_at` at microsecond precision) before they are
//! hashed, so the content hash of a record equals the hash of what
//! `GetSurveyResponse` returns for it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, hash_map::Entry};

use chrono::{DateTime, Utc};
use prost::Message;
use sha2::{Digest, Sha256};

use super::{
    ServiceError, ServiceResult, Services,
    blocking::off_runtime,
    page::{self, Page, PageRequest},
    tiers,
    write::{self, Converted, FirstIndex, converted},
};
use crate::{
    domain::{
        IngestCounts, Numbered, TenantId, Violations,
        enums::{AnswerFrame, QuestionKind, Role},
        question::Question,
        scope::truncate_to_micros,
        violations::{check_id, check_key, check_labels, check_text, unknown_question},
    },
    proto::v1 as proto,
    store::{
        catalog,
        responses::{self, AnswerRecord, ListFilter, ResponseRecord},
    },
};

/// Records per unary call or stream message (SPEC §3.2).
pub const MAX_RESPONSES_PER_MESSAGE: usize = 1000;
/// Answers per response (SPEC §3.1).
pub const MAX_ANSWERS: usize = 100;
/// Distinct themes per THEMES answer, after normalization.
pub const MAX_THEMES: usize = 20;
/// Themes a THEMES answer may submit, duplicates included. Counted before
/// any per-theme work (SPEC §14), so an answer costs at most this many
/// normalizations; generous enough for a client that sends "Speed" and
/// "speed" as it found them.
pub const MAX_SUBMITTED_THEMES: usize = 5 * MAX_THEMES;
/// Characters per theme, after normalization.
pub const MAX_THEME_CHARS: usize = 64;
/// Characters per comment.
pub const MAX_COMMENT_CHARS: usize = 4000;

/// A survey response as a client submitted it, wire values converted.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedResponse {
    pub id: String,
    pub role: Converted<Role>,
    /// Empty when absent.
    pub respondent_id: String,
    /// Empty when absent.
    pub survey_id: String,
    pub submitted_at: Converted<DateTime<Utc>>,
    pub labels: BTreeMap<String, String>,
    pub answers: Vec<SubmittedAnswer>,
}

/// One answer as submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedAnswer {
    pub question: String,
    pub score: Option<i32>,
    pub themes: Vec<String>,
    /// Empty when absent.
    pub comment: String,
    /// `Experience` when the client set none.
    pub frame: Converted<AnswerFrame>,
    /// Empty when absent.
    pub competitor: String,
}

/// Validates one batch against the tenant's catalog and upserts it in one
/// transaction. Violation paths start at `responses`.
///
/// Every check runs before the transaction opens, on a blocking thread
/// (SPEC §14): however large a batch is, its validation holds no
/// connection and no lock, and does not stall the async workers that
/// serve health checks and other tenants. It runs against the catalog as
/// read just before; inside the transaction the answered questions are
/// share-locked, and only if one of them changed in between is the batch
/// checked again, against the locked rows.
pub async fn submit(
    services: &Services,
    tenant: TenantId,
    batch: Vec<SubmittedResponse>,
) -> ServiceResult<IngestCounts> {
    if batch.is_empty() || batch.len() > MAX_RESPONSES_PER_MESSAGE {
        return Err(ServiceError::invalid(
            "responses",
            format!(
                "must contain 1-{MAX_RESPONSES_PER_MESSAGE} responses, got {}",
                batch.len()
            ),
        ));
    }
    let catalog = catalog::list_questions(&*services.db(tenant, 1).await?, tenant).await?;
    let (batch, catalog, checked) = off_runtime(move || {
        let checked = check_batch(&batch, &catalog_map(&catalog));
        (batch, catalog, checked)
    })
    .await?;
    let records = checked?;
    let keys = answered_keys(&records);
    let respondents: Vec<&str> = batch.iter().map(|r| r.respondent_id.as_str()).collect();
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let deciding = ease_answers(&records);
    write::ingest(
        services,
        tenant,
        "survey_response",
        &respondents,
        async |conn| {
            // The questions stay share-locked until commit, so their scales
            // cannot change between validation and the write.
            // The current tiers of the respondents, and the events of
            // their raises, in the batch's transaction (SPEC §12.1).
            let written = tiers::Written::Responses {
                deciding: &deciding,
                ids: &ids,
            };
            let pending = tiers::before_write(conn, tenant, written).await?;
            let locked = responses::lock_questions(conn, tenant, &keys).await?;
            let rechecked;
            let records = if unchanged(&locked, &catalog, &keys) {
                &records
            } else {
                // Rare (a concurrent UpsertQuestion or removal); the check is
                // linear, so repeating it under the locks is cheap.
                let mut current = catalog_map(&catalog);
                current.retain(|key, _| keys.binary_search_by(|k| k.as_str().cmp(key)).is_err());
                current.extend(locked.iter().map(|q| (q.key.as_str(), q)));
                rechecked = check_batch(&batch, &current)?;
                &rechecked
            };
            let counts = responses::upsert(conn, tenant, records).await?;
            pending.after_write(conn, tenant).await?;
            Ok(counts)
        },
    )
    .await
}

/// (id, respondent) of the records that can decide their respondent's
/// tier: a CUSTOMER's response with an `ease` score (SPEC §7.1).
fn ease_answers(records: &[ResponseRecord]) -> Vec<(&str, &str)> {
    records
        .iter()
        .filter(|r| r.role == Role::Customer.db())
        .filter(|r| {
            r.answers.iter().any(|a| {
                a.question == crate::store::effort::EASE_QUESTION
                    && a.score.is_some()
                    && a.frame == AnswerFrame::Experience
            })
        })
        .filter_map(|r| Some((r.id.as_str(), r.respondent_id.as_deref()?)))
        .collect()
}

/// The catalog by key.
fn catalog_map(catalog: &[Question]) -> HashMap<&str, &Question> {
    catalog.iter().map(|q| (q.key.as_str(), q)).collect()
}

/// The distinct question keys of valid records' answers, sorted.
fn answered_keys(records: &[ResponseRecord]) -> Vec<String> {
    let keys: BTreeSet<&str> = records
        .iter()
        .flat_map(|r| &r.answers)
        .map(|a| a.question.as_str())
        .collect();
    keys.into_iter().map(str::to_owned).collect()
}

/// Whether the locked questions are exactly those of `keys` as `catalog`
/// had them when the batch was checked.
fn unchanged(locked: &[Question], catalog: &[Question], keys: &[String]) -> bool {
    let before = catalog_map(catalog);
    locked.len() == keys.len()
        && locked
            .iter()
            .all(|q| before.get(q.key.as_str()).is_some_and(|b| *b == q))
}

/// One response by id.
pub async fn get(services: &Services, tenant: TenantId, id: &str) -> ServiceResult<ResponseRecord> {
    let mut v = Violations::default();
    check_id(&mut v, "id", id);
    v.into_result()?;
    read!(services, tenant, 1, |db| Ok(
        responses::get(db, tenant, id).await?
    ))?
    .ok_or_else(|| ServiceError::NotFound {
        what: "survey response",
        id: id.to_owned(),
    })
}

/// One page of the responses `filter` selects, in (submitted_at, id) order.
pub async fn list(
    services: &Services,
    tenant: TenantId,
    filter: &ListFilter,
    page: &PageRequest,
) -> ServiceResult<Page<ResponseRecord>> {
    let after = page.after_time_position()?;
    let rows = read!(services, tenant, 1, |db| {
        Ok(responses::list(
            db,
            tenant,
            filter,
            after.as_ref().map(|(t, id)| (*t, id.as_str())),
            page.fetch_limit(),
        )
        .await?)
    })?;
    Ok(page.page(rows, |r| page::time_position(r.submitted_at, &r.id)))
}

/// Checks every record and returns them normalized, or every violation found.
/// (Also used by the benchmark's COPY loader, so it stores exactly what
/// ingest stores.)
pub fn check_batch(
    batch: &[SubmittedResponse],
    catalog: &HashMap<&str, &Question>,
) -> Result<Vec<ResponseRecord>, Violations> {
    let mut v = Violations::default();
    let mut ids = FirstIndex::with_capacity(batch.len());
    let mut records = Vec::with_capacity(batch.len());
    for (i, response) in batch.iter().enumerate() {
        let path = format!("responses[{i}]");
        if let Some(first) = ids.earlier(&response.id, i) {
            v.add(
                format!("{path}.id"),
                format!(
                    "duplicates responses[{first}].id ({:?}); an id may appear only once per batch",
                    response.id
                ),
            );
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
    r: &SubmittedResponse,
    catalog: &HashMap<&str, &Question>,
) -> Option<ResponseRecord> {
    // Valid when nothing was found (`len` counts unlisted violations too).
    let before = v.len();
    let (role, submitted_at) = check_fields(v, path, r);
    let answers = check_answers(v, path, &r.answers, catalog);
    if v.len() != before {
        return None;
    }
    let mut record = ResponseRecord {
        id: r.id.clone(),
        role: role?.db(),
        respondent_id: non_empty(&r.respondent_id),
        survey_id: non_empty(&r.survey_id),
        submitted_at: submitted_at?,
        labels: r.labels.clone(),
        answers,
        content_hash: Vec::new(),
    };
    record.content_hash = content_hash(&record);
    Some(record)
}

/// Checks the fields of a response other than its answers; returns its role
/// and its `submitted_at` (truncated to microseconds) when they are valid.
fn check_fields(
    v: &mut Violations,
    path: &str,
    r: &SubmittedResponse,
) -> (Option<Role>, Option<DateTime<Utc>>) {
    check_id(v, &format!("{path}.id"), &r.id);
    let role = converted(v, format!("{path}.role"), &r.role);
    if !r.respondent_id.is_empty() {
        check_id(v, &format!("{path}.respondent_id"), &r.respondent_id);
    }
    if !r.survey_id.is_empty() {
        check_id(v, &format!("{path}.survey_id"), &r.survey_id);
    }
    let submitted_at =
        converted(v, format!("{path}.submitted_at"), &r.submitted_at).map(truncate_to_micros);
    check_labels(v, &format!("{path}.labels"), r.labels.iter());
    (role, submitted_at)
}

/// Checks the answers of the response at `path`; returns the valid ones,
/// normalized.
fn check_answers(
    v: &mut Violations,
    path: &str,
    answers: &[SubmittedAnswer],
    catalog: &HashMap<&str, &Question>,
) -> Vec<AnswerRecord> {
    if answers.is_empty() {
        v.add(format!("{path}.answers"), "at least one answer is required");
    } else if answers.len() > MAX_ANSWERS {
        // Counted before any per-answer work (SPEC §14).
        v.add(
            format!("{path}.answers"),
            format!(
                "at most {MAX_ANSWERS} answers are allowed, got {}",
                answers.len()
            ),
        );
        return Vec::new();
    }
    // A question may be answered once per (frame, competitor) (SPEC §16.1).
    let mut answered: HashMap<(&str, AnswerFrame, &str), usize> =
        HashMap::with_capacity(answers.len());
    let mut out = Vec::with_capacity(answers.len());
    for (j, a) in answers.iter().enumerate() {
        let apath = format!("{path}.answers[{j}]");
        let frame = check_frame(v, &apath, a);
        if a.question.is_empty() {
            v.add(format!("{apath}.question"), "is required");
        } else if let Some(frame) = frame {
            match answered.entry((a.question.as_str(), frame, a.competitor.as_str())) {
                Entry::Vacant(slot) => {
                    slot.insert(j);
                }
                Entry::Occupied(first) => {
                    v.add(
                        duplicate_field(&apath, frame),
                        duplicate_answer(a, frame, path, *first.get()),
                    );
                }
            }
        }
        check_text(
            v,
            &format!("{apath}.comment"),
            &a.comment,
            MAX_COMMENT_CHARS,
        );
        if let Some(answer) = check_answer(v, &apath, a, frame, catalog) {
            out.push(answer);
        }
    }
    out
}

/// The answer's frame and the competitor rules that go with it: a
/// competitor exactly on COMPETITOR answers. `None` when the frame is not
/// one (its violation added).
fn check_frame(v: &mut Violations, apath: &str, a: &SubmittedAnswer) -> Option<AnswerFrame> {
    let frame = converted(v, format!("{apath}.frame"), &a.frame)?;
    let cpath = format!("{apath}.competitor");
    match (frame, a.competitor.is_empty()) {
        (AnswerFrame::Competitor, true) => v.add(cpath, "is required for a COMPETITOR answer"),
        (AnswerFrame::Competitor, false) => check_key(v, &cpath, &a.competitor),
        (_, false) => v.add(
            cpath,
            format!(
                "must be empty for a {} answer; only COMPETITOR answers name a competitor",
                frame.as_str()
            ),
        ),
        (_, true) => {}
    }
    Some(frame)
}

/// Where a repeated answer is reported: the field that would tell it apart.
fn duplicate_field(apath: &str, frame: AnswerFrame) -> String {
    match frame {
        AnswerFrame::Experience => format!("{apath}.question"),
        AnswerFrame::Expectation | AnswerFrame::Importance => format!("{apath}.frame"),
        AnswerFrame::Competitor => format!("{apath}.competitor"),
    }
}

/// The violation of an answer that repeats the one at `first`.
fn duplicate_answer(a: &SubmittedAnswer, frame: AnswerFrame, path: &str, first: usize) -> String {
    let what = match frame {
        AnswerFrame::Experience => String::new(),
        AnswerFrame::Competitor => format!(" for competitor {:?}", a.competitor),
        _ => format!(" in the {} frame", frame.as_str()),
    };
    format!(
        "question {:?} is already answered{what} at {path}.answers[{first}]; a question may \
         appear only once per frame (and competitor) in a response",
        a.question
    )
}

/// Checks one answer against its catalog question; the answer as stored
/// unless its question is unknown or of an unknown kind.
fn check_answer(
    v: &mut Violations,
    apath: &str,
    a: &SubmittedAnswer,
    frame: Option<AnswerFrame>,
    catalog: &HashMap<&str, &Question>,
) -> Option<AnswerRecord> {
    let Some(question) = catalog.get(a.question.as_str()).copied() else {
        if !a.question.is_empty() {
            // A suggestion costs a comparison with every catalog key: made
            // only for a violation that will be listed.
            let candidates = if v.has_room() { catalog.len() } else { 0 };
            let description =
                unknown_question(&a.question, catalog.keys().copied().take(candidates));
            v.add(format!("{apath}.question"), description);
        }
        return None;
    };
    let (score, themes) = match question.kind {
        QuestionKind::Rating => (check_rating(v, apath, question, a), Vec::new()),
        QuestionKind::Themes => {
            if frame.is_some_and(|f| f != AnswerFrame::Experience) {
                v.add(
                    format!("{apath}.frame"),
                    format!(
                        "THEMES question {:?} takes EXPERIENCE answers only",
                        question.key
                    ),
                );
            }
            (None, check_themes(v, apath, question, a))
        }
    };
    Some(AnswerRecord {
        question: a.question.clone(),
        score,
        themes,
        comment: non_empty(&a.comment),
        frame: frame?,
        competitor: non_empty(&a.competitor),
    })
}

/// A RATING answer: a score on the question's scale and no themes.
fn check_rating(
    v: &mut Violations,
    apath: &str,
    question: &Question,
    a: &SubmittedAnswer,
) -> Option<i32> {
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
    a.score
}

/// A THEMES answer: no score and 1-20 themes, normalized.
fn check_themes(
    v: &mut Violations,
    apath: &str,
    question: &Question,
    a: &SubmittedAnswer,
) -> Vec<String> {
    if a.score.is_some() {
        v.add(
            format!("{apath}.score"),
            format!("must not be set for THEMES question {:?}", question.key),
        );
    }
    normalize_themes(v, apath, &question.key, &a.themes)
}

/// Trims, lower-cases and de-duplicates (keeping the first occurrence's
/// position) the themes of a THEMES answer, checking each one and the count.
///
/// Linear: the submitted list is counted against [`MAX_SUBMITTED_THEMES`]
/// before any theme is looked at, and duplicates are found with a hash set.
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
    if themes.len() > MAX_SUBMITTED_THEMES {
        v.add(
            format!("{apath}.themes"),
            format!(
                "at most {MAX_THEMES} distinct themes are allowed (and at most \
                 {MAX_SUBMITTED_THEMES} submitted), got {}",
                themes.len()
            ),
        );
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::with_capacity(themes.len().min(MAX_THEMES));
    let mut seen: HashSet<String> = HashSet::with_capacity(themes.len());
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
        } else if !seen.contains(&theme) {
            seen.insert(theme.clone());
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

/// SHA-256 of the normalized record's protobuf encoding (label maps are
/// `BTreeMap`s, so the encoding is deterministic).
fn content_hash(record: &ResponseRecord) -> Vec<u8> {
    Sha256::digest(response_message(record).encode_to_vec()).to_vec()
}

/// A stored response as its `gapscore.v1` message. The content hash is of
/// this encoding (docs/DECISIONS.md), and the transport returns this same
/// message from Get and List: one function, so what is returned always
/// hashes like what was stored and a re-send of it is `unchanged`.
pub fn response_message(r: &ResponseRecord) -> proto::SurveyResponse {
    proto::SurveyResponse {
        id: r.id.clone(),
        role: i32::from(r.role),
        respondent_id: r.respondent_id.clone().unwrap_or_default(),
        survey_id: r.survey_id.clone().unwrap_or_default(),
        submitted_at: Some(prost_types::Timestamp {
            seconds: r.submitted_at.timestamp(),
            nanos: r.submitted_at.timestamp_subsec_nanos() as i32,
        }),
        labels: r.labels.clone(),
        answers: r
            .answers
            .iter()
            .map(|a| proto::Answer {
                question: a.question.clone(),
                score: a.score,
                themes: a.themes.clone(),
                comment: a.comment.clone().unwrap_or_default(),
                frame: frame_number(a.frame),
                competitor: a.competitor.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

/// The wire value of a stored frame: EXPERIENCE is written as not set, so
/// a record sent before frames existed (or without one) encodes, hashes
/// and reads back exactly as it did then.
fn frame_number(frame: AnswerFrame) -> i32 {
    match frame {
        AnswerFrame::Experience => 0,
        framed => framed.number(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rating(key: &str, min: i32, max: i32) -> Question {
        Question {
            key: key.into(),
            kind: QuestionKind::Rating,
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
            kind: QuestionKind::Themes,
            ..rating(key, 0, 0)
        }
    }

    fn response(id: &str, answers: Vec<SubmittedAnswer>) -> SubmittedResponse {
        SubmittedResponse {
            id: id.into(),
            role: Ok(Role::Customer),
            respondent_id: String::new(),
            survey_id: String::new(),
            submitted_at: Ok(DateTime::from_timestamp(1_767_225_600, 123_456_789).unwrap()),
            labels: BTreeMap::new(),
            answers,
        }
    }

    fn answer(question: &str, score: Option<i32>, themes: &[&str]) -> SubmittedAnswer {
        SubmittedAnswer {
            question: question.into(),
            score,
            themes: themes.iter().map(|t| (*t).to_owned()).collect(),
            comment: String::new(),
            frame: Ok(AnswerFrame::Experience),
            competitor: String::new(),
        }
    }

    fn fields(v: Violations) -> Vec<String> {
        v.items().iter().map(|(f, _)| f.clone()).collect()
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
    fn equal_content_hashes_equal() {
        let speed = rating("speed", 1, 5);
        let improve = themes_question("improve");
        let catalog: HashMap<&str, &Question> = [("speed", &speed), ("improve", &improve)].into();
        let answers = |themes: &[&str]| {
            vec![
                answer("speed", Some(4), &[]),
                answer("improve", None, themes),
            ]
        };
        let hash = |themes: &[&str]| {
            check_batch(&[response("r1", answers(themes))], &catalog).unwrap()[0]
                .content_hash
                .clone()
        };
        assert_eq!(hash(&["Wait", "wait "]), hash(&["wait"]));
        assert_ne!(hash(&["wait"]), hash(&["price"]));
    }

    #[test]
    fn duplicate_ids_and_questions_name_both_places() {
        let speed = rating("speed", 1, 5);
        let catalog: HashMap<&str, &Question> = [("speed", &speed)].into();
        let speed_3 = answer("speed", Some(3), &[]);
        let err = check_batch(
            &[
                response("r1", vec![speed_3.clone()]),
                response("r1", vec![speed_3.clone(), speed_3]),
            ],
            &catalog,
        )
        .unwrap_err();
        assert_eq!(
            fields(err),
            ["responses[1].id", "responses[1].answers[1].question"]
        );
    }

    #[test]
    fn converted_fields_are_reported_in_field_order() {
        let speed = rating("speed", 1, 5);
        let catalog: HashMap<&str, &Question> = [("speed", &speed)].into();
        let mut r = response("", vec![answer("sped", Some(9), &[])]);
        r.role = Err("is required".into());
        r.submitted_at = Err("is not a valid timestamp (years 0001-9999)".into());
        let err = check_batch(&[r], &catalog).unwrap_err();
        assert_eq!(
            fields(err),
            [
                "responses[0].id",
                "responses[0].role",
                "responses[0].submitted_at",
                "responses[0].answers[0].question",
            ]
        );
    }
}
