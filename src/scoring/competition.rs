//! Us against one competitor on one RATING question (SPEC §16.3), paired
//! over the CUSTOMER responses that rated both: the mean lead in points
//! with its paired t-test, and the win share among those who did not rate
//! us equal, with its exact sign test. Positive is good: "you want the gap
//! to be wide".

use super::{
    RatingQuestion,
    frames::{PairedSums, PointsTest, control_fdr, paired_test, shown_from},
    stats::{Interval, sign_test_p_value, wilson_interval},
};

/// The lead over one competitor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompetitorLead {
    /// Paired respondents.
    pub respondents: u64,
    /// Fewer respondents than [`shown_from`]: only the count is shown.
    pub suppressed: bool,
    /// `None` exactly when suppressed.
    pub figures: Option<LeadFigures>,
}

/// The figures of a lead that is shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeadFigures {
    pub mean_us: f64,
    pub mean_competitor: f64,
    /// Mean of (us − competitor) in points, with the paired t interval and
    /// p-value.
    pub lead: PointsTest,
    /// Respondents who rated us higher.
    pub wins: u64,
    /// Respondents who rated the competitor higher.
    pub losses: u64,
    /// Respondents who rated both the same.
    pub ties: u64,
    /// `wins / (wins + losses)`, with its Wilson interval; `None` when
    /// every respondent tied (a share of nobody).
    pub win_share: Option<(f64, Interval)>,
    /// Two-sided exact sign test of wins against losses (ties left out,
    /// the usual convention); 1 when every respondent tied.
    pub sign_test_p_value: f64,
}

/// The lead of one question over one competitor from the paired sums of
/// us (EXPERIENCE) − competitor.
pub fn competitor_lead(
    sums: &PairedSums,
    scale: &RatingQuestion,
    min_group_size: u64,
    confidence: f64,
) -> CompetitorLead {
    let n = sums.respondents;
    let figures = (n >= shown_from(min_group_size))
        .then(|| {
            let (mean_us, mean_competitor) = sums.means()?;
            let (wins, losses) = (sums.above, sums.below);
            let decided = wins + losses;
            let win_share = match decided {
                0 => None,
                _ => Some((
                    wins as f64 / decided as f64,
                    wilson_interval(wins, decided, confidence)?,
                )),
            };
            Some(LeadFigures {
                mean_us,
                mean_competitor,
                lead: paired_test(sums, scale, confidence)?,
                wins,
                losses,
                ties: sums.ties(),
                win_share,
                sign_test_p_value: sign_test_p_value(wins, losses),
            })
        })
        .flatten();
    CompetitorLead {
        respondents: n,
        suppressed: figures.is_none(),
        figures,
    }
}

/// Controls the false discovery rate over the paired t-tests of every
/// lead of one response that is shown ([`control_fdr`]). The sign tests
/// answer another question of the same data and are not part of the
/// family.
pub fn control_lead_fdr<'a>(
    leads: impl IntoIterator<Item = &'a mut CompetitorLead>,
    confidence: f64,
) {
    let tests = leads
        .into_iter()
        .filter_map(|l| l.figures.as_mut().map(|f| &mut f.lead));
    control_fdr(tests, confidence);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{frames::tests::scale, stats::tests::assert_close};

    const TOL: f64 = 1e-9;

    /// Us [4,3,5,4,2,4,3] against the competitor's [2,3,4,5,2,1,2].
    const LEAD: PairedSums = PairedSums {
        respondents: 7,
        sum_experience: 25,
        sum_framed: 19,
        sum_sq_difference: 16,
        above: 4,
        below: 1,
    };

    // Reference values: tests/reference/frames_reference.out.txt ("unit").

    #[test]
    fn the_lead_matches_scipy_and_statsmodels() {
        let l = competitor_lead(&LEAD, &scale(1, 5), 5, 0.95);
        assert_eq!((l.respondents, l.suppressed), (7, false));
        let f = l.figures.unwrap();
        assert_close(f.mean_us, 25.0 / 7.0, TOL);
        assert_close(f.mean_competitor, 19.0 / 7.0, TOL);
        assert_close(f.lead.points, 21.428571428571427, TOL);
        assert_close(f.lead.ci.lower, -9.673653941068725, TOL);
        assert_close(f.lead.ci.upper, 52.53079679821158, TOL);
        assert_close(f.lead.p_value, 0.14280043904340678, TOL);
        assert!(!f.lead.significant);
        assert_eq!((f.wins, f.losses, f.ties), (4, 1, 2));
        let (share, ci) = f.win_share.unwrap();
        assert_eq!(share, 0.8);
        assert_close(ci.lower, 0.37553462976252533, TOL);
        assert_close(ci.upper, 0.9637758913675698, TOL);
        assert_close(f.sign_test_p_value, 0.375, TOL);
    }

    #[test]
    fn all_ties_have_no_win_share_and_a_sign_test_of_one() {
        let ties = PairedSums {
            respondents: 5,
            sum_experience: 17,
            sum_framed: 17,
            sum_sq_difference: 0,
            above: 0,
            below: 0,
        };
        let f = competitor_lead(&ties, &scale(1, 5), 5, 0.95)
            .figures
            .unwrap();
        assert_eq!((f.wins, f.losses, f.ties, f.win_share), (0, 0, 5, None));
        assert_eq!(f.sign_test_p_value, 1.0);
        assert_eq!(f.lead.points, 0.0);
        assert!(!f.lead.significant);
    }

    #[test]
    fn a_small_competitor_shows_only_its_count_and_leaves_the_family() {
        let small = competitor_lead(&LEAD, &scale(1, 5), 8, 0.95);
        assert_eq!(
            (small.respondents, small.suppressed, small.figures),
            (7, true, None)
        );
        let mut leads = [competitor_lead(&LEAD, &scale(1, 5), 5, 0.95), small];
        control_lead_fdr(leads.iter_mut(), 0.95);
        let f = leads[0].figures.unwrap();
        assert_eq!(f.lead.q_value, f.lead.p_value, "a family of one");
    }
}
