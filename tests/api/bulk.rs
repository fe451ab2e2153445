//! `gapscore import` and `gapscore export` (bulk files) against the real
//! server: rejected lines reported by number, re-runs that change nothing,
//! and exports that import back to the same records, in CSV and JSON Lines.

use gapscore::proto::v1::{
    Answer, AnswerFrame, GetSurveyResponseRequest, Journey, ListJourneysRequest,
    ListOutcomesRequest, ListSurveyResponsesRequest, Outcome, OutcomeKind, RespondentRole,
    SurveyResponse,
};
use indicatif::ProgressBar;
use sqlx::PgPool;

use crate::helpers::{
    Clients, TestApp, card_update_journey, framed, internals::bulk, label_map, outcome, rating,
    response, simple_journey, spawn_app, themes, versus,
};
use bulk::{Format, ImportOptions, Kind, Report};

async fn import_as(
    clients: &Clients,
    kind: Kind,
    format: Format,
    text: &str,
    batch_size: usize,
) -> Report {
    let options = ImportOptions {
        batch_size,
        progress: ProgressBar::hidden(),
    };
    bulk::import(clients, kind, format, text, &options)
        .await
        .expect("the import runs")
}

async fn import(app: &TestApp, kind: Kind, format: Format, text: &str) -> Report {
    import_as(&app.clients, kind, format, text, 500).await
}

async fn export(clients: &Clients, kind: Kind, format: Format) -> String {
    let mut out = Vec::new();
    bulk::export(clients, kind, format, &mut out, &ProgressBar::hidden())
        .await
        .expect("the export runs");
    String::from_utf8(out).expect("exports are UTF-8")
}

/// (line, field) of every rejection, in the report's order.
fn lines(report: &Report) -> Vec<(u64, &str)> {
    report
        .rejections
        .iter()
        .map(|r| (r.line, r.field.as_str()))
        .collect()
}

fn counts(report: &Report) -> (u64, i64, i64, i64, u64) {
    (
        report.records,
        report.inserted,
        report.updated,
        report.unchanged,
        report.rejected_records,
    )
}

const SURVEY_CSV: &str = "\
response_id,role,respondent_id,survey_id,submitted_at,labels,question,frame,competitor,score,themes,comment
r-1,customer,c-1,wave-1,2026-03-01T10:00:00Z,\"{\"\"region\"\":\"\"north\"\"}\",speed,,,4,,
r-1,,,,,,speed,expectation,,5,,
r-2,staff,,,2026-03-01T10:00:00Z,,speed,,,9,,
r-3,boss,,,2026-03-01T10:00:00Z,,speed,,,3,,
r-4,CUSTOMER,c-4,,2026-03-02T08:30:00.25+01:00,,convenience,competitor,acme,2,,
r-4,CUSTOMER,c-4,,2026-03-02T08:30:00.25+01:00,,do_well,,,,price; speed,\"fast, \"\"friendly\"\"
and cheap\"
r-5,customer,,,2026-03-01T10:00:00Z,,speed,,,3,,
r-5,staff,,,,,convenience,,,3,,
r-6,customer,,,2026-03-01T10:00:00Z,,spede,,,3,,
,customer,,,2026-03-01T10:00:00Z,,speed,,,3,,
r-7,customer,,,2026-03-01T10:00:00Z,,speed,,,three,,
";

#[sqlx::test]
async fn a_csv_import_stores_the_good_records_and_names_the_lines_of_the_bad(pool: PgPool) {
    let app = spawn_app(pool).await;
    let report = import(&app, Kind::SurveyResponses, Format::Csv, SURVEY_CSV).await;
    // r-1 .. r-7 and the row without an id.
    assert_eq!(counts(&report), (8, 2, 0, 0, 6), "{report}");
    assert_eq!(
        lines(&report),
        [
            (4, "score"),     // r-2: 9 on a 1-5 scale (the server)
            (5, "role"),      // r-3: no such role (the file)
            (10, "role"),     // r-5: its second row says staff
            (11, "question"), // r-6: not in the catalog (the server)
            (12, "response_id"),
            (13, "score"), // r-7: not an integer
        ],
        "{report}"
    );
    let by_line = |line| {
        &report
            .rejections
            .iter()
            .find(|r| r.line == line)
            .unwrap()
            .description
    };
    assert_eq!(
        by_line(5),
        "\"boss\" is not one of leadership, staff, customer"
    );
    assert_eq!(
        by_line(10),
        "\"staff\" differs from \"customer\" on line 9, a row of the same record"
    );
    assert_eq!(by_line(13), "\"three\" is not an integer");
    assert!(
        by_line(4).contains('5'),
        "the server names the scale: {}",
        by_line(4)
    );
    assert!(by_line(11).contains("spede"), "{}", by_line(11));
    assert!(
        report.to_string().starts_with("line 4: score: "),
        "the printed report leads with the first line: {report}"
    );

    // Every cell arrived where it belongs, the quoted comment with its
    // comma, quotes and line break included.
    let get = |id: &str| {
        let mut survey = app.survey();
        let id = id.to_owned();
        async move {
            survey
                .get_survey_response(GetSurveyResponseRequest { id })
                .await
                .unwrap()
                .into_inner()
                .response
                .unwrap()
        }
    };
    let mut r1 = response(
        "r-1",
        RespondentRole::Customer,
        "2026-03-01T10:00:00Z",
        vec![
            rating("speed", 4),
            framed("speed", AnswerFrame::Expectation, 5),
        ],
    );
    r1.respondent_id = "c-1".into();
    r1.survey_id = "wave-1".into();
    r1.labels = label_map(&[("region", "north")]);
    assert_eq!(get("r-1").await, r1);
    let mut r4 = response(
        "r-4",
        RespondentRole::Customer,
        "2026-03-02T07:30:00.25Z",
        vec![
            versus("convenience", "acme", 2),
            Answer {
                comment: "fast, \"friendly\"\nand cheap".into(),
                ..themes("do_well", &["price", "speed"])
            },
        ],
    );
    r4.respondent_id = "c-4".into();
    assert_eq!(get("r-4").await, r4);

    // Idempotent: the same file again stores nothing new and reports the
    // same lines.
    let again = import(&app, Kind::SurveyResponses, Format::Csv, SURVEY_CSV).await;
    assert_eq!(counts(&again), (8, 0, 0, 2, 6), "{again}");
    assert_eq!(again.rejections, report.rejections);
}

#[sqlx::test]
async fn a_jsonl_import_names_the_lines_of_the_bad_records(pool: PgPool) {
    let app = spawn_app(pool).await;
    let good = r#"{"id":"j-1","customerId":"c-1","intent":"update_payment_method","touchpoints":[{"channel":"CHANNEL_WEB","initiator":"INITIATOR_CUSTOMER","occurredAt":"2026-03-01T10:00:00Z","durationSeconds":60,"outcome":"TOUCHPOINT_OUTCOME_RESOLVED"}]}"#;
    let only_company = r#"{"id":"j-2","customer_id":"c-2","intent":"update_payment_method","touchpoints":[{"channel":"CHANNEL_EMAIL","initiator":"INITIATOR_COMPANY","occurredAt":"2026-03-01T10:00:00Z"}]}"#;
    let second_bad = r#"{"id":"j-3","customerId":"","intent":"update_payment_method","touchpoints":[{"channel":"CHANNEL_WEB","initiator":"INITIATOR_CUSTOMER","occurredAt":"2026-03-01T10:00:00Z","outcome":"TOUCHPOINT_OUTCOME_RESOLVED"},{"channel":"CHANNEL_WEB","initiator":"INITIATOR_CUSTOMER","occurredAt":"2026-03-01T10:01:00Z"}]}"#;
    let text = [
        good,
        "",
        "{not json",
        r#"{"id":"j-4","customerId":"c-4","intnet":"x"}"#,
        only_company,
        second_bad,
    ]
    .join("\n");
    let report = import(&app, Kind::Journeys, Format::Jsonl, &text).await;
    assert_eq!(counts(&report), (5, 1, 0, 0, 4), "{report}");
    let fields: Vec<(u64, &str)> = lines(&report);
    assert_eq!(fields[0], (3, "line"), "{report}");
    assert_eq!(fields[1], (4, "line"), "{report}");
    assert!(
        report.rejections[1].description.contains("intnet"),
        "{report}"
    );
    assert!(fields[2..].iter().any(|f| f.0 == 5), "{report}");
    // j-3: its missing customer and its second touchpoint's missing
    // outcome, both on line 6 with their paths within the record.
    let six: Vec<&str> = fields.iter().filter(|f| f.0 == 6).map(|f| f.1).collect();
    assert!(six.contains(&"customer_id"), "{report}");
    assert!(six.contains(&"touchpoints[1].outcome"), "{report}");

    let again = import(&app, Kind::Journeys, Format::Jsonl, &text).await;
    assert_eq!(counts(&again), (5, 0, 0, 1, 4), "{again}");
}

#[sqlx::test]
async fn more_bad_records_than_one_error_lists_are_all_reported(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut text = String::from("outcome_id,customer_id,kind,occurred,observed_at\n");
    for i in 0..400 {
        // Every third record is good; the rest have no customer.
        let customer = if i % 3 == 0 {
            format!("c-{i}")
        } else {
            String::new()
        };
        text.push_str(&format!(
            "o-{i},{customer},repurchase,true,2026-03-01T10:00:00Z\n"
        ));
    }
    let report = import_as(&app.clients, Kind::Outcomes, Format::Csv, &text, 1000).await;
    assert_eq!(counts(&report), (400, 134, 0, 0, 266), "{report}");
    let expected: Vec<(u64, &str)> = (0..400u64)
        .filter(|i| i % 3 != 0)
        .map(|i| (i + 2, "customer_id"))
        .collect();
    assert_eq!(lines(&report), expected);
}

#[sqlx::test]
async fn a_header_naming_an_unknown_column_stops_the_import(pool: PgPool) {
    let app = spawn_app(pool).await;
    let options = ImportOptions {
        batch_size: 10,
        progress: ProgressBar::hidden(),
    };
    let text = "outcome_id,customer,kind\no-1,c-1,repurchase\n";
    let err = bulk::import(&app.clients, Kind::Outcomes, Format::Csv, text, &options)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 1: unknown column \"customer\"; the columns are \
         outcome_id,customer_id,kind,occurred,observed_at"
    );
}

/// Records of every shape a file must carry: frames, competitors, themes,
/// labels with separators, comments with commas, quotes and line breaks.
fn survey_records() -> Vec<SurveyResponse> {
    let mut a = response(
        "a",
        RespondentRole::Leadership,
        "2026-03-01T10:00:00.123456Z",
        vec![
            rating("speed", 5),
            framed("speed", AnswerFrame::Expectation, 4),
            framed("convenience", AnswerFrame::Importance, 3),
        ],
    );
    a.labels = label_map(&[("region", "north; \"east\""), ("plan", "a=b,c")]);
    a.survey_id = "wave-2".into();
    let mut b = response(
        "b",
        RespondentRole::Customer,
        "2026-03-01T11:00:00Z",
        vec![
            versus("friendly_support", "acme", 2),
            Answer {
                comment: "slow,\n\"very\" slow".into(),
                ..rating("likelihood_to_recommend", 0)
            },
            themes("improve", &["wait times", "tone"]),
        ],
    );
    b.respondent_id = "c-1".into();
    vec![a, b]
}

fn journey_records() -> Vec<Journey> {
    let mut simple = simple_journey("j-1", "c-1", "2026-03-01T09:00:00Z");
    simple.labels = label_map(&[("region", "emea")]);
    vec![simple, card_update_journey("j-2", "c-2")]
}

fn outcome_records() -> Vec<Outcome> {
    let mut not = outcome(
        "o-2",
        "c-2",
        OutcomeKind::Disloyalty,
        "2026-03-02T00:00:00Z",
    );
    not.occurred = false;
    vec![
        outcome(
            "o-1",
            "c-1",
            OutcomeKind::NegativeWordOfMouth,
            "2026-03-01T10:00:00.5Z",
        ),
        not,
    ]
}

async fn listed(clients: &Clients) -> (Vec<SurveyResponse>, Vec<Journey>, Vec<Outcome>) {
    let responses = clients
        .survey()
        .list_survey_responses(ListSurveyResponsesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .responses;
    let journeys = clients
        .journeys()
        .list_journeys(ListJourneysRequest::default())
        .await
        .unwrap()
        .into_inner()
        .journeys;
    let outcomes = clients
        .outcomes()
        .list_outcomes(ListOutcomesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .outcomes;
    (responses, journeys, outcomes)
}

#[sqlx::test]
async fn an_export_imports_back_to_the_same_records_in_both_formats(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.submit_responses(survey_records()).await.unwrap();
    app.submit_journeys(journey_records()).await.unwrap();
    app.submit_outcomes(outcome_records()).await.unwrap();
    let original = listed(&app.clients).await;
    assert_eq!(original.0, survey_records());

    for (format, tenant) in [(Format::Csv, "copy-csv"), (Format::Jsonl, "copy-jsonl")] {
        let copy = app.clients_as(Some(&app.add_tenant(tenant).await));
        for kind in [Kind::SurveyResponses, Kind::Journeys, Kind::Outcomes] {
            let file = export(&app.clients, kind, format).await;
            // Into the tenant it came from: nothing changes.
            let same = import(&app, kind, format, &file).await;
            assert_eq!(
                counts(&same),
                (2, 0, 0, 2, 0),
                "{format:?} {kind:?}: {same}"
            );
            // Into another tenant: the same records, and the same file out.
            let fresh = import_as(&copy, kind, format, &file, 1).await;
            assert_eq!(
                counts(&fresh),
                (2, 2, 0, 0, 0),
                "{format:?} {kind:?}: {fresh}"
            );
            assert_eq!(
                export(&copy, kind, format).await,
                file,
                "{format:?} {kind:?}"
            );
        }
        assert_eq!(listed(&copy).await, original, "{format:?}");
    }
}

#[sqlx::test]
async fn the_csv_export_has_one_row_per_answer_with_the_documented_columns(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.submit_responses(survey_records()).await.unwrap();
    app.submit_outcomes(outcome_records()).await.unwrap();
    let survey = export(&app.clients, Kind::SurveyResponses, Format::Csv).await;
    let expected = "\
response_id,role,respondent_id,survey_id,submitted_at,labels,question,frame,competitor,score,themes,comment
a,leadership,,wave-2,2026-03-01T10:00:00.123456Z,\"{\"\"plan\"\":\"\"a=b,c\"\",\"\"region\"\":\"\"north; \\\"\"east\\\"\"\"\"}\",speed,,,5,,
a,leadership,,wave-2,2026-03-01T10:00:00.123456Z,\"{\"\"plan\"\":\"\"a=b,c\"\",\"\"region\"\":\"\"north; \\\"\"east\\\"\"\"\"}\",speed,expectation,,4,,
a,leadership,,wave-2,2026-03-01T10:00:00.123456Z,\"{\"\"plan\"\":\"\"a=b,c\"\",\"\"region\"\":\"\"north; \\\"\"east\\\"\"\"\"}\",convenience,importance,,3,,
b,customer,c-1,,2026-03-01T11:00:00Z,,friendly_support,competitor,acme,2,,
b,customer,c-1,,2026-03-01T11:00:00Z,,likelihood_to_recommend,,,0,,\"slow,
\"\"very\"\" slow\"
b,customer,c-1,,2026-03-01T11:00:00Z,,improve,,,,wait times;tone,
";
    assert_eq!(survey, expected);
    let outcomes = export(&app.clients, Kind::Outcomes, Format::Csv).await;
    assert_eq!(
        outcomes,
        "outcome_id,customer_id,kind,occurred,observed_at\n\
         o-1,c-1,negative_word_of_mouth,true,2026-03-01T10:00:00.500Z\n\
         o-2,c-2,disloyalty,false,2026-03-02T00:00:00Z\n"
    );
}

#[sqlx::test]
async fn the_binary_imports_a_file_and_fails_when_a_line_is_rejected(pool: PgPool) {
    let app = spawn_app(pool).await;
    let dir = std::env::temp_dir().join(format!("gapscore-bulk-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("outcomes.csv");
    std::fs::write(
        &file,
        "outcome_id,customer_id,kind,occurred,observed_at\n\
         o-1,c-1,repurchase,true,2026-03-01T10:00:00Z\n\
         o-2,c-2,refund,true,2026-03-01T10:00:00Z\n",
    )
    .unwrap();
    let (server, key) = (format!("http://{}", app.addr), app.key.clone());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_gapscore"))
            .args(["import", "outcomes"])
            .arg(&file)
            .args(["--server", &server])
            .env("GAPSCORE_API_KEY", key)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "line 3: kind: \"refund\" is not one of repurchase, spend_increase, \
         negative_word_of_mouth, disloyalty\n\
         2 records: 1 inserted, 0 updated, 0 unchanged, 1 rejected\n"
    );
    assert!(
        stderr.contains("1 of 2 records rejected"),
        "the exit reason is on standard error: {stderr}"
    );
}
