//! What each kind of record is to the API: its message, its submit and list
//! calls and its CSV layout; and the import and export of any kind.

use std::{future::Future, io::Write};

use anyhow::Context;
use indicatif::ProgressBar;
use tonic::Status;

use super::{
    Format, ImportOptions,
    columns::{self, FromCsv},
    csv_file::{self, Group, Layout, Rows},
    jsonl,
    report::{Rejection, Report},
    submit::{self, Parsed},
};
use crate::{
    client::Clients,
    proto::v1::{
        IngestCounts, Journey, ListJourneysRequest, ListOutcomesRequest,
        ListSurveyResponsesRequest, Outcome, SubmitJourneysRequest, SubmitOutcomesRequest,
        SubmitSurveyResponsesRequest, SurveyResponse,
    },
};

/// The largest page the list calls return.
const PAGE_SIZE: i32 = 1000;

pub(super) trait BulkRecord:
    prost::Message + Default + Clone + Send + Sync + 'static
{
    /// The full message name, for JSON Lines.
    const MESSAGE: &'static str;
    /// The repeated field of the submit request, as violation paths name it.
    const COLLECTION: &'static str;
    /// The repeated item field of a record (one CSV row each); "" if none.
    const ITEMS: &'static str;
    fn layout() -> &'static Layout;
    fn from_group(group: &Group) -> Result<FromCsv<Self>, Vec<Rejection>>;
    fn rows(&self) -> Rows;
    fn submit(
        clients: &Clients,
        batch: Vec<Self>,
    ) -> impl Future<Output = Result<IngestCounts, Status>> + Send;
    /// One page in list order and the next page's token ("" after the last).
    fn list(
        clients: &Clients,
        page_token: String,
    ) -> impl Future<Output = Result<(Vec<Self>, String), Status>> + Send;
}

fn counts(counts: Option<IngestCounts>) -> IngestCounts {
    counts.unwrap_or_default()
}

impl BulkRecord for SurveyResponse {
    const MESSAGE: &'static str = "gapscore.v1.SurveyResponse";
    const COLLECTION: &'static str = "responses";
    const ITEMS: &'static str = "answers";
    fn layout() -> &'static Layout {
        &columns::SURVEY
    }
    fn from_group(group: &Group) -> Result<FromCsv<Self>, Vec<Rejection>> {
        columns::survey_from(group)
    }
    fn rows(&self) -> Rows {
        columns::survey_rows(self)
    }
    async fn submit(clients: &Clients, responses: Vec<Self>) -> Result<IngestCounts, Status> {
        let request = SubmitSurveyResponsesRequest { responses };
        let reply = clients.survey().submit_survey_responses(request).await?;
        Ok(counts(reply.into_inner().counts))
    }
    async fn list(clients: &Clients, page_token: String) -> Result<(Vec<Self>, String), Status> {
        let request = ListSurveyResponsesRequest {
            page_size: PAGE_SIZE,
            page_token,
            ..Default::default()
        };
        let page = clients
            .survey()
            .list_survey_responses(request)
            .await?
            .into_inner();
        Ok((page.responses, page.next_page_token))
    }
}

impl BulkRecord for Journey {
    const MESSAGE: &'static str = "gapscore.v1.Journey";
    const COLLECTION: &'static str = "journeys";
    const ITEMS: &'static str = "touchpoints";
    fn layout() -> &'static Layout {
        &columns::JOURNEYS
    }
    fn from_group(group: &Group) -> Result<FromCsv<Self>, Vec<Rejection>> {
        columns::journey_from(group)
    }
    fn rows(&self) -> Rows {
        columns::journey_rows(self)
    }
    async fn submit(clients: &Clients, journeys: Vec<Self>) -> Result<IngestCounts, Status> {
        let request = SubmitJourneysRequest { journeys };
        let reply = clients.journeys().submit_journeys(request).await?;
        Ok(counts(reply.into_inner().counts))
    }
    async fn list(clients: &Clients, page_token: String) -> Result<(Vec<Self>, String), Status> {
        let request = ListJourneysRequest {
            page_size: PAGE_SIZE,
            page_token,
            ..Default::default()
        };
        let page = clients
            .journeys()
            .list_journeys(request)
            .await?
            .into_inner();
        Ok((page.journeys, page.next_page_token))
    }
}

impl BulkRecord for Outcome {
    const MESSAGE: &'static str = "gapscore.v1.Outcome";
    const COLLECTION: &'static str = "outcomes";
    const ITEMS: &'static str = "";
    fn layout() -> &'static Layout {
        &columns::OUTCOMES
    }
    fn from_group(group: &Group) -> Result<FromCsv<Self>, Vec<Rejection>> {
        columns::outcome_from(group)
    }
    fn rows(&self) -> Rows {
        columns::outcome_rows(self)
    }
    async fn submit(clients: &Clients, outcomes: Vec<Self>) -> Result<IngestCounts, Status> {
        let request = SubmitOutcomesRequest { outcomes };
        let reply = clients.outcomes().submit_outcomes(request).await?;
        Ok(counts(reply.into_inner().counts))
    }
    async fn list(clients: &Clients, page_token: String) -> Result<(Vec<Self>, String), Status> {
        let request = ListOutcomesRequest {
            page_size: PAGE_SIZE,
            page_token,
            ..Default::default()
        };
        let page = clients
            .outcomes()
            .list_outcomes(request)
            .await?
            .into_inner();
        Ok((page.outcomes, page.next_page_token))
    }
}

/// Parses `text`, then submits what parsed.
pub(super) async fn import_kind<R: BulkRecord>(
    clients: &Clients,
    format: Format,
    text: &str,
    options: &ImportOptions,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let parsed: Vec<Parsed<R>> = match format {
        Format::Csv => {
            let mut parsed = Vec::new();
            for group in csv_file::read(text, R::layout(), &mut report)? {
                match R::from_group(&group) {
                    Ok(FromCsv { record, item_lines }) => parsed.push(Parsed {
                        record,
                        line: group.line,
                        item_lines: Some(item_lines),
                    }),
                    Err(faults) => report.reject(faults),
                }
            }
            parsed
        }
        Format::Jsonl => jsonl::read::<R>(text, R::MESSAGE, &mut report)
            .into_iter()
            .map(|(line, record)| Parsed {
                record,
                line,
                item_lines: None,
            })
            .collect(),
    };
    options.progress.set_length(report.records);
    options.progress.inc(report.rejected_records);
    submit::submit_all(clients, parsed, options, &mut report).await?;
    report.finish();
    Ok(report)
}

/// Pages through the list call, writing each record as it comes.
pub(super) async fn export_kind<R: BulkRecord>(
    clients: &Clients,
    format: Format,
    out: &mut dyn Write,
    progress: &ProgressBar,
) -> anyhow::Result<u64> {
    let mut sink = match format {
        Format::Csv => Sink::Csv(Box::new(csv_file::Writer::new(out, R::layout())?)),
        Format::Jsonl => Sink::Jsonl(out),
    };
    let mut written = 0;
    let mut token = String::new();
    loop {
        let (page, next) = R::list(clients, token)
            .await
            .with_context(|| format!("cannot list {}", R::COLLECTION))?;
        for record in &page {
            match &mut sink {
                Sink::Csv(writer) => writer.write(record.rows())?,
                Sink::Jsonl(out) => jsonl::write(&mut **out, R::MESSAGE, record)?,
            }
        }
        written += page.len() as u64;
        progress.inc(page.len() as u64);
        if next.is_empty() {
            break;
        }
        token = next;
    }
    if let Sink::Csv(writer) = sink {
        writer.finish()?;
    }
    Ok(written)
}

/// Where an export's records go.
enum Sink<'a> {
    Csv(Box<csv_file::Writer<'a>>),
    Jsonl(&'a mut dyn Write),
}
