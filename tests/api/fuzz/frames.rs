//! Existing scores do not move when answers in the other frames join the
//! same responses (issue 17, SPEC §16.1: "every score of §5–15 uses
//! EXPERIENCE answers only").
//!
//! Per case, a random data set (responses of every role with random
//! EXPERIENCE answers and themes, journeys, outcomes) goes into two fresh
//! tenants through the real server: as it is into one, and into the other
//! with random EXPECTATION, IMPORTANCE and COMPETITOR answers added to the
//! same responses — on questions the response answered and on ones it did
//! not, `ease` EXPECTATION answers (which must touch neither CES nor
//! effort tiers) in about half of them. Every existing read of the two
//! tenants ([`existing_scores`]) must then be byte-identical.
//!
//! Cases: `GAPSCORE_FUZZ_CASES` like the other fuzz tests (default 32, what
//! CI runs); a failure shrinks to a minimal data set. For more:
//! `GAPSCORE_FUZZ_CASES=500 scripts/test --test api fuzz::frames`.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use chrono::{DateTime, Duration, TimeZone, Utc};
use gapscore::proto::v1::*;
use proptest::{
    collection::{btree_map, btree_set, vec},
    option,
    prelude::*,
};
use sqlx::PgPool;
use tonic::Code;

use super::harness::{Tally, fuzz};
use crate::helpers::{
    TestApp,
    scores::{Probe, existing_scores, first_difference},
    spawn_app, timestamp,
};

/// The built-in RATING questions and their scales.
const RATINGS: [(&str, i32, i32); 9] = [
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
const EASE: usize = 6;
const ROLES: [RespondentRole; 3] = [
    RespondentRole::Leadership,
    RespondentRole::Staff,
    RespondentRole::Customer,
];
const CUSTOMERS: u8 = 6;
const REGIONS: [&str; 2] = ["emea", "amer"];
const PRODUCTS: [&str; 2] = ["tv", "mobile"];
const THEMES: [&str; 4] = ["wait times", "pricing", "billing errors", "friendly staff"];
const COMPETITORS: [&str; 2] = ["acme", "globex"];
/// Five weeks from a Monday: every record falls inside.
const MINUTES: u32 = 35 * 24 * 60;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
}

fn at(minute: u32) -> prost_types::Timestamp {
    timestamp(base() + Duration::minutes(i64::from(minute)))
}

/// A score on question `q`'s scale from a random byte.
fn on_scale(q: usize, seed: u8) -> i32 {
    let (_, min, max) = RATINGS[q];
    min + i32::from(seed) % (max - min + 1)
}

/// One generated response.
#[derive(Debug, Clone)]
struct Resp {
    role: u8,
    customer: u8,
    minute: u32,
    region: Option<u8>,
    product: u8,
    /// `w1` or none.
    surveyed: bool,
    /// Question index -> score byte: 1-5 EXPERIENCE answers.
    experience: BTreeMap<usize, u8>,
    /// An `improve` THEMES answer.
    improve: Option<std::collections::BTreeSet<u8>>,
    /// (question index, frame slot) -> score byte, the slot 0 EXPECTATION,
    /// 1 IMPORTANCE, 2 and 3 COMPETITOR acme and globex; added only in the
    /// framed tenant.
    framed: BTreeMap<(usize, u8), u8>,
    /// An `ease` EXPECTATION answer (unless `framed` has one).
    ease_expectation: Option<u8>,
}

#[derive(Debug, Clone)]
struct Jrn {
    customer: u8,
    minute: u32,
    region: Option<u8>,
    /// (channel, outcome, minutes, wait minutes, transfers, repeated).
    touchpoints: Vec<(u8, u8, u8, u8, u8, bool)>,
}

#[derive(Debug, Clone)]
struct Out {
    customer: u8,
    kind: u8,
    occurred: bool,
    minute: u32,
}

#[derive(Debug, Clone)]
struct DataSet {
    responses: Vec<Resp>,
    journeys: Vec<Jrn>,
    outcomes: Vec<Out>,
}

fn resp() -> impl Strategy<Value = Resp> {
    (
        (
            0u8..3,
            0..CUSTOMERS,
            0..MINUTES,
            option::of(0u8..2),
            0u8..2,
            any::<bool>(),
        ),
        btree_map(0..RATINGS.len(), any::<u8>(), 1..=5),
        option::weighted(0.3, btree_set(0u8..4, 1..3)),
        btree_map((0..RATINGS.len(), 0u8..4), any::<u8>(), 0..8),
        option::weighted(0.5, any::<u8>()),
    )
        .prop_map(
            |(
                (role, customer, minute, region, product, surveyed),
                experience,
                improve,
                framed,
                ease_expectation,
            )| Resp {
                role,
                customer,
                minute,
                region,
                product,
                surveyed,
                experience,
                improve,
                framed,
                ease_expectation,
            },
        )
}

fn jrn() -> impl Strategy<Value = Jrn> {
    (
        0..CUSTOMERS,
        0..MINUTES - 24 * 60,
        option::of(0u8..2),
        vec(
            (0u8..9, 0u8..3, 1u8..30, 0u8..20, 0u8..3, any::<bool>()),
            1..5,
        ),
    )
        .prop_map(|(customer, minute, region, touchpoints)| Jrn {
            customer,
            minute,
            region,
            touchpoints,
        })
}

fn out() -> impl Strategy<Value = Out> {
    (0..CUSTOMERS, 0u8..4, any::<bool>(), 0..MINUTES).prop_map(
        |(customer, kind, occurred, minute)| Out {
            customer,
            kind,
            occurred,
            minute,
        },
    )
}

fn data_set() -> impl Strategy<Value = DataSet> {
    (vec(resp(), 1..48), vec(jrn(), 0..12), vec(out(), 0..10)).prop_map(
        |(responses, journeys, outcomes)| DataSet {
            responses,
            journeys,
            outcomes,
        },
    )
}

fn customer_id(c: u8) -> String {
    format!("c{c}")
}

fn labels(region: Option<u8>, product: Option<u8>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(r) = region {
        out.insert("region".to_owned(), REGIONS[usize::from(r)].to_owned());
    }
    if let Some(p) = product {
        out.insert("product".to_owned(), PRODUCTS[usize::from(p)].to_owned());
    }
    out
}

fn rating(q: usize, seed: u8) -> Answer {
    Answer {
        question: RATINGS[q].0.to_owned(),
        score: Some(on_scale(q, seed)),
        ..Default::default()
    }
}

impl Resp {
    /// The response as sent to the tenant without frames, or (`framed`)
    /// with its framed answers interleaved: first, among and after the
    /// EXPERIENCE answers, since the order must not matter either.
    fn to_proto(&self, i: usize, framed: bool) -> SurveyResponse {
        let role = ROLES[usize::from(self.role)];
        let mut answers: Vec<Answer> = self
            .experience
            .iter()
            .map(|(q, s)| rating(*q, *s))
            .collect();
        if let Some(themes) = &self.improve {
            answers.push(Answer {
                question: "improve".into(),
                themes: themes
                    .iter()
                    .map(|t| THEMES[usize::from(*t)].into())
                    .collect(),
                ..Default::default()
            });
        }
        if framed {
            let mut extra: BTreeMap<(usize, u8), u8> = self.framed.clone();
            if let Some(s) = self.ease_expectation {
                extra.entry((EASE, 0)).or_insert(s);
            }
            for (n, ((q, slot), s)) in extra.into_iter().enumerate() {
                let (frame, competitor) = match slot {
                    0 => (AnswerFrame::Expectation, ""),
                    1 => (AnswerFrame::Importance, ""),
                    c => (AnswerFrame::Competitor, COMPETITORS[usize::from(c - 2)]),
                };
                let answer = Answer {
                    frame: frame as i32,
                    competitor: competitor.to_owned(),
                    ..rating(q, s)
                };
                answers.insert(n * 2 % (answers.len() + 1), answer);
            }
        }
        SurveyResponse {
            id: format!("r{i}"),
            role: role as i32,
            respondent_id: if role == RespondentRole::Customer {
                customer_id(self.customer)
            } else {
                String::new()
            },
            survey_id: if self.surveyed {
                "w1".into()
            } else {
                String::new()
            },
            submitted_at: Some(at(self.minute)),
            labels: labels(self.region, Some(self.product)),
            answers,
        }
    }
}

impl Jrn {
    fn to_proto(&self, i: usize) -> Journey {
        let mut minute = self.minute;
        let touchpoints = self
            .touchpoints
            .iter()
            .map(|&(channel, outcome, minutes, wait, transfers, repeated)| {
                let t = Touchpoint {
                    channel: i32::from(channel) + 1,
                    initiator: Initiator::Customer as i32,
                    occurred_at: Some(at(minute)),
                    duration_seconds: i32::from(minutes) * 60,
                    wait_seconds: i32::from(wait) * 60,
                    outcome: i32::from(outcome) + 1,
                    transfers: i32::from(transfers),
                    repeated_information: repeated,
                };
                minute += u32::from(minutes) + u32::from(wait) + 5;
                t
            })
            .collect();
        Journey {
            id: format!("j{i}"),
            customer_id: customer_id(self.customer),
            intent: "billing_question".into(),
            labels: labels(self.region, None),
            touchpoints,
            ..Default::default()
        }
    }
}

impl Out {
    fn to_proto(&self, i: usize) -> Outcome {
        Outcome {
            id: format!("o{i}"),
            customer_id: customer_id(self.customer),
            kind: i32::from(self.kind) + 1,
            occurred: self.occurred,
            observed_at: Some(at(self.minute)),
        }
    }
}

/// Loads `data` into the tenant of `key`, with or without its framed
/// answers.
async fn load(app: &TestApp, key: &str, data: &DataSet, framed: bool) {
    let responses = data
        .responses
        .iter()
        .enumerate()
        .map(|(i, r)| r.to_proto(i, framed))
        .collect();
    app.submit_responses_as(key, responses)
        .await
        .expect("responses accepted");
    if !data.journeys.is_empty() {
        let journeys = data
            .journeys
            .iter()
            .enumerate()
            .map(|(i, j)| j.to_proto(i))
            .collect();
        app.submit_journeys_as(key, journeys)
            .await
            .expect("journeys accepted");
    }
    if !data.outcomes.is_empty() {
        let outcomes = data
            .outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| o.to_proto(i))
            .collect();
        app.submit_outcomes_as(key, outcomes)
            .await
            .expect("outcomes accepted");
    }
}

fn probe() -> Probe {
    Probe {
        start: at(0),
        end: at(MINUTES),
        region: REGIONS[0],
        survey_id: "w1",
        customers: (0..=CUSTOMERS).map(customer_id).collect(),
        bucket: TrendBucket::Week,
        new_themes: &[],
    }
}

#[sqlx::test]
async fn existing_scores_are_unchanged_by_answers_in_other_frames(pool: PgPool) {
    let started = Instant::now();
    let app = Arc::new(spawn_app(pool).await);
    let tally = Arc::new(Tally::default());
    let case = Arc::new(AtomicU64::new(0));
    fuzz(
        &tally,
        "frames: existing scores unchanged",
        data_set,
        move |data| {
            let (app, case) = (app.clone(), case.clone());
            async move {
                // Two fresh tenants per case (and per shrinking step).
                let n = case.fetch_add(1, Ordering::Relaxed);
                let plain = app.add_tenant(&format!("plain-{n}")).await;
                let framed = app.add_tenant(&format!("framed-{n}")).await;
                load(&app, &plain, &data, false).await;
                load(&app, &framed, &data, true).await;
                let probe = probe();
                let without = existing_scores(&app, &plain, &probe).await;
                let with = existing_scores(&app, &framed, &probe).await;
                if let Some(difference) = first_difference(&without, &with) {
                    return Err(TestCaseError::fail(difference));
                }
                Ok(Code::Ok)
            }
        },
    )
    .await;
    tally.print("frames", started);
}
