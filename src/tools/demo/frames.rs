//! The demo's answers in the frames of SPEC §16: what customers expected and
//! what matters to them, how two competitors did, and what leadership and
//! staff believe customers expect.
//!
//! They come from a random stream of their own ([`FRAMES_SEED`]) and are
//! appended after each response's EXPERIENCE answers: every record and every
//! EXPERIENCE answer is exactly what it was before frames existed, so every
//! figure of the perception gap, effort, loyalty, the scorecard and trends
//! (and what docs/WALKTHROUGH.md and the README quote) stays as it was.
//!
//! The story each new call tells (issue 17):
//! - `GetExpectationGap`: customers expect fast service and do not get it
//!   (speed's gap 5 is far below zero), while leaders believe customers
//!   expect far less speed than they do (gap 1);
//! - `GetCompetitiveGap`: `acme` beats us on convenience and loses on
//!   friendly support; `globex` is about level with us;
//! - `GetPriorityMap`: customers call speed the most important question and
//!   rate it below average (CONCENTRATE_HERE); knowledgeable help is
//!   important and done well (KEEP_UP_THE_GOOD_WORK);
//! - `competitors_do_better` / `competitors_do_worse` themes, where customers
//!   name what leaders do not.
//!
//! [`FRAMES_SEED`]: super::FRAMES_SEED

use rand::{Rng, SeedableRng, rngs::StdRng};

use super::data::{DemoData, five_point, rating, theme_answer, themes};
use crate::proto::v1::{Answer, AnswerFrame, RespondentRole};

/// One question of the priority map and how each side answers it in the
/// EXPECTATION and IMPORTANCE frames: the probability of a favorable score
/// (4-5 of 5, 5-7 of 7 for `ease`), as in `data::RATINGS`.
struct Framing {
    question: &'static str,
    /// Customers' own expectation.
    customer_expects: f64,
    /// LEADERSHIP's belief about what customers expect.
    leadership_believes: f64,
    /// STAFF's belief about what customers expect.
    staff_believes: f64,
    /// How important customers say it is.
    importance: f64,
}

/// Every RATING question customers answer apart from the outcome questions
/// (`overall_experience`, `likelihood_to_recommend`, `csat`), which the
/// priority map leaves out. Customers expect speed far more than they get it
/// (about a third rate it favorably), and leaders think they expect far
/// less; the other shortfalls are smaller, and friendly support beats
/// expectations. Leaders' other beliefs are close to customers'.
const FRAMINGS: [Framing; 6] = [
    Framing {
        question: "speed",
        customer_expects: 0.92,
        leadership_believes: 0.35,
        staff_believes: 0.65,
        importance: 0.90,
    },
    Framing {
        question: "convenience",
        customer_expects: 0.60,
        leadership_believes: 0.58,
        staff_believes: 0.60,
        importance: 0.40,
    },
    Framing {
        question: "knowledgeable_help",
        customer_expects: 0.65,
        leadership_believes: 0.62,
        staff_believes: 0.65,
        importance: 0.80,
    },
    Framing {
        question: "friendly_support",
        customer_expects: 0.55,
        leadership_believes: 0.60,
        staff_believes: 0.55,
        importance: 0.50,
    },
    Framing {
        question: "customer_centricity",
        customer_expects: 0.50,
        leadership_believes: 0.45,
        staff_believes: 0.50,
        importance: 0.25,
    },
    Framing {
        question: "ease",
        customer_expects: 0.80,
        leadership_believes: 0.70,
        staff_believes: 0.75,
        importance: 0.70,
    },
];

/// Share of customer responses that answer the expectations module
/// (EXPECTATION and IMPORTANCE on every question of [`FRAMINGS`]).
const EXPECTATIONS_SHARE: f64 = 0.5;

/// A competitor, the share of customer responses that also rate it, and the
/// probability of a favorable score per question they rate it on. Against
/// our customers' favorable shares (convenience about 45%, friendly support
/// about 75%, speed about a third), acme wins on convenience and loses on
/// friendly support; globex is about level.
struct Competitor {
    name: &'static str,
    share: f64,
    ratings: &'static [(&'static str, f64)],
}

const COMPETITORS: [Competitor; 2] = [
    Competitor {
        name: "acme",
        share: 0.30,
        ratings: &[
            ("speed", 0.38),
            ("convenience", 0.80),
            ("knowledgeable_help", 0.55),
            ("friendly_support", 0.30),
        ],
    },
    Competitor {
        name: "globex",
        share: 0.15,
        ratings: &[("speed", 0.33), ("convenience", 0.45)],
    },
];

/// What customers who rated a competitor say it does better and worse:
/// online and sign-up convenience, and poorer support.
const CUSTOMER_BETTER: [(&str, f64); 4] = [
    ("online account", 0.45),
    ("easy sign-up", 0.35),
    ("store locations", 0.2),
    ("pricing", 0.2),
];
const CUSTOMER_WORSE: [(&str, f64); 3] = [
    ("unhelpful support", 0.45),
    ("rude staff", 0.3),
    ("hidden fees", 0.25),
];
/// What insiders think: price and marketing, which customers mention less.
const INSIDE_BETTER: [(&str, f64); 3] = [
    ("pricing", 0.55),
    ("marketing", 0.45),
    ("product range", 0.3),
];
const INSIDE_WORSE: [(&str, f64); 3] = [
    ("customer service", 0.5),
    ("coverage", 0.3),
    ("innovation", 0.3),
];
/// Share of LEADERSHIP and STAFF responses that answer the two competitor
/// THEMES questions.
const INSIDE_THEMES_SHARE: f64 = 0.5;

/// The THEMES questions this module answers (EXPERIENCE answers, like every
/// THEMES answer): before frames existed, the demo answered neither.
const COMPETITOR_THEMES: [&str; 2] = ["competitors_do_better", "competitors_do_worse"];

/// A score on the question's scale that is favorable with probability `p`:
/// 1-5 for the five-point questions, 1-7 for `ease` (favorable 5-7,
/// unfavorable 1-3), shaped like `data::five_point`.
fn score(rng: &mut StdRng, question: &str, p: f64) -> i32 {
    if question != "ease" {
        return five_point(rng, p);
    }
    if rng.random_bool(p.clamp(0.0, 1.0)) {
        rng.random_range(5..=7)
    } else if rng.random_bool(0.6) {
        rng.random_range(1..=3)
    } else {
        4
    }
}

fn framed(question: &str, frame: AnswerFrame, score: i32) -> Answer {
    Answer {
        frame: frame as i32,
        ..rating(question, score)
    }
}

fn versus(question: &str, competitor: &str, score: i32) -> Answer {
    Answer {
        competitor: competitor.into(),
        ..framed(question, AnswerFrame::Competitor, score)
    }
}

/// Appends the answers in the other frames to `data`'s responses, drawn from
/// `seed`. Customers answer only questions they also rated in EXPERIENCE, so
/// every expectation and competitor score has its pair.
pub fn answer_in_frames(data: &mut DemoData, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for response in &mut data.responses {
        let role = RespondentRole::try_from(response.role).expect("the demo's roles are valid");
        let added = match role {
            RespondentRole::Customer => customer_frames(&mut rng, &response.answers),
            RespondentRole::Leadership | RespondentRole::Staff => inside_frames(&mut rng, role),
            RespondentRole::Unspecified => Vec::new(),
        };
        response.answers.extend(added);
    }
}

fn customer_frames(rng: &mut StdRng, experience: &[Answer]) -> Vec<Answer> {
    let rated = |q: &str| {
        experience
            .iter()
            .any(|a| a.question == q && a.score.is_some())
    };
    let mut out = Vec::new();
    if rng.random_bool(EXPECTATIONS_SHARE) {
        for f in FRAMINGS.iter().filter(|f| rated(f.question)) {
            let expected = score(rng, f.question, f.customer_expects);
            out.push(framed(f.question, AnswerFrame::Expectation, expected));
            let importance = score(rng, f.question, f.importance);
            out.push(framed(f.question, AnswerFrame::Importance, importance));
        }
    }
    let mut rated_a_competitor = false;
    for c in &COMPETITORS {
        if !rng.random_bool(c.share) {
            continue;
        }
        rated_a_competitor = true;
        for (question, p) in c.ratings.iter().filter(|(q, _)| rated(q)) {
            out.push(versus(question, c.name, score(rng, question, *p)));
        }
    }
    if rated_a_competitor {
        out.push(theme_answer(
            COMPETITOR_THEMES[0],
            themes(rng, &CUSTOMER_BETTER),
        ));
        out.push(theme_answer(
            COMPETITOR_THEMES[1],
            themes(rng, &CUSTOMER_WORSE),
        ));
    }
    out
}

fn inside_frames(rng: &mut StdRng, role: RespondentRole) -> Vec<Answer> {
    let mut out: Vec<Answer> = FRAMINGS
        .iter()
        .map(|f| {
            let belief = if role == RespondentRole::Leadership {
                f.leadership_believes
            } else {
                f.staff_believes
            };
            framed(
                f.question,
                AnswerFrame::Expectation,
                score(rng, f.question, belief),
            )
        })
        .collect();
    if rng.random_bool(INSIDE_THEMES_SHARE) {
        out.push(theme_answer(
            COMPETITOR_THEMES[0],
            themes(rng, &INSIDE_BETTER),
        ));
        out.push(theme_answer(
            COMPETITOR_THEMES[1],
            themes(rng, &INSIDE_WORSE),
        ));
    }
    out
}

/// Whether [`answer_in_frames`] may have added `answer`: a framed answer,
/// or a THEMES answer to a competitor question.
fn added_by_frames(answer: &Answer) -> bool {
    answer.frame != AnswerFrame::Unspecified as i32
        || COMPETITOR_THEMES.contains(&answer.question.as_str())
}

/// `data` without what [`answer_in_frames`] added: the data set as it was
/// before frames existed, to show that adding them changed nothing else.
pub fn without_frames(data: &DemoData) -> DemoData {
    let mut out = data.clone();
    for r in &mut out.responses {
        r.answers.retain(|a| !added_by_frames(a));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use prost::Message;
    use sha2::{Digest, Sha256};

    use super::{super::data::records, *};
    use crate::{
        domain::question::built_in_questions,
        proto::v1::SurveyResponse,
        service::survey::{MAX_ANSWERS, check_batch},
        tools::demo::{FRAMES_SEED, SEED, generate},
    };

    /// SHA-256 of every record, length-delimited, in order.
    fn fingerprint(data: &DemoData) -> String {
        let mut h = Sha256::new();
        for r in &data.responses {
            h.update(r.encode_length_delimited_to_vec());
        }
        for j in &data.journeys {
            h.update(j.encode_length_delimited_to_vec());
        }
        for o in &data.outcomes {
            h.update(o.encode_length_delimited_to_vec());
        }
        hex::encode(h.finalize())
    }

    /// [`fingerprint`] of `data` without its `likelihood_to_recommend`
    /// answers.
    fn fingerprint_without_recommendations(data: &DemoData) -> String {
        let mut data = data.clone();
        for r in &mut data.responses {
            r.answers
                .retain(|a| a.question != "likelihood_to_recommend");
        }
        fingerprint(&data)
    }

    #[test]
    fn the_records_are_exactly_those_of_before_frames() {
        let data = generate(SEED, FRAMES_SEED);
        let stripped = without_frames(&data);
        // Appended only: every response keeps its earlier answers first.
        for (with, without) in data.responses.iter().zip(&stripped.responses) {
            assert_eq!(with.answers[..without.answers.len()], without.answers[..]);
        }
        let before = records(SEED);
        assert_eq!(stripped.responses, before.responses);
        assert_eq!(stripped.journeys, before.journeys);
        assert_eq!(stripped.outcomes, before.outcomes);
        // What `records(SEED)` produces, so that no later edit of
        // `records` slips by. Issue 13 rescored `likelihood_to_recommend`
        // (drivers of different weight, an October drop) and nothing else:
        // without those answers the records are what `generate(SEED)`
        // produced on main before frames existed (commit 6b196df, whose
        // full fingerprint was 6d6f6e57…).
        assert_eq!(
            fingerprint_without_recommendations(&before),
            "0211cc627848b8745740f6041e7fe0d4adccd44e859c98fb5324ad3d0632e131"
        );
        assert_eq!(
            fingerprint(&before),
            "f11fde8a63cd1dc46af9bb4c63bb8a7a2e580d875efd9f8d8ffff10d6bc8ae7b"
        );
        assert!(
            data.responses
                .iter()
                .zip(&before.responses)
                .filter(|(a, b)| a.answers.len() > b.answers.len())
                .count()
                > 2000,
            "most responses gained answers"
        );
    }

    #[test]
    fn every_response_passes_the_apis_validation() {
        let data = generate(SEED, FRAMES_SEED);
        let catalog = built_in_questions();
        let map = catalog.iter().map(|q| (q.key.as_str(), q)).collect();
        let most = data.responses.iter().map(|r| r.answers.len()).max();
        assert!(most.is_some_and(|n| n <= MAX_ANSWERS), "{most:?}");
        for chunk in data.responses.chunks(1000) {
            let batch: Vec<_> = chunk.iter().cloned().map(Into::into).collect();
            if let Err(v) = check_batch(&batch, &map) {
                panic!("{v:?}");
            }
        }
    }

    /// Scores of `role`'s responses on `question` in `frame` (and
    /// `competitor`), keyed by response index.
    fn scores(
        data: &DemoData,
        role: RespondentRole,
        question: &str,
        frame: AnswerFrame,
        competitor: &str,
    ) -> HashMap<usize, f64> {
        let frame = if frame == AnswerFrame::Experience {
            AnswerFrame::Unspecified
        } else {
            frame
        };
        data.responses
            .iter()
            .enumerate()
            .filter(|(_, r)| r.role == role as i32)
            .filter_map(|(i, r): (usize, &SurveyResponse)| {
                r.answers
                    .iter()
                    .find(|a| {
                        a.question == question
                            && a.frame == frame as i32
                            && a.competitor == competitor
                    })
                    .and_then(|a| a.score)
                    .map(|s| (i, f64::from(s)))
            })
            .collect()
    }

    fn span(question: &str) -> f64 {
        if question == "ease" { 6.0 } else { 4.0 }
    }

    /// Mean of (a − b) over the responses with both, in points of the scale.
    fn paired_points(a: &HashMap<usize, f64>, b: &HashMap<usize, f64>, question: &str) -> f64 {
        let d: Vec<f64> = a
            .iter()
            .filter_map(|(i, x)| b.get(i).map(|y| x - y))
            .collect();
        assert!(d.len() > 100, "{question}: {} pairs", d.len());
        d.iter().sum::<f64>() / d.len() as f64 / span(question) * 100.0
    }

    fn mean(x: &HashMap<usize, f64>) -> f64 {
        x.values().sum::<f64>() / x.len() as f64
    }

    const CUSTOMER: RespondentRole = RespondentRole::Customer;

    #[test]
    fn customers_expected_more_speed_than_they_got() {
        let data = generate(SEED, FRAMES_SEED);
        let gap = |q: &str| {
            let experience = scores(&data, CUSTOMER, q, AnswerFrame::Experience, "");
            let expectation = scores(&data, CUSTOMER, q, AnswerFrame::Expectation, "");
            paired_points(&experience, &expectation, q)
        };
        let speed = gap("speed");
        assert!(speed < -30.0, "speed {speed}");
        for f in FRAMINGS.iter().filter(|f| f.question != "speed") {
            let other = gap(f.question);
            assert!(
                other > speed + 10.0,
                "{} {other} vs speed {speed}",
                f.question
            );
        }
        // Gap 1: leaders believe customers expect far less speed.
        let belief = |role| {
            let x = scores(&data, role, "speed", AnswerFrame::Expectation, "");
            assert!(x.len() >= 50, "{role:?}");
            mean(&x)
        };
        let customers = belief(CUSTOMER);
        let leaders = belief(RespondentRole::Leadership);
        let staff = belief(RespondentRole::Staff);
        assert!(
            (leaders - customers) / 4.0 * 100.0 < -20.0,
            "{leaders} {customers}"
        );
        assert!(leaders < staff && staff < customers, "{staff}");
    }

    #[test]
    fn acme_beats_us_on_convenience_and_loses_on_friendly_support() {
        let data = generate(SEED, FRAMES_SEED);
        let lead = |q: &str, competitor: &str| {
            let us = scores(&data, CUSTOMER, q, AnswerFrame::Experience, "");
            let them = scores(&data, CUSTOMER, q, AnswerFrame::Competitor, competitor);
            paired_points(&us, &them, q)
        };
        let convenience = lead("convenience", "acme");
        assert!(convenience < -15.0, "{convenience}");
        let friendly = lead("friendly_support", "acme");
        assert!(friendly > 15.0, "{friendly}");
        for q in ["speed", "convenience"] {
            let level = lead(q, "globex");
            assert!(level.abs() < 10.0, "globex {q} {level}");
        }
    }

    #[test]
    fn importance_puts_speed_in_concentrate_here() {
        let data = generate(SEED, FRAMES_SEED);
        // Martilla-James: stated importance (0-100) and favorable share
        // (x 100) against their means over the questions of the map.
        let placed: Vec<(&str, f64, f64)> = FRAMINGS
            .iter()
            .map(|f| {
                let q = f.question;
                let importance = scores(&data, CUSTOMER, q, AnswerFrame::Importance, "");
                let importance = (mean(&importance) - 1.0) / span(q) * 100.0;
                let experience = scores(&data, CUSTOMER, q, AnswerFrame::Experience, "");
                let favorable_min = if q == "ease" { 5.0 } else { 4.0 };
                let favorable = experience.values().filter(|s| **s >= favorable_min).count();
                let performance = favorable as f64 / experience.len() as f64 * 100.0;
                (q, importance, performance)
            })
            .collect();
        let n = placed.len() as f64;
        let importance_mean = placed.iter().map(|p| p.1).sum::<f64>() / n;
        let performance_mean = placed.iter().map(|p| p.2).sum::<f64>() / n;
        let concentrate: Vec<_> = placed
            .iter()
            .filter(|p| p.1 > importance_mean && p.2 < performance_mean)
            .collect();
        let top = concentrate
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("a CONCENTRATE_HERE question");
        assert_eq!(top.0, "speed", "{placed:?}");
        // Clear of the lines, so the quadrant is not a rounding accident.
        assert!(top.1 > importance_mean + 5.0 && top.2 < performance_mean - 5.0);
        let keep_up = placed
            .iter()
            .find(|p| p.0 == "knowledgeable_help")
            .expect("on the map");
        assert!(
            keep_up.1 > importance_mean + 5.0 && keep_up.2 > performance_mean + 5.0,
            "{placed:?}"
        );
    }
}
