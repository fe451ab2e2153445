//! The framed-answer data set of tests/reference/frames_reference.py as
//! records and filters, and its expected figures (frames_dataset.json,
//! frames_expected.json): what tests/api/expectation.rs and
//! tests/api/competition.rs submit and compare.

use gapscore::proto::v1::{
    Answer, AnswerFrame, Interval, RespondentRole, ScoreFilter, SurveyResponse,
};
use serde_json::Value;

use super::fixtures::{label_map, ts};

/// One call of the data set: a filter, a level and maybe a competitor.
pub struct View {
    pub name: String,
    pub filter: Option<ScoreFilter>,
    pub confidence_level: f64,
    /// `""` unless the view names one (GetCompetitiveGap).
    pub competitor: String,
    /// The figures the script computed for this view: `expectation` and
    /// `competition`.
    pub expected: Value,
}

/// The data set's responses and views.
pub struct FramesData {
    pub min_group_size: i64,
    pub responses: Vec<SurveyResponse>,
    pub views: Vec<View>,
}

fn text(v: &Value) -> String {
    v.as_str().expect("a string").to_owned()
}

fn role(name: &str) -> RespondentRole {
    RespondentRole::from_str_name(&format!("RESPONDENT_ROLE_{name}")).expect("a role")
}

fn answer(a: &Value) -> Answer {
    let frame = AnswerFrame::from_str_name(&format!("ANSWER_FRAME_{}", text(&a["frame"])))
        .expect("a frame");
    Answer {
        question: text(&a["question"]),
        score: Some(a["score"].as_i64().expect("a score") as i32),
        frame: frame as i32,
        competitor: a.get("competitor").map(text).unwrap_or_default(),
        ..Answer::default()
    }
}

fn response(r: &Value) -> SurveyResponse {
    let labels: Vec<(String, String)> = r["labels"]
        .as_object()
        .expect("labels")
        .iter()
        .map(|(k, v)| (k.clone(), text(v)))
        .collect();
    let pairs: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    SurveyResponse {
        id: text(&r["id"]),
        role: role(&text(&r["role"])) as i32,
        respondent_id: r.get("respondent_id").map(text).unwrap_or_default(),
        survey_id: text(&r["survey_id"]),
        submitted_at: Some(ts(&text(&r["submitted_at"]))),
        labels: label_map(&pairs),
        answers: r["answers"]
            .as_array()
            .expect("answers")
            .iter()
            .map(answer)
            .collect(),
    }
}

fn filter(f: &Value) -> Option<ScoreFilter> {
    let mut out = ScoreFilter::default();
    if let Some(w) = f.get("window") {
        out.start_time = Some(ts(&text(&w[0])));
        out.end_time = Some(ts(&text(&w[1])));
    }
    if let Some(labels) = f.get("labels").and_then(Value::as_object) {
        out.labels = labels.iter().map(|(k, v)| (k.clone(), text(v))).collect();
    }
    if let Some(s) = f.get("survey_id") {
        out.survey_id = text(s);
    }
    Some(out)
}

/// The data set and the expected figures of each of its views.
pub fn frames_data() -> FramesData {
    let data: Value =
        serde_json::from_str(include_str!("../../reference/frames_dataset.json")).unwrap();
    let expected: Value =
        serde_json::from_str(include_str!("../../reference/frames_expected.json")).unwrap();
    let views = data["views"]
        .as_array()
        .unwrap()
        .iter()
        .zip(expected["views"].as_array().unwrap())
        .map(|(v, e)| {
            assert_eq!(v["name"], e["name"]);
            View {
                name: text(&v["name"]),
                filter: filter(&v["filter"]),
                confidence_level: v["confidence_level"].as_f64().unwrap(),
                competitor: v.get("competitor").map(text).unwrap_or_default(),
                expected: e.clone(),
            }
        })
        .collect();
    FramesData {
        min_group_size: data["min_group_size"].as_i64().unwrap(),
        responses: data["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(response)
            .collect(),
        views,
    }
}

/// Compares figures with the script's within 1e-6.
pub struct Expect<'a> {
    /// Where the figure is, for the failure message.
    pub at: &'a str,
}

impl Expect<'_> {
    #[track_caller]
    pub fn num(&self, field: &str, got: f64, want: &Value) {
        let want = want[field]
            .as_f64()
            .unwrap_or_else(|| panic!("{}: no {field} in the reference", self.at));
        assert!(
            (got - want).abs() <= 1e-6,
            "{}.{field}: {got} against {want}",
            self.at
        );
    }

    #[track_caller]
    pub fn int(&self, field: &str, got: i64, want: &Value) {
        assert_eq!(Some(got), want[field].as_i64(), "{}.{field}", self.at);
    }

    #[track_caller]
    pub fn flag(&self, field: &str, got: bool, want: &Value) {
        assert_eq!(Some(got), want[field].as_bool(), "{}.{field}", self.at);
    }

    #[track_caller]
    pub fn interval(&self, field: &str, got: Option<&Interval>, want: &Value) {
        let got = got.unwrap_or_else(|| panic!("{}.{field} is absent", self.at));
        let want = &want[field];
        let bounds = [want[0].as_f64(), want[1].as_f64()];
        let [Some(lower), Some(upper)] = bounds else {
            panic!("{}: no {field} in the reference", self.at)
        };
        assert!(
            (got.lower - lower).abs() <= 1e-6 && (got.upper - upper).abs() <= 1e-6,
            "{}.{field}: [{}, {}] against [{lower}, {upper}]",
            self.at,
            got.lower,
            got.upper
        );
    }
}
