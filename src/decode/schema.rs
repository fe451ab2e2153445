//! What the scanner needs to know of each message type, read once from the
//! encoded descriptor set the server already serves for reflection
//! ([`crate::proto::FILE_DESCRIPTOR_SET`]).
//!
//! The descriptor, not a hand-written table, gives the structure (which
//! field numbers are repeated, maps, nested messages), so every repeated
//! field of every message is counted for the size estimate and a field
//! added to a `.proto` is covered without touching this code; only the
//! limits are a table ([`super::limits`]), checked against the descriptor
//! by a unit test.

use std::{
    collections::{HashMap, HashSet},
    sync::LazyLock,
};

use prost::Message;
use prost_types::{
    DescriptorProto, FileDescriptorSet,
    field_descriptor_proto::{Label, Type},
};

use super::limits::{WIRE_LIMITS, WireLimit};

/// Repeated fields per message the scanner can count (a unit test checks
/// that every message has at most this many).
pub const MAX_REPEATED_FIELDS: usize = 16;

/// Every message type of the gapscore descriptor set.
#[derive(Debug)]
pub struct Schema {
    pub messages: Vec<MessageSchema>,
    by_name: HashMap<String, usize>,
}

/// One message type.
#[derive(Debug)]
pub struct MessageSchema {
    /// Full name without the leading dot, e.g. `gapscore.v1.Answer`.
    pub name: String,
    /// Ordered by field number.
    pub fields: Vec<FieldSchema>,
    /// An upper bound on `size_of` of the generated Rust struct (see
    /// [`field_bytes`]).
    pub struct_bytes: u64,
    /// Whether it is, or (through singular message fields) holds, a message
    /// with repeated fields: then the counts of several occurrences of a
    /// singular field of this type add up, as prost merges them.
    pub has_repeated: bool,
    /// Whether it is the input of a client-streaming method: its
    /// violations are then reported under `messages[n].`, as the services'.
    pub stream_input: bool,
}

/// One field of a message.
#[derive(Debug)]
pub struct FieldSchema {
    pub number: u32,
    pub name: String,
    pub kind: Kind,
    /// Set for repeated fields (and maps).
    pub repeated: Option<Repeated>,
}

/// How a field's values are encoded, as far as counting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A message (or a map entry), by index into [`Schema::messages`].
    Message(usize),
    /// `string` or `bytes`.
    Text,
    /// Varint scalars: integers, `bool`, enums.
    Varint,
    /// `fixed32`, `sfixed32`, `float`.
    Fixed32,
    /// `fixed64`, `sfixed64`, `double`.
    Fixed64,
}

/// What a repeated field needs for counting.
#[derive(Debug)]
pub struct Repeated {
    /// Index of its count in the scanner's per-message counts.
    pub slot: usize,
    /// An upper bound on the size of one element in its `Vec` (or of one
    /// key and value in its `BTreeMap`).
    pub element_bytes: u64,
    pub map: bool,
    pub limit: Option<&'static WireLimit>,
}

impl Schema {
    /// The gapscore schema, read once.
    pub fn get() -> &'static Schema {
        static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
            let set = FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET)
                .expect("the built-in descriptor set decodes");
            Schema::from_descriptors(&set, WIRE_LIMITS)
        });
        &SCHEMA
    }

    /// The index of the message named `name` (e.g. `gapscore.v1.Answer`).
    pub fn message(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The schema of `set`, with `limits` attached to their fields (a limit
    /// naming no field is ignored here and caught by a unit test).
    pub fn from_descriptors(set: &FileDescriptorSet, limits: &'static [WireLimit]) -> Schema {
        // First every name, so fields can refer to types declared later.
        let mut descriptors: Vec<(String, &DescriptorProto)> = Vec::new();
        for file in &set.file {
            let package = file.package();
            for message in &file.message_type {
                collect(package, message, &mut descriptors);
            }
        }
        let by_name: HashMap<String, usize> = descriptors
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
        let stream_inputs: HashSet<&str> = set
            .file
            .iter()
            .flat_map(|f| &f.service)
            .flat_map(|s| &s.method)
            .filter(|m| m.client_streaming())
            .map(|m| m.input_type().trim_start_matches('.'))
            .collect();

        let mut messages: Vec<MessageSchema> = descriptors
            .iter()
            .map(|(name, descriptor)| {
                let mut fields: Vec<FieldSchema> = descriptor
                    .field
                    .iter()
                    .map(|f| {
                        let kind = match f.r#type() {
                            Type::Message | Type::Group => {
                                let child = f.type_name().trim_start_matches('.');
                                by_name.get(child).map_or(Kind::Text, |&i| Kind::Message(i))
                            }
                            Type::String | Type::Bytes => Kind::Text,
                            Type::Fixed32 | Type::Sfixed32 | Type::Float => Kind::Fixed32,
                            Type::Fixed64 | Type::Sfixed64 | Type::Double => Kind::Fixed64,
                            _ => Kind::Varint,
                        };
                        FieldSchema {
                            number: u32::try_from(f.number()).unwrap_or(0),
                            name: f.name().to_owned(),
                            kind,
                            repeated: None,
                        }
                    })
                    .collect();
                fields.sort_by_key(|f| f.number);
                MessageSchema {
                    stream_input: stream_inputs.contains(name.as_str()),
                    name: name.clone(),
                    fields,
                    struct_bytes: 0,
                    has_repeated: false,
                }
            })
            .collect();

        // Struct sizes, then what the repeated fields need.
        let mut sizes = vec![None; messages.len()];
        for i in 0..messages.len() {
            struct_bytes(&descriptors, &by_name, i, &mut sizes, &mut Vec::new());
        }
        for (i, message) in messages.iter_mut().enumerate() {
            message.struct_bytes = sizes[i].unwrap_or(0);
            let (_, descriptor) = descriptors[i];
            let mut slot = 0;
            for f in &descriptor.field {
                if f.label() != Label::Repeated {
                    continue;
                }
                let number = u32::try_from(f.number()).unwrap_or(0);
                let field = message
                    .fields
                    .iter_mut()
                    .find(|x| x.number == number)
                    .expect("the field was listed above");
                let (element_bytes, map) = match field.kind {
                    Kind::Message(child) => (
                        sizes[child].unwrap_or(0),
                        descriptors[child]
                            .1
                            .options
                            .as_ref()
                            .is_some_and(|o| o.map_entry()),
                    ),
                    Kind::Text => (24, false),
                    _ => (8, false),
                };
                field.repeated = Some(Repeated {
                    slot,
                    element_bytes,
                    map,
                    limit: limits
                        .iter()
                        .find(|l| l.message == message.name && l.field == field.name),
                });
                slot += 1;
            }
            assert!(
                slot <= MAX_REPEATED_FIELDS,
                "{} has more than {MAX_REPEATED_FIELDS} repeated fields",
                message.name
            );
        }

        // Which messages hold repeated fields, directly or through singular
        // message fields (a fixpoint, since types may refer to each other).
        loop {
            let mut changed = false;
            for i in 0..messages.len() {
                if messages[i].has_repeated {
                    continue;
                }
                let has = messages[i].fields.iter().any(|f| {
                    f.repeated.is_some()
                        || matches!(f.kind, Kind::Message(c) if messages[c].has_repeated)
                });
                if has {
                    messages[i].has_repeated = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        Schema { messages, by_name }
    }
}

impl MessageSchema {
    /// The field numbered `number`, if the message declares it.
    pub fn field(&self, number: u32) -> Option<(usize, &FieldSchema)> {
        let i = self
            .fields
            .binary_search_by_key(&number, |f| f.number)
            .ok()?;
        Some((i, &self.fields[i]))
    }
}

/// Adds `message` and its nested types, by full name.
fn collect<'a>(
    prefix: &str,
    message: &'a DescriptorProto,
    out: &mut Vec<(String, &'a DescriptorProto)>,
) {
    let name = if prefix.is_empty() {
        message.name().to_owned()
    } else {
        format!("{prefix}.{}", message.name())
    };
    for nested in &message.nested_type {
        collect(&name, nested, out);
    }
    out.push((name, message));
}

/// An upper bound on `size_of` of the struct prost generates for message
/// `i`: the sum of [`field_bytes`] of its fields. A message that contains
/// itself is boxed by prost, so a field on a cycle counts as a pointer.
fn struct_bytes(
    descriptors: &[(String, &DescriptorProto)],
    by_name: &HashMap<String, usize>,
    i: usize,
    sizes: &mut Vec<Option<u64>>,
    visiting: &mut Vec<usize>,
) -> u64 {
    if let Some(size) = sizes[i] {
        return size;
    }
    if visiting.contains(&i) {
        return 8;
    }
    visiting.push(i);
    let mut total = 0;
    for f in &descriptors[i].1.field {
        total += if f.label() == Label::Repeated {
            24
        } else if let Type::Message | Type::Group = f.r#type() {
            let child = by_name.get(f.type_name().trim_start_matches('.')).copied();
            // `Option<M>`: the struct and at most a word of discriminant.
            child.map_or(8, |c| {
                struct_bytes(descriptors, by_name, c, sizes, visiting) + 8
            })
        } else {
            field_bytes(f.r#type(), f.proto3_optional())
        };
    }
    visiting.pop();
    sizes[i] = Some(total);
    total
}

/// An upper bound on the size of a singular non-message field in the
/// generated struct, alignment padding included (every field is counted
/// as a multiple of 8 bytes, the largest alignment): `String`/`Vec<u8>` 24,
/// 64-bit scalars 8, smaller scalars 8 (4 or 1, padded), and an `optional`
/// scalar one word more for the discriminant.
pub fn field_bytes(ty: Type, optional: bool) -> u64 {
    let base = match ty {
        Type::String | Type::Bytes => 24,
        _ => 8,
    };
    if optional { base + 8 } else { base }
}
