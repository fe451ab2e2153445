//! Checks of the writing RPCs: a rejected write leaves every table
//! unchanged, an accepted one writes exactly its records (read back as
//! sent) and nothing else.

use std::{collections::BTreeSet, fmt::Debug, future::Future, sync::atomic::Ordering};

use gapscore::proto::v1::*;
use proptest::{collection::vec, option, prelude::*, test_runner::TestCaseError};
use prost::Message;
use tonic::{Code, Status};

use super::{
    harness::{Ctx, JOURNEY_TABLES, SURVEY_TABLES, acceptable, rows, unchanged, unchanged_except},
    records::{Caller, Etag, UnknownField, encode_unknown},
};
use crate::helpers::{Snapshot, raw::raw_call_as, snapshot, violation_fields};

/// Sends a unary batch of `n` records: rejected (`Err` with its code), every
/// table must be unchanged; accepted, only `written` may change, the counts
/// add up to `n` and `table` grew by the inserted records.
async fn submit_batch<T>(
    ctx: &Ctx,
    len: usize,
    call: impl Future<Output = Result<tonic::Response<T>, Status>>,
    written: &[&str],
    table: &str,
    n: i64,
) -> Result<Result<(Snapshot, Snapshot, IngestCounts), Code>, TestCaseError>
where
    T: HasCounts,
{
    let before = ctx.snapshot().await;
    let result = call.await;
    let after = ctx.snapshot().await;
    let counts = match result {
        Err(status) => {
            unchanged(&before, &after)?;
            return Ok(Err(acceptable(&status, len)?));
        }
        Ok(r) => r.into_inner().counts(),
    };
    unchanged_except(&before, &after, written)?;
    prop_assert_eq!(counts.inserted + counts.updated + counts.unchanged, n);
    prop_assert_eq!(rows(&after, table) - rows(&before, table), counts.inserted);
    Ok(Ok((before, after, counts)))
}

/// The counts of an ingest response.
pub trait HasCounts {
    fn counts(self) -> IngestCounts;
}

macro_rules! has_counts {
    ($($response:ty),*) => {
        $(impl HasCounts for $response {
            fn counts(self) -> IngestCounts {
                self.counts.expect("counts")
            }
        })*
    };
}
has_counts!(
    SubmitSurveyResponsesResponse,
    SubmitJourneysResponse,
    SubmitOutcomesResponse
);

/// A unary batch: rejected means every table unchanged; accepted means the
/// counts add up, the new rows are exactly the inserted records, and each
/// record reads back as sent (labels and comments literally).
pub async fn check_submit_survey(
    ctx: &Ctx,
    responses: Vec<SurveyResponse>,
) -> Result<Code, TestCaseError> {
    let n = responses.len() as i64;
    let request = SubmitSurveyResponsesRequest {
        responses: responses.clone(),
    };
    let mut client = ctx.app.survey();
    let call = client.submit_survey_responses(request.clone());
    let batch = submit_batch(
        ctx,
        request.encoded_len(),
        call,
        &SURVEY_TABLES,
        "survey_responses",
        n,
    )
    .await?;
    let (before, after, counts) = match batch {
        Ok(accepted) => accepted,
        Err(code) => return Ok(code),
    };
    let ids: Vec<String> = responses.iter().map(|r| r.id.clone()).collect();
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM answers a JOIN survey_responses s USING (tenant_id, rid) \
         WHERE s.tenant_id = $1 AND s.id = ANY($2)",
    )
    .bind(ctx.app.tenant.0)
    .bind(&ids)
    .fetch_one(ctx.pool())
    .await
    .unwrap();
    let sent: usize = responses.iter().map(|r| r.answers.len()).sum();
    prop_assert_eq!(stored, sent as i64);
    if counts.inserted == n {
        prop_assert_eq!(
            rows(&after, "answers") - rows(&before, "answers"),
            sent as i64
        );
    }
    if responses.len() <= 10 {
        for r in &responses {
            let back = ctx
                .app
                .survey()
                .get_survey_response(GetSurveyResponseRequest { id: r.id.clone() })
                .await
                .map_err(|s| TestCaseError::fail(format!("get {:?}: {s:?}", r.id)))?
                .into_inner()
                .response
                .unwrap();
            prop_assert_eq!(&back.labels, &r.labels);
            prop_assert_eq!(back.role, r.role);
            prop_assert_eq!(&back.respondent_id, &r.respondent_id);
            let comments = |a: &[Answer]| {
                a.iter()
                    .map(|a| (a.question.clone(), a.score, a.comment.clone()))
                    .collect::<BTreeSet<_>>()
            };
            prop_assert_eq!(comments(&back.answers), comments(&r.answers));
        }
    }
    Ok(Code::Ok)
}

pub async fn check_submit_journeys(
    ctx: &Ctx,
    journeys: Vec<Journey>,
) -> Result<Code, TestCaseError> {
    let n = journeys.len() as i64;
    let request = SubmitJourneysRequest {
        journeys: journeys.clone(),
    };
    let mut client = ctx.app.journeys();
    let call = client.submit_journeys(request.clone());
    let batch = submit_batch(
        ctx,
        request.encoded_len(),
        call,
        &JOURNEY_TABLES,
        "journeys",
        n,
    )
    .await?;
    if let Err(code) = batch {
        return Ok(code);
    }
    let ids: Vec<String> = journeys.iter().map(|j| j.id.clone()).collect();
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM touchpoints t JOIN journeys j USING (tenant_id, jid) \
         WHERE j.tenant_id = $1 AND j.id = ANY($2)",
    )
    .bind(ctx.app.tenant.0)
    .bind(&ids)
    .fetch_one(ctx.pool())
    .await
    .unwrap();
    let sent: usize = journeys.iter().map(|j| j.touchpoints.len()).sum();
    prop_assert_eq!(stored, sent as i64);
    if journeys.len() <= 10 {
        for j in &journeys {
            let back = ctx
                .app
                .journeys()
                .get_journey(GetJourneyRequest { id: j.id.clone() })
                .await
                .map_err(|s| TestCaseError::fail(format!("get {:?}: {s:?}", j.id)))?
                .into_inner()
                .journey
                .unwrap();
            prop_assert_eq!(&back.labels, &j.labels);
            prop_assert_eq!(&back.customer_id, &j.customer_id);
            prop_assert_eq!(&back.intent, &j.intent);
            prop_assert_eq!(back.touchpoints.len(), j.touchpoints.len());
            prop_assert!((0.0..=100.0).contains(&back.effort_index));
        }
    }
    Ok(Code::Ok)
}

pub async fn check_submit_outcomes(
    ctx: &Ctx,
    outcomes: Vec<Outcome>,
) -> Result<Code, TestCaseError> {
    let n = outcomes.len() as i64;
    let request = SubmitOutcomesRequest {
        outcomes: outcomes.clone(),
    };
    let mut client = ctx.app.outcomes();
    let call = client.submit_outcomes(request.clone());
    let batch = submit_batch(
        ctx,
        request.encoded_len(),
        call,
        &["outcomes"],
        "outcomes",
        n,
    )
    .await?;
    if let Err(code) = batch {
        return Ok(code);
    }
    for o in outcomes.iter().take(10) {
        let (customer_id, kind, occurred): (String, i16, bool) = sqlx::query_as(
            "SELECT customer_id, kind, occurred FROM outcomes WHERE tenant_id = $1 AND id = $2",
        )
        .bind(ctx.app.tenant.0)
        .bind(&o.id)
        .fetch_one(ctx.pool())
        .await
        .unwrap();
        prop_assert_eq!(
            (customer_id, i32::from(kind), occurred),
            (o.customer_id.clone(), o.kind, o.occurred)
        );
    }
    Ok(Code::Ok)
}

/// Valid messages around one arbitrary message.
#[derive(Debug, Clone)]
pub struct StreamCase<T> {
    before: Vec<Vec<T>>,
    wild: Option<Vec<T>>,
    after: Vec<Vec<T>>,
}

pub fn stream_case<T: Debug + Clone + 'static>(
    valid: BoxedStrategy<T>,
    wild: BoxedStrategy<Vec<T>>,
) -> BoxedStrategy<StreamCase<T>> {
    (
        vec(vec(valid.clone(), 1..4), 0..3),
        option::weighted(0.8, wild),
        vec(vec(valid, 1..4), 0..2),
    )
        .prop_map(|(before, wild, after)| StreamCase {
            before,
            wild,
            after,
        })
        .boxed()
}

/// What a stream of messages did, for [`check_stream_outcome`].
pub struct StreamRun {
    /// Fresh-id records in the valid messages before the arbitrary one.
    records_before: i64,
    /// Fresh-id records in all valid messages.
    records_all: i64,
    /// Index of the arbitrary message, if any.
    wild_at: Option<usize>,
    messages: usize,
    wild_len: usize,
}

/// Renames the valid messages' records to fresh ids `prefix…`.
pub fn fresh_ids<T>(
    case: &mut StreamCase<T>,
    prefix: &str,
    set_id: fn(&mut T, String),
) -> StreamRun {
    let mut i = 0;
    let mut rename = |batches: &mut Vec<Vec<T>>| {
        let mut n = 0;
        for b in batches {
            for r in b {
                set_id(r, format!("{prefix}{i}"));
                i += 1;
                n += 1;
            }
        }
        n
    };
    let records_before = rename(&mut case.before);
    let records_after = rename(&mut case.after);
    StreamRun {
        records_before,
        records_all: records_before + records_after,
        wild_at: case.wild.as_ref().map(|_| case.before.len()),
        messages: case.before.len() + usize::from(case.wild.is_some()) + case.after.len(),
        wild_len: 0,
    }
}

/// The documented stream behaviour (SPEC §3.2): each message is committed
/// on arrival; an invalid one ends the call with INVALID_ARGUMENT naming
/// `messages[i]`, earlier messages stay, it and later ones are not stored.
pub async fn check_stream_outcome(
    ctx: &Ctx,
    run: &StreamRun,
    table: &str,
    prefix: &str,
    before: &Snapshot,
    result: Result<(i64, IngestCounts), Status>,
) -> Result<Code, TestCaseError> {
    let fresh: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table} WHERE id LIKE $1"
    )))
    .bind(format!("{prefix}%"))
    .fetch_one(ctx.pool())
    .await
    .unwrap();
    let after = snapshot(ctx.pool(), prefix).await;
    match result {
        Ok((messages, counts)) => {
            prop_assert_eq!(messages, run.messages as i64);
            prop_assert!(counts.inserted >= run.records_all);
            prop_assert_eq!(fresh, run.records_all);
            Ok(Code::Ok)
        }
        Err(status) => {
            let Some(k) = run.wild_at else {
                return Err(TestCaseError::fail(format!(
                    "a stream of valid messages failed: {status:?}"
                )));
            };
            if status.code() == Code::InvalidArgument {
                let fields = violation_fields(&status);
                let prefix = format!("messages[{k}].");
                prop_assert!(
                    !fields.is_empty() && fields.iter().all(|f| f.starts_with(&prefix)),
                    "fields {:?} do not all name message {}",
                    fields,
                    k
                );
            } else {
                acceptable(&status, run.wild_len)?;
            }
            prop_assert_eq!(fresh, run.records_before, "messages before the bad one");
            // The whole-history assessments of the customers of the
            // messages committed before the bad one follow those messages
            // (and cannot be told apart by record id), and so do their
            // tier counts, and so do the kept effort rows of their journeys
            // and that rollup; that a refused write leaves no assessment
            // behind is checked on the unary calls.
            unchanged_except(
                before,
                &after,
                &[
                    "assessments",
                    "tier_count_log",
                    "journey_efforts",
                    "journey_effort_daily",
                ],
            )?;
            Ok(status.code())
        }
    }
}

pub async fn check_stream_survey(
    ctx: &Ctx,
    mut case: StreamCase<SurveyResponse>,
) -> Result<Code, TestCaseError> {
    let prefix = format!("fz{}-", ctx.counter.fetch_add(1, Ordering::Relaxed));
    let mut run = fresh_ids(&mut case, &prefix, |r, id| r.id = id);
    let wild = case
        .wild
        .map(|responses| StreamSurveyResponsesRequest { responses });
    run.wild_len = wild.as_ref().map_or(0, |w| w.encoded_len());
    let messages: Vec<StreamSurveyResponsesRequest> = case
        .before
        .into_iter()
        .map(|responses| StreamSurveyResponsesRequest { responses })
        .chain(wild)
        .chain(
            case.after
                .into_iter()
                .map(|responses| StreamSurveyResponsesRequest { responses }),
        )
        .collect();
    let before = snapshot(ctx.pool(), &prefix).await;
    let result = ctx
        .app
        .survey()
        .stream_survey_responses(tokio_stream::iter(messages))
        .await
        .map(|r| {
            let r = r.into_inner();
            (r.messages, r.counts.unwrap_or_default())
        });
    check_stream_outcome(ctx, &run, "survey_responses", &prefix, &before, result).await
}

pub async fn check_stream_journeys(
    ctx: &Ctx,
    mut case: StreamCase<Journey>,
) -> Result<Code, TestCaseError> {
    let prefix = format!("fz{}-", ctx.counter.fetch_add(1, Ordering::Relaxed));
    let mut run = fresh_ids(&mut case, &prefix, |j, id| j.id = id);
    let wild = case.wild.map(|journeys| StreamJourneysRequest { journeys });
    run.wild_len = wild.as_ref().map_or(0, |w| w.encoded_len());
    let messages: Vec<StreamJourneysRequest> = case
        .before
        .into_iter()
        .map(|journeys| StreamJourneysRequest { journeys })
        .chain(wild)
        .chain(
            case.after
                .into_iter()
                .map(|journeys| StreamJourneysRequest { journeys }),
        )
        .collect();
    let before = snapshot(ctx.pool(), &prefix).await;
    let result = ctx
        .app
        .journeys()
        .stream_journeys(tokio_stream::iter(messages))
        .await
        .map(|r| {
            let r = r.into_inner();
            (r.messages, r.counts.unwrap_or_default())
        });
    check_stream_outcome(ctx, &run, "journeys", &prefix, &before, result).await
}

pub async fn check_upsert_question(
    ctx: &Ctx,
    question: Option<Question>,
) -> Result<Code, TestCaseError> {
    let request = UpsertQuestionRequest {
        question: question.clone(),
    };
    let len = request.encoded_len();
    let before = ctx.snapshot().await;
    let result = ctx.app.catalog().upsert_question(request).await;
    let after = ctx.snapshot().await;
    unchanged_except(&before, &after, &["questions"])?;
    match result {
        Err(status) => {
            unchanged(&before, &after)?;
            acceptable(&status, len)
        }
        Ok(r) => {
            let stored = r.into_inner().question.unwrap();
            let sent = question.unwrap();
            prop_assert_eq!(&stored.key, &sent.key);
            prop_assert_eq!(&stored.text, &sent.text, "text stored literally");
            prop_assert!(ctx.app.questions().await.contains(&stored));
            Ok(Code::Ok)
        }
    }
}

pub async fn check_update_model(
    ctx: &Ctx,
    (model, etag): (Option<ScoringModel>, Etag),
) -> Result<Code, TestCaseError> {
    let current = ctx.app.scoring_model().await;
    let model = model.map(|mut m| {
        m.etag = match &etag {
            Etag::Current => current.etag.clone(),
            Etag::Given(e) => e.clone(),
        };
        m
    });
    let request = UpdateScoringModelRequest { model };
    let len = request.encoded_len();
    let before = ctx.snapshot().await;
    let result = ctx.app.catalog().update_scoring_model(request).await;
    let after = ctx.snapshot().await;
    unchanged_except(&before, &after, &["scoring_models"])?;
    match result {
        Err(status) => {
            unchanged(&before, &after)?;
            acceptable(&status, len)
        }
        Ok(r) => {
            let stored = r.into_inner().model.unwrap();
            prop_assert_ne!(&stored.etag, &current.etag);
            let read = ctx.app.scoring_model().await;
            prop_assert_eq!(read, stored);
            Ok(Code::Ok)
        }
    }
}

pub async fn check_delete(ctx: &Ctx, customer_id: String) -> Result<Code, TestCaseError> {
    let request = DeleteCustomerDataRequest {
        customer_id: customer_id.clone(),
    };
    let len = request.encoded_len();
    let before = ctx.snapshot().await;
    let result = ctx.app.customers().delete_customer_data(request).await;
    let after = ctx.snapshot().await;
    // An erasure writes the customer's records and the rollup, nothing else.
    let erased = [&SURVEY_TABLES[..], &JOURNEY_TABLES[..], &["outcomes"]].concat();
    unchanged_except(&before, &after, &erased)?;
    match result {
        Err(status) => {
            unchanged(&before, &after)?;
            acceptable(&status, len)
        }
        Ok(r) => {
            let r = r.into_inner();
            prop_assert_eq!(
                rows(&before, "survey_responses") - rows(&after, "survey_responses"),
                r.survey_responses_deleted
            );
            prop_assert_eq!(
                rows(&before, "journeys") - rows(&after, "journeys"),
                r.journeys_deleted
            );
            prop_assert_eq!(
                rows(&before, "outcomes") - rows(&after, "outcomes"),
                r.outcomes_deleted
            );
            Ok(Code::Ok)
        }
    }
}

/// A catalog read with unknown fields, as acme or globex, through raw
/// bytes: served (unknown fields are skipped), equal to the same read
/// without them, the caller's own catalog and not the other tenant's, and
/// nothing written.
async fn check_catalog_read<Res: Message + Default + PartialEq + Debug>(
    ctx: &Ctx,
    (caller, fields): (Caller, Vec<UnknownField>),
    path: &'static str,
    typed: impl AsyncFn(&str) -> Result<Res, Status>,
) -> Result<Code, TestCaseError> {
    let (key, other) = match caller {
        Caller::Acme => (ctx.app.key.as_str(), ctx.other_key.as_str()),
        Caller::Globex => (ctx.other_key.as_str(), ctx.app.key.as_str()),
    };
    let before = ctx.snapshot().await;
    let raw = raw_call_as(&ctx.app, key, path, false, encode_unknown(&fields)).await;
    let own = typed(key).await;
    let others = typed(other).await;
    unchanged(&before, &ctx.snapshot().await)?;
    let raw = raw.map_err(|s| TestCaseError::fail(format!("{fields:?} not skipped: {s:?}")))?;
    let got = Res::decode(&raw[..])
        .map_err(|e| TestCaseError::fail(format!("the answer does not decode: {e}")))?;
    let fail = |s: Status| TestCaseError::fail(format!("the plain read failed: {s:?}"));
    prop_assert_eq!(&got, &own.map_err(fail)?);
    prop_assert_ne!(&got, &others.map_err(fail)?, "the other tenant's catalog");
    Ok(Code::Ok)
}

pub async fn check_list_questions(
    ctx: &Ctx,
    case: (Caller, Vec<UnknownField>),
) -> Result<Code, TestCaseError> {
    let path = "/gapscore.v1.CatalogService/ListQuestions";
    check_catalog_read(ctx, case, path, async |key| {
        let mut client = ctx.app.catalog_as(Some(key));
        Ok(client
            .list_questions(ListQuestionsRequest {})
            .await?
            .into_inner())
    })
    .await
}

pub async fn check_get_scoring_model(
    ctx: &Ctx,
    case: (Caller, Vec<UnknownField>),
) -> Result<Code, TestCaseError> {
    let path = "/gapscore.v1.CatalogService/GetScoringModel";
    check_catalog_read(ctx, case, path, async |key| {
        let mut client = ctx.app.catalog_as(Some(key));
        let request = GetScoringModelRequest {};
        Ok(client.get_scoring_model(request).await?.into_inner())
    })
    .await
}
