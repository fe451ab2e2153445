//! Checks of the paginated RPCs with chosen page tokens: foreign and
//! forged tokens are refused at `page_token`, genuine ones are served.

use std::collections::BTreeSet;

use proptest::{prelude::*, test_runner::TestCaseError};
use tonic::Code;

use super::{
    harness::{Ctx, acceptable, other_query_filter, unchanged},
    values::Token,
};
use crate::helpers::{internals::forge_page_token, lists::ListRpc, violation_fields};

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
