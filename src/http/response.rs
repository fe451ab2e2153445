//! The gRPC answer of a forwarded call as the HTTP answer: the one message
//! as JSON (proto3 mapping: lowerCamel names, int64 as strings, enums by
//! name, RFC 3339 timestamps, default values left out), or its status as
//! [`super::status`] renders it.

use bytes::{Buf, Bytes};
use http_body_util::BodyExt;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::Status;

/// The JSON of a successful call, or the status it failed with.
pub async fn read<B>(
    response: http::Response<B>,
    output: &MessageDescriptor,
    max_bytes: usize,
) -> Result<Vec<u8>, Status>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // Errors answered before the call ran carry their status in the headers.
    if let Some(status) = Status::from_header_map(response.headers())
        && status.code() != tonic::Code::Ok
    {
        return Err(status);
    }
    // A gRPC frame header and the message, at most the encoding limit.
    let limited = http_body_util::Limited::new(response.into_body(), max_bytes + 5);
    let collected = limited.collect().await.map_err(Status::from_error)?;
    let status = collected
        .trailers()
        .and_then(Status::from_header_map)
        .unwrap_or_else(|| Status::internal("the call ended without a status"));
    if status.code() != tonic::Code::Ok {
        return Err(status);
    }
    let message = single_message(collected.to_bytes())?;
    let message = DynamicMessage::decode(output.clone(), message)
        .map_err(|err| Status::internal(format!("the response does not decode: {err}")))?;
    serde_json::to_vec(&message)
        .map_err(|err| Status::internal(format!("the response has no JSON form: {err}")))
}

/// The one uncompressed message of a unary response's body.
fn single_message(mut body: Bytes) -> Result<Bytes, Status> {
    if body.len() < 5 {
        return Err(Status::internal("the response has no message"));
    }
    let compressed = body.get_u8();
    let len = body.get_u32() as usize;
    // The forwarded request never asks for compression.
    if compressed != 0 || body.len() != len {
        return Err(Status::internal(
            "the response is not one uncompressed message",
        ));
    }
    Ok(body)
}
