//! A gRPC status as an HTTP answer, in one place: the HTTP status of its
//! code (the standard table, google.rpc.Code's), a JSON `google.rpc.Status`
//! body (`code`, `message`, `details` as `Any` with `@type`: the same
//! ErrorInfo, BadRequest and RetryInfo a gRPC caller gets), and a
//! `Retry-After` header when it carries a RetryInfo.

use http::StatusCode;
use prost_reflect::DynamicMessage;
use serde_json::Value;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// The ErrorInfo reason of a request body over the size limit; answered
/// 413 rather than its code's 400, as HTTP clients and proxies expect.
pub const REQUEST_TOO_LARGE: &str = "REQUEST_TOO_LARGE";
/// The reason of a `Content-Encoding` other than gzip: 415.
pub const UNSUPPORTED_CONTENT_ENCODING: &str = "UNSUPPORTED_CONTENT_ENCODING";

/// The HTTP status of a gRPC code (google.rpc.Code's table).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a status code"),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The HTTP status for `status`: its code's, or the one its reason asks for.
fn status_for(status: &Status) -> StatusCode {
    match status.get_details_error_info().map(|info| info.reason) {
        Some(reason) if reason == REQUEST_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        Some(reason) if reason == UNSUPPORTED_CONTENT_ENCODING => {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        }
        _ => http_status(status.code()),
    }
}

/// `status` as the JSON `google.rpc.Status` it is.
pub fn to_json(status: &Status) -> Value {
    serde_json::to_value(status_json(status)).expect("JSON values serialize")
}

fn status_json(status: &Status) -> StatusJson<'_> {
    let mut details = Vec::new();
    if !status.details().is_empty() {
        // The details are an encoded google.rpc.Status (tonic-types).
        match DynamicMessage::decode(super::descriptors::rpc_status(), status.details()) {
            Ok(decoded) => {
                if let Ok(Value::Object(mut object)) = serde_json::to_value(&decoded)
                    && let Some(Value::Array(list)) = object.remove("details")
                {
                    details = list;
                }
            }
            Err(err) => tracing::warn!(error = %err, "undecodable grpc-status-details-bin"),
        }
    }
    StatusJson {
        code: status.code() as i32,
        message: status.message(),
        details,
    }
}

/// `google.rpc.Status` in its proto3 JSON form, fields in proto order.
#[derive(serde::Serialize)]
struct StatusJson<'a> {
    code: i32,
    message: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    details: Vec<Value>,
}

/// The HTTP answer to `status` (not OK).
pub fn response(status: &Status) -> http::Response<Vec<u8>> {
    let body = serde_json::to_vec(&status_json(status)).expect("JSON values serialize");
    let mut response = http::Response::new(body);
    *response.status_mut() = status_for(status);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if let Some(delay) = status.get_details_retry_info().and_then(|r| r.retry_delay) {
        // Whole seconds, rounded up, at least one: HTTP has no finer unit.
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, seconds.max(1).into());
    }
    response
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, time::Duration};

    use serde_json::json;
    use tonic_types::{ErrorDetails, FieldViolation};

    use super::*;

    #[test]
    fn details_are_any_with_their_type_and_retry_info_sets_retry_after() {
        let mut details = ErrorDetails::new();
        details.set_error_info(
            "RATE_LIMITED",
            "gapscore",
            HashMap::from([("burst".into(), "2".into())]),
        );
        details.set_retry_info(Some(Duration::from_millis(1500)));
        let status = Status::with_error_details(Code::ResourceExhausted, "slow down", details);
        let response = response(&status);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "2");
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["code"], 8);
        assert_eq!(body["message"], "slow down");
        let details = body["details"].as_array().unwrap();
        let info = details
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
            .unwrap();
        assert_eq!(info["reason"], "RATE_LIMITED");
        assert_eq!(info["metadata"]["burst"], "2");
        let retry = details
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo")
            .unwrap();
        assert_eq!(retry["retryDelay"], "1.500s");
    }

    #[test]
    fn field_violations_come_through_and_plain_statuses_have_no_details() {
        let mut details = ErrorDetails::new();
        details.set_bad_request(vec![FieldViolation::new("responses[0].id", "required")]);
        let status = Status::with_error_details(Code::InvalidArgument, "bad", details);
        let body = to_json(&status);
        assert_eq!(
            body["details"][0]["fieldViolations"][0],
            json!({"field": "responses[0].id", "description": "required"})
        );
        let body = to_json(&Status::not_found("no"));
        assert_eq!(body, json!({"code": 5, "message": "no"}));
    }

    #[test]
    fn the_table_is_google_rpc_codes() {
        for (code, http) in [
            (Code::InvalidArgument, 400),
            (Code::FailedPrecondition, 400),
            (Code::OutOfRange, 400),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::NotFound, 404),
            (Code::Aborted, 409),
            (Code::AlreadyExists, 409),
            (Code::ResourceExhausted, 429),
            (Code::Cancelled, 499),
            (Code::Internal, 500),
            (Code::Unimplemented, 501),
            (Code::Unavailable, 503),
            (Code::DeadlineExceeded, 504),
        ] {
            assert_eq!(http_status(code).as_u16(), http, "{code:?}");
        }
    }
}
