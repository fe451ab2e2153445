//! Perception gap on THEMES questions (SPEC §5, last paragraph): which
//! themes each role mentions, how aligned two roles are, and where they
//! differ most.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::gap::{ByRole, Role, RoleComparison};
use super::stats::cosine_similarity;

/// One theme's share among a role's respondents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeShare {
    pub theme: String,
    /// Respondents of the role who mentioned the theme.
    pub mentions: u64,
    /// mentions / respondents.
    pub share: f64,
}

/// One role's answers to one THEMES question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeFigures {
    /// Respondents of the role who answered the question.
    pub respondents: u64,
    /// Same rule as RATING questions: `respondents < max(min_group_size, 1)`.
    pub suppressed: bool,
    /// Share per mentioned theme, largest share first, ties by theme name;
    /// empty when suppressed.
    pub themes: Vec<ThemeShare>,
}

impl ThemeFigures {
    fn mentions(&self, theme: &str) -> u64 {
        self.themes
            .iter()
            .find(|t| t.theme == theme)
            .map_or(0, |t| t.mentions)
    }
}

/// One role's theme shares.
///
/// ```text
/// share(theme) = respondents mentioning theme / respondents who answered
/// ```
///
/// `mentions` is `(theme, respondents mentioning it)` as counted in SQL;
/// repeated themes are summed and themes with no mentions dropped. A
/// respondent mentions a theme at most once (ingest de-duplicates), so each
/// count is at most `respondents` and shares of different themes may add up
/// to more than 1.
pub fn theme_figures(
    respondents: u64,
    mentions: &[(String, u64)],
    min_group_size: u64,
) -> ThemeFigures {
    if respondents == 0 || respondents < min_group_size {
        return ThemeFigures {
            respondents,
            suppressed: true,
            themes: Vec::new(),
        };
    }
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for (theme, count) in mentions {
        *counts.entry(theme.as_str()).or_default() += count;
    }
    let mut themes: Vec<ThemeShare> = counts
        .into_iter()
        .filter(|&(_, count)| count > 0)
        .map(|(theme, count)| {
            debug_assert!(
                count <= respondents,
                "theme {theme} mentioned {count} times by {respondents} respondents"
            );
            ThemeShare {
                theme: theme.to_owned(),
                mentions: count,
                share: count as f64 / respondents as f64,
            }
        })
        .collect();
    // Same denominator for every theme: order by count, exactly.
    themes.sort_by(|a, b| {
        b.mentions
            .cmp(&a.mentions)
            .then_with(|| a.theme.cmp(&b.theme))
    });
    ThemeFigures {
        respondents,
        suppressed: false,
        themes,
    }
}

/// Which side of a pair mentions a theme more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ThemeGapKind {
    /// The outside role ("to", e.g. customers) mentions it more: something
    /// the inside role does not see.
    BlindSpot,
    /// The inside role ("from", e.g. leadership) mentions it more: something
    /// it believes in that the outside role does not report.
    Illusion,
    /// Both mention it equally often.
    Shared,
}

/// One theme in a comparison of two roles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeDifference {
    pub theme: String,
    pub from_share: f64,
    pub to_share: f64,
    /// from_share − to_share (a fraction, like the shares; × 100 for
    /// points). Positive: the inside role mentions it more.
    pub difference: f64,
    pub kind: ThemeGapKind,
}

/// Two roles' theme profiles compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemeComparison {
    /// Cosine similarity of the two share vectors over the union of themes,
    /// in [0, 1]; `None` when either role mentioned no theme.
    pub alignment: Option<f64>,
    /// Every theme either role mentioned, largest |difference| first, ties by
    /// theme name.
    pub themes: Vec<ThemeDifference>,
}

impl ThemeComparison {
    /// Themes the outside role mentions more, largest difference first.
    pub fn blind_spots(&self) -> impl Iterator<Item = &ThemeDifference> {
        self.themes
            .iter()
            .filter(|t| t.kind == ThemeGapKind::BlindSpot)
    }

    /// Themes the inside role mentions more, largest difference first.
    pub fn illusions(&self) -> impl Iterator<Item = &ThemeDifference> {
        self.themes
            .iter()
            .filter(|t| t.kind == ThemeGapKind::Illusion)
    }
}

/// Compares the theme profiles of an inside role (`from`) and an outside
/// role (`to`):
///
/// ```text
/// alignment  = cos(s_from, s_to) over the union of themes
/// difference = s_from(theme) − s_to(theme)
/// kind       = BlindSpot if difference < 0, Illusion if > 0, else Shared
/// ```
///
/// The classification is by direction only; how large a difference must be
/// to matter is a presentation choice (the list is ordered by size).
///
/// For LEADERSHIP→CUSTOMER and STAFF→CUSTOMER this is SPEC's definition
/// (blind spot: customers mention it more). For LEADERSHIP→STAFF the same
/// rule reads "staff, closer to customers, mention it more than leadership".
///
/// `None` when either role is suppressed.
pub fn compare_themes(from: &ThemeFigures, to: &ThemeFigures) -> Option<ThemeComparison> {
    if from.suppressed || to.suppressed {
        return None;
    }
    let union: BTreeSet<&str> = from
        .themes
        .iter()
        .chain(&to.themes)
        .map(|t| t.theme.as_str())
        .collect();
    let (n_from, n_to) = (from.respondents, to.respondents);

    // Sort on exact integers: |m_from/n_from − m_to/n_to| has the common
    // denominator n_from·n_to, so comparing m_from·n_to − m_to·n_from is
    // exact and ties between themes are real ties, broken by name.
    let mut rows: Vec<(i128, ThemeDifference)> = union
        .iter()
        .map(|&theme| {
            let (m_from, m_to) = (from.mentions(theme), to.mentions(theme));
            let scaled =
                i128::from(m_from) * i128::from(n_to) - i128::from(m_to) * i128::from(n_from);
            let from_share = m_from as f64 / n_from as f64;
            let to_share = m_to as f64 / n_to as f64;
            let kind = match scaled.cmp(&0) {
                Ordering::Less => ThemeGapKind::BlindSpot,
                Ordering::Greater => ThemeGapKind::Illusion,
                Ordering::Equal => ThemeGapKind::Shared,
            };
            let difference = ThemeDifference {
                theme: theme.to_owned(),
                from_share,
                to_share,
                difference: from_share - to_share,
                kind,
            };
            (scaled, difference)
        })
        .collect();
    rows.sort_by(|(a, ta), (b, tb)| b.abs().cmp(&a.abs()).then_with(|| ta.theme.cmp(&tb.theme)));
    let themes: Vec<ThemeDifference> = rows.into_iter().map(|(_, t)| t).collect();

    let from_vec: Vec<f64> = themes.iter().map(|t| t.from_share).collect();
    let to_vec: Vec<f64> = themes.iter().map(|t| t.to_share).collect();
    Some(ThemeComparison {
        alignment: cosine_similarity(&from_vec, &to_vec),
        themes,
    })
}

/// Everything SPEC §5 reports for one THEMES question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThemesReport {
    pub roles: ByRole<ThemeFigures>,
    /// In the order of [`Role::COMPARISONS`].
    pub comparisons: Vec<RoleComparison<ThemeComparison>>,
}

/// The three pairwise theme comparisons for figures already computed with
/// [`theme_figures`].
pub fn themes_report(roles: ByRole<ThemeFigures>) -> ThemesReport {
    let comparisons = Role::COMPARISONS
        .iter()
        .map(|&(from, to)| RoleComparison {
            from,
            to,
            comparison: compare_themes(roles.get(from), roles.get(to)),
        })
        .collect();
    ThemesReport { roles, comparisons }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::stats::tests::assert_close;

    fn mentions(rows: &[(&str, u64)]) -> Vec<(String, u64)> {
        rows.iter().map(|&(t, c)| (t.to_owned(), c)).collect()
    }

    #[test]
    fn shares_are_per_respondent_and_sorted() {
        let f = theme_figures(
            20,
            &mentions(&[
                ("speed", 5),
                ("price", 10),
                ("app", 5),
                ("speed", 5),
                ("noise", 0),
            ]),
            5,
        );
        assert!(!f.suppressed);
        let got: Vec<_> = f
            .themes
            .iter()
            .map(|t| (t.theme.as_str(), t.mentions, t.share))
            .collect();
        assert_eq!(
            got,
            [("price", 10, 0.5), ("speed", 10, 0.5), ("app", 5, 0.25)]
        );
    }

    #[test]
    fn leadership_versus_customers() {
        // Leaders (10) praise the product and the people; customers (40)
        // mostly complain about waiting and being passed around.
        let leaders = theme_figures(
            10,
            &mentions(&[("product", 8), ("friendly_staff", 6), ("speed", 2)]),
            5,
        );
        let customers = theme_figures(
            40,
            &mentions(&[
                ("wait_times", 24),
                ("transfers", 16),
                ("product", 8),
                ("friendly_staff", 4),
            ]),
            5,
        );
        let c = compare_themes(&leaders, &customers).unwrap();
        let got: Vec<_> = c
            .themes
            .iter()
            .map(|t| (t.theme.as_str(), t.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("product", ThemeGapKind::Illusion),        // 0.8 − 0.2 = 0.6
                ("wait_times", ThemeGapKind::BlindSpot),    // 0 − 0.6
                ("friendly_staff", ThemeGapKind::Illusion), // 0.6 − 0.1 = 0.5
                ("transfers", ThemeGapKind::BlindSpot),     // 0 − 0.4
                ("speed", ThemeGapKind::Illusion),          // 0.2 − 0
            ]
        );
        assert_close(c.themes[0].difference, 0.6, 1e-12);
        assert_close(c.themes[1].difference, -0.6, 1e-12);
        assert_eq!(c.blind_spots().count(), 2);
        assert_eq!(c.illusions().count(), 3);
        // Union order: friendly_staff, product, speed, transfers, wait_times.
        let a = [0.6, 0.8, 0.2, 0.0, 0.0];
        let b = [0.1, 0.2, 0.0, 0.4, 0.6];
        let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert_close(c.alignment.unwrap(), dot / norm(&a) / norm(&b), 1e-12);
    }

    #[test]
    fn identical_profiles_are_fully_aligned() {
        let a = theme_figures(10, &mentions(&[("x", 5), ("y", 2)]), 5);
        let b = theme_figures(20, &mentions(&[("x", 10), ("y", 4)]), 5);
        let c = compare_themes(&a, &b).unwrap();
        assert_close(c.alignment.unwrap(), 1.0, 1e-12);
        assert!(c.themes.iter().all(|t| t.kind == ThemeGapKind::Shared));
        // Exact ties sort by name.
        assert_eq!(c.themes[0].theme, "x");
    }

    #[test]
    fn suppression_and_empty_profiles() {
        let small = theme_figures(3, &mentions(&[("x", 3)]), 5);
        assert!(small.suppressed && small.themes.is_empty());
        let big = theme_figures(10, &mentions(&[("x", 5)]), 5);
        assert_eq!(compare_themes(&big, &small), None);
        assert_eq!(compare_themes(&small, &big), None);

        let nobody = theme_figures(0, &[], 0);
        assert!(nobody.suppressed);

        // Answered, but every theme row was filtered away: no alignment.
        let silent = theme_figures(10, &[], 5);
        let c = compare_themes(&big, &silent).unwrap();
        assert_eq!(c.alignment, None);
        assert_eq!(c.themes.len(), 1);
        assert_eq!(c.themes[0].kind, ThemeGapKind::Illusion);
    }

    #[test]
    fn report_has_three_pairs() {
        let r = themes_report(ByRole {
            leadership: theme_figures(10, &mentions(&[("x", 5)]), 5),
            staff: theme_figures(2, &mentions(&[("x", 1)]), 5),
            customer: theme_figures(50, &mentions(&[("y", 25)]), 5),
        });
        let pairs: Vec<_> = r.comparisons.iter().map(|c| (c.from, c.to)).collect();
        assert_eq!(pairs, Role::COMPARISONS);
        let lc = r.comparisons[0].comparison.as_ref().unwrap();
        assert_eq!(lc.alignment, Some(0.0));
        assert!(r.comparisons[1].comparison.is_none());
        assert!(r.comparisons[2].comparison.is_none());
    }
}
