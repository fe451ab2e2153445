//! A private PostgreSQL cluster for fault tests: created with the installed
//! PostgreSQL's `initdb` in a temporary directory, listening on a random
//! port, that a test can stop (cleanly or as a crash) and start again.
//!
//! As root, PostgreSQL refuses to run, so the binaries run as the `postgres`
//! user (`runuser`). The binaries are taken from `GAPSCORE_PG_BIN`, else
//! `/usr/lib/postgresql/15/bin`, else `pg_config --bindir`. Dropping the
//! cluster stops the postmaster and removes the directory.
#![allow(dead_code)]

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use sqlx::postgres::PgConnectOptions;

/// A private cluster; stopped and removed on drop.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    pub port: u16,
}

fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GAPSCORE_PG_BIN") {
        return dir.into();
    }
    let debian = Path::new("/usr/lib/postgresql/15/bin");
    if debian.join("initdb").exists() {
        return debian.into();
    }
    let out = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .expect("pg_config runs (or set GAPSCORE_PG_BIN)");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// A fresh temporary directory for a cluster, owned by `postgres` when
    /// we are root; nothing started.
    fn empty() -> Cluster {
        let as_postgres = is_root();
        let dir = std::env::temp_dir().join(format!(
            "gapscore-cluster-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir(&dir).expect("temporary directory");
        let cluster = Cluster {
            dir,
            bin: bin_dir(),
            as_postgres,
            port: free_port(),
        };
        if as_postgres {
            let chown = Command::new("chown")
                .arg("postgres:")
                .arg(&cluster.dir)
                .status()
                .expect("chown runs");
            assert!(chown.success(), "cannot chown the cluster directory");
        }
        cluster
    }

    /// A hot standby of `primary`, streaming from it: `pg_basebackup -R`
    /// (which writes `standby.signal` and the connection to the primary)
    /// into a fresh directory, then started.
    pub fn standby_of(primary: &Cluster) -> Cluster {
        let mut standby = Cluster::empty();
        let data = standby.data_dir();
        let port = primary.port.to_string();
        standby.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                data.to_str().unwrap(),
                "-R",
                "-X",
                "stream",
            ],
        );
        for attempt in 1.. {
            match standby.try_start() {
                Ok(()) => break,
                Err(e) if attempt == 3 => panic!("{e}"),
                Err(_) => standby.port = free_port(),
            }
        }
        standby
    }

    /// `initdb` into a fresh temporary directory and start the server.
    pub fn create() -> Cluster {
        let cluster = Cluster::empty();
        let data = cluster.data_dir();
        cluster.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-N",
            ],
        );
        // The port was free when picked; another process may take it before
        // the postmaster binds it, so try a few.
        let mut cluster = cluster;
        for attempt in 1.. {
            match cluster.try_start() {
                Ok(()) => break,
                Err(e) if attempt == 3 => panic!("{e}"),
                Err(_) => cluster.port = free_port(),
            }
        }
        cluster
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs one PostgreSQL program (as `postgres` when we are root) and
    /// asserts it succeeded.
    fn run(&self, program: &str, args: &[&str]) {
        if let Err(e) = self.run_checked(program, args) {
            panic!("{e}");
        }
    }

    fn run_checked(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let output = self.try_run(program, args);
        if output.status.success() {
            return Ok(());
        }
        Err(format!(
            "{program} {args:?} failed: {}{}\nserver log:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
        ))
    }

    fn try_run(&self, program: &str, args: &[&str]) -> Output {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
    }

    /// Starts the server and waits until it accepts connections (after crash
    /// recovery, when it was stopped with [`Cluster::crash`]).
    pub fn start(&self) {
        if let Err(e) = self.try_start() {
            panic!("{e}");
        }
    }

    fn try_start(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        let data = self.data_dir();
        let log = self.dir.join("postgres.log");
        self.run_checked(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        )
    }

    /// `pg_ctl stop -m immediate`: every backend is killed at once, as in a
    /// crash; the next start runs crash recovery.
    pub fn crash(&self) {
        self.stop_mode("immediate");
    }

    /// `pg_ctl stop -m fast`: a clean shutdown that disconnects every client.
    pub fn stop(&self) {
        self.stop_mode("fast");
    }

    fn stop_mode(&self, mode: &str) {
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-w", "stop", "-m", mode],
        );
    }

    /// Connection options for the `postgres` database as `postgres` over TCP.
    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username("postgres")
            .database("postgres")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        if data.join("postmaster.pid").exists() {
            let _ = self.try_run(
                "pg_ctl",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-w",
                    "stop",
                    "-m",
                    "immediate",
                ],
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
