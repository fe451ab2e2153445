//! The two kinds of record the benchmark sends, survey responses and
//! journeys, behind one trait ([`Kind`]), so that every way of sending
//! them (stream, unary batch, COPY) is written once for both.

use std::{future::Future, ops::Range};

use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{BATCH, copy, data::Generator, floor};
use crate::{
    client::Clients,
    domain::{TenantId, question::Question},
    proto::v1::{
        Journey, StreamJourneysRequest, StreamSurveyResponsesRequest, SubmitJourneysRequest,
        SubmitSurveyResponsesRequest, SurveyResponse,
    },
    store::{StoreResult, journeys::NewJourney, responses::ResponseRecord},
};

/// A kind of record, with each way the benchmark sends it.
pub trait Kind: Send + Sync + 'static {
    /// How the report names the kind: "responses" or "journeys".
    const NAME: &'static str;
    /// The id prefixes of the records the ingest measurement sends by
    /// stream, unary batch and COPY: distinct, so every method inserts.
    const INGEST_PREFIXES: [&'static str; 3];
    /// The record as a client sends it.
    type Record: Clone + Send + Sync + 'static;
    /// One message of the kind's `Stream*` call.
    type Message: Send + 'static;
    /// The record validated and normalized exactly as ingest stores it.
    type Stored: Send + Sync + 'static;

    /// Record number `index`, with id `{prefix}-{index}`.
    fn generate(g: &Generator, prefix: &str, index: u64) -> Self::Record;
    /// The rows a record adds besides its own: answers or touchpoints.
    fn rows(record: &Self::Record) -> u64;
    fn message(records: Vec<Self::Record>) -> Self::Message;
    fn normalize(catalog: &[Question], batch: &[Self::Record]) -> Vec<Self::Stored>;
    /// One `Stream*` call sending `messages`.
    fn stream(
        clients: &Clients,
        messages: ReceiverStream<Self::Message>,
    ) -> impl Future<Output = Result<(), Status>> + Send + use<Self>;
    /// One `Submit*` call.
    fn submit(
        clients: &Clients,
        records: Vec<Self::Record>,
    ) -> impl Future<Output = Result<(), Status>> + Send + use<Self>;
    /// Binary COPY of new records in one transaction; the rows written
    /// besides the records'.
    fn copy(
        pool: &PgPool,
        tenant: TenantId,
        records: &[Self::Stored],
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// The COPY payloads of `records` for the minimal schema, ids from
    /// `first_id` on.
    fn floor(tenant: TenantId, first_id: i64, records: &[Self::Stored]) -> floor::Payloads;
}

/// Survey responses: `StreamSurveyResponses`, `SubmitSurveyResponses`.
pub struct Responses;

impl Kind for Responses {
    const NAME: &'static str = "responses";
    const INGEST_PREFIXES: [&'static str; 3] = ["s", "u", "c"];
    type Record = SurveyResponse;
    type Message = StreamSurveyResponsesRequest;
    type Stored = ResponseRecord;

    fn generate(g: &Generator, prefix: &str, index: u64) -> SurveyResponse {
        g.response(prefix, index)
    }

    fn rows(record: &SurveyResponse) -> u64 {
        record.answers.len() as u64
    }

    fn message(responses: Vec<SurveyResponse>) -> Self::Message {
        StreamSurveyResponsesRequest { responses }
    }

    fn normalize(catalog: &[Question], batch: &[SurveyResponse]) -> Vec<ResponseRecord> {
        let map = catalog.iter().map(|q| (q.key.as_str(), q)).collect();
        let batch: Vec<_> = batch.iter().cloned().map(Into::into).collect();
        crate::service::survey::check_batch(&batch, &map).expect("generated responses are valid")
    }

    fn stream(
        clients: &Clients,
        messages: ReceiverStream<Self::Message>,
    ) -> impl Future<Output = Result<(), Status>> + Send + use<> {
        let mut client = clients.survey();
        async move {
            client
                .stream_survey_responses(tonic::Request::new(messages))
                .await
                .map(|_| ())
        }
    }

    fn submit(
        clients: &Clients,
        responses: Vec<SurveyResponse>,
    ) -> impl Future<Output = Result<(), Status>> + Send + use<> {
        let mut client = clients.survey();
        async move {
            client
                .submit_survey_responses(SubmitSurveyResponsesRequest { responses })
                .await
                .map(|_| ())
        }
    }

    async fn copy(pool: &PgPool, tenant: TenantId, records: &[ResponseRecord]) -> StoreResult<u64> {
        copy::copy_responses(pool, tenant, records).await
    }

    fn floor(tenant: TenantId, first_id: i64, records: &[ResponseRecord]) -> floor::Payloads {
        floor::responses(tenant, first_id, records)
    }
}

/// Journeys: `StreamJourneys`, `SubmitJourneys`.
pub struct Journeys;

impl Kind for Journeys {
    const NAME: &'static str = "journeys";
    const INGEST_PREFIXES: [&'static str; 3] = ["sj", "uj", "cj"];
    type Record = Journey;
    type Message = StreamJourneysRequest;
    type Stored = NewJourney;

    fn generate(g: &Generator, prefix: &str, index: u64) -> Journey {
        g.journey(prefix, index)
    }

    fn rows(record: &Journey) -> u64 {
        record.touchpoints.len() as u64
    }

    fn message(journeys: Vec<Journey>) -> Self::Message {
        StreamJourneysRequest { journeys }
    }

    fn normalize(_catalog: &[Question], batch: &[Journey]) -> Vec<NewJourney> {
        let batch: Vec<_> = batch.iter().cloned().map(Into::into).collect();
        crate::service::journeys::check_journeys(&batch).expect("generated journeys are valid")
    }

    fn stream(
        clients: &Clients,
        messages: ReceiverStream<Self::Message>,
    ) -> impl Future<Output = Result<(), Status>> + Send + use<> {
        let mut client = clients.journeys();
        async move {
            client
                .stream_journeys(tonic::Request::new(messages))
                .await
                .map(|_| ())
        }
    }

    fn submit(
        clients: &Clients,
        journeys: Vec<Journey>,
    ) -> impl Future<Output = Result<(), Status>> + Send + use<> {
        let mut client = clients.journeys();
        async move {
            client
                .submit_journeys(SubmitJourneysRequest { journeys })
                .await
                .map(|_| ())
        }
    }

    async fn copy(pool: &PgPool, tenant: TenantId, records: &[NewJourney]) -> StoreResult<u64> {
        copy::copy_journeys(pool, tenant, records).await
    }

    fn floor(tenant: TenantId, first_id: i64, records: &[NewJourney]) -> floor::Payloads {
        floor::journeys(tenant, first_id, records)
    }
}

/// Pre-generated messages of the records of `range`, [`BATCH`] each.
pub fn batches<K: Kind>(g: &Generator, prefix: &str, range: Range<u64>) -> Vec<Vec<K::Record>> {
    let all: Vec<K::Record> = range.map(|i| K::generate(g, prefix, i)).collect();
    all.chunks(BATCH).map(<[_]>::to_vec).collect()
}

/// The runs of `chunk` indexes of `range` that worker `w` of `n` takes:
/// every `n`-th run, starting with the `w`-th.
pub fn worker_chunks(
    range: Range<u64>,
    w: u64,
    n: u64,
    chunk: u64,
) -> impl Iterator<Item = Range<u64>> {
    let end = range.end;
    (range.start + w * chunk..end)
        .step_by((n * chunk) as usize)
        .map(move |start| start..(start + chunk).min(end))
}

/// Loads the records of `range` with id prefix `b` by binary COPY, as worker
/// `w` of `n` sessions: `chunk` records per transaction.
pub async fn copy_range<K: Kind>(
    g: &Generator,
    pool: &PgPool,
    tenant: TenantId,
    catalog: &[Question],
    range: Range<u64>,
    (w, n, chunk): (u64, u64, u64),
) -> anyhow::Result<()> {
    for indexes in worker_chunks(range, w, n, chunk) {
        let batch: Vec<_> = indexes.map(|i| K::generate(g, "b", i)).collect();
        let records: Vec<_> = batch
            .chunks(BATCH)
            .flat_map(|b| K::normalize(catalog, b))
            .collect();
        K::copy(pool, tenant, &records).await?;
    }
    Ok(())
}

/// Sends the records of `range` with id prefix `b` on one `Stream*` call, as
/// stream `w` of `n`, generating each [`BATCH`]-record message just before
/// it is sent.
pub fn stream_range<K: Kind>(
    g: Generator,
    clients: &Clients,
    range: Range<u64>,
    (w, n): (u64, u64),
) -> JoinHandle<Result<(), Status>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        for indexes in worker_chunks(range, w, n, BATCH as u64) {
            let records = indexes.map(|i| K::generate(&g, "b", i)).collect();
            if tx.send(K::message(records)).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(K::stream(clients, ReceiverStream::new(rx)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_take_every_nth_chunk_and_together_cover_the_range() {
        let chunks = |w| worker_chunks(10..35, w, 2, 5).collect::<Vec<_>>();
        assert_eq!(chunks(0), [10..15, 20..25, 30..35]);
        assert_eq!(chunks(1), [15..20, 25..30]);
        assert_eq!(worker_chunks(10..12, 1, 2, 5).count(), 0);
        assert_eq!(
            worker_chunks(0..7, 0, 1, 5).collect::<Vec<_>>(),
            [0..5, 5..7]
        );
    }
}
