//! `GetPerceptionGap` (SPEC §5) over gRPC: the request checked against the
//! tenant's catalog (`service::gap::GapQuery::plan`), the report computed by
//! `service::gap`, and its conversion to protobuf.
//!
//! Decisions of the wire format where SPEC §5 is silent:
//! - Theme lists hold at most [`MAX_LISTED_THEMES`] entries (free-text tags
//!   can have thousands of values; the service fetches only those);
//!   `distinct_themes` says how many there were, and alignment always uses
//!   every theme.
//! - `ThemeDifference.difference_points` is (to_share − from_share) × 100 as
//!   the proto documents: positive for a blind spot.

use super::{convert, scoring::signed};
use crate::{
    domain::{Numbered, TenantId, Violations},
    proto::v1::*,
    scoring::{self, Role},
    service::{
        ServiceResult, Services,
        context::Context,
        gap::{self as service, GapQuery, GapReport, MAX_LISTED_THEMES},
    },
};

/// `GetPerceptionGap`.
pub async fn perception_gap(
    services: &Services,
    tenant: TenantId,
    request: GetPerceptionGapRequest,
) -> ServiceResult<GetPerceptionGapResponse> {
    let ctx = Context::load(services, tenant).await?;
    let mut v = Violations::default();
    let scope = convert::scope(&mut v, "filter", request.filter.as_ref());
    let plan = GapQuery {
        scope,
        questions: request.questions,
        confidence: request.confidence_level,
        group_by: (!request.group_by.is_empty()).then_some(request.group_by),
    }
    .plan(v, &ctx)?;
    let gaps = service::perception_gap(services, tenant, &plan).await?;
    Ok(response(&gaps))
}

/// The protobuf form of a perception gap.
pub fn response(gaps: &service::PerceptionGap) -> GetPerceptionGapResponse {
    GetPerceptionGapResponse {
        overall: Some(report(&gaps.overall)),
        groups: gaps
            .groups
            .iter()
            .map(|(label_value, data)| PerceptionGapGroup {
                label_value: label_value.clone(),
                report: Some(report(data)),
            })
            .collect(),
        confidence_level: gaps.confidence,
        min_group_size: i32::try_from(gaps.min_group_size).unwrap_or(i32::MAX),
    }
}

fn report(r: &GapReport) -> PerceptionGapReport {
    PerceptionGapReport {
        questions: r
            .questions
            .iter()
            .map(|q| question_gap_to_proto(q.question.clone(), &q.gap))
            .collect(),
        themes: r
            .themes
            .iter()
            .map(|t| themes_to_proto(t.question.clone(), &t.report))
            .collect(),
    }
}

/// One role's figures; a suppressed role carries only its respondents.
pub fn role_figures_to_proto(role: Role, f: &scoring::RoleFigures) -> RoleFigures {
    let mut out = RoleFigures {
        role: role.number(),
        respondents: signed(f.respondents),
        suppressed: f.suppressed,
        ..RoleFigures::default()
    };
    if let Some(s) = &f.shares {
        out.favorable = signed(s.favorable);
        out.favorable_share = s.favorable_share;
        out.favorable_share_ci = Some(s.favorable_ci.into());
        out.unfavorable = s.unfavorable.map(signed);
        out.unfavorable_share = s.unfavorable_share;
        out.net_score = s.net_score;
        out.net_score_ci = Some(s.net_score_ci.into());
        out.mean_score = s.mean_score;
        out.mean_normalized = s.mean_normalized;
    }
    out
}

/// One comparison of two roles.
pub fn comparison_to_proto(from: Role, to: Role, c: &scoring::Comparison) -> RoleComparison {
    RoleComparison {
        from_role: from.number(),
        to_role: to.number(),
        gap_points: c.gap_points,
        gap_points_ci: Some(c.gap_points_ci.into()),
        p_value: c.p_value,
        significant: c.significant,
        mean_gap_points: c.mean_gap_points,
        agreement_ratio: c.agreement_ratio,
        net_gap_points: c.net_gap_points,
        net_gap_points_ci: Some(c.net_gap_points_ci.into()),
        net_p_value: c.net_p_value,
        q_value: c.fdr.q_value,
        significant_after_fdr: c.fdr.significant_after_fdr,
    }
}

/// A group's customers against the rest.
pub fn rest_comparison_to_proto(c: &scoring::gap::RestComparison) -> RestComparison {
    RestComparison {
        role: Role::Customer.number(),
        rest_respondents: signed(c.rest_respondents),
        gap_points: c.gap_points,
        gap_points_ci: Some(c.gap_points_ci.into()),
        p_value: c.p_value,
        significant: c.significant,
        q_value: c.fdr.q_value,
        significant_after_fdr: c.fdr.significant_after_fdr,
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
        vs_rest: g.vs_rest.as_ref().map(rest_comparison_to_proto),
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
                    role: role.number(),
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
                    distinct_themes: signed(f.distinct_themes),
                }
            })
            .collect(),
        comparisons: r
            .comparisons
            .iter()
            .filter_map(|c| {
                let cmp = c.comparison.as_ref()?;
                Some(ThemeComparison {
                    from_role: c.from.number(),
                    to_role: c.to.number(),
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
                    distinct_themes: signed(cmp.distinct_themes),
                })
            })
            .collect(),
    }
}
