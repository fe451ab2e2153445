//! The real `gapscore` binary as a child process against a test's own
//! database: for tests that signal the server or measure its memory, which
//! an in-process server (sharing the test process with every other test)
//! cannot show.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::Duration,
};

use sqlx::PgPool;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;

use super::{app::wait_for_health, internals::proc_memory_kib};

/// A running child server; killed if the test ends early.
pub struct ChildServer {
    pub process: Child,
    pub addr: SocketAddr,
    pub channel: Channel,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if matches!(self.process.try_wait(), Ok(None)) {
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
    }
}

/// The URL of the database `pool` is connected to.
pub async fn database_url(pool: &PgPool) -> String {
    let options = pool.connect_options();
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    format!(
        "postgres://{}@{}:{}/{database}",
        options.get_username(),
        options.get_host(),
        options.get_port()
    )
}

impl ChildServer {
    /// Starts `gapscore serve` on a free port against `pool`'s database,
    /// with `env` added to its environment, and waits until it is SERVING.
    /// Its logs go to the test's output when `TEST_LOG` is set.
    pub async fn start(pool: &PgPool, env: &[(&str, String)]) -> ChildServer {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let logs = || {
            if std::env::var_os("TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            }
        };
        let mut command = Command::new(env!("CARGO_BIN_EXE_gapscore"));
        command
            .arg("serve")
            .env("DATABASE_URL", database_url(pool).await)
            .env("GAPSCORE_LISTEN", addr.to_string())
            .env("GAPSCORE_HEALTH_INTERVAL_MS", "200")
            .stdout(logs())
            .stderr(logs());
        for (name, value) in env {
            command.env(name, value);
        }
        let process = command.spawn().expect("the gapscore binary starts");
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_lazy();
        let server = ChildServer {
            process,
            addr,
            channel,
        };
        wait_for_health(
            &server.channel,
            ServingStatus::Serving,
            Duration::from_secs(30),
        )
        .await;
        server
    }

    /// A connection of its own to the server (tenants in production do not
    /// share one HTTP/2 connection).
    pub fn connect(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect_lazy()
    }

    /// The child's resident memory now and at its peak, KiB (Linux).
    pub fn rss_kib(&self) -> (u64, u64) {
        proc_memory_kib(self.process.id())
    }
}
