//! Field validation that collects every violation with its path, so one
//! `INVALID_ARGUMENT` tells the caller everything wrong with a request.

use std::fmt;

use tonic_types::FieldViolation;

/// All violations found in a request.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Violations {
    /// The violations that will be listed.
    items: Vec<(String, String)>,
    /// Bytes of paths and descriptions in `items`.
    bytes: usize,
    /// Violations found but left out of the list (over a limit below).
    omitted: usize,
}

/// At most this many violations are listed; a batch of 1,000 broken records
/// should not produce a multi-megabyte error.
const MAX_REPORTED: usize = 200;
/// ... and at most this many bytes of paths and descriptions. The
/// `BadRequest` travels base64-encoded in the `grpc-status-details-bin`
/// trailer, and clients cap metadata: tonic/hyper reject more than 16 KiB
/// (the call fails with an HTTP/2 protocol error instead of the violations),
/// gRPC C-core based clients 8 KiB by default.
const MAX_REPORTED_BYTES: usize = 4096;
/// A longer path (a label key is caller input) or description is cut short.
const MAX_PART_BYTES: usize = 256;

fn clip(mut s: String) -> String {
    if s.len() > MAX_PART_BYTES {
        let mut cut = MAX_PART_BYTES - '…'.len_utf8();
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        let (field, description) = (clip(field.into()), clip(description.into()));
        let size = field.len() + description.len();
        if self.items.len() < MAX_REPORTED && self.bytes + size <= MAX_REPORTED_BYTES {
            self.bytes += size;
            self.items.push((field, description));
        } else {
            self.omitted += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.omitted == 0
    }

    /// How many violations were found, listed or not.
    pub fn len(&self) -> usize {
        self.items.len() + self.omitted
    }

    /// (field, description) pairs in the order found, as listed.
    pub fn items(&self) -> &[(String, String)] {
        &self.items
    }

    /// Prefixes every path, e.g. with `messages[3].` for a stream.
    pub fn prefixed(self, prefix: &str) -> Self {
        let items: Vec<(String, String)> = self
            .items
            .into_iter()
            .map(|(f, d)| (format!("{prefix}{f}"), d))
            .collect();
        Self {
            bytes: items.iter().map(|(f, d)| f.len() + d.len()).sum(),
            items,
            omitted: self.omitted,
        }
    }

    /// `Ok(())` when nothing was found.
    pub fn into_result(self) -> Result<(), super::ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(super::ApiError::InvalidArgument(self))
        }
    }

    /// A one-line message naming the first violation and the total.
    pub fn summary(&self) -> String {
        match self.items.as_slice() {
            [] => "invalid request".into(),
            [(f, d)] => format!("{f}: {d}"),
            [(f, d), rest @ ..] => format!(
                "{f}: {d} (and {} more violations)",
                rest.len() + self.omitted
            ),
        }
    }

    pub fn into_field_violations(self) -> Vec<FieldViolation> {
        self.items
            .into_iter()
            .map(|(f, d)| FieldViolation::new(f, d))
            .collect()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

/// `[A-Za-z0-9._:-]{1,128}`: record ids and customer ids.
pub fn check_id(v: &mut Violations, field: &str, value: &str) {
    if value.is_empty() {
        v.add(field, "is required");
    } else if value.len() > 128 {
        v.add(field, "must be at most 128 characters");
    } else if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
    {
        v.add(field, "may contain only letters, digits and . _ : -");
    }
}

/// The description of an unknown question key: how to list the valid keys,
/// and the nearest valid key when the caller probably mistyped it. Short on
/// purpose: a batch with many such answers lists each one within the
/// violation budget above.
pub fn unknown_question<'a>(key: &str, valid: impl IntoIterator<Item = &'a str>) -> String {
    let how = "list the valid keys with gapscore.v1.CatalogService/ListQuestions";
    match nearest_key(key, valid) {
        Some(near) => format!("unknown question {key:?} (did you mean {near:?}?); {how}"),
        None => format!("unknown question {key:?}; {how}"),
    }
}

/// The valid key closest to `key` by edit distance, if it is close enough
/// to be a typo (at most a third of the key's length, at least 1, at most
/// 3 edits); ties go to the key first in order.
fn nearest_key<'a>(key: &str, valid: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (key.chars().count() / 3).clamp(1, 3);
    valid
        .into_iter()
        .map(|v| (edit_distance(key, v), v))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, v)| v)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// `[a-z][a-z0-9_]{0,62}`: label keys, intents and question keys.
pub fn is_key(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// Checks a key field (see [`is_key`]).
pub fn check_key(v: &mut Violations, field: &str, value: &str) {
    if value.is_empty() {
        v.add(field, "is required");
    } else if !is_key(value) {
        v.add(field, "must match [a-z][a-z0-9_]{0,62}");
    }
}

/// Labels: at most 16, keys [`is_key`], values 1-128 characters without NUL.
pub fn check_labels<'a>(
    v: &mut Violations,
    field: &str,
    labels: impl ExactSizeIterator<Item = (&'a String, &'a String)>,
) {
    if labels.len() > 16 {
        v.add(field, "at most 16 labels are allowed");
    }
    for (key, value) in labels {
        if !is_key(key) {
            v.add(
                format!("{field}[{key:?}]"),
                "label keys must match [a-z][a-z0-9_]{0,62}",
            );
        }
        let chars = value.chars().count();
        if chars == 0 || chars > 128 {
            v.add(
                format!("{field}[{key:?}]"),
                "label values must be 1-128 characters",
            );
        } else if value.contains('\0') {
            v.add(
                format!("{field}[{key:?}]"),
                "label values must not contain NUL characters",
            );
        }
    }
}

/// Optional free text: at most `max` characters, no NUL (PostgreSQL cannot store it).
pub fn check_text(v: &mut Violations, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
    } else if value.contains('\0') {
        v.add(field, "must not contain NUL characters");
    }
}

/// A required timestamp, converted to UTC; `max_future` bounds how far ahead it may be.
pub fn check_timestamp(
    v: &mut Violations,
    field: &str,
    value: Option<&prost_types::Timestamp>,
    max_future: Option<chrono::Duration>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let Some(ts) = value else {
        v.add(field, "is required");
        return None;
    };
    let Some(t) = timestamp_to_utc(ts) else {
        v.add(field, "is not a valid timestamp (years 0001-9999)");
        return None;
    };
    if let Some(ahead) = max_future
        && t > chrono::Utc::now() + ahead
    {
        v.add(
            field,
            format!(
                "must not be more than {} minutes in the future",
                ahead.num_minutes()
            ),
        );
        return None;
    }
    Some(t)
}

/// Converts a protobuf timestamp; `None` outside years 1-9999 or with invalid nanos.
pub fn timestamp_to_utc(ts: &prost_types::Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return None;
    }
    // 0001-01-01 .. 9999-12-31, the range of google.protobuf.Timestamp.
    if !(-62_135_596_800..=253_402_300_799).contains(&ts.seconds) {
        return None;
    }
    chrono::DateTime::from_timestamp(ts.seconds, ts.nanos as u32)
}

/// Converts to a protobuf timestamp.
pub fn utc_to_timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// Accepts a confidence level in [0.5, 0.999], or the default when unset.
pub fn confidence_level(value: Option<f64>, default: f64) -> Result<f64, super::ApiError> {
    match value {
        None => Ok(default),
        Some(c) if (0.5..=0.999).contains(&c) => Ok(c),
        Some(_) => Err(super::ApiError::invalid(
            "confidence_level",
            "must be between 0.5 and 0.999",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_questions_say_how_to_list_the_keys_and_suggest_a_near_one() {
        let keys = ["ease", "overall_experience", "speed"];
        assert_eq!(
            unknown_question("overall_experiance", keys),
            "unknown question \"overall_experiance\" (did you mean \"overall_experience\"?); \
             list the valid keys with gapscore.v1.CatalogService/ListQuestions"
        );
        assert_eq!(
            unknown_question("nps", keys),
            "unknown question \"nps\"; list the valid keys with \
             gapscore.v1.CatalogService/ListQuestions"
        );
        assert!(unknown_question("sped", keys).contains("\"speed\"?"));
        assert!(unknown_question("x", []).contains("ListQuestions"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn ids_follow_the_spec_alphabet() {
        let mut v = Violations::default();
        check_id(&mut v, "a", "r-1.2:3_X");
        assert!(v.is_empty());
        check_id(&mut v, "b", "");
        check_id(&mut v, "c", "has space");
        check_id(&mut v, "d", &"x".repeat(129));
        let fields: Vec<_> = v.items().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["b", "c", "d"]);
    }

    #[test]
    fn the_list_stays_small_enough_for_a_trailer() {
        let mut v = Violations::default();
        for i in 0..1000 {
            v.add(
                format!("responses[{i}].answers[0].score"),
                "7 is outside the scale of question \"speed\" (1-5)",
            );
        }
        v.add(format!("labels[{:?}]", "K".repeat(100_000)), "bad key");
        assert_eq!(v.len(), 1001);
        let listed = v.items().len();
        assert!((40..1001).contains(&listed), "{listed}");
        let bytes: usize = v.items().iter().map(|(f, d)| f.len() + d.len()).sum();
        assert!(bytes <= MAX_REPORTED_BYTES);
        assert!(
            v.summary()
                .ends_with(&format!("(and {} more violations)", 1000)),
            "{}",
            v.summary()
        );

        let mut long = Violations::default();
        long.add(format!("labels[{:?}]", "é".repeat(1000)), "bad key");
        assert!(long.items()[0].0.len() <= MAX_PART_BYTES);
        assert!(long.items()[0].0.ends_with('…'));
    }

    #[test]
    fn keys_follow_the_spec_pattern() {
        assert!(is_key("region"));
        assert!(is_key("a1_b"));
        assert!(!is_key("1a"));
        assert!(!is_key("Region"));
        assert!(!is_key(&"a".repeat(64)));
        assert!(is_key(&"a".repeat(63)));
    }

    #[test]
    fn timestamps_outside_the_protobuf_range_are_rejected() {
        assert!(
            timestamp_to_utc(&prost_types::Timestamp {
                seconds: 0,
                nanos: -1
            })
            .is_none()
        );
        assert!(
            timestamp_to_utc(&prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: 0
            })
            .is_none()
        );
        assert!(
            timestamp_to_utc(&prost_types::Timestamp {
                seconds: 1,
                nanos: 5
            })
            .is_some()
        );
    }
}
