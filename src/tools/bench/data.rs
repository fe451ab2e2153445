//! Seeded synthetic records for the benchmark.
//!
//! Every record is a pure function of `(seed, kind, index)`: any slice of a
//! data set can be generated on its own, in any order, by any task, and the
//! same command always produces the same rows. Responses carry 6 RATING
//! answers (EXPERIENCE) and 3 labels; journeys about 5 touchpoints;
//! responses, journeys and outcomes share one customer population so
//! customer risk has data.
//!
//! Answers in the other frames (SPEC §16) come in fixed proportions, from a
//! random stream of their own (so the EXPERIENCE answers are those of
//! before frames), after the EXPERIENCE answers: a quarter of the customer
//! responses answer EXPECTATION and IMPORTANCE, and an eighth rate one of
//! two competitors, on each of their [`FRAMED_QUESTIONS`]; a quarter of the
//! LEADERSHIP and STAFF responses answer EXPECTATION on theirs (gap 1).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::{
    domain::{Numbered, enums::Channel as DomainChannel},
    grpc::convert::utc_to_timestamp,
    proto::v1::*,
};

/// Start of the synthetic data's time span.
pub fn span_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// Days covered by the synthetic data (two years).
pub const SPAN_DAYS: i64 = 730;

/// End (exclusive) of the synthetic data's time span.
pub fn span_end() -> DateTime<Utc> {
    span_start() + Duration::days(SPAN_DAYS)
}

/// Questions answered by insiders (LEADERSHIP, STAFF): six five-point ones.
const INSIDER_QUESTIONS: [&str; 6] = [
    "overall_experience",
    "customer_centricity",
    "speed",
    "convenience",
    "knowledgeable_help",
    "friendly_support",
];
/// Questions answered by customers: four shared five-point questions, CES
/// (`ease`, 1-7) and NPS (`likelihood_to_recommend`, 0-10).
const CUSTOMER_QUESTIONS: [&str; 6] = [
    "overall_experience",
    "customer_centricity",
    "speed",
    "convenience",
    "ease",
    "likelihood_to_recommend",
];

/// The questions answered in the other frames: the rated ones the priority
/// map places (the outcome questions `overall_experience` and
/// `likelihood_to_recommend` left out).
pub const FRAMED_QUESTIONS: [&str; 6] = [
    "customer_centricity",
    "speed",
    "convenience",
    "knowledgeable_help",
    "friendly_support",
    "ease",
];
/// Share of customer responses that answer EXPECTATION and IMPORTANCE.
pub const EXPECTATION_SHARE: f64 = 0.25;
/// Share of customer responses that rate a competitor (one of the two).
pub const COMPETITOR_SHARE: f64 = 0.125;
/// Share of LEADERSHIP and STAFF responses that answer EXPECTATION.
pub const BELIEF_SHARE: f64 = 0.25;
/// The two competitors customers rate.
pub const COMPETITORS: [&str; 2] = ["acme", "globex"];

/// The three label keys of every record and their values.
pub const REGIONS: [&str; 4] = ["emea", "amer", "apac", "latam"];
const PRODUCTS: [&str; 3] = ["broadband", "mobile", "tv"];
const PLANS: [&str; 3] = ["gold", "silver", "bronze"];
const INTENTS: [&str; 4] = [
    "update_payment_method",
    "cancel_order",
    "billing_question",
    "technical_fault",
];

/// The generator: a seed and the size of the customer population.
#[derive(Debug, Clone, Copy)]
pub struct Generator {
    pub seed: u64,
    /// Customers `cust-0 .. cust-(customers-1)`.
    pub customers: u64,
}

/// One stream of records: ids are `{prefix}-{index}` so ranges of different
/// prefixes never collide.
fn rng_for(seed: u64, kind: u64, index: u64) -> StdRng {
    StdRng::seed_from_u64(
        seed ^ kind.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03),
    )
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn labels(rng: &mut StdRng) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("region".to_owned(), pick(rng, &REGIONS).to_owned()),
        ("product".to_owned(), pick(rng, &PRODUCTS).to_owned()),
        ("plan".to_owned(), pick(rng, &PLANS).to_owned()),
    ])
}

/// A score on `min..=max` that is favorable (top `fav_from..=max`) with
/// probability `p`, otherwise uniform below it.
fn score(rng: &mut StdRng, min: i32, fav_from: i32, max: i32, p: f64) -> i32 {
    if rng.random_bool(p) {
        rng.random_range(fav_from..=max)
    } else {
        rng.random_range(min..fav_from)
    }
}

/// A RATING answer in `frame`, on the question's scale, favorable with
/// probability `p`.
fn framed(
    rng: &mut StdRng,
    question: &str,
    frame: AnswerFrame,
    competitor: &str,
    p: f64,
) -> Answer {
    let s = if question == "ease" {
        score(rng, 1, 5, 7, p)
    } else {
        score(rng, 1, 4, 5, p)
    };
    Answer {
        question: question.to_owned(),
        score: Some(s),
        frame: frame as i32,
        competitor: competitor.to_owned(),
        ..Default::default()
    }
}

/// The answers in the other frames of one response of `role` that rated
/// `rated` (its [`FRAMED_QUESTIONS`]), drawn from their own `rng`.
fn framed_answers(rng: &mut StdRng, role: RespondentRole, rated: &[&str]) -> Vec<Answer> {
    let mut out = Vec::new();
    if role != RespondentRole::Customer {
        if rng.random_bool(BELIEF_SHARE) {
            for q in rated {
                out.push(framed(rng, q, AnswerFrame::Expectation, "", 0.6));
            }
        }
        return out;
    }
    if rng.random_bool(EXPECTATION_SHARE) {
        for q in rated {
            out.push(framed(rng, q, AnswerFrame::Expectation, "", 0.7));
            out.push(framed(rng, q, AnswerFrame::Importance, "", 0.6));
        }
    }
    if rng.random_bool(COMPETITOR_SHARE) {
        let competitor = pick(rng, &COMPETITORS);
        for q in rated {
            out.push(framed(rng, q, AnswerFrame::Competitor, competitor, 0.35));
        }
    }
    out
}

impl Generator {
    /// The customer id of customer number `k`.
    pub fn customer_id(&self, k: u64) -> String {
        format!("cust-{k}")
    }

    /// Survey response number `index` with id `{prefix}-{index}`.
    pub fn response(&self, prefix: &str, index: u64) -> SurveyResponse {
        let mut rng = rng_for(self.seed, 1, index);
        let offset = rng.random_range(0..SPAN_DAYS * 86_400);
        let at = span_start() + Duration::seconds(offset);
        let wave = offset / (86_400 * 30);
        let (role, respondent_id, questions, p) = match index % 10 {
            0 => (
                RespondentRole::Leadership,
                String::new(),
                INSIDER_QUESTIONS,
                0.8,
            ),
            1 | 2 => (RespondentRole::Staff, String::new(), INSIDER_QUESTIONS, 0.5),
            _ => (
                RespondentRole::Customer,
                self.customer_id(rng.random_range(0..self.customers.max(1))),
                CUSTOMER_QUESTIONS,
                0.3,
            ),
        };
        let mut answers: Vec<Answer> = questions
            .iter()
            .map(|q| {
                let s = match *q {
                    "ease" => score(&mut rng, 1, 5, 7, 0.5),
                    "likelihood_to_recommend" => score(&mut rng, 0, 9, 10, 0.3),
                    _ => score(&mut rng, 1, 4, 5, p),
                };
                Answer {
                    question: (*q).to_owned(),
                    score: Some(s),
                    ..Default::default()
                }
            })
            .collect();
        let rated: Vec<&str> = questions
            .iter()
            .copied()
            .filter(|q| FRAMED_QUESTIONS.contains(q))
            .collect();
        answers.extend(framed_answers(
            &mut rng_for(self.seed, 4, index),
            role,
            &rated,
        ));
        SurveyResponse {
            id: format!("{prefix}-{index}"),
            role: role as i32,
            respondent_id,
            survey_id: format!("wave-{wave:02}"),
            submitted_at: Some(utc_to_timestamp(at)),
            labels: labels(&mut rng),
            answers,
        }
    }

    /// Journey number `index` with id `{prefix}-{index}`: 3-7 touchpoints
    /// (about 5), sometimes opened by a company reminder e-mail.
    pub fn journey(&self, prefix: &str, index: u64) -> Journey {
        let mut rng = rng_for(self.seed, 2, index);
        let offset = rng.random_range(0..SPAN_DAYS * 86_400 - 86_400);
        let mut at = span_start() + Duration::seconds(offset);
        let n = rng.random_range(3..=7);
        // Sometimes a reminder e-mail from the company opens the journey;
        // the customer's own touchpoints follow.
        let company_first = rng.random_bool(0.3);
        let first_customer = usize::from(company_first);
        let resolved_at = if rng.random_bool(0.8) {
            Some(rng.random_range(first_customer..n))
        } else {
            None
        };
        // Every channel but the last two, SOCIAL and IN_PERSON, which the
        // benchmark's customers do not use.
        let channels = &DomainChannel::ALL[..DomainChannel::ALL.len() - 2];
        let mut touchpoints = Vec::with_capacity(n);
        for t in 0..n {
            let company = t == 0 && company_first;
            let outcome = if company {
                TouchpointOutcome::Unspecified
            } else if Some(t) == resolved_at {
                TouchpointOutcome::Resolved
            } else if rng.random_bool(0.2) {
                TouchpointOutcome::Abandoned
            } else {
                TouchpointOutcome::Unresolved
            };
            touchpoints.push(Touchpoint {
                channel: if company {
                    Channel::Email as i32
                } else {
                    channels[rng.random_range(0..channels.len())].number()
                },
                initiator: if company {
                    Initiator::Company as i32
                } else {
                    Initiator::Customer as i32
                },
                occurred_at: Some(utc_to_timestamp(at)),
                duration_seconds: rng.random_range(30..1200),
                wait_seconds: rng.random_range(0..600),
                outcome: outcome as i32,
                transfers: rng.random_range(0..2),
                repeated_information: rng.random_bool(0.2),
            });
            at += Duration::seconds(rng.random_range(60..7200));
            if Some(t) == resolved_at {
                break;
            }
        }
        Journey {
            id: format!("{prefix}-{index}"),
            customer_id: self.customer_id(rng.random_range(0..self.customers.max(1))),
            intent: pick(&mut rng, &INTENTS).to_owned(),
            labels: labels(&mut rng),
            touchpoints,
            effort_index: 0.0,
            effort_tier: 0,
        }
    }

    /// Outcome number `index` with id `{prefix}-{index}`.
    pub fn outcome(&self, prefix: &str, index: u64) -> Outcome {
        let mut rng = rng_for(self.seed, 3, index);
        let offset = rng.random_range(86_400 * 30..SPAN_DAYS * 86_400);
        let kinds = [
            OutcomeKind::Repurchase,
            OutcomeKind::SpendIncrease,
            OutcomeKind::NegativeWordOfMouth,
            OutcomeKind::Disloyalty,
        ];
        Outcome {
            id: format!("{prefix}-{index}"),
            customer_id: self.customer_id(rng.random_range(0..self.customers.max(1))),
            kind: kinds[rng.random_range(0..kinds.len())] as i32,
            occurred: rng.random_bool(0.4),
            observed_at: Some(utc_to_timestamp(span_start() + Duration::seconds(offset))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_depend_only_on_seed_and_index() {
        let g = Generator {
            seed: 7,
            customers: 100,
        };
        assert_eq!(g.response("r", 42), g.response("r", 42));
        assert_ne!(g.response("r", 42).answers, g.response("r", 43).answers);
        assert_eq!(g.journey("j", 5), g.journey("j", 5));
        assert_eq!(g.response("r", 1).labels.len(), 3);
    }

    #[test]
    fn framed_answers_come_in_their_proportions_after_six_experience_answers() {
        let g = Generator {
            seed: 7,
            customers: 100,
        };
        let n = 8_000;
        let (mut expecting, mut competing, mut believing, mut inside) = (0, 0, 0, 0);
        for i in 0..n {
            let r = g.response("r", i);
            let (experience, framed) = r.answers.split_at(6);
            assert!(experience.iter().all(|a| a.frame == 0), "{r:?}");
            assert!(framed.iter().all(|a| a.frame != 0), "{r:?}");
            let count = |f: AnswerFrame| framed.iter().filter(|a| a.frame == f as i32).count();
            if r.role == RespondentRole::Customer as i32 {
                // ease, customer_centricity, speed, convenience.
                expecting += usize::from(count(AnswerFrame::Expectation) == 4);
                assert_eq!(
                    count(AnswerFrame::Expectation),
                    count(AnswerFrame::Importance)
                );
                competing += usize::from(count(AnswerFrame::Competitor) == 4);
            } else {
                inside += 1;
                believing += usize::from(count(AnswerFrame::Expectation) == 5);
            }
        }
        let customers = (n as f64) * 0.7;
        let share = |k: usize, of: f64| k as f64 / of;
        assert!((share(expecting, customers) - EXPECTATION_SHARE).abs() < 0.02);
        assert!((share(competing, customers) - COMPETITOR_SHARE).abs() < 0.02);
        assert!((share(believing, f64::from(inside)) - BELIEF_SHARE).abs() < 0.03);
    }
}
