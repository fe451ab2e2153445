//! Calls with raw message bytes: the request body is whatever the test
//! chose, framed by gRPC.

use gapscore::client::MAX_MESSAGE_BYTES;
use prost::bytes::{Buf, BufMut};
use tonic::{
    Request, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
};

use super::app::TestApp;

/// Sends and receives raw message bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut bytes = vec![0; src.remaining()];
        src.copy_to_slice(&mut bytes);
        Ok(Some(bytes))
    }
}

/// Calls `path` with `body` as the (only) request message, as acme.
pub async fn raw_call(
    app: &TestApp,
    path: &'static str,
    streaming: bool,
    body: Vec<u8>,
) -> Result<Vec<u8>, Status> {
    raw_call_as(app, &app.key, path, streaming, body).await
}

/// Calls `path` with `body` as the (only) request message, with `key`.
pub async fn raw_call_as(
    app: &TestApp,
    key: &str,
    path: &'static str,
    streaming: bool,
    body: Vec<u8>,
) -> Result<Vec<u8>, Status> {
    raw_call_with(&app.clients_as(Some(key)), path, streaming, body).await
}

/// Calls `path` with `body` as the (only) request message, with `clients`'
/// channel and key.
pub async fn raw_call_with(
    clients: &gapscore::client::Clients,
    path: &'static str,
    streaming: bool,
    body: Vec<u8>,
) -> Result<Vec<u8>, Status> {
    let service = clients.authed();
    let mut grpc = tonic::client::Grpc::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::from_static(path);
    let response = if streaming {
        grpc.client_streaming(Request::new(tokio_stream::iter(vec![body])), path, RawCodec)
            .await?
    } else {
        grpc.unary(Request::new(body), path, RawCodec).await?
    };
    Ok(response.into_inner())
}
