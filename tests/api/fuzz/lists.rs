//! Checks of the paginated RPCs with chosen page tokens: foreign and
//! forged tokens are refused at `page_token`, genuine ones are served.

use std::{collections::BTreeSet, fmt::Debug, future::Future};

use gapscore::proto::v1::*;
use proptest::{prelude::*, test_runner::TestCaseError};
use prost::Message;
use tonic::{Code, Status};

use super::{
    harness::{Ctx, acceptable, other_query_filter, unchanged},
    values::Token,
};
use crate::helpers::{
    TestApp,
    internals::{at_risk_position, forge_page_token},
    violation_fields,
};

/// 1-128 characters of [A-Za-z0-9._:-]: a position id a stored record can have.
pub fn is_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// What the paginated RPCs have in common.
pub trait ListRpc: Clone + Debug + Message + Default {
    fn set_page(&mut self, size: i32, token: String);
    fn page_size(&self) -> i32;
    fn set_filter(&mut self, filter: Option<ScoreFilter>);
    /// The query a page token is bound to (as the server computes it).
    fn fingerprint_query(&self) -> Self;
    /// The position a forged token carries.
    fn forged_key(micros: i64, index: f64, id: String) -> serde_json::Value {
        let _ = index;
        serde_json::json!([micros, id])
    }
    /// Whether a forged position is one the server must accept.
    fn forged_is_sane(micros: i64, index: f64, id: &str) -> bool {
        let _ = index;
        (1_577_836_800_000_000..1_767_225_600_000_000).contains(&micros) && is_id(id)
    }
    /// Returns the ids of the page and the next token.
    fn call(
        &self,
        app: &TestApp,
        key: &str,
    ) -> impl Future<Output = Result<(Vec<String>, String), Status>>;
}

impl ListRpc for ListSurveyResponsesRequest {
    fn set_page(&mut self, size: i32, token: String) {
        (self.page_size, self.page_token) = (size, token);
    }
    fn page_size(&self) -> i32 {
        self.page_size
    }
    fn set_filter(&mut self, filter: Option<ScoreFilter>) {
        self.filter = filter;
    }
    fn fingerprint_query(&self) -> Self {
        let mut q = self.clone();
        q.set_page(0, String::new());
        if let Some(f) = &mut q.filter {
            f.intent.clear();
        }
        q
    }
    async fn call(&self, app: &TestApp, key: &str) -> Result<(Vec<String>, String), Status> {
        let r = app
            .survey_as(Some(key))
            .list_survey_responses(self.clone())
            .await?
            .into_inner();
        Ok((
            r.responses.into_iter().map(|x| x.id).collect(),
            r.next_page_token,
        ))
    }
}

impl ListRpc for ListJourneysRequest {
    fn set_page(&mut self, size: i32, token: String) {
        (self.page_size, self.page_token) = (size, token);
    }
    fn page_size(&self) -> i32 {
        self.page_size
    }
    fn set_filter(&mut self, filter: Option<ScoreFilter>) {
        self.filter = filter;
    }
    fn fingerprint_query(&self) -> Self {
        let mut q = self.clone();
        q.set_page(0, String::new());
        q
    }
    async fn call(&self, app: &TestApp, key: &str) -> Result<(Vec<String>, String), Status> {
        let r = app
            .journeys_as(Some(key))
            .list_journeys(self.clone())
            .await?
            .into_inner();
        Ok((
            r.journeys.into_iter().map(|x| x.id).collect(),
            r.next_page_token,
        ))
    }
}

impl ListRpc for ListOutcomesRequest {
    fn set_page(&mut self, size: i32, token: String) {
        (self.page_size, self.page_token) = (size, token);
    }
    fn page_size(&self) -> i32 {
        self.page_size
    }
    fn set_filter(&mut self, filter: Option<ScoreFilter>) {
        self.filter = filter;
    }
    fn fingerprint_query(&self) -> Self {
        let mut q = self.clone();
        q.set_page(0, String::new());
        q
    }
    async fn call(&self, app: &TestApp, key: &str) -> Result<(Vec<String>, String), Status> {
        let r = app
            .outcomes_as(Some(key))
            .list_outcomes(self.clone())
            .await?
            .into_inner();
        Ok((
            r.outcomes.into_iter().map(|x| x.id).collect(),
            r.next_page_token,
        ))
    }
}

impl ListRpc for ListAtRiskCustomersRequest {
    fn set_page(&mut self, size: i32, token: String) {
        (self.page_size, self.page_token) = (size, token);
    }
    fn page_size(&self) -> i32 {
        self.page_size
    }
    fn set_filter(&mut self, filter: Option<ScoreFilter>) {
        self.filter = filter;
    }
    fn fingerprint_query(&self) -> Self {
        let mut q = self.clone();
        q.set_page(0, String::new());
        if q.min_tier == 0 {
            q.min_tier = EffortTier::High as i32;
        }
        q
    }
    fn forged_key(micros: i64, index: f64, id: String) -> serde_json::Value {
        at_risk_position((micros % 5) as i32, index, id)
    }
    fn forged_is_sane(micros: i64, index: f64, id: &str) -> bool {
        (1..=3).contains(&(micros % 5)) && (0.0..=100.0).contains(&index) && is_id(id)
    }
    async fn call(&self, app: &TestApp, key: &str) -> Result<(Vec<String>, String), Status> {
        let r = app
            .customers_as(Some(key))
            .list_at_risk_customers(self.clone())
            .await?
            .into_inner();
        Ok((
            r.customers.into_iter().map(|x| x.customer_id).collect(),
            r.next_page_token,
        ))
    }
}

/// What a list request with a chosen token must do once the request itself
/// is known to be valid (its first page was served).
#[derive(Debug)]
pub enum Expect {
    /// INVALID_ARGUMENT naming exactly `page_token`.
    Foreign,
    /// Served when sane, otherwise served or rejected at `page_token`.
    Forged { sane: bool },
    /// Served, without repeating the first page.
    Next,
}

/// A list request with a chosen token; nothing is ever written.
pub async fn check_list<R: ListRpc>(
    ctx: &Ctx,
    request: R,
    token: Token,
) -> Result<Code, TestCaseError> {
    let before = ctx.snapshot().await;
    let len = request.encoded_len();
    let first = request.call(&ctx.app, &ctx.app.key).await;
    let attempt: Option<(String, Expect)> = match token {
        Token::Empty => None,
        Token::Junk(t) if t.is_empty() => None,
        Token::Junk(t) => Some((t, Expect::Foreign)),
        Token::OtherQuery => {
            let mut source = R::default();
            source.set_filter(other_query_filter());
            source.set_page(1, String::new());
            let (_, t) = source
                .call(&ctx.app, &ctx.app.key)
                .await
                .map_err(|s| TestCaseError::fail(format!("source query: {s:?}")))?;
            prop_assert!(
                !t.is_empty(),
                "the seed data gives the source query 2 pages"
            );
            Some((t, Expect::Foreign))
        }
        Token::OtherTenant => {
            // The same query as the other tenant if it has 2 pages there,
            // else the other tenant's default query.
            let mut same = request.clone();
            same.set_page(1, String::new());
            let t = match same.call(&ctx.app, &ctx.other_key).await {
                Ok((_, t)) if !t.is_empty() => t,
                _ => {
                    let mut source = R::default();
                    source.set_page(1, String::new());
                    source
                        .call(&ctx.app, &ctx.other_key)
                        .await
                        .map_err(|s| TestCaseError::fail(format!("other tenant: {s:?}")))?
                        .1
                }
            };
            prop_assert!(!t.is_empty(), "the other tenant has 2 pages");
            Some((t, Expect::Foreign))
        }
        Token::Forged(micros, index, id) => {
            let sane = R::forged_is_sane(micros, index, &id);
            let position = R::forged_key(micros, index, id);
            let t = forge_page_token(ctx.app.tenant, &request.fingerprint_query(), &position);
            Some((t, Expect::Forged { sane }))
        }
        Token::Next => match &first {
            Ok((_, t)) if !t.is_empty() => Some((t.clone(), Expect::Next)),
            _ => None,
        },
    };
    let second = match &attempt {
        Some((t, _)) => {
            let mut r = request.clone();
            r.set_page(request.page_size(), t.clone());
            Some(r.call(&ctx.app, &ctx.app.key).await)
        }
        None => None,
    };
    unchanged(&before, &ctx.snapshot().await)?;
    let (page1, second, expect) = match (first, second, attempt) {
        (Err(s), None, _) => return acceptable(&s, len),
        // The request itself is invalid: the token changes nothing.
        (Err(s), Some(second), _) => {
            acceptable(&s, len)?;
            let s2 = second.expect_err("an invalid request stays invalid");
            return acceptable(&s2, len);
        }
        (Ok(_), None, _) => return Ok(Code::Ok),
        (Ok((page1, _)), Some(second), Some((_, expect))) => (page1, second, expect),
        (Ok(_), Some(_), None) => unreachable!(),
    };
    match (expect, second) {
        (Expect::Foreign, Ok(_)) => Err(TestCaseError::fail("a foreign page token was accepted")),
        (Expect::Foreign | Expect::Forged { sane: false }, Err(s)) => {
            prop_assert_eq!(violation_fields(&s), ["page_token"]);
            Ok(s.code())
        }
        (Expect::Forged { sane: true }, Err(s)) => Err(TestCaseError::fail(format!(
            "a well-formed token of this query was rejected: {s:?}"
        ))),
        (Expect::Forged { .. }, Ok(_)) => Ok(Code::Ok),
        (Expect::Next, Ok((page2, _))) => {
            let one: BTreeSet<&String> = page1.iter().collect();
            prop_assert!(
                page2.iter().all(|id| !one.contains(id)),
                "the next page repeats the first: {:?} / {:?}",
                page1,
                page2
            );
            Ok(Code::Ok)
        }
        (Expect::Next, Err(s)) => Err(TestCaseError::fail(format!("the next page failed: {s:?}"))),
    }
}
