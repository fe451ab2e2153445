//! JSON over HTTP (SPEC §13) against the real server on a real socket, with
//! a plain HTTP client (`helpers::http`) speaking HTTP/1.1 or HTTP/2:
//!
//! - [`parity`]: every unary RPC answers the same JSON over HTTP as over
//!   gRPC (its answer converted with the same proto3 mapping), for reads of
//!   the demo tenant and for the same writes to two fresh tenants;
//! - [`errors`]: each canonical code a client can provoke, as a JSON
//!   `google.rpc.Status` with its details and HTTP status; keys and
//!   tenant isolation;
//! - [`limits`]: body limits, gzip both ways, gzip bombs on both
//!   transports, the decode budget;
//! - [`openapi`]: the served document is the committed one, and every path
//!   in it answers;
//! - [`property`]: random valid requests agree on both transports.

mod errors;
mod limits;
mod openapi;
mod parity;
mod property;

use prost::Message;
use prost_reflect::{DynamicMessage, Kind, MessageDescriptor};
use serde_json::Value;

use crate::helpers::{
    TestApp,
    http::{Answer, HttpClient},
    internals::{Route, Routes, json_descriptors, json_http},
    raw::raw_call_as,
};

/// The route of the RPC named `method` (e.g. `GetJourney`).
pub fn route(method: &str) -> &'static Route {
    Routes::get()
        .routes
        .iter()
        .find(|r| r.method.name() == method)
        .unwrap_or_else(|| panic!("no route for {method}"))
}

/// The descriptor of the message named `name`.
pub fn descriptor(name: &str) -> MessageDescriptor {
    json_descriptors::gapscore()
        .get_message_by_name(name)
        .unwrap_or_else(|| panic!("no message {name}"))
}

/// A prost message as its proto3 JSON.
pub fn json_of<M: Message + prost::Name>(message: &M) -> Value {
    let decoded = DynamicMessage::decode(descriptor(&M::full_name()), &*message.encode_to_vec())
        .expect("a message decodes as its type");
    serde_json::to_value(&decoded).expect("a message has a JSON form")
}

/// The gRPC answer to `request` (JSON of the route's input) with `key`:
/// the response as JSON, or the status as the JSON `google.rpc.Status` the
/// HTTP side renders.
pub async fn grpc_json(
    app: &TestApp,
    key: &str,
    route: &'static Route,
    request: &Value,
) -> Result<Value, Value> {
    let message = DynamicMessage::deserialize(route.input(), request.clone())
        .unwrap_or_else(|e| panic!("{request} is not a {}: {e}", route.input().full_name()));
    match raw_call_as(
        app,
        key,
        route.grpc_path.as_str(),
        false,
        message.encode_to_vec(),
    )
    .await
    {
        Ok(bytes) => {
            let answer =
                DynamicMessage::decode(route.output(), &*bytes).expect("the answer decodes");
            Ok(serde_json::to_value(&answer).unwrap())
        }
        Err(status) => Err(json_http::status::to_json(&status)),
    }
}

/// The HTTP request for `request` (JSON of the route's input), as a client
/// following the documented mapping sends it: path variables in the path,
/// the rest as query parameters of a GET or DELETE or as the body of a
/// POST.
pub async fn http_call(client: &HttpClient, route: &Route, request: &Value) -> Answer {
    let input = route.input();
    let mut path = route.template.clone();
    let mut rest = request.as_object().cloned().unwrap_or_default();
    for variable in route.variables() {
        let field = input
            .get_field_by_name(variable)
            .expect("a top-level variable");
        let value = rest
            .remove(field.json_name())
            .map(|v| scalar_text(&v))
            .unwrap_or_default();
        let encoded =
            percent_encoding::utf8_percent_encode(&value, percent_encoding::NON_ALPHANUMERIC);
        path = path.replace(&format!("{{{variable}}}"), &encoded.to_string());
    }
    if route.verb == http::Method::GET || route.verb == http::Method::DELETE {
        let mut pairs = Vec::new();
        query_pairs(&input, &Value::Object(rest), "", &mut pairs);
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let target = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        client.bodiless(route.verb.clone(), &target).await
    } else {
        client.post(&path, request).await
    }
}

/// A JSON scalar as query text.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The query parameters of a message's JSON: nested fields dotted,
/// repeated fields repeated, map entries as `name[key]`.
pub fn query_pairs(
    message: &MessageDescriptor,
    value: &Value,
    prefix: &str,
    out: &mut Vec<(String, String)>,
) {
    let Some(object) = value.as_object() else {
        return;
    };
    for (key, value) in object {
        let field = message
            .get_field_by_json_name(key)
            .expect("a field of the message");
        let name = format!("{prefix}{key}");
        if field.is_map() {
            for (k, v) in value.as_object().unwrap() {
                out.push((format!("{name}[{k}]"), scalar_text(v)));
            }
        } else if field.is_list() {
            for v in value.as_array().unwrap() {
                out.push((name.clone(), scalar_text(v)));
            }
        } else {
            match field.kind() {
                Kind::Message(m) if m.full_name() != "google.protobuf.Timestamp" => {
                    query_pairs(&m, value, &format!("{name}."), out);
                }
                _ => out.push((name, scalar_text(value))),
            }
        }
    }
}

/// `answer`'s JSON when it succeeded, else its error body.
pub fn http_result(answer: &Answer) -> Result<Value, Value> {
    if answer.status == http::StatusCode::OK {
        Ok(answer.json())
    } else {
        Err(answer.json())
    }
}

/// Page tokens are sealed with a fresh nonce each time: compared by
/// presence only.
pub fn without_page_token(mut value: Value) -> Value {
    if let Some(token) = value.get_mut("nextPageToken") {
        *token = Value::String("<token>".into());
    }
    value
}
