//! An HTTP/JSON request turned into the gRPC request it stands for: the
//! gRPC path, the caller's headers (its `authorization` among them), and a
//! body that is the protobuf message, framed as gRPC frames it.
//!
//! The body is transcoded lazily, when tonic's codec reads it: inside the
//! call, after authentication, the in-flight bounds and the tenant's
//! budgets have let it through, and inside its decode scope. So an
//! unauthenticated caller costs no JSON parsing, and the parse takes its
//! estimated memory ([`super::json_cost`]) from the same decode budget as
//! protobuf; the message it yields is then checked by the codec like any
//! gRPC message (element limits, decoded size, the 4 MiB limit).
//!
//! The message is the body's fields merged with the path variables and
//! query parameters (AIP-127): both are encoded, and protobuf merges
//! concatenated encodings, so a path variable wins over the same field in
//! the body.

use bytes::{BufMut, Bytes, BytesMut};
use http_body::Frame;
use http_body_util::BodyExt;
use prost_reflect::{DeserializeOptions, DynamicMessage, Kind, MessageDescriptor};
use serde_json::{Map, Value};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use super::{
    gzip,
    routes::{Binding, BodyMapping, Route},
};
use crate::grpc::error::DOMAIN;

/// Headers that describe the HTTP exchange itself, or that only gRPC's
/// framing may set, and so are not passed on as the call's metadata.
fn is_passed_on(name: &http::HeaderName) -> bool {
    use http::header;
    let exchange = [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
        header::ACCEPT_ENCODING,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
        header::TE,
        header::HOST,
        header::UPGRADE,
        header::ACCEPT,
    ];
    if exchange.contains(name) {
        return false;
    }
    // A client's deadline is honoured; the rest of `grpc-*` is framing.
    let name = name.as_str();
    name == "grpc-timeout" || !name.starts_with("grpc-")
}

/// What the lazy body needs to build the message.
struct Pending {
    input: MessageDescriptor,
    body: Option<(tonic::body::Body, gzip::Encoding)>,
    params: Vec<(String, String)>,
    max_bytes: usize,
}

/// The gRPC request for `route`, with `body` still unread (see the module
/// docs); `max_bytes` bounds the body before and after decompression.
pub fn forward(
    parts: http::request::Parts,
    body: tonic::body::Body,
    route: &Route,
    bindings: Vec<Binding>,
    max_bytes: usize,
) -> http::Request<tonic::body::Body> {
    let encoding = gzip::Encoding::of(&parts.headers);
    let mut params: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    // Path variables last: they win (see the module docs).
    params.extend(bindings);
    let pending = Pending {
        input: route.input(),
        body: (route.body == BodyMapping::Whole).then_some((body, encoding)),
        params,
        max_bytes,
    };
    let frames = futures::stream::once(async move { pending.message().await.map(Frame::data) });

    let mut headers = http::HeaderMap::with_capacity(parts.headers.len() + 2);
    let mut name = None;
    for (key, value) in parts.headers {
        // `HeaderMap::into_iter` names only the first of a repeated header.
        if key.is_some() {
            name = key;
        }
        if let Some(name) = name.as_ref().filter(|n| is_passed_on(n)) {
            headers.append(name.clone(), value);
        }
    }
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    headers.insert(http::header::TE, http::HeaderValue::from_static("trailers"));

    let mut request = http::Request::new(tonic::body::Body::new(http_body_util::StreamBody::new(
        frames,
    )));
    *request.method_mut() = http::Method::POST;
    *request.version_mut() = http::Version::HTTP_2;
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(route.grpc_path.as_str())
        .build()
        .expect("a gRPC path is a valid URI");
    *request.headers_mut() = headers;
    *request.extensions_mut() = parts.extensions;
    request
}

impl Pending {
    /// The gRPC frame of the request message.
    async fn message(self) -> Result<Bytes, Status> {
        let mut wire = BytesMut::new();
        if let Some((body, encoding)) = self.body {
            let json = read(body, encoding, self.max_bytes).await?;
            if !json.iter().all(u8::is_ascii_whitespace) {
                let message = from_json(&self.input, &json)?;
                wire.extend_from_slice(&prost::Message::encode_to_vec(&message));
            }
        }
        if !self.params.is_empty() {
            let params = params_object(&self.input, &self.params)?;
            let message = from_value(&self.input, Value::Object(params))?;
            wire.extend_from_slice(&prost::Message::encode_to_vec(&message));
        }
        let mut frame = BytesMut::with_capacity(5 + wire.len());
        frame.put_u8(0);
        frame.put_u32(u32::try_from(wire.len()).map_err(|_| too_large(self.max_bytes))?);
        frame.extend_from_slice(&wire);
        Ok(frame.freeze())
    }
}

/// The body's bytes, decompressed, at most `max_bytes` either way.
async fn read(
    body: tonic::body::Body,
    encoding: gzip::Encoding,
    max_bytes: usize,
) -> Result<Bytes, Status> {
    let wire = http_body_util::Limited::new(body, max_bytes)
        .collect()
        .await
        .map_err(|err| {
            if err.is::<http_body_util::LengthLimitError>() {
                too_large(max_bytes)
            } else {
                Status::from_error(err)
            }
        })?
        .to_bytes();
    gzip::decode(wire, encoding, max_bytes).map_err(|err| match err {
        gzip::DecodeError::TooLarge => too_large(max_bytes),
        gzip::DecodeError::Unsupported(name) => with_reason(
            Code::InvalidArgument,
            format!("unsupported Content-Encoding {name:?}: send gzip or no Content-Encoding"),
            super::status::UNSUPPORTED_CONTENT_ENCODING,
            ErrorDetails::new(),
        ),
        gzip::DecodeError::Corrupt(err) => {
            invalid_json("", format!("the gzip body does not decompress: {err}"))
        }
    })
}

/// The status of a body over the limit (decompressed, when it was gzip).
pub fn too_large(max_bytes: usize) -> Status {
    with_reason(
        Code::OutOfRange,
        format!(
            "the request body is larger than {max_bytes} bytes (after decompression); send fewer \
             records per call"
        ),
        super::status::REQUEST_TOO_LARGE,
        ErrorDetails::new(),
    )
}

/// `json` as a message of `input`, its parse paid for from the call's
/// decode budget.
pub(crate) fn from_json(input: &MessageDescriptor, json: &[u8]) -> Result<DynamicMessage, Status> {
    let bytes = super::json_cost::estimate(json)
        .map_err(|err| invalid_json("", format!("the body is not JSON: {err}")))?;
    let _permit = crate::decode::budget::take(bytes)?;
    let mut de = serde_json::Deserializer::from_slice(json);
    let mut track = serde_path_to_error::Track::new();
    let message = DynamicMessage::deserialize_with_options(
        input.clone(),
        serde_path_to_error::Deserializer::new(&mut de, &mut track),
        &DeserializeOptions::new(),
    )
    .and_then(|m| de.end().map(|()| m))
    .map_err(|err| mapping_error(input, &track.path().to_string(), &err))?;
    Ok(message)
}

/// `value` (the query parameters and path variables) as a message.
fn from_value(input: &MessageDescriptor, value: Value) -> Result<DynamicMessage, Status> {
    let mut track = serde_path_to_error::Track::new();
    DynamicMessage::deserialize_with_options(
        input.clone(),
        serde_path_to_error::Deserializer::new(value, &mut track),
        &DeserializeOptions::new(),
    )
    .map_err(|err| mapping_error(input, &track.path().to_string(), &err))
}

/// A JSON mapping error at `path` (serde_path_to_error's form, `.` for the
/// top), as a field violation naming the field.
fn mapping_error(input: &MessageDescriptor, path: &str, err: &serde_json::Error) -> Status {
    let path = if path == "." { "" } else { path };
    let text = err.to_string();
    // An unknown field is reported at the object holding it: name it.
    let field = match text
        .strip_prefix("unrecognized field name '")
        .and_then(|rest| rest.split_once('\''))
    {
        Some((name, _)) if path.is_empty() => name.to_owned(),
        Some((name, _)) => format!("{path}.{name}"),
        None => path.to_owned(),
    };
    let description = match serde_json_position(&text) {
        Some(plain) => plain.to_owned(),
        None => text.clone(),
    };
    let description = if description.starts_with("unrecognized field name") {
        format!("unknown field: {} has no such field", input.full_name())
    } else {
        description
    };
    invalid_json(&field, description)
}

/// serde_json's message without its ` at line L column C` suffix.
fn serde_json_position(text: &str) -> Option<&str> {
    let at = text.rfind(" at line ")?;
    text[at..].contains(" column ").then(|| &text[..at])
}

fn with_reason(code: Code, message: String, reason: &str, details: ErrorDetails) -> Status {
    let mut details = details;
    details.set_error_info(reason, DOMAIN, std::collections::HashMap::new());
    Status::with_error_details(code, message, details)
}

/// INVALID_ARGUMENT naming `field` (empty: the body as a whole).
fn invalid_json(field: &str, description: String) -> Status {
    let mut details = ErrorDetails::new();
    details.set_bad_request(vec![FieldViolation::new(field, description.clone())]);
    let message = if field.is_empty() {
        description
    } else {
        format!("{field}: {description}")
    };
    with_reason(Code::InvalidArgument, message, "INVALID_JSON", details)
}

/// The query parameters and path variables as the JSON object of the
/// fields they name (AIP-127): `filter.startTime=...` is a nested field
/// (proto or JSON names), a repeated field repeats its parameter, and a
/// map entry is `filter.labels[region]=eu` (grpc-gateway's form).
fn params_object(
    input: &MessageDescriptor,
    params: &[(String, String)],
) -> Result<Map<String, Value>, Status> {
    let mut object = Map::new();
    for (key, value) in params {
        insert_param(input, &mut object, key, value)
            .map_err(|description| invalid_json(key, description))?;
    }
    Ok(object)
}

fn insert_param(
    input: &MessageDescriptor,
    object: &mut Map<String, Value>,
    key: &str,
    value: &str,
) -> Result<(), String> {
    let (path, map_key) = match key.strip_suffix(']').and_then(|k| k.split_once('[')) {
        Some((path, map_key)) => (path, Some(map_key)),
        None => (key, None),
    };
    let parts: Vec<&str> = path.split('.').collect();
    let mut message = input.clone();
    let mut object = object;
    for (i, part) in parts.iter().enumerate() {
        let field = message
            .get_field_by_name(part)
            .or_else(|| message.get_field_by_json_name(part))
            .ok_or_else(|| {
                format!(
                    "unknown field: {} has no field {part:?}",
                    message.full_name()
                )
            })?;
        let name = field.json_name().to_owned();
        if i + 1 < parts.len() {
            let nested = match field.kind() {
                Kind::Message(m) if !field.is_list() && !field.is_map() && !is_string_form(&m) => m,
                _ => {
                    return Err(format!(
                        "{part:?} is not a message field with fields of its own"
                    ));
                }
            };
            object = object
                .entry(name)
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .ok_or_else(|| format!("{part:?} is given twice"))?;
            message = nested;
            continue;
        }
        if field.is_map() {
            let map_key = map_key.ok_or_else(|| format!("a map entry is {path}[KEY]=VALUE"))?;
            let entry = field.kind();
            let value_field = entry
                .as_message()
                .expect("a map field's kind is its entry")
                .map_entry_value_field();
            let value = scalar(&value_field.kind(), value)?;
            let map = object
                .entry(name)
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .ok_or_else(|| format!("{part:?} is given twice"))?;
            if map.insert(map_key.to_owned(), value).is_some() {
                return Err(format!("{path}[{map_key}] is given twice"));
            }
        } else if map_key.is_some() {
            return Err(format!("{part:?} is not a map"));
        } else if field.is_list() {
            let value = scalar(&field.kind(), value)?;
            match object
                .entry(name)
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(list) => list.push(value),
                _ => return Err(format!("{part:?} is given twice")),
            }
        } else if object.insert(name, scalar(&field.kind(), value)?).is_some() {
            return Err(format!("{part:?} is given twice"));
        }
    }
    Ok(())
}

/// Well-known message types whose JSON form is a string.
fn is_string_form(message: &MessageDescriptor) -> bool {
    matches!(
        message.full_name(),
        "google.protobuf.Timestamp" | "google.protobuf.Duration" | "google.protobuf.FieldMask"
    )
}

/// A parameter's text as the JSON value of a field of `kind`: booleans are
/// `true`/`false`; numbers, enums, strings, bytes and the string-form
/// well-known types are JSON strings, which the proto3 JSON mapping
/// accepts for all of them.
fn scalar(kind: &Kind, text: &str) -> Result<Value, String> {
    match kind {
        Kind::Bool => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("{text:?} is not true or false")),
        },
        Kind::Message(m) if !is_string_form(m) => Err(format!(
            "a {} cannot be a query parameter: name its fields (a.b=...)",
            m.full_name()
        )),
        _ => Ok(Value::String(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str) -> MessageDescriptor {
        super::super::descriptors::gapscore()
            .get_message_by_name(name)
            .unwrap()
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn violation(status: &Status) -> (String, String) {
        let bad = status.get_details_bad_request().expect("a BadRequest");
        let v = &bad.field_violations[0];
        (v.field.clone(), v.description.clone())
    }

    #[test]
    fn query_parameters_fill_nested_repeated_and_map_fields() {
        let desc = input("gapscore.v1.GetPerceptionGapRequest");
        let object = params_object(
            &desc,
            &params(&[
                ("filter.startTime", "2024-01-01T00:00:00Z"),
                ("filter.labels[region]", "eu"),
                ("filter.survey_id", "w1"),
                ("questions", "csat"),
                ("questions", "ease"),
                ("confidenceLevel", "0.9"),
                ("group_by", "region"),
            ]),
        )
        .unwrap();
        let message = from_value(&desc, Value::Object(object)).unwrap();
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "filter": {"startTime": "2024-01-01T00:00:00Z", "labels": {"region": "eu"}, "surveyId": "w1"},
                "questions": ["csat", "ease"],
                "confidenceLevel": 0.9,
                "groupBy": "region"
            })
        );
    }

    #[test]
    fn bad_parameters_name_themselves() {
        let desc = input("gapscore.v1.ListSurveyResponsesRequest");
        for (key, value, wanted) in [
            ("nope", "1", "unknown field"),
            ("filter", "x", "cannot be a query parameter"),
            ("filter.labels", "x", "a map entry is"),
            ("pageSize[a]", "1", "is not a map"),
        ] {
            let status = params_object(&desc, &params(&[(key, value)])).unwrap_err();
            let (field, description) = violation(&status);
            assert_eq!(field, key);
            assert!(description.contains(wanted), "{key}: {description}");
        }
        let status = from_value(
            &desc,
            Value::Object(params_object(&desc, &params(&[("pageSize", "many")])).unwrap()),
        )
        .unwrap_err();
        assert_eq!(violation(&status).0, "pageSize");
        let status =
            params_object(&desc, &params(&[("pageSize", "1"), ("page_size", "2")])).unwrap_err();
        assert!(violation(&status).1.contains("twice"));
    }

    #[test]
    fn an_unknown_body_field_is_named_by_its_json_path() {
        let desc = input("gapscore.v1.SubmitSurveyResponsesRequest");
        let json =
            br#"{"responses":[{"id":"r1"},{"id":"r2","answers":[{"question":"csat","scroe":5}]}]}"#;
        let status = from_json(&desc, json).unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let (field, description) = violation(&status);
        assert_eq!(field, "responses[1].answers[0].scroe");
        assert!(description.contains("unknown field"), "{description}");
        assert_eq!(
            status.get_details_error_info().unwrap().reason,
            "INVALID_JSON"
        );
    }

    #[test]
    fn wrong_types_and_broken_json_are_invalid_arguments() {
        let desc = input("gapscore.v1.SubmitSurveyResponsesRequest");
        let status = from_json(&desc, br#"{"responses":[{"role":"CHIEF"}]}"#).unwrap_err();
        assert_eq!(violation(&status).0, "responses[0].role");
        let status = from_json(&desc, br#"{"responses":[{"id":"x"}"#).unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().contains("not JSON"),
            "{}",
            status.message()
        );
        let status = from_json(&desc, br#"{} {}"#).unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }
}
