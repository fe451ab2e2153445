//! Field validation that collects every violation with its path, so one
//! `INVALID_ARGUMENT` tells the caller everything wrong with a request.
//!
//! The rules here are the record rules of SPEC §3.1 that need no catalog
//! and no transport: every transport converts its messages with them, so
//! the same mistake gets the same words everywhere.

use std::fmt;

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

    /// Whether any further violation (of at most two clipped parts) will
    /// still be listed. Callers skip optional work, such as a "did you
    /// mean" suggestion, for violations that would only be counted.
    pub fn has_room(&self) -> bool {
        self.items.len() < MAX_REPORTED && self.bytes + 2 * MAX_PART_BYTES <= MAX_REPORTED_BYTES
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
    pub fn into_result(self) -> Result<(), Violations> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }

    /// Moves every listed violation of `other` into `self`, e.g. those of a
    /// sub-message validated on its own.
    pub fn absorb(&mut self, other: Violations) {
        let omitted = other.omitted;
        for (field, description) in other.items {
            self.add(field, description);
        }
        self.omitted += omitted;
    }

    /// A single violation.
    pub fn one(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut v = Violations::default();
        v.add(field, description);
        v
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

    /// The listed (field, description) pairs, consuming the list.
    pub fn into_items(self) -> Vec<(String, String)> {
        self.items
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

/// Most valid keys one unknown key is compared with. A catalog is small
/// (13 built-in questions plus the tenant's own), but nothing caps custom
/// questions, so neither may the work of a suggestion be unbounded.
const MAX_SUGGESTION_CANDIDATES: usize = 2000;

/// The valid key closest to `key` by edit distance, if it is close enough
/// to be a typo (at most a third of the key's length, at least 1, at most
/// 3 edits); ties go to the key first in order. At most
/// [`MAX_SUGGESTION_CANDIDATES`] keys are looked at, each in
/// O(len × limit) ([`edit_distance_within`]).
fn nearest_key<'a>(key: &str, valid: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let key: Vec<char> = key.chars().collect();
    let limit = (key.len() / 3).clamp(1, 3);
    valid
        .into_iter()
        .take(MAX_SUGGESTION_CANDIDATES)
        .filter_map(|v| Some((edit_distance_within(&key, v, limit)?, v)))
        .min()
        .map(|(_, v)| v)
}

/// The Levenshtein distance (over chars) of `a` and `b` when it is at most
/// `limit`, else `None`. Only the diagonal band of width 2·limit + 1 can
/// hold such a distance, and a row whose smallest entry exceeds `limit`
/// ends the search, so a key far from `b` costs a few short rows, not
/// |a|·|b|.
fn edit_distance_within(a: &[char], b: &str, limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.chars().count()) > limit {
        return None;
    }
    let b: Vec<char> = b.chars().collect();
    // Every entry is capped at `over`: beyond the limit, all are alike.
    let over = limit + 1;
    let mut prev: Vec<usize> = (0..=b.len()).map(|j| j.min(over)).collect();
    let mut cur = vec![over; b.len() + 1];
    for i in 1..=a.len() {
        let (lo, hi) = (i.saturating_sub(limit), (i + limit).min(b.len()));
        cur.fill(over);
        if lo == 0 {
            cur[0] = i.min(over);
        }
        let mut smallest = cur[0];
        for j in lo.max(1)..=hi {
            let substitution = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let d = substitution.min(prev[j] + 1).min(cur[j - 1] + 1).min(over);
            cur[j] = d;
            smallest = smallest.min(d);
        }
        if smallest > limit {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[b.len()]).filter(|&d| d <= limit)
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

/// Labels per record or filter.
pub const MAX_LABELS: usize = 16;

/// Labels: at most [`MAX_LABELS`], keys [`is_key`], values 1-128 characters
/// without NUL.
pub fn check_labels<'a>(
    v: &mut Violations,
    field: &str,
    labels: impl ExactSizeIterator<Item = (&'a String, &'a String)>,
) {
    if labels.len() > MAX_LABELS {
        v.add(field, format!("at most {MAX_LABELS} labels are allowed"));
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

/// The confidence levels a request or a scoring model may ask for (SPEC §5).
pub const CONFIDENCE_LEVELS: std::ops::RangeInclusive<f64> = 0.5..=0.999;

/// Checks a confidence level against [`CONFIDENCE_LEVELS`] under `field`.
pub fn check_confidence_level(v: &mut Violations, field: &str, value: f64) {
    if !CONFIDENCE_LEVELS.contains(&value) {
        v.add(field, "must be between 0.5 and 0.999");
    }
}

/// Accepts a requested confidence level, or `default` (the model's) when unset.
pub fn confidence_level(value: Option<f64>, default: f64) -> Result<f64, Violations> {
    let mut v = Violations::default();
    let level = value.unwrap_or(default);
    if value.is_some() {
        check_confidence_level(&mut v, "confidence_level", level);
    }
    v.into_result().map(|()| level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_cap_binds_when_violations_are_short() {
        // 300 violations of 6-7 bytes each: far under the byte cap, so the
        // 200-item cap is what binds; the summary still counts all 300.
        let mut v = Violations::default();
        for i in 0..300 {
            v.add(format!("f{i}"), "bad");
        }
        assert_eq!(v.items().len(), MAX_REPORTED);
        assert_eq!(v.len(), 300);
        assert!(v.bytes < MAX_REPORTED_BYTES);
        assert_eq!(v.items()[199].0, "f199");
        assert_eq!(v.summary(), "f0: bad (and 299 more violations)");
    }

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
        let within = |a: &str, b: &str, limit| {
            edit_distance_within(&a.chars().collect::<Vec<_>>(), b, limit)
        };
        assert_eq!(within("kitten", "sitting", 3), Some(3));
        assert_eq!(within("kitten", "sitting", 2), None);
        assert_eq!(within("", "abc", 3), Some(3));
        assert_eq!(within("abc", "abc", 1), Some(0));
        assert_eq!(
            within("overall_experiance", "overall_experience", 3),
            Some(1)
        );
        assert_eq!(within("speed", "deeps", 3), None);
        assert_eq!(within("ab", "ba", 2), Some(2));
        assert_eq!(within(&"x".repeat(100_000), "speed", 3), None);
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
}
