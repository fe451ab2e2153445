//! JSON Lines: one record per line, in the proto3 JSON mapping of its
//! message (the element of a submit call's body over HTTP), so a line is
//! what `POST /v1/surveyResponses:submit` takes in its `responses` array.
//! Blank lines are skipped; unknown fields are an error, as over HTTP.

use std::io::Write;

use anyhow::Context;
use prost_reflect::{
    DeserializeOptions, DynamicMessage, Kind, MessageDescriptor, SerializeOptions,
};

use super::report::{Rejection, Report};
use crate::http::descriptors;

fn descriptor(name: &str) -> MessageDescriptor {
    descriptors::gapscore()
        .get_message_by_name(name)
        .expect("the record messages are in the descriptor set")
}

/// The records of `text` with the line of each; lines that are not a
/// record are counted and rejected in `report`.
pub fn read<R: prost::Message + Default>(
    text: &str,
    message: &str,
    report: &mut Report,
) -> Vec<(u64, R)> {
    let descriptor = descriptor(message);
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        report.records += 1;
        let mut json = serde_json::Deserializer::from_str(line);
        let parsed = DynamicMessage::deserialize_with_options(
            descriptor.clone(),
            &mut json,
            &DeserializeOptions::new(),
        )
        .map_err(|e| e.to_string())
        .and_then(|m| {
            json.end().map_err(|e| e.to_string())?;
            m.transcode_to::<R>().map_err(|e| e.to_string())
        });
        match parsed {
            Ok(record) => records.push((number, record)),
            Err(description) => report.reject([Rejection {
                line: number,
                field: "line".into(),
                description: format!("not a {message} in JSON: {description}"),
            }]),
        }
    }
    records
}

/// Writes `record` as one line: fields in the order of the message (the
/// id first), map entries in key order, so the same records always give
/// the same file.
pub fn write<R: prost::Message>(
    out: &mut dyn Write,
    message: &str,
    record: &R,
) -> anyhow::Result<()> {
    let descriptor = descriptor(message);
    let mut dynamic = DynamicMessage::new(descriptor.clone());
    dynamic
        .transcode_from(record)
        .context("a record converts to its own descriptor")?;
    // A dynamic message keeps map entries in hash order; a `Value` object
    // sorts its keys, and `ordered` puts the fields back in message order.
    let value = dynamic
        .serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())
        .context("a record serializes")?;
    let mut line = String::new();
    ordered(&descriptor, &value, &mut line);
    line.push('\n');
    out.write_all(line.as_bytes())
        .context("cannot write the export")
}

/// `value` (the JSON of a `descriptor` message) as text with its fields in
/// declaration order; maps and scalars as `serde_json` writes them.
fn ordered(descriptor: &MessageDescriptor, value: &serde_json::Value, out: &mut String) {
    let serde_json::Value::Object(object) = value else {
        out.push_str(&value.to_string());
        return;
    };
    out.push('{');
    let mut first = true;
    for field in descriptor.fields() {
        let Some(v) = object.get(field.json_name()) else {
            continue;
        };
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&serde_json::Value::from(field.json_name()).to_string());
        out.push(':');
        match (field.kind(), v) {
            _ if field.is_map() => out.push_str(&v.to_string()),
            (Kind::Message(m), serde_json::Value::Array(items)) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    ordered(&m, item, out);
                }
                out.push(']');
            }
            (Kind::Message(m), _) => ordered(&m, v, out),
            _ => out.push_str(&v.to_string()),
        }
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1::{Answer, SurveyResponse};

    #[test]
    fn a_line_has_its_fields_in_message_order_and_its_labels_sorted() {
        let response = SurveyResponse {
            id: "r-1".into(),
            role: 3,
            labels: [("zone", "z"), ("area", "a"), ("plan", "p")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            answers: vec![Answer {
                question: "speed".into(),
                score: Some(4),
                competitor: "acme".into(),
                frame: 4,
                ..Answer::default()
            }],
            ..SurveyResponse::default()
        };
        let mut out = Vec::new();
        write(&mut out, "gapscore.v1.SurveyResponse", &response).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"id":"r-1","role":"RESPONDENT_ROLE_CUSTOMER","labels":{"area":"a","plan":"p","zone":"z"},"answers":[{"question":"speed","score":4,"frame":"ANSWER_FRAME_COMPETITOR","competitor":"acme"}]}"#
                .to_owned()
                + "\n"
        );
        let mut report = Report::default();
        let text = String::from_utf8({
            let mut out = Vec::new();
            write(&mut out, "gapscore.v1.SurveyResponse", &response).unwrap();
            out
        })
        .unwrap();
        let read = read::<SurveyResponse>(&text, "gapscore.v1.SurveyResponse", &mut report);
        assert_eq!(read, [(1, response)]);
        assert_eq!(report.records, 1);
    }
}
