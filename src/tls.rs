//! TLS termination for both transports on the one port.
//!
//! tonic's own `ServerTlsConfig` offers only `h2` in ALPN, so a client that
//! speaks HTTP/1.1 — most JSON clients, and every client that names the
//! protocol it wants — had its handshake refused (`no_application_protocol`)
//! and could reach the JSON routes only in plaintext. The server terminates
//! TLS itself, offering `h2` and then `http/1.1`, and hands each decrypted
//! connection to the same tonic router, which already serves both versions
//! (`accept_http1`). tonic keeps reading the peer's address through its
//! `Connected` impl for `tokio_rustls::server::TlsStream`.

use std::{io, path::Path, sync::Arc, time::Duration};

use anyhow::Context;
use futures::Stream;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Semaphore, mpsc},
};
use tokio_rustls::{TlsAcceptor, rustls, server::TlsStream};

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once. Each costs a task and a few KiB until it
/// completes or times out; connections beyond the bound wait in the
/// kernel's accept queue, so a flood of idle sockets cannot grow memory.
pub const MAX_HANDSHAKES: usize = 256;

/// ALPN protocols offered, in the server's order of preference.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Reads the PEM certificate chain and private key and builds the acceptor,
/// so a bad file fails at start with a clear message rather than at the
/// first connection.
pub fn acceptor(cert_path: &Path, key_path: &Path) -> anyhow::Result<TlsAcceptor> {
    let cert = std::fs::read(cert_path)
        .with_context(|| format!("cannot read the TLS certificate {}", cert_path.display()))?;
    let key = std::fs::read(key_path)
        .with_context(|| format!("cannot read the TLS key {}", key_path.display()))?;
    let invalid = || {
        format!(
            "invalid TLS certificate {} or key {} (PEM expected; the key must match the certificate)",
            cert_path.display(),
            key_path.display()
        )
    };
    let chain = CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<Vec<_>, _>>()
        .with_context(invalid)?;
    anyhow::ensure!(!chain.is_empty(), "{}: no certificate found", invalid());
    let key = PrivateKeyDer::from_pem_slice(&key).with_context(invalid)?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS protocol versions")?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .with_context(invalid)?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The decrypted connections of `listener`: each accepted socket's
/// handshake runs in a task of its own (a slow client never delays the
/// next), bounded by [`MAX_HANDSHAKES`] and [`HANDSHAKE_TIMEOUT`]; failed
/// handshakes are logged and dropped, never ending the stream. Ends when
/// the receiver is dropped (the server stopped).
pub fn incoming(
    listener: TcpListener,
    acceptor: TlsAcceptor,
) -> impl Stream<Item = io::Result<TlsStream<TcpStream>>> + Send + 'static {
    let (tx, rx) = mpsc::channel(MAX_HANDSHAKES);
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    tokio::spawn(async move {
        loop {
            let Ok(permit) = handshakes.clone().acquire_owned().await else {
                return;
            };
            let (socket, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // EMFILE and the like: pause instead of spinning.
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = tx.closed() => return,
            };
            let _ = socket.set_nodelay(true);
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
                    Ok(Ok(stream)) => {
                        drop(permit);
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(err)) => tracing::debug!(%peer, error = %err, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
