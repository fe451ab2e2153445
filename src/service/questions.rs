//! The `questions` field of a score request, checked against the tenant's
//! catalog: the same count limit, the same "did you mean" for an unknown
//! key and the same de-duplication in every score that takes one
//! (`GetPerceptionGap`, `GetExpectationGap`, `GetCompetitiveGap`).

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    domain::{Violations, enums::QuestionKind, question::Question, violations::unknown_question},
    scoring::RatingQuestion,
};

/// Most entries in `questions`: counted before any is looked up.
pub const MAX_REQUESTED_QUESTIONS: usize = 1000;

/// The catalog by key, in key order.
pub type CatalogIndex<'c> = BTreeMap<&'c str, &'c Question>;

/// `catalog` by key.
pub fn index(catalog: &[Question]) -> CatalogIndex<'_> {
    catalog.iter().map(|q| (q.key.as_str(), q)).collect()
}

/// What a request's `questions` select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen<'c> {
    /// None named: every question (with data, as each score defines it).
    Every,
    /// The keys named, each once, in key order.
    Named(BTreeSet<&'c str>),
}

/// Checks `requested` against `catalog`. A key not in the catalog is a
/// violation at `questions[i]` with the nearest valid key as a suggestion;
/// a known question that `fits` refuses (it returns the description, e.g.
/// "is a THEMES question ...") is one at the same path. More than
/// [`MAX_REQUESTED_QUESTIONS`] entries is one violation at `questions`,
/// without looking any up.
pub fn choose<'c>(
    v: &mut Violations,
    requested: &[String],
    catalog: &CatalogIndex<'c>,
    fits: impl Fn(&Question) -> Option<String>,
) -> Chosen<'c> {
    if requested.is_empty() {
        return Chosen::Every;
    }
    let mut chosen = BTreeSet::new();
    if requested.len() > MAX_REQUESTED_QUESTIONS {
        v.add(
            "questions",
            format!(
                "at most {MAX_REQUESTED_QUESTIONS} questions are allowed, got {}",
                requested.len()
            ),
        );
        return Chosen::Named(chosen);
    }
    for (i, key) in requested.iter().enumerate() {
        match catalog.get_key_value(key.as_str()) {
            Some((&key, q)) => match fits(q) {
                None => {
                    chosen.insert(key);
                }
                Some(description) => v.add(format!("questions[{i}]"), description),
            },
            None => {
                // Suggestions only for violations that will be listed.
                let candidates = if v.has_room() { catalog.len() } else { 0 };
                let description = unknown_question(key, catalog.keys().copied().take(candidates));
                v.add(format!("questions[{i}]"), description);
            }
        }
    }
    Chosen::Named(chosen)
}

/// The scale of a RATING question; `None` for a THEMES question, and for
/// a RATING row without a usable scale (the catalog never stores one; a
/// row written around it is skipped with a warning rather than divided by).
pub fn rating_scale(q: &Question) -> Option<RatingQuestion> {
    match q.kind {
        QuestionKind::Rating if q.scale_min < q.scale_max => Some(RatingQuestion {
            scale_min: q.scale_min,
            scale_max: q.scale_max,
            favorable_min: q.favorable_min,
            unfavorable_max: q.unfavorable_max,
        }),
        QuestionKind::Rating => {
            tracing::warn!(question = q.key, "skipping a malformed catalog question");
            None
        }
        QuestionKind::Themes => None,
    }
}

/// Refuses a THEMES question where only RATING questions are scored (the
/// `fits` of [`choose`] for the framed scores of SPEC §16: THEMES answers
/// are EXPERIENCE only).
pub fn rating_only(q: &Question) -> Option<String> {
    (!q.is_rating()).then(|| {
        format!(
            "{:?} is a THEMES question; only RATING questions have answers in the \
             EXPECTATION, IMPORTANCE and COMPETITOR frames",
            q.key
        )
    })
}

/// The RATING questions a framed score covers, with their scales.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RatingQuestions {
    /// Key → scale, every RATING question named (or, when none was, every
    /// RATING question of the catalog: the data decides which are reported).
    pub scales: BTreeMap<String, RatingQuestion>,
    /// Whether the caller named them: then each is reported even without
    /// data.
    pub explicit: bool,
}

impl RatingQuestions {
    /// The RATING questions of `chosen`.
    pub fn of(chosen: Chosen<'_>, catalog: &CatalogIndex<'_>) -> RatingQuestions {
        let (keys, explicit): (Vec<&str>, bool) = match chosen {
            Chosen::Every => (catalog.keys().copied().collect(), false),
            Chosen::Named(keys) => (keys.into_iter().collect(), true),
        };
        let scales = keys
            .into_iter()
            .filter_map(|key| Some((key.to_owned(), rating_scale(catalog.get(key)?)?)))
            .collect();
        RatingQuestions { scales, explicit }
    }

    /// The keys to aggregate: `None` (every question) unless named, so the
    /// store reads the frame's index without a key list.
    pub fn keys(&self) -> Option<Vec<String>> {
        self.explicit.then(|| self.scales.keys().cloned().collect())
    }

    /// The keys to report, in key order: the named ones, or those of
    /// `with_data` that are RATING questions of the catalog.
    pub fn reported<'a>(&'a self, with_data: &'a BTreeSet<String>) -> Vec<&'a str> {
        if self.explicit {
            self.scales.keys().map(String::as_str).collect()
        } else {
            with_data
                .iter()
                .filter(|k| self.scales.contains_key(k.as_str()))
                .map(String::as_str)
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::question::built_in_questions;

    #[test]
    fn named_keys_are_checked_once_each_in_key_order() {
        let catalog = built_in_questions();
        let index = index(&catalog);
        let mut v = Violations::default();
        let requested = ["speed", "ease", "speed", "sped", "improve"].map(String::from);
        let chosen = choose(&mut v, &requested, &index, rating_only);
        assert_eq!(chosen, Chosen::Named(BTreeSet::from(["ease", "speed"])));
        let fields: Vec<&str> = v.items().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["questions[3]", "questions[4]"]);
        assert!(v.items()[0].1.contains("did you mean \"speed\""), "{v:?}");
        assert!(v.items()[1].1.contains("THEMES"), "{v:?}");
    }

    #[test]
    fn too_many_keys_are_refused_without_a_lookup() {
        let catalog = built_in_questions();
        let index = index(&catalog);
        let mut v = Violations::default();
        let requested = vec!["nope".to_owned(); MAX_REQUESTED_QUESTIONS + 1];
        choose(&mut v, &requested, &index, |_| None);
        assert_eq!(v.len(), 1);
        assert_eq!(v.items()[0].0, "questions");
    }

    #[test]
    fn every_question_means_every_rating_question_reported_by_its_data() {
        let catalog = built_in_questions();
        let index = index(&catalog);
        let all = RatingQuestions::of(Chosen::Every, &index);
        assert!(!all.explicit);
        assert_eq!(all.keys(), None);
        assert!(all.scales.contains_key("ease") && !all.scales.contains_key("improve"));
        let with_data = BTreeSet::from(["speed".to_owned(), "improve".to_owned()]);
        assert_eq!(all.reported(&with_data), ["speed"]);

        let named = RatingQuestions::of(Chosen::Named(BTreeSet::from(["ease"])), &index);
        assert_eq!(named.keys(), Some(vec!["ease".to_owned()]));
        assert_eq!(named.reported(&with_data), ["ease"]);
    }
}
