//! Pools of values: valid ones mixed with what a server must survive.

use std::{collections::BTreeMap, fmt::Debug};

use gapscore::proto::v1::*;
use proptest::{collection::btree_map, option, prelude::*, sample::select};
use prost_types::Timestamp;

pub const SQL: &str = "'; DROP TABLE answers; --";
pub const RATING: [(&str, i32, i32); 9] = [
    ("overall_experience", 1, 5),
    ("customer_centricity", 1, 5),
    ("speed", 1, 5),
    ("convenience", 1, 5),
    ("knowledgeable_help", 1, 5),
    ("friendly_support", 1, 5),
    ("ease", 1, 7),
    ("likelihood_to_recommend", 0, 10),
    ("csat", 1, 5),
];
pub const THEMES: [&str; 4] = [
    "do_well",
    "improve",
    "competitors_do_differently",
    "continue_or_start",
];
/// 10,000 years in seconds.
pub const TEN_THOUSAND_YEARS: i64 = 315_569_520_000;

/// Nine valid values for one adversarial one.
pub fn mix<T: Debug + Clone + 'static>(
    valid: impl Strategy<Value = T> + 'static,
    bad: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![9 => valid, 1 => bad].boxed()
}

/// Strings a server must survive.
pub fn nasty() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        Just("\0".to_owned()),
        Just("nul\0inside".to_owned()),
        Just("x".repeat(10_000)),
        Just("é".repeat(10_000)),
        Just(SQL.to_owned()),
        Just("' OR '1'='1".to_owned()),
        Just("\"; DELETE FROM survey_responses WHERE ''='".to_owned()),
        Just("%_\\%".to_owned()),
        Just("😀 Ünïcödé \u{202e}txet".to_owned()),
        Just("  Padded  ".to_owned()),
        Just("y".repeat(129)),
        "\\PC{0,24}",
        any::<String>(),
    ]
    .boxed()
}

/// Valid, collision-prone record ids (so re-sends update or are unchanged).
pub fn valid_id() -> BoxedStrategy<String> {
    "[a-z]{1,2}[0-9]{1,2}".boxed()
}

pub fn id() -> BoxedStrategy<String> {
    mix(
        valid_id(),
        prop_oneof![nasty(), Just("z".repeat(128)), Just("a b".to_owned())],
    )
}

pub fn customer_id() -> BoxedStrategy<String> {
    mix("c[0-9]", prop_oneof![nasty(), Just("c/1".to_owned())])
}

pub fn optional_id() -> BoxedStrategy<String> {
    mix(prop_oneof![Just(String::new()), "[a-z][0-9]"], nasty())
}

pub fn valid_key() -> BoxedStrategy<String> {
    "[a-z][a-z0-9_]{0,8}".boxed()
}

pub fn key() -> BoxedStrategy<String> {
    mix(
        valid_key(),
        prop_oneof![
            nasty(),
            Just("a".repeat(64)),
            Just("Update-Card".to_owned())
        ],
    )
}

/// Known and unknown question keys.
pub fn question_key() -> BoxedStrategy<String> {
    let known: Vec<String> = RATING
        .iter()
        .map(|q| q.0)
        .chain(THEMES)
        .map(str::to_owned)
        .collect();
    mix(
        select(known),
        prop_oneof![
            Just("no_such_question".to_owned()),
            Just("overall_experiance".to_owned()),
            Just("a".repeat(64)),
            nasty(),
        ],
    )
}

pub fn bad_int() -> BoxedStrategy<i32> {
    prop_oneof![
        Just(-1),
        Just(i32::MIN),
        Just(i32::MAX),
        Just(86_401),
        any::<i32>()
    ]
    .boxed()
}

pub fn int(valid: std::ops::RangeInclusive<i32>) -> BoxedStrategy<i32> {
    mix(valid, bad_int())
}

/// An enum field whose values are 1..=max (0 is UNSPECIFIED).
pub fn enum_value(max: i32) -> BoxedStrategy<i32> {
    mix(
        1..=max,
        prop_oneof![Just(0), Just(-1), Just(max + 1), bad_int()],
    )
}

pub fn bad_double() -> BoxedStrategy<f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-1.0),
        Just(-0.0),
        Just(1e308),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        any::<f64>(),
    ]
    .boxed()
}

pub fn confidence() -> BoxedStrategy<Option<f64>> {
    mix(
        option::of(prop_oneof![Just(0.5), Just(0.999), 0.5..0.999]),
        option::of(prop_oneof![Just(0.4999), Just(1.0), bad_double()]),
    )
}

pub fn stamp(seconds: i64, nanos: i32) -> Timestamp {
    Timestamp { seconds, nanos }
}

/// 2020-01-01 .. 2026-01-01.
pub fn valid_ts() -> BoxedStrategy<Timestamp> {
    (1_577_836_800i64..1_767_225_600, 0..1_000_000_000i32)
        .prop_map(|(s, n)| stamp(s, n))
        .boxed()
}

pub fn bad_ts() -> BoxedStrategy<Option<Timestamp>> {
    let now = chrono::Utc::now().timestamp();
    prop_oneof![
        Just(None),
        select(vec![
            TEN_THOUSAND_YEARS,
            -TEN_THOUSAND_YEARS,
            i64::MAX,
            i64::MIN,
            -62_135_596_800,
            -62_135_596_801,
            253_402_300_799,
            253_402_300_800,
            0,
            now + 240,
            now + 600,
            now + 86_400,
        ])
        .prop_map(|s| Some(stamp(s, 0))),
        select(vec![-1, 1_000_000_000, i32::MIN, i32::MAX]).prop_map(|n| Some(stamp(0, n))),
        (any::<i64>(), any::<i32>()).prop_map(|(s, n)| Some(stamp(s, n))),
    ]
    .boxed()
}

pub fn timestamp() -> BoxedStrategy<Option<Timestamp>> {
    mix(valid_ts().prop_map(Some), bad_ts())
}

/// Valid label values, quotes and SQL included: they must be stored literally.
pub fn valid_label_value() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[A-Za-z0-9 ]{1,10}",
        1 => Just(SQL.to_owned()),
        1 => Just("O'Brien \"quoted\" \\ %".to_owned()),
        1 => Just("😀 ü".to_owned()),
    ]
    .boxed()
}

pub fn valid_labels() -> BoxedStrategy<BTreeMap<String, String>> {
    btree_map("[a-z][a-z0-9_]{0,5}", valid_label_value(), 0..3).boxed()
}

pub fn labels() -> BoxedStrategy<BTreeMap<String, String>> {
    mix(
        valid_labels(),
        prop_oneof![
            btree_map(mix(valid_key(), nasty()), mix("[a-z]{1,5}", nasty()), 1..3),
            Just((0..17).map(|i| (format!("k{i}"), "v".to_owned())).collect()),
        ],
    )
}

pub fn filter() -> BoxedStrategy<Option<ScoreFilter>> {
    let valid = (
        option::of(valid_ts()),
        option::of(valid_ts()),
        valid_labels(),
        prop_oneof![Just(String::new()), "w[0-9]"],
        prop_oneof![Just(String::new()), "[a-z]{1,6}"],
    )
        .prop_map(|(mut start, mut end, labels, survey_id, intent)| {
            if let (Some(s), Some(e)) = (&mut start, &mut end)
                && (s.seconds, s.nanos) > (e.seconds, e.nanos)
            {
                std::mem::swap(s, e);
            }
            ScoreFilter {
                start_time: start,
                end_time: end,
                labels,
                survey_id,
                intent,
            }
        });
    let bad = (timestamp(), timestamp(), labels(), optional_id(), key()).prop_map(
        |(start_time, end_time, labels, survey_id, intent)| ScoreFilter {
            start_time,
            end_time,
            labels,
            survey_id,
            intent,
        },
    );
    mix(
        prop_oneof![1 => Just(None), 3 => valid.prop_map(Some)],
        bad.prop_map(Some),
    )
}

pub fn page_size() -> BoxedStrategy<i32> {
    mix(
        prop_oneof![0..=5, Just(1000)],
        prop_oneof![Just(1001), bad_int()],
    )
}

/// How a list request's page token is chosen.
#[derive(Debug, Clone)]
pub enum Token {
    /// The first page.
    Empty,
    /// Not a token.
    Junk(String),
    /// A genuine token of a different query of the same tenant.
    OtherQuery,
    /// A genuine token of another tenant.
    OtherTenant,
    /// A token forged with the right fingerprint and an arbitrary position
    /// (micros, id; or an at-risk key).
    Forged(i64, f64, String),
    /// The next_page_token of the same request's first page.
    Next,
}

pub fn token() -> BoxedStrategy<Token> {
    let micros = prop_oneof![
        3 => 1_577_836_800_000_000i64..1_767_225_600_000_000,
        1 => select(vec![
            i64::MAX,
            i64::MIN,
            0,
            -62_135_596_800_000_001,
            // Year -100,000 and 250,000: chrono's range, not PostgreSQL's.
            -3_217_000_000_000_000_000,
            7_830_000_000_000_000_000,
        ]),
        1 => any::<i64>(),
    ];
    prop_oneof![
        4 => Just(Token::Empty),
        1 => nasty().prop_map(Token::Junk),
        1 => "[A-Za-z0-9_-]{1,60}".prop_map(Token::Junk),
        1 => Just(Token::OtherQuery),
        1 => Just(Token::OtherTenant),
        2 => (micros, prop_oneof![0.0..100.0, bad_double()], mix(valid_id(), nasty()))
            .prop_map(|(m, x, id)| Token::Forged(m, x, id)),
        2 => Just(Token::Next),
    ]
    .boxed()
}
