//! One pass over a message's protobuf wire bytes, before prost decodes
//! them: counts the elements of every repeated field, recursively into
//! nested messages, checks the counts against their [`super::limits`], and
//! estimates an upper bound on the bytes the decoded message will take.
//!
//! O(n) in the wire bytes (each byte is read at the one nesting level that
//! holds it) and without an allocation per element: counts live in a fixed
//! array per message on the stack; only a violation allocates its path.
//!
//! Malformed bytes are prost's to report: the scan stops where they start,
//! and the counts and estimate cover what came before. prost decodes in
//! order and fails at that point at the latest, so the prefix is all it
//! ever builds. The scan is never stricter than prost, so it never stops
//! early on bytes prost would go on decoding.

use super::schema::{Kind, MAX_REPEATED_FIELDS, Schema};
use crate::domain::Violations;

/// What the scan found.
#[derive(Debug)]
pub struct Scan {
    /// Every count over its limit; the message's own fields first.
    pub violations: Violations,
    /// An upper bound on the bytes the decoded message takes (see
    /// [`Scanner::finish`] for the model).
    pub decoded_bytes: u64,
    /// Whether the scan stopped at malformed bytes.
    pub malformed: bool,
}

/// prost's nesting limit: deeper messages fail to decode.
const MAX_DEPTH: u32 = 100;

/// Heap bytes a non-empty `String` or `Vec<u8>` may take beyond its
/// content (which its wire bytes already count): the allocator's header
/// and rounding (glibc: chunks of at least 32 bytes, 16-byte steps) and
/// `Vec`'s minimum capacity of 8 bytes.
pub const STRING_EXTRA: u64 = 32;
/// The allocator's overhead per `Vec` buffer or B-tree node.
pub const ALLOCATION_EXTRA: u64 = 24;

/// Counts the elements of `message` in `wire` (see the module docs).
pub fn scan(schema: &Schema, message: usize, wire: &[u8]) -> Scan {
    let mut scanner = Scanner {
        schema,
        path: Vec::new(),
        top: Violations::default(),
        nested: Violations::default(),
        heap: 0,
    };
    let malformed = scanner.element(wire, message, 0).is_err();
    let mut violations = scanner.top;
    violations.absorb(scanner.nested);
    Scan {
        violations,
        decoded_bytes: schema.messages[message].struct_bytes + wire.len() as u64 + scanner.heap,
        malformed,
    }
}

/// Bytes that prost would refuse; where the scan stops.
#[derive(Debug)]
struct Malformed;

/// One segment of the path to the message being scanned: a field, and the
/// element's index when it is repeated.
type Segment<'s> = (&'s str, Option<u32>);

struct Scanner<'s> {
    schema: &'s Schema,
    path: Vec<Segment<'s>>,
    /// Violations of the outermost message's own fields.
    top: Violations,
    /// Violations of nested messages, in wire order.
    nested: Violations,
    /// Estimated heap bytes so far (beyond the wire bytes).
    heap: u64,
}

/// The counts of one message instance. A singular message field with
/// repeated fields inside keeps one `State` across its occurrences, since
/// prost merges them into one value.
#[derive(Default)]
struct State {
    counts: [u32; MAX_REPEATED_FIELDS],
    /// (field index, its state), made on the field's first occurrence.
    children: Vec<(usize, State)>,
}

impl State {
    fn child(&mut self, field: usize) -> &mut State {
        let i = match self.children.iter().position(|(f, _)| *f == field) {
            Some(i) => i,
            None => {
                self.children.push((field, State::default()));
                self.children.len() - 1
            }
        };
        &mut self.children[i].1
    }
}

impl<'s> Scanner<'s> {
    /// Scans a message that is a value of its own (the outermost one, or an
    /// element of a repeated field), then checks its counts.
    fn element(&mut self, wire: &[u8], message: usize, depth: u32) -> Result<(), Malformed> {
        let mut state = State::default();
        let scanned = self.fields(wire, message, &mut state, depth);
        self.finish(message, &state);
        scanned
    }

    /// Scans the fields of `message` in `wire`, counting into `state`.
    fn fields(
        &mut self,
        mut wire: &[u8],
        message: usize,
        state: &mut State,
        depth: u32,
    ) -> Result<(), Malformed> {
        if depth > MAX_DEPTH {
            return Err(Malformed);
        }
        let schema: &'s Schema = self.schema;
        let descriptor = &schema.messages[message];
        while !wire.is_empty() {
            let key = varint(&mut wire)?;
            let (number, wire_type) = tag(key)?;
            let field = descriptor.field(number);
            // prost reads a map entry whatever wire type its key names (its
            // map merge takes a length and an entry without checking it),
            // so a map field is scanned as length-delimited too: the
            // scanner must never be stricter than prost.
            let wire_type = match field {
                Some((_, f)) if f.repeated.as_ref().is_some_and(|r| r.map) => 2,
                _ => wire_type,
            };
            let repeated_as = |kind: Kind| match field {
                Some((_, f)) if f.kind == kind => f.repeated.as_ref().map(|r| r.slot),
                _ => None,
            };
            match wire_type {
                0 => {
                    varint(&mut wire)?;
                    if let Some(slot) = repeated_as(Kind::Varint) {
                        state.counts[slot] += 1;
                    }
                }
                1 => {
                    take(&mut wire, 8)?;
                    if let Some(slot) = repeated_as(Kind::Fixed64) {
                        state.counts[slot] += 1;
                    }
                }
                5 => {
                    take(&mut wire, 4)?;
                    if let Some(slot) = repeated_as(Kind::Fixed32) {
                        state.counts[slot] += 1;
                    }
                }
                2 => {
                    let len = usize::try_from(varint(&mut wire)?).map_err(|_| Malformed)?;
                    let value = take(&mut wire, len)?;
                    if let Some((index, field)) = field {
                        let slot = field.repeated.as_ref().map(|r| r.slot);
                        match (field.kind, slot) {
                            (Kind::Text, _) => {
                                if !value.is_empty() {
                                    self.heap += STRING_EXTRA;
                                }
                                if let Some(slot) = slot {
                                    state.counts[slot] += 1;
                                }
                            }
                            (Kind::Message(child), Some(slot)) => {
                                let n = state.counts[slot];
                                state.counts[slot] += 1;
                                self.path.push((&field.name, Some(n)));
                                let scanned = self.element(value, child, depth + 1);
                                self.path.pop();
                                scanned?;
                            }
                            (Kind::Message(child), None) => {
                                self.path.push((&field.name, None));
                                let scanned = if schema.messages[child].has_repeated {
                                    self.fields(value, child, state.child(index), depth + 1)
                                } else {
                                    self.element(value, child, depth + 1)
                                };
                                self.path.pop();
                                scanned?;
                            }
                            // Packed scalars.
                            (Kind::Varint, Some(slot)) => {
                                let n = value.iter().filter(|b| **b & 0x80 == 0).count();
                                state.counts[slot] += n as u32;
                            }
                            (Kind::Fixed32, Some(slot)) => state.counts[slot] += (len / 4) as u32,
                            (Kind::Fixed64, Some(slot)) => state.counts[slot] += (len / 8) as u32,
                            // A singular scalar as bytes: prost's error.
                            (_, None) => {}
                        }
                    }
                }
                3 => skip_group(&mut wire, number, depth + 1)?,
                _ => return Err(Malformed),
            }
        }
        Ok(())
    }

    /// Checks the counts of a scanned `message` against their limits (under
    /// the current path) and adds the heap its repeated fields take:
    ///
    /// - a `Vec` of `n` elements has a capacity of at most
    ///   `max(4, n.next_power_of_two())` (it grows by doubling from 4, or
    ///   is reserved exactly), so takes at most that many element sizes
    ///   plus [`ALLOCATION_EXTRA`];
    /// - a `BTreeMap` of `n` entries has at most `2 * (1 + n / 5)` nodes
    ///   (every node but the root holds at least 5 of at most 11 entries,
    ///   and there are no more internal nodes than leaves), each at most 11
    ///   keys and values, 12 edges and a header.
    fn finish(&mut self, message: usize, state: &State) {
        let schema: &'s Schema = self.schema;
        let descriptor = &schema.messages[message];
        for field in &descriptor.fields {
            let Some(repeated) = &field.repeated else {
                continue;
            };
            let n = state.counts[repeated.slot] as usize;
            if n == 0 {
                continue;
            }
            self.heap += if repeated.map {
                map_bytes(n as u64, repeated.element_bytes)
            } else {
                vec_bytes(n as u64, repeated.element_bytes)
            };
            if let Some(limit) = repeated.limit
                && n > limit.max
            {
                let path = self.path_to(&field.name);
                let description = (limit.describe)(n);
                if self.path.is_empty() {
                    self.top.add(path, description);
                } else {
                    self.nested.add(path, description);
                }
            }
        }
        for (index, child_state) in &state.children {
            let field = &descriptor.fields[*index];
            if let Kind::Message(child) = field.kind {
                self.path.push((&field.name, None));
                self.finish(child, child_state);
                self.path.pop();
            }
        }
    }

    /// The path of `field` of the current message, e.g. `responses[3].answers`.
    fn path_to(&self, field: &str) -> String {
        let mut out = String::new();
        for (name, index) in &self.path {
            out.push_str(name);
            if let Some(i) = index {
                out.push_str(&format!("[{i}]"));
            }
            out.push('.');
        }
        out.push_str(field);
        out
    }
}

/// See [`Scanner::finish`].
pub fn vec_bytes(n: u64, element: u64) -> u64 {
    n.next_power_of_two().max(4) * element + ALLOCATION_EXTRA
}

/// See [`Scanner::finish`].
pub fn map_bytes(n: u64, entry: u64) -> u64 {
    let node = 11 * entry + 12 * 8 + 16 + ALLOCATION_EXTRA;
    2 * (1 + n / 5) * node
}

/// A varint, as leniently as prost reads one (at most 10 bytes).
fn varint(wire: &mut &[u8]) -> Result<u64, Malformed> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some((&byte, rest)) = wire.split_first() else {
            return Err(Malformed);
        };
        *wire = rest;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Malformed)
}

/// A key's field number and wire type, where prost accepts the key.
fn tag(key: u64) -> Result<(u32, u8), Malformed> {
    let key = u32::try_from(key).map_err(|_| Malformed)?;
    let number = key >> 3;
    if number == 0 {
        return Err(Malformed);
    }
    Ok((number, (key & 7) as u8))
}

fn take<'a>(wire: &mut &'a [u8], len: usize) -> Result<&'a [u8], Malformed> {
    if wire.len() < len {
        return Err(Malformed);
    }
    let (value, rest) = wire.split_at(len);
    *wire = rest;
    Ok(value)
}

/// Skips a group (a field prost skips as unknown) up to its end tag.
fn skip_group(wire: &mut &[u8], number: u32, depth: u32) -> Result<(), Malformed> {
    if depth > MAX_DEPTH {
        return Err(Malformed);
    }
    loop {
        let (inner, wire_type) = tag(varint(wire)?)?;
        match wire_type {
            0 => {
                varint(wire)?;
            }
            1 => {
                take(wire, 8)?;
            }
            5 => {
                take(wire, 4)?;
            }
            2 => {
                let len = usize::try_from(varint(wire)?).map_err(|_| Malformed)?;
                take(wire, len)?;
            }
            3 => skip_group(wire, inner, depth + 1)?,
            4 if inner == number => return Ok(()),
            _ => return Err(Malformed),
        }
    }
}
