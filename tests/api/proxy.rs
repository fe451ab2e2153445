//! A TCP proxy between the service and PostgreSQL that a test can cut and
//! restore, to simulate a database outage or a network partition, and that
//! counts the service's round trips to the database.
#![allow(dead_code)]

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::watch,
};

/// A running proxy; dropping it leaves the accept loop running until the
/// test's runtime ends.
pub struct Proxy {
    pub addr: SocketAddr,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
    round_trips: Arc<AtomicU64>,
}

impl Proxy {
    /// Forwards connections on a random local port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let round_trips = Arc::new(AtomicU64::new(0));
        let (generation, _) = watch::channel(0u64);
        let (accept_up, accept_gen, counter) =
            (up.clone(), generation.clone(), round_trips.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if !accept_up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut cut = accept_gen.subscribe();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut from_client, mut to_server) = (client, server);
                    let (mut client_read, mut client_write) = from_client.split();
                    let (mut server_read, mut server_write) = to_server.split();
                    let upstream = async {
                        let mut frames = Frontend::default();
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = match client_read.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            counter.fetch_add(frames.feed(&buf[..n]), Ordering::SeqCst);
                            if server_write.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    let downstream = tokio::io::copy(&mut server_read, &mut client_write);
                    tokio::select! {
                        _ = upstream => {}
                        _ = downstream => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            addr,
            up,
            generation,
            round_trips,
        }
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// Round trips the clients made so far: messages after which a
    /// PostgreSQL client waits for the server (`Sync` of the extended query
    /// protocol, `Query` of the simple one), over every connection. Only
    /// meaningful for unencrypted connections (`sslmode=disable`).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::SeqCst)
    }

    /// Returns once no round trip began for `quiet`: the background passes
    /// a server runs at startup are over, so what is counted next is the
    /// test's own calls.
    pub async fn wait_until_quiet(&self, quiet: std::time::Duration) {
        let mut seen = self.round_trips();
        loop {
            tokio::time::sleep(quiet).await;
            let now = self.round_trips();
            if now == seen {
                return;
            }
            seen = now;
        }
    }
}

/// Splits the frontend (client → server) byte stream into PostgreSQL
/// protocol messages: untyped ones (`SSLRequest`, `StartupMessage`: a
/// length, then the body) until the startup message, then one type byte, a
/// length that counts itself, and the body.
#[derive(Default)]
struct Frontend {
    started: bool,
    /// The header read so far (4 or 5 bytes).
    header: Vec<u8>,
    /// Body bytes of the current message still to skip.
    skip: usize,
    /// The first 4 body bytes of an untyped message (its request code).
    code: Vec<u8>,
}

impl Frontend {
    /// Consumes `bytes` and returns how many round-trip messages ended in
    /// them.
    fn feed(&mut self, mut bytes: &[u8]) -> u64 {
        let mut ended = 0;
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                if !self.started && self.code.len() < 4 {
                    let take = (4 - self.code.len()).min(n);
                    self.code.extend_from_slice(&bytes[..take]);
                }
                self.skip -= n;
                bytes = &bytes[n..];
                if self.skip == 0 && !self.started {
                    // SSLRequest and GSSENCRequest are followed by another
                    // untyped message; the startup message by typed ones.
                    let code = u32::from_be_bytes(self.code[..4].try_into().unwrap_or([0; 4]));
                    self.started = !matches!(code, 80_877_103 | 80_877_104);
                    self.code.clear();
                }
                continue;
            }
            let header_len = if self.started { 5 } else { 4 };
            let take = (header_len - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.header.len() < header_len {
                continue;
            }
            let len_bytes: [u8; 4] = self.header[header_len - 4..].try_into().unwrap();
            let len = u32::from_be_bytes(len_bytes) as usize;
            if self.started && matches!(self.header[0], b'S' | b'Q') {
                ended += 1;
            }
            self.header.clear();
            self.skip = len.saturating_sub(4);
            if self.skip == 0 && !self.started {
                self.started = true;
            }
        }
        ended
    }
}
