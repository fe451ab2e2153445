//! ScoringService.GetPerceptionGap (SPEC §5) through the real server on a
//! real database; every response is submitted through SurveyService.

use std::collections::BTreeMap;

use gapscore::proto::v1::*;
use sqlx::PgPool;
use tonic::Code;

use crate::helpers::{
    TestApp,
    assert::{Z90, Z95, wilson},
    assert_close, assert_rel_close, error_reason, label_map, labels, rating, refused_at, response,
    spawn_app, themes, violation_fields, window,
};

const LEADERSHIP: RespondentRole = RespondentRole::Leadership;
const STAFF: RespondentRole = RespondentRole::Staff;
const CUSTOMER: RespondentRole = RespondentRole::Customer;

/// Where and when a batch of responses is given, and by which tenant.
#[derive(Clone)]
struct Batch<'a> {
    key: String,
    prefix: &'a str,
    at: &'a str,
    labels: BTreeMap<String, String>,
    survey_id: &'a str,
}

impl<'a> Batch<'a> {
    fn new(app: &TestApp, prefix: &'a str) -> Self {
        Batch {
            key: app.key.clone(),
            prefix,
            at: "2025-01-15T12:00:00Z",
            labels: BTreeMap::new(),
            survey_id: "",
        }
    }

    fn response(&self, id: String, role: RespondentRole, answer: Answer) -> SurveyResponse {
        SurveyResponse {
            labels: self.labels.clone(),
            survey_id: self.survey_id.into(),
            ..response(&id, role, self.at, vec![answer])
        }
    }

    /// Submits `count` responses of `role` per `(score, count)`, each
    /// answering only `question`.
    async fn scores(
        &self,
        app: &TestApp,
        role: RespondentRole,
        question: &str,
        scores: &[(i32, usize)],
    ) {
        let mut responses = Vec::new();
        for &(score, count) in scores {
            for _ in 0..count {
                let id = format!(
                    "{}-{}-{}-{}",
                    self.prefix,
                    role.as_str_name(),
                    question,
                    responses.len() + 1
                );
                responses.push(self.response(id, role, rating(question, score)));
            }
        }
        self.submit(app, responses).await;
    }

    /// Submits one response of `role` per theme set.
    async fn themes(
        &self,
        app: &TestApp,
        role: RespondentRole,
        question: &str,
        answers: &[&[&str]],
    ) {
        let responses = answers
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let id = format!("{}-{}-{}-{i}", self.prefix, role.as_str_name(), question);
                self.response(id, role, themes(question, t))
            })
            .collect();
        self.submit(app, responses).await;
    }

    async fn submit(&self, app: &TestApp, responses: Vec<SurveyResponse>) {
        let n = responses.len() as i64;
        let counts = app
            .submit_responses_as(&self.key, responses)
            .await
            .expect("SubmitSurveyResponses");
        assert_eq!(counts.inserted, n, "fresh ids");
    }
}

fn request() -> GetPerceptionGapRequest {
    GetPerceptionGapRequest::default()
}

async fn gap(app: &TestApp, request: GetPerceptionGapRequest) -> GetPerceptionGapResponse {
    app.scoring()
        .get_perception_gap(request)
        .await
        .expect("GetPerceptionGap succeeds")
        .into_inner()
}

fn overall(r: &GetPerceptionGapResponse) -> &PerceptionGapReport {
    r.overall.as_ref().expect("overall report")
}

fn question<'a>(report: &'a PerceptionGapReport, key: &str) -> &'a QuestionGap {
    report
        .questions
        .iter()
        .find(|q| q.question == key)
        .unwrap_or_else(|| panic!("question {key} in report"))
}

fn role(q: &QuestionGap, role: RespondentRole) -> &RoleFigures {
    let figures = q
        .roles
        .iter()
        .find(|r| r.role == role as i32)
        .expect("role present");
    assert_eq!(figures.role(), role);
    figures
}

fn comparison(
    q: &QuestionGap,
    from: RespondentRole,
    to: RespondentRole,
) -> Option<&RoleComparison> {
    q.comparisons
        .iter()
        .find(|c| c.from_role == from as i32 && c.to_role == to as i32)
}

fn pairs(q: &QuestionGap) -> Vec<(RespondentRole, RespondentRole)> {
    q.comparisons
        .iter()
        .map(|c| (c.from_role(), c.to_role()))
        .collect()
}

/// A report without its figures that depend on the rest of the response
/// (SPEC §10.2, §10.3): q-values are over every comparison of the response,
/// and `vs_rest` sets a group against the others.
fn on_its_own(report: &Option<PerceptionGapReport>) -> Option<PerceptionGapReport> {
    let mut report = report.clone()?;
    for q in &mut report.questions {
        q.vs_rest = None;
        for c in &mut q.comparisons {
            c.q_value = 0.0;
            c.significant_after_fdr = false;
        }
    }
    Some(report)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// SPEC §5's worked example: 80 of 100 leaders favorable (4), the rest
/// neutral (3); 8 of 100 customers.
async fn worked_example(app: &TestApp) {
    let b = Batch::new(app, "w");
    b.scores(app, LEADERSHIP, "overall_experience", &[(4, 80), (3, 20)])
        .await;
    b.scores(app, CUSTOMER, "overall_experience", &[(4, 8), (3, 92)])
        .await;
}

#[sqlx::test]
async fn the_delivery_gap_worked_example(pool: PgPool) {
    let app = spawn_app(pool).await;
    worked_example(&app).await;

    let r = gap(&app, request()).await;
    assert_eq!(r.confidence_level, 0.95);
    assert_eq!(r.min_group_size, 5);
    assert!(r.groups.is_empty());
    let report = overall(&r);
    let keys: Vec<_> = report
        .questions
        .iter()
        .map(|q| q.question.as_str())
        .collect();
    assert_eq!(
        keys,
        ["overall_experience"],
        "only questions with data by default"
    );
    assert!(report.themes.is_empty());

    let q = question(report, "overall_experience");
    let roles: Vec<_> = q.roles.iter().map(|r| r.role()).collect();
    assert_eq!(roles, [LEADERSHIP, STAFF, CUSTOMER]);
    let leaders = role(q, LEADERSHIP);
    assert_eq!((leaders.respondents, leaders.favorable), (100, 80));
    assert_eq!(leaders.favorable_share, 0.8);
    let staff = role(q, STAFF);
    assert_eq!(
        *staff,
        RoleFigures {
            role: STAFF as i32,
            respondents: 0,
            suppressed: true,
            ..RoleFigures::default()
        }
    );

    assert_eq!(
        pairs(q),
        [(LEADERSHIP, CUSTOMER)],
        "comparisons with staff are left out"
    );
    let c = comparison(q, LEADERSHIP, CUSTOMER).unwrap();
    assert_close(c.gap_points, 72.0, 1e-9);
    let ci = c.gap_points_ci.unwrap();
    assert_eq!((round2(ci.lower), round2(ci.upper)), (60.69, 79.72));
    assert_close(c.agreement_ratio.unwrap(), 0.10, 1e-12);
    assert!(c.significant);
    // statsmodels' proportions_ztest([80, 8], [100, 100]), recorded in
    // tests/reference/stats_reference.out.txt.
    assert_rel_close(c.p_value, 1.106_997_213_218_175_5e-24, 1e-6);
    // Means 3.8 → 70 and 3.08 → 52 on the 1-5 scale.
    assert_close(c.mean_gap_points, 18.0, 1e-9);
}

#[sqlx::test]
async fn role_figures_match_a_hand_computed_example(pool: PgPool) {
    let app = spawn_app(pool).await;
    let b = Batch::new(&app, "s");
    // Customers: 5, 5, 4, 3, 2, 1. Leaders: five 5s.
    b.scores(
        &app,
        CUSTOMER,
        "overall_experience",
        &[(5, 2), (4, 1), (3, 1), (2, 1), (1, 1)],
    )
    .await;
    b.scores(&app, LEADERSHIP, "overall_experience", &[(5, 5)])
        .await;

    let r = gap(&app, request()).await;
    let q = question(overall(&r), "overall_experience");
    let c = role(q, CUSTOMER);
    assert_eq!((c.respondents, c.suppressed, c.favorable), (6, false, 3));
    assert_eq!(c.favorable_share, 0.5);
    let ci = c.favorable_share_ci.unwrap();
    let (lo, hi) = wilson(3.0, 6.0, Z95);
    assert_close(ci.lower, lo, 1e-9);
    assert_close(ci.upper, hi, 1e-9);
    assert_close(ci.lower, 0.187_616_306, 1e-8);
    assert_close(ci.upper, 0.812_383_694, 1e-8);
    assert_eq!(c.unfavorable, Some(2));
    assert_close(c.unfavorable_share.unwrap(), 2.0 / 6.0, 1e-12);
    assert_close(c.net_score, (3.0 - 2.0) / 6.0 * 100.0, 1e-9);
    assert_close(c.mean_score, 20.0 / 6.0, 1e-12);
    assert_close(c.mean_normalized, (20.0 / 6.0 - 1.0) / 4.0 * 100.0, 1e-9);

    let l = role(q, LEADERSHIP);
    assert_eq!((l.respondents, l.favorable, l.unfavorable), (5, 5, Some(0)));
    let ci = l.favorable_share_ci.unwrap();
    assert_close(ci.lower, wilson(5.0, 5.0, Z95).0, 1e-9);
    assert_eq!(ci.upper, 1.0);
    assert_eq!(
        (l.net_score, l.mean_score, l.mean_normalized),
        (100.0, 5.0, 100.0)
    );

    let lc = comparison(q, LEADERSHIP, CUSTOMER).unwrap();
    assert_close(lc.gap_points, 50.0, 1e-9);
    assert_close(lc.agreement_ratio.unwrap(), 0.5, 1e-12);
    assert_close(lc.mean_gap_points, 100.0 - 700.0 / 12.0, 1e-9);
    let ci = lc.gap_points_ci.unwrap();
    assert!(ci.lower < lc.gap_points && lc.gap_points < ci.upper);
    assert_eq!(lc.significant, ci.lower > 0.0 || ci.upper < 0.0);
}

#[sqlx::test]
async fn net_score_of_likelihood_to_recommend_is_nps(pool: PgPool) {
    let app = spawn_app(pool).await;
    let b = Batch::new(&app, "n");
    // 10 customers: 5 promoters (9-10), 2 passives (7-8), 3 detractors (0-6).
    b.scores(
        &app,
        CUSTOMER,
        "likelihood_to_recommend",
        &[(10, 3), (9, 2), (8, 1), (7, 1), (6, 1), (3, 1), (0, 1)],
    )
    .await;
    let r = gap(&app, request()).await;
    let c = role(question(overall(&r), "likelihood_to_recommend"), CUSTOMER);
    assert_eq!(
        (c.respondents, c.favorable, c.unfavorable),
        (10, 5, Some(3))
    );
    assert_close(c.net_score, 20.0, 1e-9);
    assert_close(c.mean_score, 7.2, 1e-12);
    assert_close(c.mean_normalized, 72.0, 1e-9);
}

#[sqlx::test]
async fn small_roles_are_suppressed_with_the_model_in_force(pool: PgPool) {
    let app = spawn_app(pool).await;
    let b = Batch::new(&app, "x");
    b.scores(&app, LEADERSHIP, "speed", &[(5, 3), (4, 1)]).await;
    b.scores(&app, STAFF, "speed", &[(4, 3), (2, 3)]).await;
    b.scores(&app, CUSTOMER, "speed", &[(2, 5), (4, 5)]).await;

    let r = gap(&app, request()).await;
    let q = question(overall(&r), "speed");
    assert_eq!(
        *role(q, LEADERSHIP),
        RoleFigures {
            role: LEADERSHIP as i32,
            respondents: 4,
            suppressed: true,
            ..RoleFigures::default()
        }
    );
    assert!(!role(q, STAFF).suppressed);
    assert_eq!(pairs(q), [(STAFF, CUSTOMER)]);

    // Lower the threshold: the next query uses it.
    app.update_scoring_model(|model| {
        model.min_group_size = 4;
    })
    .await;
    let r = gap(&app, request()).await;
    assert_eq!(r.min_group_size, 4);
    let q = question(overall(&r), "speed");
    let l = role(q, LEADERSHIP);
    assert!(!l.suppressed);
    assert_eq!((l.favorable, l.favorable_share), (4, 1.0));
    assert_eq!(
        pairs(q),
        [
            (LEADERSHIP, CUSTOMER),
            (STAFF, CUSTOMER),
            (LEADERSHIP, STAFF)
        ]
    );
    let ls = comparison(q, LEADERSHIP, STAFF).unwrap();
    assert_close(ls.gap_points, 50.0, 1e-9);
}

#[sqlx::test]
async fn the_window_is_half_open(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut b = Batch::new(&app, "t");
    for (prefix, at) in [
        ("before", "2024-12-31T23:59:59.999Z"),
        ("start", "2025-01-01T00:00:00Z"),
        ("inside", "2025-01-31T23:59:59Z"),
        ("end", "2025-02-01T00:00:00Z"),
    ] {
        b.prefix = prefix;
        b.at = at;
        b.scores(&app, CUSTOMER, "csat", &[(5, 1)]).await;
    }
    let r = gap(
        &app,
        GetPerceptionGapRequest {
            filter: window("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"),
            ..request()
        },
    )
    .await;
    assert_eq!(role(question(overall(&r), "csat"), CUSTOMER).respondents, 2);

    // An empty window is an empty report, not an error.
    let r = gap(
        &app,
        GetPerceptionGapRequest {
            filter: window("2030-01-01T00:00:00Z", "2030-02-01T00:00:00Z"),
            ..request()
        },
    )
    .await;
    assert_eq!(r.overall, Some(PerceptionGapReport::default()));
    assert!(r.groups.is_empty());
    assert_eq!(r.confidence_level, 0.95);
}

#[sqlx::test]
async fn labels_survey_and_questions_scope_the_report(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut b = Batch::new(&app, "emea");
    b.labels = label_map(&[("region", "emea"), ("product", "pro")]);
    b.survey_id = "wave-1";
    b.scores(&app, CUSTOMER, "csat", &[(5, 6)]).await;
    b.scores(&app, CUSTOMER, "speed", &[(1, 6)]).await;
    b.prefix = "amer";
    b.labels = label_map(&[("region", "amer"), ("product", "pro")]);
    b.survey_id = "wave-2";
    b.scores(&app, CUSTOMER, "csat", &[(1, 7)]).await;

    let csat = |r: &GetPerceptionGapResponse| *role(question(overall(r), "csat"), CUSTOMER);

    let r = gap(
        &app,
        GetPerceptionGapRequest {
            filter: labels(&[("region", "emea")]),
            ..request()
        },
    )
    .await;
    assert_eq!((csat(&r).respondents, csat(&r).favorable), (6, 6));
    let r = gap(
        &app,
        GetPerceptionGapRequest {
            filter: labels(&[("region", "amer"), ("product", "pro")]),
            ..request()
        },
    )
    .await;
    assert_eq!((csat(&r).respondents, csat(&r).favorable), (7, 0));
    let keys: Vec<_> = overall(&r)
        .questions
        .iter()
        .map(|q| q.question.as_str())
        .collect();
    assert_eq!(keys, ["csat"]);
    let r = gap(
        &app,
        GetPerceptionGapRequest {
            filter: labels(&[("region", "apac")]),
            ..request()
        },
    )
    .await;
    assert_eq!(overall(&r).questions, []);

    let r = gap(
        &app,
        GetPerceptionGapRequest {
            filter: Some(ScoreFilter {
                survey_id: "wave-2".into(),
                ..ScoreFilter::default()
            }),
            ..request()
        },
    )
    .await;
    assert_eq!(csat(&r).respondents, 7);

    // All data, ordered by key.
    let r = gap(&app, request()).await;
    let keys: Vec<_> = overall(&r)
        .questions
        .iter()
        .map(|q| q.question.as_str())
        .collect();
    assert_eq!(keys, ["csat", "speed"]);
    assert_eq!(csat(&r).respondents, 13);

    // A subset; a named question is reported even without data; duplicates once.
    let r = gap(
        &app,
        GetPerceptionGapRequest {
            questions: vec!["speed".into(), "ease".into(), "speed".into()],
            ..request()
        },
    )
    .await;
    let keys: Vec<_> = overall(&r)
        .questions
        .iter()
        .map(|q| q.question.as_str())
        .collect();
    assert_eq!(keys, ["ease", "speed"]);
    let ease = question(overall(&r), "ease");
    assert!(
        ease.roles
            .iter()
            .all(|r| r.respondents == 0 && r.suppressed)
    );
    assert!(ease.comparisons.is_empty());
    assert_eq!(role(question(overall(&r), "speed"), CUSTOMER).favorable, 0);
}

#[sqlx::test]
async fn invalid_requests_list_every_violation(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut scoring = app.scoring();

    let err = scoring
        .get_perception_gap(GetPerceptionGapRequest {
            questions: vec!["csat".into(), "nps".into()],
            ..request()
        })
        .await
        .unwrap_err();
    assert_eq!(violation_fields(&err), ["questions[1]"]);
    assert_eq!(error_reason(&err), "INVALID_ARGUMENT");
    assert!(
        err.message()
            .contains("gapscore.v1.CatalogService/ListQuestions"),
        "{}",
        err.message()
    );

    for level in [0.4, 1.0, 0.9995, f64::NAN] {
        assert_eq!(
            refused_at(scoring.get_perception_gap(GetPerceptionGapRequest {
                confidence_level: Some(level),
                ..request()
            }))
            .await,
            ["confidence_level"],
            "level {level}"
        );
    }

    let err = scoring
        .get_perception_gap(GetPerceptionGapRequest {
            filter: window("2025-02-01T00:00:00Z", "2025-01-01T00:00:00Z"),
            questions: vec!["Overall".into()],
            confidence_level: Some(2.0),
            group_by: "Region".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violation_fields(&err),
        [
            "filter.end_time",
            "confidence_level",
            "group_by",
            "questions[0]"
        ]
    );
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[sqlx::test]
async fn the_confidence_level_sets_the_intervals(pool: PgPool) {
    let app = spawn_app(pool).await;
    worked_example(&app).await;

    let at = |level| {
        let app = &app;
        async move {
            let r = gap(
                app,
                GetPerceptionGapRequest {
                    confidence_level: level,
                    ..request()
                },
            )
            .await;
            let q = question(overall(&r), "overall_experience").clone();
            (r.confidence_level, q)
        }
    };
    let (level95, q95) = at(None).await;
    let (level90, q90) = at(Some(0.90)).await;
    assert_eq!((level95, level90), (0.95, 0.90));

    let ci90 = role(&q90, LEADERSHIP).favorable_share_ci.unwrap();
    let (lo, hi) = wilson(80.0, 100.0, Z90);
    assert_close(ci90.lower, lo, 1e-9);
    assert_close(ci90.upper, hi, 1e-9);
    let ci95 = role(&q95, LEADERSHIP).favorable_share_ci.unwrap();
    assert!(ci95.lower < ci90.lower && ci90.upper < ci95.upper);

    let g90 = comparison(&q90, LEADERSHIP, CUSTOMER).unwrap();
    let g95 = comparison(&q95, LEADERSHIP, CUSTOMER).unwrap();
    assert_eq!(g90.gap_points, g95.gap_points);
    assert_eq!(g90.p_value, g95.p_value);
    let (i90, i95) = (g90.gap_points_ci.unwrap(), g95.gap_points_ci.unwrap());
    assert!(i95.lower < i90.lower && i90.upper < i95.upper);
}

#[sqlx::test]
async fn group_by_reports_each_label_value_like_a_filter(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut b = Batch::new(&app, "emea");
    b.labels = label_map(&[("region", "emea")]);
    b.scores(&app, LEADERSHIP, "overall_experience", &[(5, 6)])
        .await;
    b.scores(&app, CUSTOMER, "overall_experience", &[(4, 3), (2, 5)])
        .await;
    b.themes(
        &app,
        CUSTOMER,
        "improve",
        &[&["wait_times"], &["price", "wait_times"]],
    )
    .await;
    b.prefix = "amer";
    b.labels = label_map(&[("region", "amer"), ("tier", "gold")]);
    b.scores(&app, LEADERSHIP, "overall_experience", &[(4, 5), (1, 2)])
        .await;
    b.scores(&app, CUSTOMER, "overall_experience", &[(5, 9)])
        .await;
    b.scores(&app, STAFF, "csat", &[(3, 5)]).await;
    // No region: only in the overall report.
    b.prefix = "none";
    b.labels = label_map(&[("tier", "gold")]);
    b.scores(&app, CUSTOMER, "overall_experience", &[(1, 4)])
        .await;

    let r = gap(
        &app,
        GetPerceptionGapRequest {
            group_by: "region".into(),
            ..request()
        },
    )
    .await;
    let values: Vec<_> = r.groups.iter().map(|g| g.label_value.as_str()).collect();
    assert_eq!(values, ["amer", "emea"]);

    let customers = role(question(overall(&r), "overall_experience"), CUSTOMER);
    assert_eq!(
        (customers.respondents, customers.favorable),
        (8 + 9 + 4, 3 + 9)
    );
    let ungrouped = gap(&app, request()).await;
    assert_eq!(
        on_its_own(&ungrouped.overall),
        on_its_own(&r.overall),
        "grouping changes no figure of the overall report but its q-values"
    );

    for group in &r.groups {
        let filtered = gap(
            &app,
            GetPerceptionGapRequest {
                filter: labels(&[("region", &group.label_value)]),
                ..request()
            },
        )
        .await;
        assert_eq!(
            on_its_own(&group.report),
            on_its_own(&filtered.overall),
            "group {}",
            group.label_value
        );
    }
    let amer = r.groups[0].report.as_ref().unwrap();
    let keys: Vec<_> = amer.questions.iter().map(|q| q.question.as_str()).collect();
    assert_eq!(keys, ["csat", "overall_experience"]);
    assert!(amer.themes.is_empty());
    let emea = r.groups[1].report.as_ref().unwrap();
    assert_eq!(emea.themes.len(), 1);

    // Grouping combines with a filter on another label.
    let r = gap(
        &app,
        GetPerceptionGapRequest {
            filter: labels(&[("tier", "gold")]),
            group_by: "region".into(),
            ..request()
        },
    )
    .await;
    let values: Vec<_> = r.groups.iter().map(|g| g.label_value.as_str()).collect();
    assert_eq!(values, ["amer"]);
    let customers = role(question(overall(&r), "overall_experience"), CUSTOMER);
    assert_eq!(customers.respondents, 9 + 4);

    // A label nobody carries: the overall report only.
    let r = gap(
        &app,
        GetPerceptionGapRequest {
            group_by: "channel".into(),
            ..request()
        },
    )
    .await;
    assert!(r.groups.is_empty());
    assert_eq!(r.overall, ungrouped.overall);
}

#[sqlx::test]
async fn themes_show_blind_spots_illusions_and_alignment(pool: PgPool) {
    let app = spawn_app(pool).await;
    let b = Batch::new(&app, "th");
    b.themes(
        &app,
        LEADERSHIP,
        "do_well",
        &[
            &["product", "people"],
            &["product", "people"],
            &["product", "people"],
            &["product"],
            &["speed"],
        ],
    )
    .await;
    b.themes(
        &app,
        CUSTOMER,
        "do_well",
        &[
            &["wait_times"],
            &["wait_times"],
            &["wait_times"],
            &["wait_times"],
            &["wait_times"],
            &["product", "wait_times"],
            &["product", "wait_times"],
            &["people"],
            &["price"],
            &["price"],
        ],
    )
    .await;
    b.themes(&app, STAFF, "do_well", &[&["product"], &["people"]])
        .await;
    b.scores(&app, CUSTOMER, "csat", &[(4, 5)]).await;

    let r = gap(&app, request()).await;
    let report = overall(&r);
    assert_eq!(report.questions.len(), 1, "csat");
    assert_eq!(report.themes.len(), 1);
    let t = &report.themes[0];
    assert_eq!(t.question, "do_well");

    let shares = |role: RespondentRole| {
        let r = t.roles.iter().find(|r| r.role == role as i32).unwrap();
        (
            r.respondents,
            r.suppressed,
            r.distinct_themes,
            r.themes
                .iter()
                .map(|s| (s.theme.clone(), s.mentions, s.share))
                .collect::<Vec<_>>(),
        )
    };
    let s = |t: &str, m, share| (t.to_string(), m, share);
    assert_eq!(
        shares(LEADERSHIP),
        (
            5,
            false,
            3,
            vec![
                s("product", 4, 0.8),
                s("people", 3, 0.6),
                s("speed", 1, 0.2)
            ]
        )
    );
    assert_eq!(
        shares(CUSTOMER),
        (
            10,
            false,
            4,
            vec![
                s("wait_times", 7, 0.7),
                s("price", 2, 0.2),
                s("product", 2, 0.2),
                s("people", 1, 0.1)
            ]
        )
    );
    assert_eq!(shares(STAFF), (2, true, 0, vec![]));

    assert_eq!(t.comparisons.len(), 1, "staff is suppressed");
    let c = &t.comparisons[0];
    assert_eq!((c.from_role(), c.to_role()), (LEADERSHIP, CUSTOMER));
    assert_eq!(c.distinct_themes, 5);
    // Over (people, price, product, speed, wait_times).
    let l = [0.6, 0.0, 0.8, 0.2, 0.0];
    let k = [0.1, 0.2, 0.2, 0.0, 0.7];
    let dot: f64 = l.iter().zip(&k).map(|(a, b)| a * b).sum();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert_close(c.alignment.unwrap(), dot / norm(&l) / norm(&k), 1e-12);
    assert_close(c.alignment.unwrap(), 0.283_264_411, 1e-9);

    let got: Vec<_> = c
        .differences
        .iter()
        .map(|d| {
            (
                d.theme.as_str(),
                d.kind(),
                (d.difference_points * 1e9).round() / 1e9,
            )
        })
        .collect();
    use ThemeGapKind::{BlindSpot, Illusion};
    assert_eq!(
        got,
        [
            ("wait_times", BlindSpot, 70.0),
            ("product", Illusion, -60.0),
            ("people", Illusion, -50.0),
            ("price", BlindSpot, 20.0),
            ("speed", Illusion, -20.0),
        ]
    );
    let product = &c.differences[1];
    assert_eq!((product.from_share, product.to_share), (0.8, 0.2));

    // Asked for explicitly, a THEMES question without data is still listed.
    let r = gap(
        &app,
        GetPerceptionGapRequest {
            questions: vec!["improve".into(), "do_well".into()],
            ..request()
        },
    )
    .await;
    let report = overall(&r);
    assert!(report.questions.is_empty());
    let keys: Vec<_> = report.themes.iter().map(|t| t.question.as_str()).collect();
    assert_eq!(keys, ["do_well", "improve"]);
    let improve = &report.themes[1];
    assert!(
        improve
            .roles
            .iter()
            .all(|r| r.respondents == 0 && r.suppressed)
    );
    assert!(improve.comparisons.is_empty());
}

#[sqlx::test]
async fn tenants_see_only_their_own_answers(pool: PgPool) {
    let app = spawn_app(pool).await;
    let key_b = app.add_tenant("beta").await;

    // The same response ids in both tenants.
    let a = Batch::new(&app, "same");
    a.scores(&app, CUSTOMER, "csat", &[(5, 6)]).await;
    let b = Batch {
        key: key_b.clone(),
        ..a.clone()
    };
    b.scores(&app, CUSTOMER, "csat", &[(1, 8)]).await;
    b.scores(&app, LEADERSHIP, "speed", &[(4, 5)]).await;

    let r = gap(&app, request()).await;
    let keys: Vec<_> = overall(&r)
        .questions
        .iter()
        .map(|q| q.question.as_str())
        .collect();
    assert_eq!(keys, ["csat"]);
    let c = role(question(overall(&r), "csat"), CUSTOMER);
    assert_eq!((c.respondents, c.favorable), (6, 6));

    let r = app
        .scoring_as(Some(&key_b))
        .get_perception_gap(GetPerceptionGapRequest {
            group_by: "region".into(),
            ..request()
        })
        .await
        .unwrap()
        .into_inner();
    let keys: Vec<_> = overall(&r)
        .questions
        .iter()
        .map(|q| q.question.as_str())
        .collect();
    assert_eq!(keys, ["csat", "speed"]);
    let c = role(question(overall(&r), "csat"), CUSTOMER);
    assert_eq!((c.respondents, c.favorable), (8, 0));

    let err = app
        .scoring_as(None)
        .get_perception_gap(request())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}

#[sqlx::test]
async fn long_theme_lists_and_wide_groupings_are_bounded(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut b = Batch::new(&app, "long");
    // 60 distinct customer themes over 5 respondents; leaders name one more.
    let names: Vec<String> = (0..60).map(|i| format!("theme_{i:02}")).collect();
    let sets: Vec<Vec<&str>> = names
        .chunks(12)
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let sets: Vec<&[&str]> = sets.iter().map(Vec::as_slice).collect();
    b.themes(&app, CUSTOMER, "improve", &sets).await;
    b.themes(&app, LEADERSHIP, "improve", &[&["culture"][..]; 5])
        .await;

    let r = gap(&app, request()).await;
    let t = &overall(&r).themes[0];
    let customers = t.roles.iter().find(|r| r.role() == CUSTOMER).unwrap();
    assert_eq!(
        (customers.distinct_themes, customers.themes.len()),
        (60, 50)
    );
    let c = &t.comparisons[0];
    assert_eq!((c.distinct_themes, c.differences.len()), (61, 50));
    assert_eq!(c.differences[0].theme, "culture");
    assert_eq!(c.alignment, Some(0.0));

    // One response in each of 101 regions: too many groups to report.
    b.prefix = "wide";
    let wide = (0..101)
        .map(|i| SurveyResponse {
            labels: label_map(&[("region", &format!("r{i:03}"))]),
            ..b.response(format!("wide-{i}"), CUSTOMER, rating("csat", 4))
        })
        .collect();
    b.submit(&app, wide).await;
    let err = app
        .scoring()
        .get_perception_gap(GetPerceptionGapRequest {
            group_by: "region".into(),
            ..request()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&err), "TOO_MANY_GROUPS");
    assert!(err.message().contains("101 values"), "{}", err.message());
    // A filter narrows it down again.
    let r = gap(
        &app,
        GetPerceptionGapRequest {
            filter: labels(&[("region", "r007")]),
            group_by: "region".into(),
            ..request()
        },
    )
    .await;
    assert_eq!(r.groups.len(), 1);
}
