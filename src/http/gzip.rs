//! gzip on JSON over HTTP: request bodies with `Content-Encoding: gzip`
//! are decompressed with a bound on the decompressed size (so a small
//! bomb cannot grow past the same limit an uncompressed body has), and
//! responses are compressed when `Accept-Encoding` asks for gzip.

use std::io::{Read, Write};

use bytes::Bytes;
use flate2::{Compression, read::MultiGzDecoder, write::GzEncoder};

/// A request body's `Content-Encoding`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Other(String),
}

impl Encoding {
    pub fn of(headers: &http::HeaderMap) -> Self {
        let Some(value) = headers.get(http::header::CONTENT_ENCODING) else {
            return Encoding::Identity;
        };
        let value = value.to_str().unwrap_or("?").trim().to_ascii_lowercase();
        match value.as_str() {
            "" | "identity" => Encoding::Identity,
            "gzip" | "x-gzip" => Encoding::Gzip,
            _ => Encoding::Other(value),
        }
    }
}

/// Why a body could not be decoded.
#[derive(Debug)]
pub enum DecodeError {
    /// Decompressed, it is larger than the limit.
    TooLarge,
    Unsupported(String),
    Corrupt(std::io::Error),
}

/// `wire` decoded, at most `max_bytes`; decompression stops one byte past
/// the limit, so memory never exceeds it whatever the ratio.
pub fn decode(wire: Bytes, encoding: Encoding, max_bytes: usize) -> Result<Bytes, DecodeError> {
    match encoding {
        Encoding::Identity => Ok(wire),
        Encoding::Other(name) => Err(DecodeError::Unsupported(name)),
        Encoding::Gzip => {
            let mut out = Vec::with_capacity(wire.len().saturating_mul(4).min(max_bytes));
            MultiGzDecoder::new(&wire[..])
                .take(max_bytes as u64 + 1)
                .read_to_end(&mut out)
                .map_err(DecodeError::Corrupt)?;
            if out.len() > max_bytes {
                return Err(DecodeError::TooLarge);
            }
            Ok(out.into())
        }
    }
}

/// Whether `Accept-Encoding` accepts gzip (`gzip`, `x-gzip` or `*`, with a
/// non-zero quality).
pub fn accepts_gzip(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            matches!(coding.as_str(), "gzip" | "x-gzip" | "*") && !refused
        })
}

/// `body` gzip-compressed.
pub fn compress(body: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4 + 64), Compression::fast());
    encoder
        .write_all(body)
        .and_then(|()| encoder.finish())
        .expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: http::HeaderName, value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(name, value.parse().unwrap());
        h
    }

    #[test]
    fn accept_encoding_is_read_with_qualities() {
        use http::header::ACCEPT_ENCODING as AE;
        assert!(accepts_gzip(&headers(AE, "gzip")));
        assert!(accepts_gzip(&headers(AE, "deflate, gzip;q=0.5")));
        assert!(accepts_gzip(&headers(AE, "*")));
        assert!(!accepts_gzip(&headers(AE, "gzip;q=0")));
        assert!(!accepts_gzip(&headers(AE, "br, deflate")));
        assert!(!accepts_gzip(&http::HeaderMap::new()));
    }

    #[test]
    fn gzip_round_trips_and_a_bomb_stops_at_the_limit() {
        let body = br#"{"responses":[]}"#.repeat(100);
        let wire = Bytes::from(compress(&body));
        assert_eq!(decode(wire, Encoding::Gzip, body.len()).unwrap(), body);

        // 64 MiB of zeros compress to about 64 KiB.
        let bomb = Bytes::from(compress(&vec![0u8; 64 << 20]));
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        assert!(matches!(
            decode(bomb, Encoding::Gzip, 4 << 20),
            Err(DecodeError::TooLarge)
        ));
    }

    #[test]
    fn other_encodings_and_corrupt_bodies_are_refused() {
        use http::header::CONTENT_ENCODING as CE;
        assert_eq!(Encoding::of(&headers(CE, "GZIP")), Encoding::Gzip);
        assert_eq!(Encoding::of(&http::HeaderMap::new()), Encoding::Identity);
        let br = Encoding::of(&headers(CE, "br"));
        assert!(matches!(
            decode(Bytes::new(), br, 10),
            Err(DecodeError::Unsupported(_))
        ));
        assert!(matches!(
            decode(Bytes::from_static(b"not gzip"), Encoding::Gzip, 10),
            Err(DecodeError::Corrupt(_))
        ));
    }
}
