//! Random write histories through the real server, for the rollup tests
//! (`gap_daily`, the label-set level, `frame_daily`, `case_daily`): one vocabulary of
//! writes, one way to apply them and one driver, so that each test holds
//! only its records and its exactness check, and a write path added to
//! the service is added to every history at once.

use std::collections::BTreeMap;
use std::fmt::Debug;

use gapscore::proto::v1::{
    DeleteCustomerDataRequest, SubmitSurveyResponsesRequest, SurveyResponse,
};
use proptest::{
    strategy::{Strategy, ValueTree},
    test_runner::{Config, TestRunner},
};

use super::TestApp;
use super::internals::{TenantId, clear_tenant_data, create_tenant, rollup};

/// A generated response of one test's shape.
pub trait Record: Clone + Debug {
    /// The record id's number (`r{id}`): ids repeat across a history, so
    /// later submits are edits.
    fn id(&self) -> u8;
    fn to_proto(&self) -> SurveyResponse;
}

/// One write of a history.
#[derive(Debug, Clone)]
pub enum Op<R> {
    /// New records, or re-sends of stored ids with other contents.
    Submit(Vec<R>),
    /// Re-send the last submitted version of the `n`-th (modulo) stored id
    /// unchanged.
    Resend(u8),
    /// Erase the customer of this index in the history's customers.
    Erase(u8),
    Clear,
    Compact,
}

/// How many histories a test runs: `var` from the environment (more, for
/// a longer search than CI's), else `default`.
pub fn cases(var: &str, default: u32) -> u32 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Applies `op` as `tenant` (API key `key`); `last` holds the last
/// submitted version of each id, for re-sends.
async fn apply<R: Record>(
    app: &TestApp,
    tenant: TenantId,
    key: &str,
    customers: &[&str],
    op: &Op<R>,
    last: &mut BTreeMap<u8, R>,
) {
    match op {
        Op::Submit(batch) => {
            // Ids must be unique within a batch: keep the last of each.
            let mut by_id = BTreeMap::new();
            for r in batch {
                by_id.insert(r.id(), r.clone());
            }
            let responses = by_id.values().map(R::to_proto).collect();
            app.survey_as(Some(key))
                .submit_survey_responses(SubmitSurveyResponsesRequest { responses })
                .await
                .expect("batch accepted");
            last.extend(by_id);
        }
        Op::Resend(n) => {
            if last.is_empty() {
                return;
            }
            let r = last.values().nth(*n as usize % last.len()).unwrap();
            let reply = app
                .survey_as(Some(key))
                .submit_survey_responses(SubmitSurveyResponsesRequest {
                    responses: vec![r.to_proto()],
                })
                .await
                .expect("re-send accepted")
                .into_inner()
                .counts
                .expect("counts");
            // Erased meanwhile: the re-send is an insert again.
            assert_eq!(reply.inserted + reply.unchanged, 1, "{reply:?}");
        }
        Op::Erase(c) => {
            app.customers_as(Some(key))
                .delete_customer_data(DeleteCustomerDataRequest {
                    customer_id: customers[*c as usize % customers.len()].into(),
                })
                .await
                .expect("erasure accepted");
        }
        Op::Clear => {
            clear_tenant_data(&app.pool, tenant).await.unwrap();
            last.clear();
        }
        Op::Compact => {
            rollup::compact(&app.pool, tenant).await.unwrap();
        }
    }
}

/// The shape of a run of histories.
pub struct Histories<'a> {
    pub cases: u32,
    /// The customers `Op::Erase` picks from.
    pub customers: &'a [&'a str],
    /// Every `other_every`-th write is applied to a second tenant too, which
    /// shares every id (and label set): a write path or a fold that
    /// crossed tenants would show.
    pub other_every: usize,
}

impl Histories<'_> {
    /// Runs `self.cases` histories drawn from `ops`, each on a fresh pair of
    /// tenants, and calls `check(tenant, context)` on the tenant before
    /// and after a final fold and on the second tenant; returns the sum of
    /// what the checks compared, which must not be zero.
    pub async fn run<R: Record>(
        &self,
        app: &TestApp,
        ops: impl Strategy<Value = Vec<Op<R>>>,
        check: impl AsyncFn(TenantId, String) -> usize,
    ) -> usize {
        self.run_prepared(app, ops, async |_: &str| {}, check).await
    }

    /// [`Histories::run`] with `prepare(key)` run as each tenant (API key
    /// `key`) when it is created and after each of its `Op::Clear`s (which
    /// reset its catalog): custom questions the records answer.
    pub async fn run_prepared<R: Record>(
        &self,
        app: &TestApp,
        ops: impl Strategy<Value = Vec<Op<R>>>,
        prepare: impl AsyncFn(&str),
        check: impl AsyncFn(TenantId, String) -> usize,
    ) -> usize {
        let mut runner = TestRunner::new(Config {
            cases: self.cases,
            ..Config::default()
        });
        let mut compared = 0;
        for case in 0..self.cases {
            let ops = ops.new_tree(&mut runner).unwrap().current();
            let (tenant, key) = create_tenant(&app.pool, &format!("case-{case}")).await;
            let (other, other_key) = create_tenant(&app.pool, &format!("other-{case}")).await;
            prepare(&key).await;
            prepare(&other_key).await;
            let (mut last, mut other_last) = (BTreeMap::new(), BTreeMap::new());
            for (step, op) in ops.iter().enumerate() {
                let clear = matches!(op, Op::Clear);
                apply(app, tenant, &key, self.customers, op, &mut last).await;
                if clear {
                    prepare(&key).await;
                }
                if step % self.other_every == 0 {
                    apply(app, other, &other_key, self.customers, op, &mut other_last).await;
                    if clear {
                        prepare(&other_key).await;
                    }
                }
            }
            compared += check(tenant, format!("case {case} {ops:?}")).await;
            rollup::compact(&app.pool, tenant).await.unwrap();
            compared += check(tenant, format!("case {case}, folded")).await;
            compared += check(other, format!("case {case}, other")).await;
        }
        eprintln!("{} histories, {compared} rows compared", self.cases);
        assert!(compared > 0, "the histories produced nothing to compare");
        compared
    }
}
