//! One snapshot per report: every figure of a report is read as of the
//! same instant, so a write committed while the report is being built
//! shows in no part of it rather than in some parts and not others (the
//! scorecard's three scores read concurrently, on several connections).
//!
//! A REPEATABLE READ READ ONLY transaction is opened and its snapshot
//! exported (`pg_export_snapshot()`, the mechanism of a parallel
//! `pg_dump`); a small pool of readers imports it (`SET TRANSACTION
//! SNAPSHOT`) on every acquisition and rolls back on every release. The
//! scoring services run on that pool unchanged, so the report computes
//! exactly what `GetScorecard` computes, only at one instant.
//!
//! What this relies on: a reader connection is inside the imported
//! transaction when it is handed out, and a store function's own
//! `BEGIN … COMMIT` (e.g. `store::effort::effort_data`) runs inside it (the
//! `BEGIN` is ignored with a warning, muted here) and ends it at its
//! `COMMIT`, after its reads; no store function reads again on the same
//! acquisition after committing.

use std::sync::Arc;

use anyhow::Context as _;
use sqlx::{PgPool, Postgres, Transaction, postgres::PgPoolOptions};

/// Readers of one report: the scorecard's concurrency (its three scores),
/// plus the model and catalog read.
const READERS: u32 = 4;

/// An exported snapshot and a pool whose every connection reads in it.
pub struct Snapshot {
    /// Keeps the snapshot importable: it lives as long as this transaction.
    holder: Transaction<'static, Postgres>,
    readers: PgPool,
}

impl Snapshot {
    /// Takes the snapshot now.
    pub async fn take(pool: &PgPool) -> anyhow::Result<Snapshot> {
        let mut holder = pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *holder)
            .await
            .context("cannot export a snapshot for the report")?;
        // An id is hex digits and dashes (e.g. 00000003-0000001B-1); it is
        // checked before it is spliced into SQL.
        anyhow::ensure!(
            id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'),
            "unexpected snapshot id {id:?}"
        );
        let enter: Arc<str> = format!(
            "SET client_min_messages = error; ROLLBACK; \
             BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
             SET TRANSACTION SNAPSHOT '{id}'"
        )
        .into();
        let on_connect = enter.clone();
        let readers = PgPoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(pool.options().get_acquire_timeout())
            // A fresh connection is handed out without `before_acquire`.
            .after_connect(move |conn, _| {
                let enter = on_connect.clone();
                Box::pin(async move {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(enter.to_string()))
                        .execute(conn)
                        .await?;
                    Ok(())
                })
            })
            .before_acquire(move |conn, _| {
                let enter = enter.clone();
                Box::pin(async move {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(enter.to_string()))
                        .execute(conn)
                        .await?;
                    Ok(true)
                })
            })
            .after_release(|conn, _| {
                Box::pin(async move {
                    sqlx::raw_sql("ROLLBACK").execute(conn).await?;
                    Ok(true)
                })
            })
            .connect_lazy_with((*pool.connect_options()).clone());
        Ok(Snapshot { holder, readers })
    }

    /// The pool that reads in the snapshot.
    pub fn readers(&self) -> &PgPool {
        &self.readers
    }

    /// Closes the readers, then ends the snapshot's transaction.
    pub async fn release(self) -> anyhow::Result<()> {
        self.readers.close().await;
        self.holder.commit().await?;
        Ok(())
    }
}
