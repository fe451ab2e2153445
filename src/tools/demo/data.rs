//! The demo data set: deterministic records, generated from a seed, as the
//! `gapscore.v1` messages a client would send. The answers in the frames of
//! SPEC §16 come from a second seed, in `frames`.
//!
//! What each figure of SPEC §10–§11 finds in it (issue 13; asserted
//! through the server by tests/api/demo.rs):
//! - a real change: customers' NPS falls by about 20 points in October
//!   2026 ([`OCTOBER_DROP`]), so `GetChange` of October against September
//!   and the monthly trend's `change_from_previous` for October are
//!   significant (after FDR control too), while the months before move by
//!   noise only;
//! - a segment really worse than the rest: EMEA customers
//!   ([`regional_tilt`]) are below the other regions on most ratings and on
//!   NPS, so the region `group_by`'s `vs_rest` is significant for them;
//! - drivers of different weight: the recommendation follows the strain
//!   behind `ease` and, less, speed, knowledgeable help, friendly support
//!   and the overall experience ([`RECOMMENDATION_WEIGHTS`]), so
//!   `GetKeyDrivers` spreads its weights (about 34/31/22/6/4%);
//! - a loyalty model that does not fit: outcomes follow the strain more
//!   gently than the published priors, so HIGH-effort customers speak badly
//!   of the company about half the time, not the prior's 81%
//!   (`calibration_quality`).
//!
//! Only the `likelihood_to_recommend` scores changed for this; every other
//! record and answer is what it was (the fingerprints in `frames`' tests).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::{grpc::convert::utc_to_timestamp, proto::v1::*};

/// The seed of the demo's records and their EXPERIENCE answers.
pub const SEED: u64 = 20_261_101;

/// The seed of the answers in the other frames (SPEC §16), a stream of its
/// own so that adding them changed no draw of [`SEED`]'s.
pub const FRAMES_SEED: u64 = 20_261_201;

/// The demo window: 26 weeks ending on this instant (exclusive).
pub fn demo_end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// Start of the demo window.
pub fn demo_start() -> DateTime<Utc> {
    demo_end() - Duration::weeks(26)
}

/// The generated records.
#[derive(Debug, Clone, Default)]
pub struct DemoData {
    pub responses: Vec<SurveyResponse>,
    pub journeys: Vec<Journey>,
    pub outcomes: Vec<Outcome>,
}

const REGIONS: [&str; 3] = ["emea", "amer", "apac"];
const PRODUCTS: [&str; 3] = ["broadband", "mobile", "tv"];
const CUSTOMERS: usize = 2400;
const LEADERS: usize = 60;
const STAFF: usize = 420;

/// Probability that a role rates a five-point question favorably.
struct Favorability {
    leadership: f64,
    staff: f64,
    customer: f64,
}

/// The five-point questions and how rosy each side is about them. The
/// delivery gap (overall_experience) is the 80%-vs-8% of Bain's study;
/// customer centricity the 50%-vs-10%; the rest smaller gaps.
const RATINGS: [(&str, Favorability); 6] = [
    (
        "overall_experience",
        Favorability {
            leadership: 0.80,
            staff: 0.52,
            customer: 0.08,
        },
    ),
    (
        "customer_centricity",
        Favorability {
            leadership: 0.50,
            staff: 0.38,
            customer: 0.10,
        },
    ),
    (
        "speed",
        Favorability {
            leadership: 0.66,
            staff: 0.45,
            customer: 0.31,
        },
    ),
    (
        "convenience",
        Favorability {
            leadership: 0.70,
            staff: 0.58,
            customer: 0.42,
        },
    ),
    (
        "knowledgeable_help",
        Favorability {
            leadership: 0.72,
            staff: 0.61,
            customer: 0.55,
        },
    ),
    (
        "friendly_support",
        Favorability {
            leadership: 0.78,
            staff: 0.74,
            customer: 0.71,
        },
    ),
];

/// Regional tilt of customers' favorability: APAC customers are a little
/// happier, EMEA customers a little less.
fn regional_tilt(region: &str) -> f64 {
    match region {
        "apac" => 1.5,
        "emea" => 0.7,
        _ => 1.0,
    }
}

/// A score on 1..=5 that is favorable (4-5) with probability `p`, and
/// otherwise mostly unfavorable (1-2) or neutral (3).
pub(super) fn five_point(rng: &mut StdRng, p: f64) -> i32 {
    if rng.random_bool(p.clamp(0.0, 1.0)) {
        if rng.random_bool(0.45) { 5 } else { 4 }
    } else if rng.random_bool(0.6) {
        rng.random_range(1..=2)
    } else {
        3
    }
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// Picks themes: each candidate is mentioned with its probability.
pub(super) fn themes(rng: &mut StdRng, candidates: &[(&str, f64)]) -> Vec<String> {
    let mut out: Vec<String> = candidates
        .iter()
        .filter(|(_, p)| rng.random_bool(*p))
        .map(|(t, _)| (*t).to_owned())
        .collect();
    if out.is_empty() {
        out.push(candidates[0].0.to_owned());
    }
    out
}

pub(super) fn rating(question: &str, score: i32) -> Answer {
    Answer {
        question: question.into(),
        score: Some(score),
        themes: vec![],
        ..Default::default()
    }
}

pub(super) fn theme_answer(question: &str, themes: Vec<String>) -> Answer {
    Answer {
        question: question.into(),
        score: None,
        themes,
        ..Default::default()
    }
}

fn at(rng: &mut StdRng) -> DateTime<Utc> {
    let span = (demo_end() - demo_start()).num_seconds() - 3600;
    demo_start() + Duration::seconds(rng.random_range(0..span))
}

fn labels(region: &str, product: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("region".to_owned(), region.to_owned()),
        ("product".to_owned(), product.to_owned()),
    ])
}

/// Generates the demo data set: the records and their EXPERIENCE answers
/// from `seed`, then the answers in the other frames from `frames_seed`,
/// appended after them.
pub fn generate(seed: u64, frames_seed: u64) -> DemoData {
    let mut data = records(seed);
    super::frames::answer_in_frames(&mut data, frames_seed);
    data
}

/// The records, every answer in the EXPERIENCE frame.
pub(super) fn records(seed: u64) -> DemoData {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut data = DemoData::default();

    // Each customer's home region and product, and how effortful their
    // experience tends to be (drives journeys, ease, NPS and outcomes).
    let customers: Vec<(String, &str, &str, f64)> = (1..=CUSTOMERS)
        .map(|i| {
            let region = pick(&mut rng, &REGIONS);
            let product = pick(&mut rng, &PRODUCTS);
            let strain: f64 = rng.random();
            // Customer 1 lives the card-update story: a hard time.
            let strain = if i == 1 { 0.95 } else { strain };
            (format!("cust-{i:04}"), region, product, strain)
        })
        .collect();

    let inside_improve = [
        ("product range", 0.5),
        ("pricing", 0.4),
        ("marketing", 0.3),
        ("wait times", 0.08),
    ];
    let customer_improve = [
        ("wait times", 0.55),
        ("billing errors", 0.4),
        ("self-service failures", 0.35),
        ("repeating information", 0.3),
        ("pricing", 0.25),
    ];
    let inside_do_well = [
        ("innovation", 0.5),
        ("friendly staff", 0.5),
        ("product range", 0.4),
    ];
    let customer_do_well = [
        ("friendly staff", 0.5),
        ("coverage", 0.3),
        ("product range", 0.2),
    ];

    let push_inside =
        |rng: &mut StdRng, data: &mut DemoData, role: RespondentRole, n: usize, prefix: &str| {
            for i in 1..=n {
                let region = pick(rng, &REGIONS);
                let product = pick(rng, &PRODUCTS);
                let mut answers: Vec<Answer> = RATINGS
                    .iter()
                    .map(|(q, f)| {
                        let p = if role == RespondentRole::Leadership {
                            f.leadership
                        } else {
                            f.staff
                        };
                        rating(q, five_point(rng, p))
                    })
                    .collect();
                answers.push(theme_answer("improve", themes(rng, &inside_improve)));
                answers.push(theme_answer("do_well", themes(rng, &inside_do_well)));
                data.responses.push(SurveyResponse {
                    id: format!("{prefix}-{i:04}"),
                    role: role as i32,
                    respondent_id: format!("{prefix}-{i:04}"),
                    survey_id: "cx-pulse-2026".into(),
                    submitted_at: Some(utc_to_timestamp(at(rng))),
                    labels: labels(region, product),
                    answers,
                });
            }
        };
    push_inside(
        &mut rng,
        &mut data,
        RespondentRole::Leadership,
        LEADERS,
        "lead",
    );
    push_inside(&mut rng, &mut data, RespondentRole::Staff, STAFF, "staff");

    for (i, (customer, region, product, strain)) in customers.iter().enumerate() {
        // Most customers answer the survey; some only leave journeys.
        if i % 10 == 9 {
            continue;
        }
        let tilt = regional_tilt(region);
        let ratings: Vec<i32> = RATINGS
            .iter()
            .map(|(_, f)| five_point(&mut rng, (f.customer * tilt).min(0.95)))
            .collect();
        // Ease (1-7): high strain means a hard time.
        let ease = (7.0 - strain * 6.0 + rng.random_range(-1.0..1.0))
            .round()
            .clamp(1.0, 7.0) as i32;
        // The draws stay in the order they always had; the recommendation
        // is scored once the submission time is known (see
        // `likelihood_to_recommend`).
        let nps_noise = rng.random_range(-2.0..2.0);
        let csat = five_point(&mut rng, 0.75 - strain * 0.6);
        let improve = themes(&mut rng, &customer_improve);
        let do_well = themes(&mut rng, &customer_do_well);
        let submitted_at = at(&mut rng);
        let nps = likelihood_to_recommend(*strain, &ratings, nps_noise, submitted_at);
        let mut answers: Vec<Answer> = RATINGS
            .iter()
            .zip(&ratings)
            .map(|((q, _), score)| rating(q, *score))
            .collect();
        answers.push(rating("ease", ease));
        answers.push(rating("likelihood_to_recommend", nps));
        answers.push(rating("csat", csat));
        answers.push(theme_answer("improve", improve));
        answers.push(theme_answer("do_well", do_well));
        data.responses.push(SurveyResponse {
            id: format!("resp-{customer}"),
            role: RespondentRole::Customer as i32,
            respondent_id: customer.clone(),
            survey_id: "cx-pulse-2026".into(),
            submitted_at: Some(utc_to_timestamp(submitted_at)),
            labels: labels(region, product),
            answers,
        });
    }

    data.journeys.push(card_update_story(
        &customers[0].0,
        customers[0].1,
        customers[0].2,
    ));
    for (i, (customer, region, product, strain)) in customers.iter().enumerate().skip(1) {
        if i % 4 == 3 {
            continue;
        }
        data.journeys.push(random_journey(
            &mut rng,
            &format!("jrn-{i:04}"),
            customer,
            region,
            product,
            *strain,
        ));
    }

    // Outcomes observed a few weeks after the experience, for a third of
    // the customers: high strain makes bad outcomes likelier.
    let mut n = 0;
    for (i, (customer, _, _, strain)) in customers.iter().enumerate() {
        if i % 3 != 0 {
            continue;
        }
        let observed_at = demo_end() - Duration::days(rng.random_range(1..20));
        let events = [
            (
                OutcomeKind::NegativeWordOfMouth,
                0.02 + 0.75 * strain * strain,
            ),
            (OutcomeKind::Disloyalty, 0.08 + 0.8 * strain * strain),
            (OutcomeKind::Repurchase, 0.92 - 0.85 * strain),
        ];
        for (kind, p) in events {
            n += 1;
            data.outcomes.push(Outcome {
                id: format!("out-{n:05}"),
                customer_id: customer.clone(),
                kind: kind as i32,
                occurred: rng.random_bool(p.clamp(0.0, 1.0)),
                observed_at: Some(utc_to_timestamp(observed_at)),
            });
        }
    }
    data
}

/// How much each customer rating moves the recommendation (0-10), per
/// point of its score above 3, in `RATINGS` order: speed and knowledgeable
/// help most, the overall experience and friendly support less,
/// convenience barely, customer centricity not at all. With the strain
/// behind `ease` (and `csat`), this gives `GetKeyDrivers` drivers of
/// clearly different weight.
const RECOMMENDATION_WEIGHTS: [f64; 6] = [0.45, 0.0, 0.95, 0.1, 0.75, 0.35];

/// How far the recommendation (0-10) falls for responses of October 2026
/// ([`october`]; an October billing migration, in the story): about 20
/// NPS points. The months before move only by sampling noise, so
/// `GetTrend`'s `change_from_previous` is significant after FDR control
/// for October alone, and `GetChange` of October against September is
/// significant.
const OCTOBER_DROP: f64 = 0.6;

/// October 2026, `[start, end)`.
fn october() -> (DateTime<Utc>, DateTime<Utc>) {
    let day = |m| {
        Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0)
            .single()
            .expect("valid date")
    };
    (day(10), day(11))
}

/// A customer's likelihood to recommend (0-10): lower with strain (the
/// effort behind `ease`), higher with better ratings
/// ([`RECOMMENDATION_WEIGHTS`]), lower in October ([`OCTOBER_DROP`]),
/// plus `noise`.
fn likelihood_to_recommend(
    strain: f64,
    ratings: &[i32],
    noise: f64,
    submitted_at: DateTime<Utc>,
) -> i32 {
    let from_ratings: f64 = ratings
        .iter()
        .zip(RECOMMENDATION_WEIGHTS)
        .map(|(score, w)| w * f64::from(score - 3))
        .sum();
    let (start, end) = october();
    let drop = if (start..end).contains(&submitted_at) {
        OCTOBER_DROP
    } else {
        0.0
    };
    (8.5 - strain * 5.0 + from_ratings - drop + noise)
        .round()
        .clamp(0.0, 10.0) as i32
}

fn touchpoint(
    channel: Channel,
    initiator: Initiator,
    occurred_at: DateTime<Utc>,
    duration_seconds: i32,
    wait_seconds: i32,
    outcome: TouchpointOutcome,
) -> Touchpoint {
    Touchpoint {
        channel: channel as i32,
        initiator: initiator as i32,
        occurred_at: Some(utc_to_timestamp(occurred_at)),
        duration_seconds,
        wait_seconds,
        outcome: outcome as i32,
        transfers: 0,
        repeated_information: false,
    }
}

/// SPEC §1: three reminder e-mails ignored, 20 minutes failing on the web
/// portal, 10 in the IVR, then an agent fixes it on the first call after an
/// 8-minute wait. The company records a first-contact resolution; the
/// customer made four attempts (effort index 90, HIGH).
pub fn card_update_story(customer: &str, region: &str, product: &str) -> Journey {
    use {
        Channel::*,
        Initiator::*,
        TouchpointOutcome::{Resolved, Unresolved},
    };
    let t0 = demo_end() - Duration::days(20);
    let minutes = |m: i64| t0 + Duration::minutes(m);
    Journey {
        id: "jrn-card-update".into(),
        customer_id: customer.into(),
        intent: "update_payment_method".into(),
        labels: labels(region, product),
        touchpoints: vec![
            touchpoint(
                Email,
                Company,
                t0 - Duration::days(9),
                0,
                0,
                TouchpointOutcome::Unspecified,
            ),
            touchpoint(
                Email,
                Company,
                t0 - Duration::days(6),
                0,
                0,
                TouchpointOutcome::Unspecified,
            ),
            touchpoint(
                Email,
                Company,
                t0 - Duration::days(3),
                0,
                0,
                TouchpointOutcome::Unspecified,
            ),
            touchpoint(Web, Customer, minutes(0), 20 * 60, 0, Unresolved),
            touchpoint(Ivr, Customer, minutes(30), 10 * 60, 0, Unresolved),
            touchpoint(Phone, Customer, minutes(45), 7 * 60, 8 * 60, Resolved),
        ],
        effort_index: 0.0,
        effort_tier: 0,
    }
}

const INTENTS: [&str; 5] = [
    "update_payment_method",
    "billing_question",
    "technical_support",
    "change_plan",
    "cancel_subscription",
];

fn random_journey(
    rng: &mut StdRng,
    id: &str,
    customer: &str,
    region: &str,
    product: &str,
    strain: f64,
) -> Journey {
    use Channel::*;
    let self_service = [Web, MobileApp, Ivr, Chatbot];
    let assisted = [Phone, LiveChat, Email, Social, InPerson];
    let mut t = at(rng) - Duration::days(2);
    // Self-service often fails and customers escalate; agents usually fix
    // what reaches them, so the contact centre's first-contact resolution
    // looks far better than the customer's one-touch experience.
    let max_contacts = 1 + (strain * 4.0 * rng.random::<f64>()).round() as usize;
    let mut touchpoints = Vec::new();
    if rng.random_bool(0.3) {
        touchpoints.push(touchpoint(
            Email,
            Initiator::Company,
            t,
            0,
            0,
            TouchpointOutcome::Unspecified,
        ));
        t += Duration::hours(rng.random_range(1..48));
    }
    let mut channel = if rng.random_bool(0.6) {
        self_service[rng.random_range(0..4)]
    } else {
        assisted[rng.random_range(0..5)]
    };
    for i in 0..max_contacts {
        let is_self = matches!(channel, Web | MobileApp | Ivr | Chatbot);
        let p_resolve = if is_self {
            0.55 - 0.4 * strain
        } else {
            0.9 - 0.25 * strain
        };
        let last = i + 1 == max_contacts;
        let resolved = rng.random_bool(p_resolve) || (last && rng.random_bool(0.85));
        let outcome = if resolved {
            TouchpointOutcome::Resolved
        } else if rng.random_bool(0.3) {
            TouchpointOutcome::Abandoned
        } else {
            TouchpointOutcome::Unresolved
        };
        let duration = rng.random_range(60..(if is_self { 900 } else { 1200 }));
        let wait = if is_self {
            0
        } else {
            rng.random_range(0..(120 + (strain * 900.0) as i32))
        };
        let mut tp = touchpoint(channel, Initiator::Customer, t, duration, wait, outcome);
        if !is_self {
            tp.transfers = if rng.random_bool(strain * 0.5) {
                rng.random_range(1..3)
            } else {
                0
            };
            tp.repeated_information = tp.transfers > 0 || rng.random_bool(strain * 0.3);
        }
        touchpoints.push(tp);
        if resolved {
            break;
        }
        t += Duration::minutes(rng.random_range(5..240));
        // After a failed self-service attempt customers usually escalate.
        if is_self && rng.random_bool(0.7) {
            channel = assisted[rng.random_range(0..5)];
        } else if rng.random_bool(0.3) {
            channel = self_service[rng.random_range(0..4)];
        }
    }
    Journey {
        id: id.into(),
        customer_id: customer.into(),
        intent: INTENTS[rng.random_range(0..INTENTS.len())].into(),
        labels: labels(region, product),
        touchpoints,
        effort_index: 0.0,
        effort_tier: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic() {
        let a = generate(SEED, FRAMES_SEED);
        let b = generate(SEED, FRAMES_SEED);
        assert_eq!(a.responses, b.responses);
        assert_eq!(a.journeys, b.journeys);
        assert_eq!(a.outcomes, b.outcomes);
        // The sizes docs/WALKTHROUGH.md and the README quote.
        assert_eq!(
            (a.responses.len(), a.journeys.len(), a.outcomes.len()),
            (2640, 1800, 2400)
        );
    }

    #[test]
    fn the_delivery_gap_is_near_the_published_figures() {
        let data = generate(SEED, FRAMES_SEED);
        let share = |role: RespondentRole| {
            let scores: Vec<i32> = data
                .responses
                .iter()
                .filter(|r| r.role == role as i32)
                .flat_map(|r| {
                    r.answers
                        .iter()
                        .filter(|a| a.question == "overall_experience")
                        .filter_map(|a| a.score)
                })
                .collect();
            scores.iter().filter(|s| **s >= 4).count() as f64 / scores.len() as f64
        };
        let (lead, cust) = (
            share(RespondentRole::Leadership),
            share(RespondentRole::Customer),
        );
        assert!((0.7..0.9).contains(&lead), "leadership {lead}");
        assert!((0.05..0.12).contains(&cust), "customers {cust}");
    }

    /// Customers' EXPERIENCE score of `question` in `r`.
    fn score(r: &SurveyResponse, question: &str) -> Option<i32> {
        r.answers
            .iter()
            .find(|a| a.question == question && a.frame == 0)
            .and_then(|a| a.score)
    }

    fn customers(data: &DemoData) -> impl Iterator<Item = &SurveyResponse> {
        data.responses
            .iter()
            .filter(|r| r.role == RespondentRole::Customer as i32)
    }

    /// NPS (promoters 9-10 minus detractors 0-6, in points) and n of the
    /// customer responses `keep` selects.
    fn nps(data: &DemoData, keep: impl Fn(&SurveyResponse) -> bool) -> (f64, usize) {
        let scores: Vec<i32> = customers(data)
            .filter(|r| keep(r))
            .filter_map(|r| score(r, "likelihood_to_recommend"))
            .collect();
        let net: i32 = scores
            .iter()
            .map(|s| match s {
                9.. => 1,
                ..=6 => -1,
                _ => 0,
            })
            .sum();
        (f64::from(net) / scores.len() as f64 * 100.0, scores.len())
    }

    #[test]
    fn nps_falls_in_october_and_only_then() {
        let data = generate(SEED, FRAMES_SEED);
        let month = |m: u32| {
            let start = Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0).unwrap();
            let end = Utc.with_ymd_and_hms(2026, m + 1, 1, 0, 0, 0).unwrap();
            nps(&data, |r| {
                let t = r.submitted_at.as_ref().unwrap();
                let t = DateTime::from_timestamp(t.seconds, 0).unwrap();
                (start..end).contains(&t)
            })
        };
        let months: Vec<(f64, usize)> = (6..=10).map(month).collect();
        for pair in months.windows(2) {
            assert!(pair[0].1 > 300 && pair[1].1 > 300, "{months:?}");
        }
        // June to September: noise of a few points; October: a fall of
        // about 20 (GetChange gives p < 0.001 for it, tests/api/demo.rs).
        for pair in months[..4].windows(2) {
            assert!((pair[1].0 - pair[0].0).abs() < 8.0, "{months:?}");
        }
        let fall = months[4].0 - months[3].0;
        assert!(fall < -15.0, "{months:?}");
        // The whole window's NPS stays near the −35 the docs quoted before.
        let (all, n) = nps(&data, |_| true);
        assert_eq!(n, 2160);
        assert!((-40.0..-30.0).contains(&all), "{all}");
    }

    #[test]
    fn the_recommendation_has_drivers_of_different_weight() {
        use crate::scoring::drivers::{CrossProducts, relative_weights};
        let data = generate(SEED, FRAMES_SEED);
        let drivers = [
            "overall_experience",
            "customer_centricity",
            "speed",
            "convenience",
            "knowledgeable_help",
            "friendly_support",
            "ease",
            "csat",
        ];
        let mut sums = CrossProducts::empty(drivers.len()).unwrap();
        for r in customers(&data) {
            let case: Vec<f64> = drivers
                .iter()
                .chain(["likelihood_to_recommend"].iter())
                .map(|q| f64::from(score(r, q).expect("every customer rates every question")))
                .collect();
            sums.add_case(&case).unwrap();
        }
        let weights = relative_weights(&sums).unwrap();
        let rescaled: Vec<(&str, f64)> = drivers
            .iter()
            .zip(&weights.drivers)
            .map(|(q, w)| (*q, w.rescaled_weight.unwrap()))
            .collect();
        // Ease (the strain), speed and knowledgeable help lead, none
        // dominates, friendly support carries a little, and customer
        // centricity and convenience nothing.
        let share = |q: &str| rescaled.iter().find(|(k, _)| *k == q).unwrap().1;
        assert!(rescaled.iter().all(|(_, w)| *w < 45.0), "{rescaled:?}");
        for q in ["ease", "speed", "knowledgeable_help"] {
            assert!(share(q) > 15.0, "{rescaled:?}");
        }
        assert!(share("friendly_support") > 3.0, "{rescaled:?}");
        for q in ["customer_centricity", "convenience"] {
            assert!(share(q) < 2.0, "{rescaled:?}");
        }
        assert!(
            (0.5..0.9).contains(&weights.r_squared),
            "{}",
            weights.r_squared
        );
    }

    #[test]
    fn every_channel_appears() {
        let data = generate(SEED, FRAMES_SEED);
        for channel in 1..=9 {
            assert!(
                data.journeys
                    .iter()
                    .any(|j| j.touchpoints.iter().any(|t| t.channel == channel)),
                "channel {channel} missing"
            );
        }
        assert_eq!(data.journeys[0].id, "jrn-card-update");
    }
}
