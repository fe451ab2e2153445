//! Records and requests built from the pools of [`super::values`].

use std::fmt::Debug;

use gapscore::proto::v1::*;
use proptest::{
    collection::vec,
    option,
    prelude::*,
    sample::{select, subsequence},
};

use super::values::*;

pub fn valid_answers() -> BoxedStrategy<Vec<Answer>> {
    let questions: Vec<(&'static str, Option<(i32, i32)>)> = RATING
        .iter()
        .map(|&(q, lo, hi)| (q, Some((lo, hi))))
        .chain(THEMES.iter().map(|&q| (q, None)))
        .collect();
    (
        subsequence(questions, 1..=4),
        vec(any::<u16>(), 4),
        vec(prop_oneof!["[a-z][a-z ]{0,11}", Just(SQL.to_owned())], 1..3),
        prop_oneof![
            Just(String::new()),
            Just(SQL.to_owned()),
            Just("O'Brien said \"no\"".to_owned()),
            "\\PC{0,40}",
        ],
    )
        .prop_map(|(questions, r, themes, comment)| {
            questions
                .iter()
                .enumerate()
                .map(|(i, (q, scale))| Answer {
                    question: (*q).to_owned(),
                    score: scale.map(|(lo, hi)| lo + i32::from(r[i]) % (hi - lo + 1)),
                    themes: if scale.is_none() {
                        themes.clone()
                    } else {
                        vec![]
                    },
                    comment: comment.clone(),
                    ..Default::default()
                })
                .collect()
        })
        .boxed()
}

pub fn wild_answer() -> BoxedStrategy<Answer> {
    (
        question_key(),
        prop_oneof![Just(None), int(0..=10).prop_map(Some)],
        vec(mix("[a-z]{1,8}", nasty()), 0..3),
        mix(
            Just(String::new()),
            prop_oneof![nasty(), Just("c".repeat(4000)), Just("c".repeat(4001))],
        ),
        // Every frame, an unknown one, and competitors valid or not on any
        // of them (SPEC §16.1).
        prop_oneof![Just(0), Just(2), Just(4), int(0..=9)],
        mix(
            Just(String::new()),
            prop_oneof![Just("acme".to_owned()), nasty()],
        ),
    )
        .prop_map(
            |(question, score, themes, comment, frame, competitor)| Answer {
                question,
                score,
                themes,
                comment,
                frame,
                competitor,
            },
        )
        .boxed()
}

pub fn answers() -> BoxedStrategy<Vec<Answer>> {
    mix(
        valid_answers(),
        prop_oneof![
            vec(wild_answer(), 0..4),
            // The same question twice.
            valid_answers().prop_map(|mut a| {
                a.push(a[0].clone());
                a
            }),
            // 101 answers.
            valid_answers().prop_map(|a| a.iter().cycle().take(101).cloned().collect()),
        ],
    )
}

pub fn valid_survey_response() -> BoxedStrategy<SurveyResponse> {
    (
        valid_id(),
        1..=3i32,
        prop_oneof![Just(String::new()), "c[0-9]"],
        prop_oneof![Just(String::new()), "w[0-9]"],
        valid_ts(),
        valid_labels(),
        valid_answers(),
    )
        .prop_map(
            |(id, role, respondent_id, survey_id, at, labels, answers)| SurveyResponse {
                id,
                role,
                respondent_id,
                survey_id,
                submitted_at: Some(at),
                labels,
                answers,
            },
        )
        .boxed()
}

pub fn survey_response() -> BoxedStrategy<SurveyResponse> {
    (
        id(),
        enum_value(3),
        optional_id(),
        optional_id(),
        timestamp(),
        labels(),
        answers(),
    )
        .prop_map(
            |(id, role, respondent_id, survey_id, submitted_at, labels, answers)| SurveyResponse {
                id,
                role,
                respondent_id,
                survey_id,
                submitted_at,
                labels,
                answers,
            },
        )
        .boxed()
}

pub fn valid_touchpoint(customer: bool) -> BoxedStrategy<Touchpoint> {
    (
        1..=9i32,
        valid_ts(),
        0..=86_400i32,
        0..=86_400i32,
        0..=3i32,
        0..=50i32,
        any::<bool>(),
    )
        .prop_map(
            move |(channel, at, duration, wait, outcome, transfers, repeated)| Touchpoint {
                channel,
                initiator: if customer { 1 } else { 2 },
                occurred_at: Some(at),
                duration_seconds: duration,
                wait_seconds: wait,
                outcome: if customer { outcome.max(1) } else { outcome },
                transfers,
                repeated_information: repeated,
            },
        )
        .boxed()
}

pub fn valid_touchpoints() -> BoxedStrategy<Vec<Touchpoint>> {
    (
        valid_touchpoint(true),
        vec(
            prop_oneof![valid_touchpoint(true), valid_touchpoint(false)],
            0..3,
        ),
    )
        .prop_map(|(first, rest)| std::iter::once(first).chain(rest).collect())
        .boxed()
}

pub fn wild_touchpoint() -> BoxedStrategy<Touchpoint> {
    (
        enum_value(9),
        enum_value(2),
        timestamp(),
        int(0..=86_400),
        int(0..=86_400),
        mix(0..=3, bad_int()),
        int(0..=50),
        any::<bool>(),
    )
        .prop_map(
            |(channel, initiator, occurred_at, duration, wait, outcome, transfers, repeated)| {
                Touchpoint {
                    channel,
                    initiator,
                    occurred_at,
                    duration_seconds: duration,
                    wait_seconds: wait,
                    outcome,
                    transfers,
                    repeated_information: repeated,
                }
            },
        )
        .boxed()
}

pub fn touchpoints() -> BoxedStrategy<Vec<Touchpoint>> {
    mix(
        valid_touchpoints(),
        prop_oneof![
            vec(wild_touchpoint(), 0..4),
            valid_touchpoint(true).prop_map(|t| vec![t; 201]),
            // Company touchpoints only.
            vec(valid_touchpoint(false), 1..3),
        ],
    )
}

pub fn valid_journey() -> BoxedStrategy<Journey> {
    (
        valid_id(),
        "c[0-9]",
        "[a-z][a-z_]{0,10}",
        valid_labels(),
        valid_touchpoints(),
    )
        .prop_map(|(id, customer_id, intent, labels, touchpoints)| Journey {
            id,
            customer_id,
            intent,
            labels,
            touchpoints,
            effort_index: 0.0,
            effort_tier: 0,
        })
        .boxed()
}

pub fn journey() -> BoxedStrategy<Journey> {
    (
        id(),
        customer_id(),
        key(),
        labels(),
        touchpoints(),
        // Output-only fields the server must ignore.
        mix(Just(0.0), bad_double()),
        mix(Just(0), bad_int()),
    )
        .prop_map(
            |(id, customer_id, intent, labels, touchpoints, effort_index, effort_tier)| Journey {
                id,
                customer_id,
                intent,
                labels,
                touchpoints,
                effort_index,
                effort_tier,
            },
        )
        .boxed()
}

pub fn outcome() -> BoxedStrategy<Outcome> {
    (
        id(),
        customer_id(),
        enum_value(4),
        any::<bool>(),
        timestamp(),
    )
        .prop_map(|(id, customer_id, kind, occurred, observed_at)| Outcome {
            id,
            customer_id,
            kind,
            occurred,
            observed_at,
        })
        .boxed()
}

/// Mostly 1-3 records; sometimes none, a duplicated id, 1,000 or 1,001.
pub fn batch<T: Debug + Clone + 'static>(
    record: BoxedStrategy<T>,
    get_id: fn(&T) -> String,
    set_id: fn(&mut T, String),
) -> BoxedStrategy<Vec<T>> {
    let copies = move |r: T, n: usize| -> Vec<T> {
        (0..n)
            .map(|i| {
                let mut c = r.clone();
                set_id(&mut c, format!("bulk{i}"));
                c
            })
            .collect()
    };
    prop_oneof![
        30 => vec(record.clone(), 1..4),
        1 => Just(Vec::new()),
        2 => vec(record.clone(), 2..4).prop_map(move |mut b| {
            let first = get_id(&b[0]);
            set_id(b.last_mut().unwrap(), first);
            b
        }),
        1 => record.clone().prop_map(move |r| copies(r, 1000)),
        1 => record.prop_map(move |r| copies(r, 1001)),
    ]
    .boxed()
}

pub fn survey_batch() -> BoxedStrategy<Vec<SurveyResponse>> {
    batch(survey_response(), |r| r.id.clone(), |r, id| r.id = id)
}

pub fn journey_batch() -> BoxedStrategy<Vec<Journey>> {
    batch(journey(), |j| j.id.clone(), |j, id| j.id = id)
}

pub fn outcome_batch() -> BoxedStrategy<Vec<Outcome>> {
    batch(outcome(), |o| o.id.clone(), |o, id| o.id = id)
}

pub fn question() -> BoxedStrategy<Option<Question>> {
    let q = (
        mix(
            prop_oneof![3 => "q[a-z]{1,3}", 1 => select(vec!["speed".to_owned(), "improve".to_owned()])],
            nasty(),
        ),
        enum_value(2),
        mix(
            prop_oneof!["[A-Za-z ?]{0,30}", Just(SQL.to_owned())],
            prop_oneof![nasty(), Just("t".repeat(1001))],
        ),
        int(-3..=3),
        int(3..=12),
        int(0..=6),
        option::of(int(-3..=2)),
        any::<bool>(),
    )
        .prop_map(
            |(key, kind, text, scale_min, scale_max, favorable_min, unfavorable_max, built_in)| {
                Question {
                    key,
                    kind,
                    text,
                    scale_min,
                    scale_max,
                    favorable_min,
                    unfavorable_max,
                    built_in,
                }
            },
        );
    mix(q.prop_map(Some), Just(None))
}

pub fn weights() -> BoxedStrategy<Option<EffortWeights>> {
    let w = || mix(0.0..50.0, bad_double());
    let all = ((w(), w(), w(), w(), w()), (w(), w(), w(), w())).prop_map(
        |((a, b, c, d, e), (f, g, h, i))| EffortWeights {
            extra_contact: a,
            channel_switch: b,
            failed_self_service: c,
            transfer: d,
            repeated_information: e,
            minute: f,
            free_minutes: g,
            time_cap: h,
            unresolved: i,
        },
    );
    mix(all.prop_map(Some), Just(None))
}

pub fn priors() -> BoxedStrategy<Vec<OutcomePrior>> {
    let mean = || mix(0.0..=1.0, bad_double());
    let valid = (vec(mean(), 4), vec(mean(), 4)).prop_map(|(low, high)| {
        (1..=4)
            .map(|k| OutcomePrior {
                kind: k,
                low_mean: low[k as usize - 1],
                high_mean: high[k as usize - 1],
            })
            .collect()
    });
    let wild = vec(
        (enum_value(4), mean(), mean()).prop_map(|(kind, low_mean, high_mean)| OutcomePrior {
            kind,
            low_mean,
            high_mean,
        }),
        0..6,
    );
    mix(valid, wild)
}

/// How UpdateScoringModel's etag is chosen.
#[derive(Debug, Clone)]
pub enum Etag {
    Current,
    Given(String),
}

pub fn model() -> BoxedStrategy<(Option<ScoringModel>, Etag)> {
    let m = (
        int(1..=20),
        mix(0.5..=0.999, bad_double()),
        weights(),
        mix(1.0..40.0, bad_double()),
        mix(50.0..=100.0, bad_double()),
        mix(1.0..200.0, bad_double()),
        priors(),
    )
        .prop_map(
            |(min_group_size, confidence_level, weights, low, high, prior_strength, priors)| {
                ScoringModel {
                    min_group_size,
                    confidence_level,
                    weights,
                    low_effort_below: low,
                    high_effort_from: high,
                    prior_strength,
                    priors,
                    etag: String::new(),
                    ..Default::default()
                }
            },
        );
    (
        mix(m.prop_map(Some), Just(None)),
        mix(Just(Etag::Current), nasty().prop_map(Etag::Given)),
    )
        .boxed()
}

/// Windows of at most 90 days when valid (a trend scores every bucket),
/// with every other field from the pools.
pub fn trend_request() -> BoxedStrategy<GetTrendRequest> {
    let window =
        (valid_ts(), 1i64..90 * 86_400, valid_labels()).prop_map(|(start, span, labels)| {
            Some(ScoreFilter {
                end_time: Some(stamp(start.seconds + span, start.nanos)),
                start_time: Some(start),
                labels,
                ..Default::default()
            })
        });
    (
        enum_value(7),
        enum_value(3),
        mix(window, filter()),
        mix(question_key(), Just(String::new())),
        enum_value(3),
        enum_value(3),
        confidence(),
    )
        .prop_map(
            |(metric, bucket, filter, question, role, to_role, confidence_level)| GetTrendRequest {
                metric,
                bucket,
                filter,
                question,
                role,
                to_role,
                confidence_level,
            },
        )
        .boxed()
}

/// Who calls a catalog read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Acme,
    Globex,
}

/// A protobuf field the request does not declare (the catalog reads'
/// requests declare none), which a server must skip (AIP-180).
#[derive(Debug, Clone)]
pub enum UnknownField {
    Varint(u32, u64),
    Fixed64(u32, u64),
    Fixed32(u32, u32),
    Bytes(u32, Vec<u8>),
}

/// A catalog read: the caller and the unknown fields its request carries.
pub fn catalog_read() -> BoxedStrategy<(Caller, Vec<UnknownField>)> {
    // Field numbers: small ones, and any up to 2^29 − 1.
    let number = || prop_oneof![1u32..=20, 1u32..=536_870_911];
    let field = prop_oneof![
        (number(), any::<u64>()).prop_map(|(n, v)| UnknownField::Varint(n, v)),
        (number(), any::<u64>()).prop_map(|(n, v)| UnknownField::Fixed64(n, v)),
        (number(), any::<u32>()).prop_map(|(n, v)| UnknownField::Fixed32(n, v)),
        (number(), vec(any::<u8>(), 0..64)).prop_map(|(n, v)| UnknownField::Bytes(n, v)),
    ];
    (
        prop_oneof![Just(Caller::Acme), Just(Caller::Globex)],
        vec(field, 0..4),
    )
        .boxed()
}

/// The wire encoding of `fields`: a valid message of unknown fields.
pub fn encode_unknown(fields: &[UnknownField]) -> Vec<u8> {
    use prost::encoding::{WireType, encode_key, encode_varint};
    let mut buf = Vec::new();
    for field in fields {
        match field {
            UnknownField::Varint(n, v) => {
                encode_key(*n, WireType::Varint, &mut buf);
                encode_varint(*v, &mut buf);
            }
            UnknownField::Fixed64(n, v) => {
                encode_key(*n, WireType::SixtyFourBit, &mut buf);
                buf.extend_from_slice(&v.to_le_bytes());
            }
            UnknownField::Fixed32(n, v) => {
                encode_key(*n, WireType::ThirtyTwoBit, &mut buf);
                buf.extend_from_slice(&v.to_le_bytes());
            }
            UnknownField::Bytes(n, v) => {
                encode_key(*n, WireType::LengthDelimited, &mut buf);
                encode_varint(v.len() as u64, &mut buf);
                buf.extend_from_slice(v);
            }
        }
    }
    buf
}
