//! Perception gap on THEMES questions (SPEC §5, last paragraph): which
//! themes each role mentions, how aligned two roles are, and where they
//! differ most.
//!
//! Two ways in, with the same rules:
//! - [`theme_figures`] and [`compare_themes`] score complete theme lists
//!   (every theme with its mentions), in O(n log n).
//! - [`top_themes_report`] scores what the store aggregates in SQL
//!   ([`ThemeTallies`]): every total (respondents, distinct themes, the
//!   sums the alignment needs) over every theme, but only the themes that
//!   can appear in a list cut at `top` entries. A question with 40,000
//!   distinct themes then costs the service a few hundred rows, and its
//!   lists are exactly the first `top` entries of the complete ones.

use std::cmp::Ordering;
use std::collections::BTreeMap;

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
    /// empty when suppressed. From [`top_themes_report`], only the first
    /// `top`.
    pub themes: Vec<ThemeShare>,
    /// How many distinct themes the role mentioned (0 when suppressed),
    /// listed or not.
    pub distinct_themes: u64,
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
    if is_suppressed(respondents, min_group_size) {
        return suppressed(respondents);
    }
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for (theme, count) in mentions {
        *counts.entry(theme.as_str()).or_default() += count;
    }
    let themes = shares(
        respondents,
        counts.into_iter().filter(|&(_, count)| count > 0),
    );
    ThemeFigures {
        respondents,
        suppressed: false,
        distinct_themes: themes.len() as u64,
        themes,
    }
}

fn is_suppressed(respondents: u64, min_group_size: u64) -> bool {
    respondents == 0 || respondents < min_group_size
}

fn suppressed(respondents: u64) -> ThemeFigures {
    ThemeFigures {
        respondents,
        suppressed: true,
        themes: Vec::new(),
        distinct_themes: 0,
    }
}

/// The shares of mentioned themes (each at most once), largest first, ties
/// by name.
fn shares<'a>(respondents: u64, mentions: impl Iterator<Item = (&'a str, u64)>) -> Vec<ThemeShare> {
    let mut themes: Vec<ThemeShare> = mentions
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
    themes
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
    /// theme name. From [`top_themes_report`], only the first `top`.
    pub themes: Vec<ThemeDifference>,
    /// How many distinct themes either role mentioned, listed or not.
    pub distinct_themes: u64,
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
/// `None` when either role is suppressed. O(n log n) in the themes of the
/// two lists, which must be complete (as [`theme_figures`] gives them).
pub fn compare_themes(from: &ThemeFigures, to: &ThemeFigures) -> Option<ThemeComparison> {
    if from.suppressed || to.suppressed {
        return None;
    }
    let mut union: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for t in &from.themes {
        union.entry(&t.theme).or_default().0 += t.mentions;
    }
    for t in &to.themes {
        union.entry(&t.theme).or_default().1 += t.mentions;
    }
    let themes = differences(
        (from.respondents, to.respondents),
        union.iter().map(|(&theme, &m)| (theme, m)),
    );
    let from_vec: Vec<f64> = themes.iter().map(|t| t.from_share).collect();
    let to_vec: Vec<f64> = themes.iter().map(|t| t.to_share).collect();
    Some(ThemeComparison {
        alignment: cosine_similarity(&from_vec, &to_vec),
        distinct_themes: themes.len() as u64,
        themes,
    })
}

/// The differences of the themes `(theme, (m_from, m_to))`, largest
/// |difference| first, ties by name.
fn differences<'a>(
    (n_from, n_to): (u64, u64),
    mentions: impl Iterator<Item = (&'a str, (u64, u64))>,
) -> Vec<ThemeDifference> {
    // Sort on exact integers: |m_from/n_from − m_to/n_to| has the common
    // denominator n_from·n_to, so comparing m_from·n_to − m_to·n_from is
    // exact and ties between themes are real ties, broken by name. (The
    // store ranks its candidates by the same key.)
    let mut rows: Vec<(i128, ThemeDifference)> = mentions
        .map(|(theme, (m_from, m_to))| {
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
    rows.into_iter().map(|(_, t)| t).collect()
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

/// One THEMES question's counts as the store aggregates them: totals over
/// every theme, and the mentions of the candidate themes only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThemeTallies {
    /// Respondents of each role who answered the question.
    pub respondents: ByRole<u64>,
    /// Candidate themes with each role's mentions, each theme once: at
    /// least every theme among the first `top` of a role's list or of a
    /// comparison's differences (ties broken by name, as the lists are).
    pub themes: Vec<(String, ByRole<u64>)>,
    /// Distinct themes each role mentioned, over every theme.
    pub distinct: ByRole<u64>,
    /// Σ mentions² of each role, over every theme.
    pub squares: ByRole<f64>,
    /// Per comparison, in the order of [`Role::COMPARISONS`].
    pub pairs: [PairTally; 3],
}

/// Totals of one pair of roles over every theme.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PairTally {
    /// Distinct themes either role mentioned.
    pub distinct: u64,
    /// Σ m_from · m_to.
    pub dot: f64,
}

/// The report [`themes_report`] gives for the complete theme lists, with
/// every list cut at `top` entries, computed from [`ThemeTallies`]:
///
/// ```text
/// alignment = Σ m_from·m_to / (√Σ m_from² · √Σ m_to²)
/// ```
///
/// which is the cosine of the share vectors (each is a count vector over
/// its role's respondents, and a cosine ignores scale). The lists are the
/// candidates sorted by the rules of [`theme_figures`] and
/// [`compare_themes`] and cut at `top`; since the candidates hold every
/// theme that can rank that high, they are the complete lists' first
/// `top` entries.
pub fn top_themes_report(t: &ThemeTallies, min_group_size: u64, top: usize) -> ThemesReport {
    let roles = t.respondents.map(|role, &respondents| {
        if is_suppressed(respondents, min_group_size) {
            return suppressed(respondents);
        }
        let mentioned = t
            .themes
            .iter()
            .map(|(theme, m)| (theme.as_str(), *m.get(role)))
            .filter(|&(_, m)| m > 0);
        let mut themes = shares(respondents, mentioned);
        themes.truncate(top);
        ThemeFigures {
            respondents,
            suppressed: false,
            themes,
            distinct_themes: *t.distinct.get(role),
        }
    });
    let comparisons = Role::COMPARISONS
        .iter()
        .zip(&t.pairs)
        .map(|(&(from, to), pair)| {
            let (f, o) = (roles.get(from), roles.get(to));
            let comparison = (!f.suppressed && !o.suppressed).then(|| {
                let mentioned = t
                    .themes
                    .iter()
                    .map(|(theme, m)| (theme.as_str(), (*m.get(from), *m.get(to))))
                    .filter(|&(_, (a, b))| a > 0 || b > 0);
                let mut themes = differences((f.respondents, o.respondents), mentioned);
                themes.truncate(top);
                let (sf, so) = (*t.squares.get(from), *t.squares.get(to));
                ThemeComparison {
                    alignment: (sf > 0.0 && so > 0.0)
                        .then(|| (pair.dot / (sf.sqrt() * so.sqrt())).clamp(0.0, 1.0)),
                    themes,
                    distinct_themes: pair.distinct,
                }
            });
            RoleComparison {
                from,
                to,
                comparison,
            }
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

    /// What the store computes for complete per-role mention lists, keeping
    /// as candidates only the themes `keep` accepts.
    fn tallies(
        respondents: ByRole<u64>,
        mentions: &[(&str, [u64; 3])],
        keep: impl Fn(&str) -> bool,
    ) -> ThemeTallies {
        let role = |m: &[u64; 3], r: Role| match r {
            Role::Leadership => m[0],
            Role::Staff => m[1],
            Role::Customer => m[2],
        };
        let per_role = |f: &dyn Fn(&[u64; 3], Role) -> f64| ByRole {
            leadership: mentions.iter().map(|(_, m)| f(m, Role::Leadership)).sum(),
            staff: mentions.iter().map(|(_, m)| f(m, Role::Staff)).sum(),
            customer: mentions.iter().map(|(_, m)| f(m, Role::Customer)).sum(),
        };
        let distinct = per_role(&|m, r| f64::from(u8::from(role(m, r) > 0)));
        let mut pairs = [PairTally::default(); 3];
        for (pair, &(from, to)) in pairs.iter_mut().zip(&Role::COMPARISONS) {
            for (_, m) in mentions {
                pair.distinct += u64::from(role(m, from) > 0 || role(m, to) > 0);
                pair.dot += (role(m, from) * role(m, to)) as f64;
            }
        }
        ThemeTallies {
            respondents,
            themes: mentions
                .iter()
                .filter(|(t, _)| keep(t))
                .map(|(t, m)| {
                    let m = ByRole {
                        leadership: m[0],
                        staff: m[1],
                        customer: m[2],
                    };
                    ((*t).to_owned(), m)
                })
                .collect(),
            distinct: distinct.map(|_, &d| d as u64),
            squares: per_role(&|m, r| (role(m, r) * role(m, r)) as f64),
            pairs,
        }
    }

    #[test]
    fn top_k_from_tallies_equals_the_complete_lists_cut() {
        // Leaders (10), staff (8), customers (40); seven themes.
        let n = ByRole {
            leadership: 10,
            staff: 8,
            customer: 40,
        };
        let rows: [(&str, [u64; 3]); 7] = [
            ("app", [1, 0, 12]),
            ("friendly_staff", [6, 5, 4]),
            ("price", [0, 1, 10]),
            ("product", [8, 4, 8]),
            ("speed", [2, 2, 0]),
            ("transfers", [0, 3, 16]),
            ("wait_times", [0, 6, 24]),
        ];
        let list = |r: Role| -> Vec<(String, u64)> {
            let i = match r {
                Role::Leadership => 0,
                Role::Staff => 1,
                Role::Customer => 2,
            };
            rows.iter().map(|(t, m)| ((*t).to_owned(), m[i])).collect()
        };
        let complete = themes_report(n.map(|r, &k| theme_figures(k, &list(r), 5)));

        // Every theme a candidate, no cut: the same report.
        let all = top_themes_report(&tallies(n.clone(), &rows, |_| true), 5, usize::MAX);
        assert_eq!(all.roles, complete.roles);
        for (a, c) in all.comparisons.iter().zip(&complete.comparisons) {
            let (a, c) = (
                a.comparison.as_ref().unwrap(),
                c.comparison.as_ref().unwrap(),
            );
            assert_eq!(a.themes, c.themes);
            assert_eq!(a.distinct_themes, c.distinct_themes);
            assert_close(a.alignment.unwrap(), c.alignment.unwrap(), 1e-12);
        }

        // Only the themes in some top 2 (what SQL sends): the first two of
        // every complete list, and every total over all seven themes.
        let top = 2;
        let mut candidates = std::collections::BTreeSet::new();
        for r in Role::ALL {
            candidates.extend(
                complete
                    .roles
                    .get(r)
                    .themes
                    .iter()
                    .take(top)
                    .map(|t| t.theme.clone()),
            );
        }
        for c in &complete.comparisons {
            let c = c.comparison.as_ref().unwrap();
            candidates.extend(c.themes.iter().take(top).map(|t| t.theme.clone()));
        }
        assert!(candidates.len() < rows.len(), "{candidates:?}");
        let cut = top_themes_report(&tallies(n, &rows, |t| candidates.contains(t)), 5, top);
        for r in Role::ALL {
            let (got, want) = (cut.roles.get(r), complete.roles.get(r));
            assert_eq!(got.themes, want.themes[..top]);
            assert_eq!(got.distinct_themes, want.distinct_themes);
        }
        assert_eq!(cut.roles.customer.distinct_themes, 6);
        for (a, c) in cut.comparisons.iter().zip(&complete.comparisons) {
            let (a, c) = (
                a.comparison.as_ref().unwrap(),
                c.comparison.as_ref().unwrap(),
            );
            assert_eq!(a.themes, c.themes[..top]);
            assert_eq!(a.distinct_themes, c.distinct_themes);
            assert_close(a.alignment.unwrap(), c.alignment.unwrap(), 1e-12);
        }
        // Leadership → customers: product 0.8 − 0.2 = 0.6 and wait_times
        // 0 − 0.6 tie at 0.6 (by name), ahead of friendly_staff's 0.5.
        let lc = cut.comparisons[0].comparison.as_ref().unwrap();
        let got: Vec<_> = lc
            .themes
            .iter()
            .map(|t| (t.theme.as_str(), t.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("product", ThemeGapKind::Illusion),
                ("wait_times", ThemeGapKind::BlindSpot)
            ]
        );
    }

    #[test]
    fn comparing_long_lists_is_not_quadratic() {
        // 40,000 themes per side; a quadratic merge takes minutes here.
        let side = |prefix: &str| {
            let mentions: Vec<(String, u64)> = (0..40_000)
                .map(|i| (format!("{prefix}{i:05}"), 1))
                .collect();
            theme_figures(2000, &mentions, 5)
        };
        let started = std::time::Instant::now();
        let c = compare_themes(&side("a"), &side("b")).unwrap();
        assert_eq!(c.distinct_themes, 80_000);
        assert_eq!(c.alignment, Some(0.0));
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}
