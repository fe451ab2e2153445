//! CSV files of any kind: a header row naming the columns, then one row per
//! item of a record (an answer, a touchpoint) or per record (an outcome).
//!
//! Rows of one record share its id column. The record's own columns (role,
//! labels, ...) may be repeated on every row, as an export writes them, or
//! left empty after the first row; a row that gives them another value is
//! a mistake, and its record is rejected rather than guessed at. Rows of one
//! record need not be adjacent; records keep the order of their first row.
//! A repeated value must be written exactly as on the first row.

use std::{collections::HashMap, io::Write};

use anyhow::Context;

use super::report::{Rejection, Report};

/// The columns of one kind.
#[derive(Debug)]
pub struct Layout {
    /// The record id's column.
    pub id: &'static str,
    /// Columns of the record itself.
    pub record: &'static [&'static str],
    /// Columns of one item; empty for kinds of one row per record.
    pub item: &'static [&'static str],
}

impl Layout {
    fn columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        std::iter::once(self.id)
            .chain(self.record.iter().copied())
            .chain(self.item.iter().copied())
    }
    fn grouped(&self) -> bool {
        !self.item.is_empty()
    }
}

/// One record's rows: its own columns, merged over its rows, and its items
/// with the line of each.
#[derive(Debug)]
pub struct Group {
    pub id: String,
    /// The line of the record's first row.
    pub line: u64,
    /// Values of [`Layout::record`], in its order ("" when absent).
    pub record: Vec<String>,
    /// (line, values of [`Layout::item`]) per row.
    pub items: Vec<(u64, Vec<String>)>,
}

struct Partial {
    group: Group,
    faults: Vec<Rejection>,
}

/// Reads `text` into groups. Rows the parser cannot read, rows without an
/// id and records whose rows disagree are counted in `report` and
/// rejected there; the groups returned are the rest, counted too. Errors
/// when the header row is missing or names a column the kind does not have
/// (a typo would otherwise drop a column silently).
pub fn read(text: &str, layout: &Layout, report: &mut Report) -> anyhow::Result<Vec<Group>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .context("cannot read the CSV header row")?
        .clone();
    let known: Vec<&str> = layout.columns().collect();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (i, name) in headers.iter().enumerate() {
        if !known.contains(&name) {
            anyhow::bail!(
                "line 1: unknown column {name:?}; the columns are {}",
                known.join(",")
            );
        }
        if at.insert(name, i).is_some() {
            anyhow::bail!("line 1: column {name:?} appears twice");
        }
    }
    if !at.contains_key(layout.id) {
        anyhow::bail!("line 1: the header row has no {:?} column", layout.id);
    }
    let cell = |row: &csv::StringRecord, name: &str| -> String {
        at.get(name)
            .and_then(|&i| row.get(i))
            .unwrap_or("")
            .to_owned()
    };

    let mut order: Vec<Partial> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for row in reader.records() {
        let row = match row {
            Ok(row) => row,
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                report.records += 1;
                report.reject([Rejection {
                    line,
                    field: "row".into(),
                    description: csv_error(&err),
                }]);
                continue;
            }
        };
        let line = row.position().map_or(0, |p| p.line());
        let id = cell(&row, layout.id).trim().to_owned();
        if id.is_empty() {
            report.records += 1;
            report.reject([Rejection {
                line,
                field: layout.id.into(),
                description: "required: the row names no record".into(),
            }]);
            continue;
        }
        let record: Vec<String> = layout.record.iter().map(|c| cell(&row, c)).collect();
        let item: Vec<String> = layout.item.iter().map(|c| cell(&row, c)).collect();
        let existing = if layout.grouped() {
            by_id.get(&id).copied()
        } else {
            None
        };
        match existing {
            None => {
                by_id.insert(id.clone(), order.len());
                order.push(Partial {
                    group: Group {
                        id,
                        line,
                        record,
                        items: if layout.grouped() {
                            vec![(line, item)]
                        } else {
                            Vec::new()
                        },
                    },
                    faults: Vec::new(),
                });
            }
            Some(index) => {
                let partial = &mut order[index];
                let first_line = partial.group.line;
                for ((name, merged), value) in layout
                    .record
                    .iter()
                    .zip(partial.group.record.iter_mut())
                    .zip(record)
                {
                    if value.is_empty() || value == *merged {
                        continue;
                    }
                    if merged.is_empty() {
                        *merged = value;
                    } else {
                        partial.faults.push(Rejection {
                            line,
                            field: (*name).into(),
                            description: format!(
                                "{value:?} differs from {merged:?} on line {first_line}, \
                                 a row of the same record"
                            ),
                        });
                    }
                }
                partial.group.items.push((line, item));
            }
        }
    }
    let mut groups = Vec::with_capacity(order.len());
    for partial in order {
        report.records += 1;
        if partial.faults.is_empty() {
            groups.push(partial.group);
        } else {
            report.reject(partial.faults);
        }
    }
    Ok(groups)
}

/// The parser's complaint without its position (the line is reported
/// beside it).
fn csv_error(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header row has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        _ => err.to_string(),
    }
}

/// Rows of one record as [`write`] takes them: the id, the record's
/// columns, and the item columns of each row (none for one-row kinds).
pub struct Rows {
    pub id: String,
    pub record: Vec<String>,
    pub items: Vec<Vec<String>>,
}

/// Writes CSV with a header row; every row repeats its record's columns,
/// so each row reads on its own (filters, spreadsheets).
pub struct Writer<'a> {
    inner: csv::Writer<&'a mut dyn Write>,
    layout: &'static Layout,
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut dyn Write, layout: &'static Layout) -> anyhow::Result<Self> {
        let mut inner = csv::Writer::from_writer(out);
        inner
            .write_record(layout.columns())
            .context("cannot write the export")?;
        Ok(Self { inner, layout })
    }

    pub fn write(&mut self, rows: Rows) -> anyhow::Result<()> {
        let write = |inner: &mut csv::Writer<_>, item: &[String]| {
            inner
                .write_record(
                    std::iter::once(&rows.id)
                        .chain(&rows.record)
                        .chain(item.iter()),
                )
                .context("cannot write the export")
        };
        if self.layout.grouped() {
            for item in &rows.items {
                write(&mut self.inner, item)?;
            }
            Ok(())
        } else {
            write(&mut self.inner, &[])
        }
    }

    pub fn finish(mut self) -> anyhow::Result<()> {
        self.inner.flush().context("cannot write the export")
    }
}
