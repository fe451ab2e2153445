//! The protobuf codec of every gapscore service: prost's, except that bytes
//! that do not decode as the expected message (invalid UTF-8 in a `string`,
//! a truncated field, a wrong wire type) are the caller's fault and answer
//! `INVALID_ARGUMENT` with reason `MALFORMED_MESSAGE`.
//!
//! tonic's own prost codec answers `INTERNAL` for them, which would tell a
//! client that sent garbage that the server is broken (and would page
//! whoever watches the INTERNAL rate). Wired in by `build.rs` through
//! `codec_path`.
//!
//! On the server, before prost decodes a message, [`crate::decode::admit`]
//! counts its repeated fields against their limits and takes its decoded
//! size from the server's budget, so an oversized batch is refused before
//! it costs memory.

use std::{collections::HashMap, marker::PhantomData};

use prost::{Message, Name, bytes::Buf};
use tonic::{
    Code, Status,
    codec::{BufferSettings, Codec, DecodeBuf},
};
use tonic_types::{ErrorDetails, StatusExt};

/// See the module docs.
#[derive(Debug, Clone)]
pub struct ProstCodec<T, U> {
    _pd: PhantomData<(T, U)>,
}

impl<T, U> Default for ProstCodec<T, U> {
    fn default() -> Self {
        Self { _pd: PhantomData }
    }
}

impl<T, U> Codec for ProstCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Name + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = tonic_prost::ProstEncoder<T>;
    type Decoder = ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstDecoder(tonic_prost::ProstDecoder::default())
    }
}

/// prost's decoder with decode errors mapped to `INVALID_ARGUMENT`, after
/// [`crate::decode::admit`].
#[derive(Debug, Clone, Default)]
pub struct ProstDecoder<U>(tonic_prost::ProstDecoder<U>);

impl<U: Message + Name + Default> tonic::codec::Decoder for ProstDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        // tonic hands over one whole message in one contiguous buffer; should
        // that ever change, the message is copied (it is at most the
        // message size limit) rather than left unchecked.
        if buf.chunk().len() == buf.remaining() {
            crate::decode::admit(&U::full_name(), buf.chunk())?;
        } else {
            let wire = buf.copy_to_bytes(buf.remaining());
            crate::decode::admit(&U::full_name(), &wire)?;
            let mut wire = wire;
            return U::decode(&mut wire)
                .map(Some)
                .map_err(|err| malformed(&err.to_string()));
        }
        self.0
            .decode(buf)
            .map_err(|status| malformed(status.message()))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

/// The status for a message that is not valid protobuf; `detail` is prost's
/// description (message and field path, never the field's content).
fn malformed(detail: &str) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        "MALFORMED_MESSAGE",
        crate::grpc::error::DOMAIN,
        HashMap::new(),
    );
    Status::with_error_details(
        Code::InvalidArgument,
        format!("the message is not a valid protobuf encoding of its type: {detail}"),
        details,
    )
}
