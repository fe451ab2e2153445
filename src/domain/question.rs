//! Catalog questions (SPEC §4): the built-in questions every tenant starts
//! with, and the rules a custom question must follow.

use super::{
    enums::QuestionKind,
    violations::{Violations, check_key, check_text},
};

/// A catalog question. A THEMES question has no scale: its scale fields
/// are 0 and `unfavorable_max` is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub key: String,
    pub kind: QuestionKind,
    pub text: String,
    pub scale_min: i32,
    pub scale_max: i32,
    pub favorable_min: i32,
    pub unfavorable_max: Option<i32>,
    pub built_in: bool,
}

impl Question {
    pub fn is_rating(&self) -> bool {
        self.kind == QuestionKind::Rating
    }
}

fn rating(key: &str, text: &str, min: i32, max: i32, fav: i32, unfav: i32) -> Question {
    Question {
        key: key.into(),
        kind: QuestionKind::Rating,
        text: text.into(),
        scale_min: min,
        scale_max: max,
        favorable_min: fav,
        unfavorable_max: Some(unfav),
        built_in: true,
    }
}

fn themes(key: &str, text: &str) -> Question {
    Question {
        key: key.into(),
        kind: QuestionKind::Themes,
        text: text.into(),
        scale_min: 0,
        scale_max: 0,
        favorable_min: 0,
        unfavorable_max: None,
        built_in: true,
    }
}

/// The built-in questions of SPEC §4, which every tenant starts with.
pub fn built_in_questions() -> Vec<Question> {
    vec![
        rating(
            "overall_experience",
            "The customer experience is superior",
            1,
            5,
            4,
            2,
        ),
        rating(
            "customer_centricity",
            "The company is customer-centric",
            1,
            5,
            4,
            2,
        ),
        rating("speed", "Speed of service", 1, 5, 4, 2),
        rating("convenience", "Convenience", 1, 5, 4, 2),
        rating("knowledgeable_help", "Knowledgeable help", 1, 5, 4, 2),
        rating("friendly_support", "Friendly support", 1, 5, 4, 2),
        rating(
            "ease",
            "The company made it easy for me to handle my issue (CES 2.0)",
            1,
            7,
            5,
            3,
        ),
        rating(
            "likelihood_to_recommend",
            "How likely are you to recommend us? (NPS)",
            0,
            10,
            9,
            6,
        ),
        rating("csat", "How satisfied are you? (top-2-box)", 1, 5, 4, 2),
        themes("do_well", "What do we do well?"),
        themes("improve", "What could be improved?"),
        themes(
            "competitors_do_differently",
            "What does the competition do differently?",
        ),
        // SPEC §16.1: "are those differences perceived as good or bad?"
        themes("competitors_do_better", "What do competitors do better?"),
        themes("competitors_do_worse", "What do competitors do worse?"),
        themes(
            "continue_or_start",
            "What should we continue or start doing?",
        ),
    ]
}

/// A custom question as a caller sends it, before the rules (`kind` is
/// `None` when the caller named no known kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedQuestion {
    pub key: String,
    pub kind: Option<QuestionKind>,
    pub text: String,
    pub scale_min: i32,
    pub scale_max: i32,
    pub favorable_min: i32,
    pub unfavorable_max: Option<i32>,
}

impl ProposedQuestion {
    /// Checks SPEC §4 — a key, text of at most 1,000 characters, a known
    /// kind; a RATING scale of at most 100 points with
    /// `unfavorable_max < favorable_min` inside it; no scale on a THEMES
    /// question — naming every violation under `field`, and yields the
    /// custom question to store.
    pub fn validate(self, field: &str) -> Result<Question, Violations> {
        let q = self;
        let mut v = Violations::default();
        check_key(&mut v, &format!("{field}.key"), &q.key);
        check_text(&mut v, &format!("{field}.text"), &q.text, 1000);
        match q.kind {
            None => v.add(
                format!("{field}.kind"),
                "must be QUESTION_KIND_RATING or QUESTION_KIND_THEMES",
            ),
            Some(QuestionKind::Rating) => {
                if q.scale_min >= q.scale_max {
                    v.add(
                        format!("{field}.scale_max"),
                        "must be greater than scale_min",
                    );
                } else if i64::from(q.scale_max) - i64::from(q.scale_min) > 100 {
                    v.add(
                        format!("{field}.scale_max"),
                        "the scale may span at most 100 points",
                    );
                }
                if q.favorable_min < q.scale_min || q.favorable_min > q.scale_max {
                    v.add(
                        format!("{field}.favorable_min"),
                        "must lie within the scale",
                    );
                }
                if let Some(unfav) = q.unfavorable_max {
                    if unfav >= q.favorable_min {
                        v.add(
                            format!("{field}.unfavorable_max"),
                            "must be less than favorable_min",
                        );
                    } else if unfav < q.scale_min {
                        v.add(
                            format!("{field}.unfavorable_max"),
                            "must lie within the scale",
                        );
                    }
                }
            }
            Some(QuestionKind::Themes) => {
                if q.scale_min != 0
                    || q.scale_max != 0
                    || q.favorable_min != 0
                    || q.unfavorable_max.is_some()
                {
                    v.add(
                        format!("{field}.scale_min"),
                        "THEMES questions have no scale",
                    );
                }
            }
        }
        v.into_result()?;
        let kind = q.kind.expect("checked above");
        Ok(match kind {
            QuestionKind::Rating => Question {
                key: q.key,
                kind,
                text: q.text,
                scale_min: q.scale_min,
                scale_max: q.scale_max,
                favorable_min: q.favorable_min,
                unfavorable_max: q.unfavorable_max,
                built_in: false,
            },
            QuestionKind::Themes => Question {
                built_in: false,
                ..themes(&q.key, &q.text)
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposed(kind: Option<QuestionKind>, min: i32, max: i32, fav: i32) -> ProposedQuestion {
        ProposedQuestion {
            key: "speed_2".into(),
            kind,
            text: "Speed".into(),
            scale_min: min,
            scale_max: max,
            favorable_min: fav,
            unfavorable_max: None,
        }
    }

    #[test]
    fn built_in_questions_follow_their_own_rules() {
        for q in built_in_questions() {
            let p = ProposedQuestion {
                key: q.key.clone(),
                kind: Some(q.kind),
                text: q.text.clone(),
                scale_min: q.scale_min,
                scale_max: q.scale_max,
                favorable_min: q.favorable_min,
                unfavorable_max: q.unfavorable_max,
            };
            let custom = p.validate("question").unwrap();
            assert_eq!(
                Question {
                    built_in: true,
                    ..custom
                },
                q
            );
        }
    }

    #[test]
    fn violations_name_their_fields() {
        let fields = |p: ProposedQuestion| -> Vec<String> {
            let v = p.validate("question").unwrap_err();
            v.items().iter().map(|(f, _)| f.clone()).collect()
        };
        assert_eq!(fields(proposed(None, 1, 5, 4)), ["question.kind"]);
        assert_eq!(
            fields(proposed(Some(QuestionKind::Rating), 5, 5, 9)),
            ["question.scale_max", "question.favorable_min"]
        );
        assert_eq!(
            fields(proposed(Some(QuestionKind::Rating), 0, 101, 50)),
            ["question.scale_max"]
        );
        assert_eq!(
            fields(proposed(Some(QuestionKind::Themes), 1, 5, 4)),
            ["question.scale_min"]
        );
    }
}
