//! The paginated RPCs behind one trait, so a test can walk or probe them
//! all alike.

use std::{fmt::Debug, future::Future};

use gapscore::proto::v1::*;
use prost::Message;
use tonic::Status;

use super::{app::TestApp, internals::at_risk_position};

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
    /// What the server changes in a query before binding a token to it.
    fn normalize(_query: &mut Self) {}
    /// The query a page token is bound to (as the server computes it).
    fn fingerprint_query(&self) -> Self {
        let mut q = self.clone();
        q.set_page(0, String::new());
        Self::normalize(&mut q);
        q
    }
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

/// `impl ListRpc`: the request type, the client and method that serve it,
/// the field of its page and the id of a page's element, then any items
/// that differ from the trait's defaults.
macro_rules! list_rpc {
    ($request:ty, $client:ident . $method:ident, $items:ident . $id:ident $(, $extra:item)*) => {
        impl ListRpc for $request {
            fn set_page(&mut self, size: i32, token: String) {
                (self.page_size, self.page_token) = (size, token);
            }
            fn page_size(&self) -> i32 {
                self.page_size
            }
            fn set_filter(&mut self, filter: Option<ScoreFilter>) {
                self.filter = filter;
            }
            async fn call(&self, app: &TestApp, key: &str) -> Result<(Vec<String>, String), Status> {
                let r = app.$client(Some(key)).$method(self.clone()).await?.into_inner();
                Ok((r.$items.into_iter().map(|x| x.$id).collect(), r.next_page_token))
            }
            $($extra)*
        }
    };
}

list_rpc!(
    ListSurveyResponsesRequest,
    survey_as.list_survey_responses,
    responses.id,
    /// The intent does not apply to responses.
    fn normalize(q: &mut Self) {
        if let Some(f) = &mut q.filter {
            f.intent.clear();
        }
    }
);
list_rpc!(ListJourneysRequest, journeys_as.list_journeys, journeys.id);
list_rpc!(ListOutcomesRequest, outcomes_as.list_outcomes, outcomes.id);
list_rpc!(
    ListAtRiskCustomersRequest,
    customers_as.list_at_risk_customers,
    customers.customer_id,
    /// The default minimum tier is HIGH.
    fn normalize(q: &mut Self) {
        if q.min_tier == 0 {
            q.min_tier = EffortTier::High as i32;
        }
    },
    fn forged_key(micros: i64, index: f64, id: String) -> serde_json::Value {
        at_risk_position((micros % 5) as i32, index, id)
    },
    /// At-risk tokens are sealed with the tenant's key: a token forged
    /// without it is never one the server made.
    fn forged_is_sane(_micros: i64, _index: f64, _id: &str) -> bool {
        false
    }
);
