//! The perception gap (SPEC §5): aggregates the answers in PostgreSQL
//! (`store::gap`: score histograms and theme counts, never answer rows) and
//! scores them with `scoring::{gap, themes}` under the [`Context`] of the
//! call.
//!
//! Decisions where SPEC §5 is silent:
//! - Without `questions`, the report covers every RATING and THEMES question
//!   with data in scope (per group: with data in that group). Questions the
//!   caller names are always reported, with zero respondents when there is
//!   no data, so a client can rely on finding them.
//! - Duplicate keys in `questions` are reported once.
//! - Groups are ordered by label value in code-point (byte) order; responses
//!   without the `group_by` label count only in the overall report. At most
//!   [`MAX_GROUPS`] values are reported; more is `FAILED_PRECONDITION`
//!   (`TOO_MANY_GROUPS`), found in SQL without loading them (SPEC §14).
//! - THEMES lists hold at most [`MAX_LISTED_THEMES`] themes per role and per
//!   comparison: the first entries of the complete lists, chosen in SQL
//!   (`store::gap::theme_tops`). Counts of distinct themes and alignments
//!   are always over every theme.
//! - q-values (SPEC §10.2): one family of every role comparison of the
//!   response (the overall report and every group), another of every
//!   `vs_rest` (§10.3), each set after complementary suppression (§10.5)
//!   so that a withheld comparison is in neither.
//! - Complementary suppression and `vs_rest` concern the groups only: the
//!   overall report is their margin, never a cell, and is reported exactly
//!   as without `group_by` but for its q-values (see `groups`).

use std::collections::BTreeMap;

mod groups;

use super::{
    ServiceError, ServiceResult, Services,
    context::Context,
    questions::{self, Chosen},
};
use crate::{
    domain::{
        Numbered, Scope, TenantId, Violations,
        enums::QuestionKind,
        violations::{check_confidence_level, check_key},
    },
    scoring::{
        ByRole, PairTally, QuestionGap, RatingQuestion, Role, ThemeTallies, ThemesReport,
        gap::{control_fdr, question_gap},
        themes::top_themes_report,
    },
    store::gap::{self as store, GapQuery as StoreQuery},
};

pub use crate::store::gap::MAX_GROUPS;

/// Most themes listed per role and per comparison of a THEMES question:
/// free-text tags can have thousands of values, and only this many are
/// ever fetched.
pub const MAX_LISTED_THEMES: usize = 50;

pub use super::questions::MAX_REQUESTED_QUESTIONS;

/// What a caller asks for, before it is checked against the catalog.
#[derive(Debug, Clone, Default)]
pub struct GapQuery {
    pub scope: Scope,
    /// Question keys as given (empty: every question with data).
    pub questions: Vec<String>,
    /// The requested confidence level (`None`: the model's).
    pub confidence: Option<f64>,
    /// A label key to break the report down by.
    pub group_by: Option<String>,
}

/// A [`GapQuery`] checked against the catalog, with the model's settings
/// resolved: what [`perception_gap`] computes.
#[derive(Debug, Clone)]
pub struct GapPlan {
    scope: Scope,
    pub confidence: f64,
    pub min_group_size: u64,
    group_by: Option<String>,
    /// RATING questions to aggregate, ordered by key, with their scales.
    rating: BTreeMap<String, RatingQuestion>,
    rating_keys: Vec<String>,
    /// THEMES questions to aggregate, ordered by key.
    theme_keys: Vec<String>,
    /// Whether the caller named the questions: then each is reported even
    /// without data.
    explicit: bool,
}

impl GapQuery {
    /// Checks the query under `ctx`. `found` holds what the caller found
    /// converting the request (its filter), so every violation is reported
    /// at once, in field order: filter, `confidence_level`, `group_by`,
    /// `questions[i]`.
    pub fn plan(self, found: Violations, ctx: &Context) -> Result<GapPlan, Violations> {
        let mut v = found;
        if let Some(c) = self.confidence {
            check_confidence_level(&mut v, "confidence_level", c);
        }
        if let Some(g) = &self.group_by {
            check_key(&mut v, "group_by", g);
        }
        let by_key = questions::index(&ctx.catalog);
        let chosen = questions::choose(&mut v, &self.questions, &by_key, |_| None);
        v.into_result()?;
        let explicit = chosen != Chosen::Every;
        let chosen: Vec<&str> = match chosen {
            Chosen::Every => by_key.keys().copied().collect(),
            Chosen::Named(keys) => keys.into_iter().collect(),
        };

        let mut rating = BTreeMap::new();
        let mut theme_keys = Vec::new();
        for key in chosen {
            let q = by_key[key];
            if q.kind == QuestionKind::Themes {
                theme_keys.push(key.to_owned());
            } else if let Some(scale) = questions::rating_scale(q) {
                rating.insert(key.to_owned(), scale);
            }
        }
        Ok(GapPlan {
            scope: self.scope,
            confidence: self.confidence.unwrap_or(ctx.model.confidence_level),
            min_group_size: u64::try_from(ctx.model.min_group_size).unwrap_or(0),
            group_by: self.group_by,
            rating_keys: rating.keys().cloned().collect(),
            rating,
            theme_keys,
            explicit,
        })
    }
}

/// The figures of one RATING question.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingGap {
    pub question: String,
    pub gap: QuestionGap,
}

/// The figures of one THEMES question (every theme; a transport cuts
/// the lists it sends).
#[derive(Debug, Clone, PartialEq)]
pub struct ThemesGap {
    pub question: String,
    pub report: ThemesReport,
}

/// The report of one group (or the overall one), questions by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GapReport {
    pub questions: Vec<RatingGap>,
    pub themes: Vec<ThemesGap>,
}

impl GapReport {
    /// The figures of the RATING question `key`, if reported.
    pub fn question(&self, key: &str) -> Option<&QuestionGap> {
        self.questions
            .iter()
            .find(|q| q.question == key)
            .map(|q| &q.gap)
    }
}

/// The perception gap of a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct PerceptionGap {
    pub overall: GapReport,
    /// Per `group_by` value, in byte order of the value.
    pub groups: Vec<(String, GapReport)>,
    pub confidence: f64,
    pub min_group_size: u64,
}

/// Computes the perception gap of `plan`.
pub async fn perception_gap(
    services: &Services,
    tenant: TenantId,
    plan: &GapPlan,
) -> ServiceResult<PerceptionGap> {
    let query = |questions| StoreQuery {
        scope: &plan.scope,
        questions,
        group_by: plan.group_by.as_deref(),
    };
    // Two queries at once.
    let (histograms, theme_tops) = read!(services, tenant, 2, |pool| {
        Ok(tokio::try_join!(
            store::rating_histograms(pool, tenant, query(&plan.rating_keys)),
            store::theme_tops(pool, tenant, query(&plan.theme_keys), MAX_LISTED_THEMES),
        )?)
    })?;

    let (overall, groups) = collect(histograms, theme_tops);
    // The store returns at most MAX_GROUPS + 1 groups per query: the exact
    // number beyond the limit is not known, and not worth counting.
    if groups.len() > MAX_GROUPS {
        return Err(ServiceError::FailedPrecondition {
            reason: "TOO_MANY_GROUPS",
            message: format!(
                "the label {:?} has at least {} values in scope and at most {MAX_GROUPS} \
                 groups are reported; narrow the filter or group by a label with fewer values",
                plan.group_by.as_deref().unwrap_or_default(),
                MAX_GROUPS + 1,
            ),
        });
    }
    let mut gaps = PerceptionGap {
        overall: plan.report(overall),
        groups: groups::group_reports(plan, groups),
        confidence: plan.confidence,
        min_group_size: plan.min_group_size,
    };
    control_false_discoveries(&mut gaps);
    Ok(gaps)
}

/// Sets the q-values of a whole response (SPEC §10.2, §10.3): every role
/// comparison shown, in every report, is one family; every `vs_rest`
/// another. Suppressed comparisons are absent, so in neither.
fn control_false_discoveries(gaps: &mut PerceptionGap) {
    let confidence = gaps.confidence;
    let reports = std::iter::once(&mut gaps.overall).chain(gaps.groups.iter_mut().map(|(_, r)| r));
    control_fdr(
        reports
            .flat_map(|r| r.questions.iter_mut())
            .flat_map(|q| q.gap.comparisons.iter_mut())
            .filter_map(|c| c.comparison.as_mut()),
        confidence,
    );
    control_fdr(
        gaps.groups
            .iter_mut()
            .flat_map(|(_, r)| r.questions.iter_mut())
            .filter_map(|q| q.gap.vs_rest.as_mut()),
        confidence,
    );
}

impl GapPlan {
    /// The same plan without its THEMES questions, for callers that report
    /// RATING figures only (the scorecard): no theme is aggregated at all.
    pub fn without_themes(self) -> GapPlan {
        GapPlan {
            theme_keys: Vec::new(),
            ..self
        }
    }

    /// The same plan without the RATING questions `keys` (the priority map
    /// leaves its outcome questions out): they are not aggregated.
    pub fn without_questions(mut self, keys: &[&str]) -> GapPlan {
        self.rating.retain(|key, _| !keys.contains(&key.as_str()));
        self.rating_keys.retain(|key| !keys.contains(&key.as_str()));
        self
    }

    /// The same plan over another scope (a trend's bucket).
    pub fn with_scope(&self, scope: Scope) -> GapPlan {
        GapPlan {
            scope,
            ..self.clone()
        }
    }

    /// The overall report; the groups' are [`groups::group_reports`].
    fn report(&self, data: GroupData) -> GapReport {
        let GroupData {
            mut ratings,
            themes,
        } = data;
        let questions = self
            .rating_questions(&ratings)
            .into_iter()
            .map(|(question, scale)| {
                let h = ratings.remove(&question).unwrap_or_default();
                let gap = question_gap(
                    scale,
                    ByRole {
                        leadership: &h.leadership,
                        staff: &h.staff,
                        customer: &h.customer,
                    },
                    self.min_group_size,
                    self.confidence,
                );
                RatingGap { question, gap }
            })
            .collect();
        GapReport {
            questions,
            themes: self.themes_report(themes),
        }
    }

    /// The RATING questions a report lists, by key, with their scales: the
    /// named ones, or else those with data in that report.
    fn rating_questions(&self, ratings: &Ratings) -> Vec<(String, &RatingQuestion)> {
        let keys: Vec<String> = if self.explicit {
            self.rating_keys.clone()
        } else {
            ratings.keys().cloned().collect()
        };
        keys.into_iter()
            .filter_map(|key| {
                let scale = self.rating.get(&key)?;
                Some((key, scale))
            })
            .collect()
    }

    /// The THEMES questions of a report: the named ones, or else those with
    /// data in that report.
    fn themes_report(&self, mut themes: BTreeMap<String, ThemeTallies>) -> Vec<ThemesGap> {
        let theme_keys: Vec<String> = if self.explicit {
            self.theme_keys.clone()
        } else {
            themes.keys().cloned().collect()
        };
        theme_keys
            .into_iter()
            .map(|question| {
                let tallies = themes.remove(&question).unwrap_or_default();
                let report = top_themes_report(&tallies, self.min_group_size, MAX_LISTED_THEMES);
                ThemesGap { question, report }
            })
            .collect()
    }
}

/// question → role → (score, respondents).
type Ratings = BTreeMap<String, ByRole<Vec<(i32, u64)>>>;

/// The aggregates of one group.
#[derive(Default)]
struct GroupData {
    ratings: Ratings,
    /// question → totals and candidate themes.
    themes: BTreeMap<String, ThemeTallies>,
}

/// The overall aggregates and those of each `group_by` value.
///
/// SQL groups histograms by label value with NULL for responses without
/// the label; the groups partition the responses and histogram counts are
/// additive, so the overall histograms are the sums over all groups
/// (repeated scores are summed by `scoring`). Theme rows come per report,
/// the overall one included.
fn collect(
    histograms: Vec<store::ScoreCount>,
    theme_tops: Vec<store::ThemeTop>,
) -> (GroupData, BTreeMap<String, GroupData>) {
    let mut overall = GroupData::default();
    let mut groups: BTreeMap<String, GroupData> = BTreeMap::new();
    for row in histograms {
        let Some(role) = Role::from_db(row.role) else {
            continue;
        };
        let bar = (row.score, count(row.respondents));
        if let Some(value) = row.group_value {
            let data = groups.entry(value).or_default();
            data.ratings
                .entry(row.question.clone())
                .or_default()
                .get_mut(role)
                .push(bar);
        }
        overall
            .ratings
            .entry(row.question)
            .or_default()
            .get_mut(role)
            .push(bar);
    }
    for row in theme_tops {
        let data = match row.group_value.clone() {
            _ if row.overall => &mut overall,
            Some(value) => groups.entry(value).or_default(),
            // Responses without the label: in the overall rows already.
            None => continue,
        };
        let tallies = data.themes.entry(row.question.clone()).or_default();
        let by_role = |l, s, c| ByRole {
            leadership: count(l),
            staff: count(s),
            customer: count(c),
        };
        let mentions = by_role(row.leadership, row.staff, row.customer);
        match row.theme {
            Some(theme) => tallies.themes.push((theme, mentions)),
            None => {
                tallies.respondents = mentions;
                tallies.distinct = by_role(
                    row.distinct_leadership,
                    row.distinct_staff,
                    row.distinct_customer,
                );
                tallies.squares = ByRole {
                    leadership: row.squares_leadership,
                    staff: row.squares_staff,
                    customer: row.squares_customer,
                };
                let pair = |distinct, dot| PairTally {
                    distinct: count(distinct),
                    dot,
                };
                // In the order of Role::COMPARISONS.
                tallies.pairs = [
                    pair(row.distinct_lc, row.dot_lc),
                    pair(row.distinct_sc, row.dot_sc),
                    pair(row.distinct_ls, row.dot_ls),
                ];
            }
        }
    }
    (overall, groups)
}

/// A SQL count (never negative) as a count.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
