//! The report as Markdown tables, as BENCHMARKS.md shows them.

use std::fmt::Write as _;

use super::{
    QueryResult, Report, StandbyResult,
    ingest::{FLOOR, OWN_SCHEMA},
};

impl Report {
    /// The report as Markdown tables.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let rate = |method: String| {
            self.ingest
                .iter()
                .find(|r| r.method == method)
                .map(|r| r.rows_per_s)
        };
        let _ = writeln!(s, "### Ingest (records of 1,000 per message or call)\n");
        let _ = writeln!(
            s,
            "| method | records/s | rows/s (answers or touchpoints) | vs COPY floor | vs COPY into our own schema | per message p50 ms | p99 ms | server peak RSS MiB |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.ingest {
            let kind = r.method.split(':').next().unwrap_or_default();
            let ratio = |base: &str| {
                rate(format!("{kind}: {base}")).map_or(String::from("-"), |b| {
                    format!("{:.0}%", r.rows_per_s / b * 100.0)
                })
            };
            let rss = if r.peak_rss_mib > 0.0 {
                format!("{:.1}", r.peak_rss_mib)
            } else {
                "-".into()
            };
            let _ = writeln!(
                s,
                "| {} | {:.0} | {:.0} | {} | {} | {:.1} | {:.1} | {} |",
                r.method,
                r.records_per_s,
                r.rows_per_s,
                ratio(FLOOR),
                ratio(OWN_SCHEMA),
                r.p50_ms,
                r.p99_ms,
                rss
            );
        }
        let _ = writeln!(s, "\n### Data loaded for scoring\n");
        let _ = writeln!(
            s,
            "| answers (EXPERIENCE) | framed answers | responses | journeys | loaded by | load + VACUUM ANALYZE s | server peak RSS MiB |"
        );
        let _ = writeln!(s, "|---:|---:|---:|---:|---|---:|---:|");
        for level in &self.loads {
            let (how, rss) = match level.peak_rss_mib {
                Some(mib) => ("Stream* (4+4 streams)", format!("{mib:.1}")),
                None => ("COPY", "-".to_owned()),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {how} | {:.1} | {rss} |",
                level.answers,
                level.framed_answers,
                level.responses,
                level.journeys,
                level.load_secs
            );
        }
        let _ = writeln!(s, "\n### Scoring latency, whole 2-year window (ms)\n");
        let levels: Vec<u64> = self.loads.iter().map(|l| l.answers).collect();
        let _ = write!(s, "| query |");
        for l in &levels {
            let _ = write!(s, " p50 @{} | p95 @{} |", short(*l), short(*l));
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "|---|{}", "---:|---:|".repeat(levels.len()));
        let mut queries: Vec<&str> = Vec::new();
        for q in &self.scoring {
            if !queries.contains(&q.query.as_str()) {
                queries.push(&q.query);
            }
        }
        for q in &queries {
            let _ = write!(s, "| {q} |");
            for l in &levels {
                match self
                    .scoring
                    .iter()
                    .find(|r| r.query == *q && r.answers == *l)
                {
                    Some(QueryResult { error: Some(_), .. }) => {
                        let _ = write!(s, " error | error |");
                    }
                    Some(r) => {
                        let _ = write!(s, " {:.1} | {:.1} |", r.p50_ms, r.p95_ms);
                    }
                    None => {
                        let _ = write!(s, " - | - |");
                    }
                }
            }
            let _ = writeln!(s);
        }
        let failed: Vec<&QueryResult> = self.scoring.iter().filter(|r| r.error.is_some()).collect();
        if !failed.is_empty() {
            let _ = writeln!(s, "\nQueries that could not be measured:\n");
        }
        for r in failed {
            let _ = writeln!(
                s,
                "- {} @{}: {}",
                r.query,
                short(r.answers),
                r.error.as_deref().unwrap_or_default()
            );
        }
        let p50 = |q: &str, l: u64| {
            self.scoring
                .iter()
                .find(|r| r.query == q && r.answers == l && r.error.is_none())
                .map(|r| r.p50_ms)
        };
        let _ = writeln!(
            s,
            "\n| ratio | {} |",
            levels
                .iter()
                .map(|l| short(*l))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(s, "|---|{}", "---:|".repeat(levels.len()));
        // One row of p50 ratios, a cell per level.
        let ratio_row = |s: &mut String, label: &str, ratio: &dyn Fn(u64) -> Option<(f64, f64)>| {
            let _ = write!(s, "| {label} |");
            for l in &levels {
                match ratio(*l) {
                    Some((a, b)) => {
                        let _ = write!(s, " {:.2}× |", a / b);
                    }
                    None => {
                        let _ = write!(s, " - |");
                    }
                }
            }
            let _ = writeln!(s);
        };
        ratio_row(&mut s, "naive SQL p50 / GetPerceptionGap p50", &|l| {
            p50("naive SQL gap counts", l).zip(p50("GetPerceptionGap", l))
        });
        if let Some(&first) = levels.first() {
            ratio_row(
                &mut s,
                &format!("GetScorecard p50 / p50 @{}", short(first)),
                &|l| p50("GetScorecard", l).zip(p50("GetScorecard", first)),
            );
        }
        let _ = writeln!(
            s,
            "\n### Exactness: perception-gap counts against naive SQL over the raw rows\n"
        );
        let _ = writeln!(
            s,
            "| answers | rollup | case | pending rollup rows | cells | favorable suppressed | equal |"
        );
        let _ = writeln!(s, "|---:|---|---|---:|---:|---:|---|");
        for c in &self.exact {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                short(c.answers),
                c.state,
                c.case,
                c.pending_rollup_rows,
                c.cells,
                c.suppressed,
                if c.matches { "yes" } else { "**NO**" }
            );
        }
        let _ = writeln!(
            s,
            "\nPerception-gap counts from the service equal the naive SQL at every level: **{}**",
            if self.gap_matches_naive { "yes" } else { "NO" }
        );
        if let Some(sb) = &self.standby {
            standby_table(&mut s, sb);
        }
        let _ = writeln!(s, "\n### Unary latency under load (top level loaded)\n");
        let _ = writeln!(
            s,
            "| call | client | callers | calls | errors | calls/s | p50 ms | p99 ms | server peak RSS MiB |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.load {
            let client = if r.separate_process {
                "separate process"
            } else {
                "in the harness"
            };
            let _ = writeln!(
                s,
                "| {} | {client} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} |",
                r.call, r.callers, r.calls, r.errors, r.per_s, r.p50_ms, r.p99_ms, r.peak_rss_mib
            );
        }
        let _ = writeln!(
            s,
            "\nServer peak RSS over the whole run (VmHWM): **{:.1} MiB**",
            self.peak_rss_mib
        );
        s
    }
}

/// The top level's reads on the primary and on the standby, and the count
/// that shows where they ran.
fn standby_table(s: &mut String, sb: &StandbyResult) {
    let _ = writeln!(
        s,
        "\n### Reads from a streaming standby, {} answers (ms)\n",
        short(sb.answers)
    );
    let _ = writeln!(
        s,
        "| query | p50 primary | p50 standby | p95 primary | p95 standby | standby / primary p50 |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
    let cell = |r: Option<&QueryResult>, p95: bool| match r {
        Some(r) if r.error.is_none() => format!("{:.1}", if p95 { r.p95_ms } else { r.p50_ms }),
        Some(_) => "error".to_owned(),
        None => "-".to_owned(),
    };
    for p in &sb.primary {
        let st = sb.standby.iter().find(|r| r.query == p.query);
        let ratio = match st {
            Some(st) if st.error.is_none() && p.error.is_none() => {
                format!("{:.2}×", st.p50_ms / p.p50_ms)
            }
            _ => "-".to_owned(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {ratio} |",
            p.query,
            cell(Some(p), false),
            cell(st, false),
            cell(Some(p), true),
            cell(st, true),
        );
    }
    let _ = writeln!(
        s,
        "\nWhere they ran, by the {}: **{}** during the set sent with \
         `x-gapscore-consistency: primary` ({} service calls), **{}** during the set left to \
         the server ({} service calls); the naive baseline ran on the primary in the first \
         set and on the standby in the second. Verdict: **{}**",
        sb.counter.describe(),
        sb.on_standby_during_primary,
        sb.calls_primary,
        sb.on_standby_during_standby,
        sb.calls_standby,
        sb.failure
            .as_deref()
            .unwrap_or("the standby set ran on the standby")
    );
}

fn short(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}
