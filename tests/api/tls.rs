//! TLS (rustls) end to end, and the refusal to serve plaintext off loopback.

use std::{path::PathBuf, time::Duration};

use gapscore::proto::v1::ListQuestionsRequest;
use sqlx::{PgPool, postgres::PgPoolOptions};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{
    Clients, TestApp,
    app::wait_for_health,
    internals::{Application, ServeArgs},
    spawn_app_with,
};

/// A self-signed certificate for `localhost`, written as PEM files into a
/// fresh directory: (certificate PEM, certificate path, key path).
fn self_signed() -> (String, PathBuf, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = std::env::temp_dir().join(format!("gapscore-tls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    let pem = certified.cert.pem();
    std::fs::write(&cert_path, &pem).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    (pem, cert_path, key_path)
}

#[sqlx::test]
async fn tls_serves_clients_that_trust_the_certificate_and_nothing_else(pool: PgPool) {
    let (pem, cert, key) = self_signed();
    let app = spawn_app_with(pool, |args| {
        args.tls_cert = Some(cert);
        args.tls_key = Some(key);
    })
    .await;
    let url = format!("https://127.0.0.1:{}", app.addr.port());

    // A client trusting the certificate: health and an authenticated call.
    let trusted = Endpoint::from_shared(url.clone())
        .unwrap()
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&pem))
                .domain_name("localhost"),
        )
        .unwrap()
        .connect()
        .await
        .expect("TLS handshake with a trusted certificate");
    // Health turns SERVING once the watcher's first database ping succeeds.
    wait_for_health(&trusted, ServingStatus::Serving, Duration::from_secs(5)).await;
    let questions = Clients::new(trusted, TestApp::bearer(Some(&app.key)))
        .catalog()
        .list_questions(ListQuestionsRequest {})
        .await
        .expect("authenticated call over TLS")
        .into_inner()
        .questions;
    assert_eq!(questions.len(), 15);

    // A client that does not trust the certificate cannot connect.
    let untrusted = Endpoint::from_shared(url)
        .unwrap()
        .tls_config(ClientTlsConfig::new().domain_name("localhost"))
        .unwrap()
        .connect()
        .await;
    assert!(untrusted.is_err(), "an untrusted certificate was accepted");

    // A plaintext client gets no answer from a TLS server.
    let plaintext = app.catalog().list_questions(ListQuestionsRequest {}).await;
    let err = plaintext.expect_err("plaintext call to a TLS server succeeded");
    eprintln!(
        "plaintext client against TLS: {:?} {}",
        err.code(),
        err.message()
    );
}

/// JSON over HTTP/1.1 inside TLS: a client that offers only `http/1.1` in
/// ALPN (as most JSON clients do) completes the handshake and is served.
#[sqlx::test]
async fn json_clients_speaking_http_1_1_are_served_over_tls(pool: PgPool) {
    use http_body_util::{BodyExt, Empty};
    use rustls_pki_types::{CertificateDer, pem::PemObject};
    use tokio_rustls::rustls;

    let (pem, cert, key) = self_signed();
    let app = spawn_app_with(pool, |args| {
        args.tls_cert = Some(cert);
        args.tls_key = Some(key);
    })
    .await;
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(der.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .expect("a TLS handshake offering only http/1.1");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get("/v1/questions")
        .header("host", "localhost")
        .header("authorization", format!("Bearer {}", app.key))
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.version(), hyper::Version::HTTP_11);
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["questions"].as_array().map(Vec::len), Some(15));
}

/// A pool that never connects: these servers are built, not called.
fn unconnected_pool() -> PgPool {
    PgPoolOptions::new()
        .connect_lazy("postgres://127.0.0.1:1/none")
        .unwrap()
}

fn args(listen: &str) -> ServeArgs {
    ServeArgs {
        listen: listen.parse().unwrap(),
        ..ServeArgs::default()
    }
}

fn build_error(result: anyhow::Result<Application>) -> String {
    match result {
        Ok(_) => panic!("the server was built"),
        Err(err) => format!("{err:#}"),
    }
}

#[tokio::test]
async fn plaintext_is_refused_off_loopback_unless_allowed() {
    let err = build_error(Application::build(args("0.0.0.0:0"), unconnected_pool()).await);
    assert!(err.contains("refusing to serve plaintext"), "{err}");
    assert!(err.contains("--allow-plaintext"), "{err}");

    let allowed = ServeArgs {
        allow_plaintext: true,
        ..args("0.0.0.0:0")
    };
    Application::build(allowed, unconnected_pool())
        .await
        .expect("plaintext allowed explicitly");

    let (_, cert, key) = self_signed();
    let with_tls = ServeArgs {
        tls_cert: Some(cert),
        tls_key: Some(key),
        ..args("0.0.0.0:0")
    };
    let app = Application::build(with_tls, unconnected_pool())
        .await
        .expect("TLS on any address");
    assert!(app.is_tls());

    Application::build(args("[::1]:0"), unconnected_pool())
        .await
        .map(|_| ())
        .or_else(|err| {
            // Hosts without IPv6 cannot bind ::1; the plaintext check passed.
            let err = format!("{err:#}");
            assert!(err.contains("cannot listen"), "{err}");
            Ok::<(), ()>(())
        })
        .unwrap();
}

#[tokio::test]
async fn unreadable_or_mismatched_tls_files_fail_at_start_with_the_path() {
    let (_, cert, key) = self_signed();
    let missing = ServeArgs {
        tls_cert: Some(cert.clone()),
        tls_key: Some(key.with_file_name("missing.pem")),
        ..args("127.0.0.1:0")
    };
    let err = build_error(Application::build(missing, unconnected_pool()).await);
    assert!(err.contains("missing.pem"), "{err}");

    let (_, _, other_key) = self_signed();
    let mismatched = ServeArgs {
        tls_cert: Some(cert),
        tls_key: Some(other_key),
        ..args("127.0.0.1:0")
    };
    let err = build_error(Application::build(mismatched, unconnected_pool()).await);
    assert!(err.contains("invalid TLS certificate"), "{err}");
}
