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
//!   [`MAX_GROUPS`] values are reported; more is `FAILED_PRECONDITION`.

use std::collections::{BTreeMap, BTreeSet};

use super::{ServiceError, ServiceResult, Services, context::Context};
use crate::{
    domain::{
        Numbered, Scope, TenantId, Violations,
        enums::QuestionKind,
        violations::{check_confidence_level, check_key, unknown_question},
    },
    scoring::{
        ByRole, QuestionGap, RatingQuestion, Role, ThemesReport,
        gap::question_gap,
        themes::{theme_figures, themes_report},
    },
    store::gap::{self as store, GapQuery as StoreQuery},
};

/// Most `group_by` values one response reports; beyond that the response
/// would approach the 4 MiB message limit, and a breakdown that wide is
/// better read through `filter.labels` one value at a time.
pub const MAX_GROUPS: usize = 100;

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
        let by_key: BTreeMap<&str, &crate::domain::question::Question> =
            ctx.catalog.iter().map(|q| (q.key.as_str(), q)).collect();
        let explicit = !self.questions.is_empty();
        let mut chosen: BTreeSet<&str> = BTreeSet::new();
        if explicit {
            for (i, key) in self.questions.iter().enumerate() {
                if by_key.contains_key(key.as_str()) {
                    chosen.insert(key);
                } else {
                    v.add(
                        format!("questions[{i}]"),
                        unknown_question(key, by_key.keys().copied()),
                    );
                }
            }
        } else {
            chosen.extend(by_key.keys().copied());
        }
        v.into_result()?;

        let mut rating = BTreeMap::new();
        let mut theme_keys = Vec::new();
        for key in chosen {
            let q = by_key[key];
            match q.kind {
                QuestionKind::Rating if q.scale_min < q.scale_max => {
                    rating.insert(
                        key.to_owned(),
                        RatingQuestion {
                            scale_min: q.scale_min,
                            scale_max: q.scale_max,
                            favorable_min: q.favorable_min,
                            unfavorable_max: q.unfavorable_max,
                        },
                    );
                }
                QuestionKind::Themes => theme_keys.push(key.to_owned()),
                QuestionKind::Rating => {
                    tracing::warn!(question = key, "skipping a malformed catalog question")
                }
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
    // Two queries at once.
    let db = services.db(tenant, 2).await?;
    let pool = &*db;
    let query = |questions| StoreQuery {
        scope: &plan.scope,
        questions,
        group_by: plan.group_by.as_deref(),
    };
    let (histograms, theme_counts) = tokio::try_join!(
        store::rating_histograms(pool, tenant, query(&plan.rating_keys)),
        store::theme_counts(pool, tenant, query(&plan.theme_keys)),
    )?;

    let (overall, groups) = collect(histograms, theme_counts);
    if groups.len() > MAX_GROUPS {
        return Err(ServiceError::FailedPrecondition {
            reason: "TOO_MANY_GROUPS",
            message: format!(
                "the label {:?} has {} values in scope and at most {MAX_GROUPS} groups are reported; \
                 narrow the filter or group by a label with fewer values",
                plan.group_by.as_deref().unwrap_or_default(),
                groups.len()
            ),
        });
    }
    Ok(PerceptionGap {
        overall: plan.report(overall),
        groups: groups
            .into_iter()
            .map(|(value, data)| (value, plan.report(data)))
            .collect(),
        confidence: plan.confidence,
        min_group_size: plan.min_group_size,
    })
}

impl GapPlan {
    /// The same plan over another scope (a trend's bucket).
    pub fn with_scope(&self, scope: Scope) -> GapPlan {
        GapPlan {
            scope,
            ..self.clone()
        }
    }

    /// The report of one group (or the overall one).
    fn report(&self, data: GroupData) -> GapReport {
        let GroupData {
            mut ratings,
            mut themes,
        } = data;
        let rating_keys: Vec<String> = if self.explicit {
            self.rating_keys.clone()
        } else {
            ratings.keys().cloned().collect()
        };
        let theme_keys: Vec<String> = if self.explicit {
            self.theme_keys.clone()
        } else {
            themes.keys().cloned().collect()
        };
        let questions = rating_keys
            .into_iter()
            .filter_map(|question| {
                let scale = self.rating.get(&question)?;
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
                Some(RatingGap { question, gap })
            })
            .collect();
        let themes = theme_keys
            .into_iter()
            .map(|question| {
                let counts = themes.remove(&question).unwrap_or_default();
                let report = themes_report(counts.map(|_, (respondents, mentions)| {
                    theme_figures(*respondents, mentions, self.min_group_size)
                }));
                ThemesGap { question, report }
            })
            .collect();
        GapReport { questions, themes }
    }
}

/// The aggregates of one group.
#[derive(Default)]
struct GroupData {
    /// question → role → (score, respondents).
    ratings: BTreeMap<String, ByRole<Vec<(i32, u64)>>>,
    /// question → role → respondents who answered and theme mentions.
    themes: BTreeMap<String, ByRole<ThemeTally>>,
}

/// Respondents of a role who answered a THEMES question, and
/// `(theme, respondents mentioning it)`.
type ThemeTally = (u64, Vec<(String, u64)>);

/// The overall aggregates and those of each `group_by` value.
///
/// SQL groups by label value with NULL for responses without the label;
/// the groups partition the responses and every count is additive, so the
/// overall figures are the sums over all groups (repeated scores and themes
/// are summed by `scoring`).
fn collect(
    histograms: Vec<store::ScoreCount>,
    theme_counts: Vec<store::ThemeCount>,
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
            slot(data.ratings.entry(row.question.clone()).or_default(), role).push(bar);
        }
        slot(overall.ratings.entry(row.question).or_default(), role).push(bar);
    }
    for row in theme_counts {
        let Some(role) = Role::from_db(row.role) else {
            continue;
        };
        let n = count(row.respondents);
        let add = |data: &mut GroupData, question: String, theme: Option<String>| {
            let (respondents, mentions) = slot(data.themes.entry(question).or_default(), role);
            match theme {
                None => *respondents += n,
                Some(theme) => mentions.push((theme, n)),
            }
        };
        if let Some(value) = row.group_value {
            add(
                groups.entry(value).or_default(),
                row.question.clone(),
                row.theme.clone(),
            );
        }
        add(&mut overall, row.question, row.theme);
    }
    (overall, groups)
}

/// A SQL count (never negative) as a count.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn slot<T>(by_role: &mut ByRole<T>, role: Role) -> &mut T {
    match role {
        Role::Leadership => &mut by_role.leadership,
        Role::Staff => &mut by_role.staff,
        Role::Customer => &mut by_role.customer,
    }
}
