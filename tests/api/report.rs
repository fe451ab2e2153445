//! `gapscore report` (issue 4, "a picture"): the demo tenant's report shows
//! the same figures the API serves.

use gapscore::proto::v1::*;
use sqlx::PgPool;

use crate::helpers::{
    internals::{
        demo,
        report::{self, agreement_sentence, pct, pct_interval, points},
    },
    spawn_app,
    sql::count,
    timestamp,
};

fn role(q: &QuestionGap, role: RespondentRole) -> &RoleFigures {
    q.roles
        .iter()
        .find(|r| r.role == role as i32)
        .expect("the demo has every role on every rating question")
}

#[sqlx::test]
async fn the_demo_report_shows_the_scorecard_and_one_bar_per_role(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = demo::load(&pool).await.expect("demo loads");
    // The data set docs/WALKTHROUGH.md and the README describe.
    let demo_rows = [
        count(
            &pool,
            "SELECT count(*) FROM survey_responses JOIN tenants USING (tenant_id) WHERE name = 'demo'",
        )
        .await,
        count(
            &pool,
            "SELECT count(*) FROM journeys JOIN tenants USING (tenant_id) WHERE name = 'demo'",
        )
        .await,
        count(
            &pool,
            "SELECT count(*) FROM outcomes JOIN tenants USING (tenant_id) WHERE name = 'demo'",
        )
        .await,
    ];
    assert_eq!(
        demo_rows,
        [2_640, 1_800, 2_400],
        "responses, journeys, outcomes"
    );

    // What a dashboard would fetch over gRPC with the demo key.
    let card = app
        .scoring_as(Some(&key))
        .get_scorecard(GetScorecardRequest::default())
        .await
        .expect("scorecard")
        .into_inner();
    let gaps = app
        .scoring_as(Some(&key))
        .get_perception_gap(GetPerceptionGapRequest::default())
        .await
        .expect("perception gap")
        .into_inner();

    let html = report::build(&pool, "demo").await.expect("report renders");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "no scripts");
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "no external assets"
    );

    // The headline: leaders against customers on overall_experience.
    let questions = &gaps.overall.as_ref().expect("overall report").questions;
    let overall = questions
        .iter()
        .find(|q| q.question == "overall_experience")
        .expect("overall_experience");
    let (leaders, customers) = (
        role(overall, RespondentRole::Leadership),
        role(overall, RespondentRole::Customer),
    );
    let delivery = card.delivery_gap.as_ref().expect("delivery gap");
    for text in [
        format!(
            "<span class=\"big leaders\">{}</span>",
            pct(leaders.favorable_share)
        ),
        format!(
            "<span class=\"big customers\">{}</span>",
            pct(customers.favorable_share)
        ),
        pct_interval(leaders.favorable_share_ci.as_ref()),
        pct_interval(customers.favorable_share_ci.as_ref()),
        points(delivery.gap_points),
        agreement_sentence(delivery.agreement_ratio),
    ] {
        assert!(html.contains(&text), "the report shows {text:?}");
    }
    // The demo echoes the published 80% vs 8%: about one customer in ten.
    let ratio = delivery.agreement_ratio.expect("leaders rate favorably");
    assert!((0.05..0.2).contains(&ratio), "{ratio}");

    // NPS, CES, hidden effort and loyalty.
    let nps = card.customer_nps.as_ref().expect("NPS");
    assert!(html.contains(&format!("{:+.0}", nps.net_score).replace('-', "−")));
    let ces = card.customer_ces.as_ref().expect("CES");
    assert!(html.contains(&format!("{:.1}<small> / 7</small>", ces.mean)));
    let effort = card.effort.as_ref().expect("effort");
    assert!(html.contains(&format!(
        "hidden-effort gap of {}",
        points(effort.hidden_effort_gap_points)
    )));
    let loyalty = card.loyalty.as_ref().expect("loyalty");
    // Shown as a sentence: capitalised, with a full stop.
    assert!(html.contains(&report::esc(&loyalty.headline[1..])));
    assert_eq!(card.largest_gaps.len(), 3);
    for g in &card.largest_gaps {
        let c = g.comparison.as_ref().unwrap();
        assert!(html.contains(&points(c.gap_points)));
    }

    // The chart: every rating question, one <rect> per reported bar,
    // largest LEADERSHIP→CUSTOMER gap first, questions without that
    // comparison after them in key order.
    let chart = &html[html.find("<svg").expect("inline SVG")..];
    let mut bars = 0;
    let mut charted: Vec<(usize, &str)> = Vec::new();
    for q in questions {
        let at = chart
            .find(&format!(">{}</text>", q.question))
            .unwrap_or_else(|| panic!("{} is charted", q.question));
        charted.push((at, &q.question));
        bars += q.roles.iter().filter(|r| !r.suppressed).count();
    }
    charted.sort();
    let charted: Vec<&str> = charted.into_iter().map(|(_, q)| q).collect();
    let leaders_to_customers = |q: &QuestionGap| {
        q.comparisons
            .iter()
            .find(|c| {
                c.from_role == RespondentRole::Leadership as i32
                    && c.to_role == RespondentRole::Customer as i32
            })
            .map(|c| c.gap_points)
    };
    let mut paired: Vec<(f64, &str)> = questions
        .iter()
        .filter_map(|q| leaders_to_customers(q).map(|g| (g, q.question.as_str())))
        .collect();
    paired.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let mut unpaired: Vec<&str> = questions
        .iter()
        .filter(|q| leaders_to_customers(q).is_none())
        .map(|q| q.question.as_str())
        .collect();
    unpaired.sort();
    let expected: Vec<&str> = paired.iter().map(|p| p.1).chain(unpaired).collect();
    assert!(paired.len() >= 2, "the demo has gaps to sort: {paired:?}");
    assert_eq!(charted, expected, "gaps {paired:?}");
    // Every role answers overall_experience; some questions only customers.
    assert!(bars >= questions.len() + 2, "{bars} bars");
    assert_eq!(html.matches("<rect").count(), bars);

    // The priority map as a quadrant chart, after the bar chart: one point
    // per placed question, where GetPriorityMap places it.
    let priorities = app
        .scoring_as(Some(&key))
        .get_priority_map(GetPriorityMapRequest::default())
        .await
        .expect("priority map")
        .into_inner();
    assert_priority_chart(&html, &priorities);
    let first_concentrate = priorities
        .questions
        .first()
        .filter(|q| q.quadrant == PriorityQuadrant::ConcentrateHere as i32);
    assert_eq!(card.top_priority.as_ref(), first_concentrate);

    // Tenant-provided text is escaped.
    let escaped = report::render_html(
        &card,
        &gaps,
        &priorities,
        &report::Trends::default(),
        "<script>alert('x')</script> & Co",
    );
    assert!(!escaped.contains("<script>"));
    assert!(escaped.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co"));
}

/// The quadrant chart of `html` shows exactly the placed questions of
/// `map`, each at its importance and performance with its quadrant, the two
/// mean lines, and the four quadrant names; every question of the map is
/// in the table beneath it.
fn assert_priority_chart(html: &str, map: &GetPriorityMapResponse) {
    let start = html
        .find("<svg class=\"quadrants\"")
        .expect("a quadrant chart");
    assert!(
        start > html.find("<svg class=\"chart\"").expect("the bar chart"),
        "after the bar chart"
    );
    let svg = &html[start..start + html[start..].find("</svg>").expect("closed")];
    let source = ImportanceSource::try_from(map.importance_source).unwrap();
    assert_ne!(
        source,
        ImportanceSource::Unspecified,
        "the demo places questions"
    );
    let placed: Vec<&PriorityQuestion> = map
        .questions
        .iter()
        .filter(|q| q.quadrant != PriorityQuadrant::Unspecified as i32)
        .collect();
    assert!(placed.len() >= 2, "{placed:?}");
    assert_eq!(svg.matches("<g class=\"point").count(), placed.len());
    for q in &placed {
        let importance = match source {
            ImportanceSource::Stated => q.stated_importance,
            _ => q.derived_importance,
        }
        .expect("a placed question has the map's importance");
        let quadrant = PriorityQuadrant::try_from(q.quadrant)
            .unwrap()
            .as_str_name()
            .trim_start_matches("PRIORITY_QUADRANT_")
            .to_owned();
        let point = format!(
            "data-question=\"{}\" data-importance=\"{importance}\" data-performance=\"{}\" \
             data-quadrant=\"{quadrant}\"",
            q.question, q.performance
        );
        assert!(svg.contains(&point), "{point} in the chart");
        assert!(
            svg.contains(&format!(">{}</text></g>", q.question)),
            "labelled"
        );
    }
    for name in [
        "Concentrate here",
        "Keep up the good work",
        "Low priority",
        "Possible overkill",
    ] {
        assert!(svg.contains(&format!(">{name}</text>")), "{name}");
    }
    let (mi, mp) = (map.importance_mean.unwrap(), map.performance_mean.unwrap());
    assert!(svg.contains(&format!("mean importance {mi:.1}")));
    assert!(svg.contains(&format!("mean performance {mp:.1}%")));
    assert_eq!(svg.matches("<line class=\"mean").count(), 2);
    let table = &html[start..];
    for q in &map.questions {
        assert!(table.contains(&format!("<tr><td><code>{}</code></td>", q.question)));
    }
}

#[sqlx::test]
async fn an_unknown_tenant_says_how_to_get_one(pool: PgPool) {
    let err = report::build(&pool, "nobody").await.unwrap_err();
    let message = format!("{err:#}");
    assert!(message.contains("no tenant named \"nobody\""), "{message}");
    assert!(message.contains("gapscore demo"), "{message}");
}

fn at(t: prost_types::Timestamp) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.seconds, 0).unwrap()
}

/// Issue 13: the report shows NPS with its interval and the monthly trends
/// of the delivery gap and NPS as `GetTrend` serves them, each NPS month
/// with the interval `GetPerceptionGap` gives for it, and October's fall
/// (the demo's one real change) as the only month marked.
#[sqlx::test]
async fn the_demo_report_charts_the_monthly_trends_and_marks_the_real_change(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = demo::load(&pool).await.expect("demo loads");
    let scoring = app.scoring_as(Some(&key));
    let html = report::build(&pool, "demo").await.expect("report renders");

    let card = scoring
        .clone()
        .get_scorecard(GetScorecardRequest::default())
        .await
        .unwrap()
        .into_inner();
    let nps = card.customer_nps.unwrap();
    let ci = nps.net_score_ci.unwrap();
    let shown = format!(
        "{} to {} <span class=\"muted\">(95% interval)",
        report::signed(ci.lower, 0),
        report::signed(ci.upper, 0)
    );
    assert!(html.contains(&shown), "{shown}");

    // The demo's months: May to November 2026.
    let window = Some(ScoreFilter {
        start_time: Some(timestamp(demo::demo_start())),
        end_time: Some(timestamp(demo::demo_end())),
        ..Default::default()
    });
    for (class, metric, question, from, to_role) in [
        (
            "delivery-gap",
            TrendMetric::GapPoints,
            "overall_experience",
            RespondentRole::Leadership,
            RespondentRole::Customer,
        ),
        (
            "nps",
            TrendMetric::NetScore,
            "likelihood_to_recommend",
            RespondentRole::Customer,
            RespondentRole::Unspecified,
        ),
    ] {
        let start = html
            .find(&format!("<svg class=\"trend {class}\""))
            .unwrap_or_else(|| panic!("a {class} chart"));
        let svg = &html[start..start + html[start..].find("</svg>").unwrap()];
        assert_eq!(svg.matches("<rect").count(), 0);
        let trend = scoring
            .clone()
            .get_trend(GetTrendRequest {
                metric: metric as i32,
                bucket: TrendBucket::Month as i32,
                filter: window.clone(),
                question: question.into(),
                role: from as i32,
                to_role: to_role as i32,
                confidence_level: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(trend.points.len(), 7);
        assert_eq!(svg.matches("<g class=\"trend-point").count(), 7, "{class}");
        let mut marked = Vec::new();
        for p in &trend.points {
            let start = p.bucket_start.unwrap();
            let month = at(start).format("%Y-%m").to_string();
            let Some(value) = p.value else {
                assert!(svg.contains(&format!("data-month=\"{month}\"><text")));
                continue;
            };
            let interval = match p.interval {
                Some(ci) => ci,
                // NPS: the month's own net_score_ci.
                None => {
                    let end = p.bucket_end.unwrap();
                    let gaps = scoring
                        .clone()
                        .get_perception_gap(GetPerceptionGapRequest {
                            filter: Some(ScoreFilter {
                                start_time: Some(timestamp(at(start).max(demo::demo_start()))),
                                end_time: Some(timestamp(at(end).min(demo::demo_end()))),
                                ..Default::default()
                            }),
                            questions: vec![question.into()],
                            ..Default::default()
                        })
                        .await
                        .unwrap()
                        .into_inner();
                    let q = &gaps.overall.unwrap().questions[0];
                    role(q, RespondentRole::Customer).net_score_ci.unwrap()
                }
            };
            let point = format!(
                "data-month=\"{month}\" data-value=\"{value}\" data-lower=\"{}\" data-upper=\"{}\"",
                interval.lower, interval.upper
            );
            assert!(svg.contains(&point), "{class}: {point}");
            let q = p.change_from_previous.and_then(|c| c.q_value);
            if q.is_some_and(|q| q < 0.05) {
                marked.push(month.clone());
            }
            let flag = format!("{point} data-marked=\"{}\"", q.is_some_and(|q| q < 0.05));
            assert!(svg.contains(&flag), "{class}: {flag}");
        }
        let want: &[&str] = if class == "nps" { &["2026-10"] } else { &[] };
        assert_eq!(marked, want, "{class}");
        assert_eq!(svg.matches("trend-point changed").count(), want.len());
    }
}
