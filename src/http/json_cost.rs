//! An upper bound on the memory a JSON body takes once parsed into a
//! `prost_reflect::DynamicMessage`, from one pass over the JSON that
//! allocates nothing, so the HTTP path takes it from the decode budget
//! (SPEC §14) before parsing, as the codec does for protobuf bytes.
//!
//! JSON is denser in objects than protobuf is in messages: `[{},{},...]`
//! is 3 bytes an element, and every message with a field holds a B-tree
//! node of several hundred bytes, so 4 MiB of JSON can parse to hundreds of
//! MiB. The model, checked against a counting allocator in the tests:
//! - an object is a message (B-tree nodes of its fields) or a map (a hash
//!   table of its entries), whichever is larger;
//! - an array is a `Vec<Value>` that grew by doubling;
//! - a string is its bytes, or a message when it may be a well-known type
//!   in its string form (a Timestamp), whichever is larger;
//! - numbers, booleans and nulls live in their parent's slot.
//!
//! That a number or boolean is never a message (a wrapper type such as
//! `google.protobuf.Int32Value`) is true of every gapscore request; a unit
//! test keeps it true.

use std::{fmt, mem::size_of};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The allocator's overhead per allocation (as `decode::scan` models it).
const ALLOCATION_EXTRA: u64 = crate::decode::scan::ALLOCATION_EXTRA;
/// A string's allocation beyond its bytes (as `decode::scan` models it).
const STRING_EXTRA: u64 = crate::decode::scan::STRING_EXTRA;
/// B-tree node capacity (std's `B = 6`: at most 11 entries a node).
const NODE_CAPACITY: u64 = 11;

/// Bytes of one field slot of a message: the field number and the value.
fn slot_bytes() -> u64 {
    (size_of::<u32>() + size_of::<prost_reflect::Value>() + size_of::<u64>()) as u64
}

/// Bytes of one B-tree node (an internal node: entries plus 12 edges).
fn node_bytes() -> u64 {
    NODE_CAPACITY * slot_bytes() + 12 * size_of::<usize>() as u64 + 16 + ALLOCATION_EXTRA
}

/// A message of `fields` fields: one node up to its capacity; beyond,
/// every node but the root holds at least 5 entries, so there are at most
/// `1 + fields / 5` nodes.
fn message_bytes(fields: u64) -> u64 {
    match fields {
        0 => 0,
        1..=NODE_CAPACITY => node_bytes(),
        _ => (1 + fields / 5) * node_bytes(),
    }
}

/// A map of `entries`: a hash table of at least 8/7 buckets per entry,
/// rounded up to a power of two, one control byte each, counted twice for
/// the old table that growth copies from.
fn map_bytes(entries: u64) -> u64 {
    if entries == 0 {
        return 0;
    }
    let entry = (size_of::<prost_reflect::MapKey>() + size_of::<prost_reflect::Value>()) as u64;
    let buckets = (entries * 8).div_ceil(7).next_power_of_two().max(4);
    2 * (buckets * (entry + 1) + 16 + ALLOCATION_EXTRA)
}

/// A list of `elements`: capacity a power of two, plus the old buffer
/// while it grows.
fn list_bytes(elements: u64) -> u64 {
    if elements == 0 {
        return 0;
    }
    let capacity = elements.next_power_of_two().max(4);
    let value = size_of::<prost_reflect::Value>() as u64;
    capacity * value + capacity / 2 * value + 2 * ALLOCATION_EXTRA
}

/// A string: its bytes, or the Timestamp message it is when it may be one
/// (RFC 3339 text starts with `YYYY-`; any other string that reaches a
/// Timestamp field fails to parse, and so builds nothing).
fn string_bytes(text: &str) -> u64 {
    let bytes = text.len() as u64 + STRING_EXTRA;
    let b = text.as_bytes();
    let may_be_timestamp = b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
    if may_be_timestamp {
        bytes.max(message_bytes(2))
    } else {
        bytes
    }
}

/// The bound for `json`, or serde_json's error when it is not JSON.
pub fn estimate(json: &[u8]) -> Result<u64, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let bytes = Cost.deserialize(&mut de)?;
    de.end()?;
    Ok(bytes)
}

/// Visits one JSON value and returns its cost.
struct Cost;

impl<'de> DeserializeSeed<'de> for Cost {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u64, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Cost {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<u64, E> {
        Ok(0)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<u64, E> {
        Ok(0)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<u64, E> {
        Ok(0)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<u64, E> {
        Ok(0)
    }
    fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
        Ok(0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        Ok(string_bytes(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let (mut elements, mut inner) = (0u64, 0u64);
        while let Some(cost) = seq.next_element_seed(Cost)? {
            elements += 1;
            inner = inner.saturating_add(cost);
        }
        Ok(inner.saturating_add(list_bytes(elements)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
        let (mut entries, mut keys, mut inner) = (0u64, 0u64, 0u64);
        while let Some(key) = map.next_key::<KeyLen>()? {
            entries += 1;
            keys = keys.saturating_add(key.0 + STRING_EXTRA);
            inner = inner.saturating_add(map.next_value_seed(Cost)?);
        }
        // A map also keeps its keys; a message keeps none.
        let own = message_bytes(entries).max(map_bytes(entries).saturating_add(keys));
        Ok(inner.saturating_add(own))
    }
}

/// A key's length, read without keeping it.
struct KeyLen(u64);

impl<'de> de::Deserialize<'de> for KeyLen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Len;
        impl Visitor<'_> for Len {
            type Value = KeyLen;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyLen, E> {
                Ok(KeyLen(v.len() as u64))
            }
        }
        deserializer.deserialize_str(Len)
    }
}

#[cfg(test)]
mod tests;
