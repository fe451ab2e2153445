//! `GetPerceptionGap` (SPEC §5): validates the request, aggregates the
//! answers in PostgreSQL (`store::gap`: score histograms and theme counts,
//! never answer rows), scores them with `scoring::{gap, themes}` under the
//! scoring model in force now, and maps the results to protobuf.
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
//! - Theme lists are cut at [`MAX_LISTED_THEMES`] entries (free-text tags
//!   can have thousands of values); `distinct_themes` says how many there
//!   were, and alignment always uses every theme.
//! - `ThemeDifference.difference_points` is (to_share − from_share) × 100 as
//!   the proto documents: positive for a blind spot.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    ApiError, ApiResult, AppState,
    scope::scope_from_filter,
    validate::{self, Violations, check_key},
};
use crate::{
    proto::v1::*,
    scoring::{
        self, ByRole, Role,
        gap::{RatingQuestion, question_gap},
        themes::{theme_figures, themes_report},
    },
    store::{
        catalog::{self, KIND_RATING, KIND_THEMES},
        gap::{self as store, GapQuery},
        scope::Scope,
        tenants::TenantId,
    },
};

/// Most `group_by` values one response reports; beyond that the response
/// would approach the 4 MiB message limit, and a breakdown that wide is
/// better read through `filter.labels` one value at a time.
pub const MAX_GROUPS: usize = 100;

/// Most themes listed per role and per comparison of a THEMES question.
pub const MAX_LISTED_THEMES: usize = 50;

/// Computes the perception-gap report.
pub async fn perception_gap(
    state: &AppState,
    tenant: TenantId,
    request: GetPerceptionGapRequest,
) -> ApiResult<GetPerceptionGapResponse> {
    let pool = &state.pool;
    let (questions, (model, _etag)) = tokio::try_join!(
        catalog::list_questions(pool, tenant),
        catalog::get_scoring_model(pool, tenant),
    )?;
    let req = GapRequest::validate(request, &questions, &model)?;

    let query = |questions| GapQuery {
        scope: &req.scope,
        questions,
        group_by: req.group_by.as_deref(),
    };
    let (histograms, theme_counts) = tokio::try_join!(
        store::rating_histograms(pool, tenant, query(&req.rating_keys)),
        store::theme_counts(pool, tenant, query(&req.theme_keys)),
    )?;

    let (overall, groups) = collect(histograms, theme_counts);
    if groups.len() > MAX_GROUPS {
        return Err(ApiError::FailedPrecondition {
            reason: "TOO_MANY_GROUPS",
            message: format!(
                "the label {:?} has {} values in scope and at most {MAX_GROUPS} groups are reported; \
                 narrow the filter or group by a label with fewer values",
                req.group_by.as_deref().unwrap_or_default(),
                groups.len()
            ),
        });
    }
    Ok(GetPerceptionGapResponse {
        overall: Some(req.report(overall)),
        groups: groups
            .into_iter()
            .map(|(label_value, data)| PerceptionGapGroup {
                label_value,
                report: Some(req.report(data)),
            })
            .collect(),
        confidence_level: req.confidence,
        min_group_size: i32::try_from(req.min_group_size).unwrap_or(i32::MAX),
    })
}

/// A validated request, with the model's settings resolved.
struct GapRequest {
    scope: Scope,
    confidence: f64,
    min_group_size: u64,
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

/// Moves the violations of a failed validation into `v`.
fn absorb<T>(v: &mut Violations, result: Result<T, ApiError>) -> ApiResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(ApiError::InvalidArgument(found)) => {
            for (field, description) in found.items() {
                v.add(field.clone(), description.clone());
            }
            Ok(None)
        }
        Err(other) => Err(other),
    }
}

impl GapRequest {
    /// Checks every field, reporting all violations at once.
    fn validate(
        request: GetPerceptionGapRequest,
        catalog: &[catalog::Question],
        model: &catalog::ScoringModel,
    ) -> ApiResult<Self> {
        let mut v = Violations::default();
        let scope = absorb(&mut v, scope_from_filter(request.filter.as_ref(), "filter"))?;
        let confidence = absorb(
            &mut v,
            validate::confidence_level(request.confidence_level, model.confidence_level)
                .map_err(ApiError::from),
        )?;
        if !request.group_by.is_empty() {
            check_key(&mut v, "group_by", &request.group_by);
        }

        let by_key: BTreeMap<&str, &catalog::Question> =
            catalog.iter().map(|q| (q.key.as_str(), q)).collect();
        let explicit = !request.questions.is_empty();
        let mut chosen: BTreeSet<&str> = BTreeSet::new();
        if explicit {
            for (i, key) in request.questions.iter().enumerate() {
                if by_key.contains_key(key.as_str()) {
                    chosen.insert(key);
                } else {
                    v.add(
                        format!("questions[{i}]"),
                        validate::unknown_question(key, by_key.keys().copied()),
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
                KIND_RATING if q.scale_min < q.scale_max => {
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
                KIND_THEMES => theme_keys.push(key.to_owned()),
                _ => tracing::warn!(question = key, "skipping a malformed catalog question"),
            }
        }
        Ok(Self {
            scope: scope.expect("no violations"),
            confidence: confidence.expect("no violations"),
            min_group_size: u64::try_from(model.min_group_size).unwrap_or(0),
            group_by: (!request.group_by.is_empty()).then_some(request.group_by),
            rating_keys: rating.keys().cloned().collect(),
            rating,
            theme_keys,
            explicit,
        })
    }

    /// The report of one group (or the overall one).
    fn report(&self, data: GroupData) -> PerceptionGapReport {
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
            .filter_map(|key| {
                let question = self.rating.get(&key)?;
                let h = ratings.remove(&key).unwrap_or_default();
                let gap = question_gap(
                    question,
                    ByRole {
                        leadership: &h.leadership,
                        staff: &h.staff,
                        customer: &h.customer,
                    },
                    self.min_group_size,
                    self.confidence,
                );
                Some(question_gap_to_proto(key, &gap))
            })
            .collect();
        let themes = theme_keys
            .into_iter()
            .map(|key| {
                let counts = themes.remove(&key).unwrap_or_default();
                let report = themes_report(counts.map(|_, (respondents, mentions)| {
                    theme_figures(*respondents, mentions, self.min_group_size)
                }));
                themes_to_proto(key, &report)
            })
            .collect();
        PerceptionGapReport { questions, themes }
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
        let Some(role) = role_of(row.role) else {
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
        let Some(role) = role_of(row.role) else {
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

/// The stored `gapscore.v1.RespondentRole` value as a scoring role.
fn role_of(stored: i16) -> Option<Role> {
    match RespondentRole::try_from(i32::from(stored)) {
        Ok(RespondentRole::Leadership) => Some(Role::Leadership),
        Ok(RespondentRole::Staff) => Some(Role::Staff),
        Ok(RespondentRole::Customer) => Some(Role::Customer),
        _ => None,
    }
}

/// A scoring role as its protobuf enum value.
pub fn role_to_proto(role: Role) -> i32 {
    match role {
        Role::Leadership => RespondentRole::Leadership,
        Role::Staff => RespondentRole::Staff,
        Role::Customer => RespondentRole::Customer,
    }
    .into()
}

fn interval_to_proto(i: scoring::Interval) -> Interval {
    Interval {
        lower: i.lower,
        upper: i.upper,
    }
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One role's figures; a suppressed role carries only its respondents.
pub fn role_figures_to_proto(role: Role, f: &scoring::RoleFigures) -> RoleFigures {
    let mut out = RoleFigures {
        role: role_to_proto(role),
        respondents: signed(f.respondents),
        suppressed: f.suppressed,
        ..RoleFigures::default()
    };
    if let Some(s) = &f.shares {
        out.favorable = signed(s.favorable);
        out.favorable_share = s.favorable_share;
        out.favorable_share_ci = Some(interval_to_proto(s.favorable_ci));
        out.unfavorable = s.unfavorable.map(signed);
        out.unfavorable_share = s.unfavorable_share;
        out.net_score = s.net_score;
        out.mean_score = s.mean_score;
        out.mean_normalized = s.mean_normalized;
    }
    out
}

/// One comparison of two roles.
pub fn comparison_to_proto(from: Role, to: Role, c: &scoring::Comparison) -> RoleComparison {
    RoleComparison {
        from_role: role_to_proto(from),
        to_role: role_to_proto(to),
        gap_points: c.gap_points,
        gap_points_ci: Some(interval_to_proto(c.gap_points_ci)),
        p_value: c.p_value,
        significant: c.significant,
        mean_gap_points: c.mean_gap_points,
        agreement_ratio: c.agreement_ratio,
    }
}

/// A RATING question's figures: three roles, and the comparisons whose
/// sides are both shown.
pub fn question_gap_to_proto(question: String, g: &scoring::QuestionGap) -> QuestionGap {
    QuestionGap {
        question,
        roles: Role::ALL
            .iter()
            .map(|&role| role_figures_to_proto(role, g.roles.get(role)))
            .collect(),
        comparisons: g
            .comparisons
            .iter()
            .filter_map(|c| Some(comparison_to_proto(c.from, c.to, c.comparison.as_ref()?)))
            .collect(),
    }
}

fn theme_kind_to_proto(kind: scoring::ThemeGapKind) -> i32 {
    match kind {
        scoring::ThemeGapKind::BlindSpot => ThemeGapKind::BlindSpot,
        scoring::ThemeGapKind::Illusion => ThemeGapKind::Illusion,
        scoring::ThemeGapKind::Shared => ThemeGapKind::Unspecified,
    }
    .into()
}

/// A THEMES question's figures, lists cut at [`MAX_LISTED_THEMES`].
pub fn themes_to_proto(question: String, r: &scoring::ThemesReport) -> ThemeAlignment {
    ThemeAlignment {
        question,
        roles: Role::ALL
            .iter()
            .map(|&role| {
                let f = r.roles.get(role);
                RoleThemes {
                    role: role_to_proto(role),
                    respondents: signed(f.respondents),
                    suppressed: f.suppressed,
                    themes: f
                        .themes
                        .iter()
                        .take(MAX_LISTED_THEMES)
                        .map(|t| ThemeShare {
                            theme: t.theme.clone(),
                            mentions: signed(t.mentions),
                            share: t.share,
                        })
                        .collect(),
                    distinct_themes: signed(f.themes.len() as u64),
                }
            })
            .collect(),
        comparisons: r
            .comparisons
            .iter()
            .filter_map(|c| {
                let cmp = c.comparison.as_ref()?;
                Some(ThemeComparison {
                    from_role: role_to_proto(c.from),
                    to_role: role_to_proto(c.to),
                    alignment: cmp.alignment,
                    differences: cmp
                        .themes
                        .iter()
                        .take(MAX_LISTED_THEMES)
                        .map(|d| ThemeDifference {
                            theme: d.theme.clone(),
                            from_share: d.from_share,
                            to_share: d.to_share,
                            difference_points: (d.to_share - d.from_share) * 100.0,
                            kind: theme_kind_to_proto(d.kind),
                        })
                        .collect(),
                    distinct_themes: signed(cmp.themes.len() as u64),
                })
            })
            .collect(),
    }
}
