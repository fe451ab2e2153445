//! The OpenAPI 3 document of the JSON-over-HTTP API, generated from the
//! descriptor set (never written by hand): paths from the `google.api.http`
//! annotations ([`super::routes`]), schemas from the messages with their
//! proto3 JSON types (int64 as string, enums as strings, Timestamp as a
//! date-time string, maps as objects, every field optional), descriptions
//! from the proto comments.
//!
//! `gapscore openapi` prints it, `GET /openapi.json` serves it, and CI
//! checks that `openapi/gapscore.v1.json` is what this code generates.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::LazyLock,
};

use prost_reflect::{
    DescriptorPool, EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor,
};
use serde_json::{Map, Value, json};

use super::{
    descriptors,
    routes::{BodyMapping, Route, Routes},
};

/// The document, pretty-printed with a final newline (the committed file).
pub fn document_bytes() -> &'static [u8] {
    static DOCUMENT: LazyLock<Vec<u8>> = LazyLock::new(|| {
        let mut bytes = serde_json::to_vec_pretty(&document()).expect("JSON values serialize");
        bytes.push(b'\n');
        bytes
    });
    &DOCUMENT
}

/// The error details gapscore sends, described in the document although
/// `google.rpc.Status` refers to them only as `Any`.
const ERROR_DETAILS: [&str; 3] = [
    "google.rpc.ErrorInfo",
    "google.rpc.BadRequest",
    "google.rpc.RetryInfo",
];

/// The document of the built-in routes.
pub fn document() -> Value {
    let pool = descriptors::gapscore();
    let mut generator = Generator::new();
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut tags = BTreeMap::new();
    for route in &Routes::get().routes {
        let service = route.method.parent_service();
        let description = generator.comments.of_service(service);
        tags.entry(service.name().to_owned())
            .or_insert_with(|| json!({ "name": service.name(), "description": description }));
        let operation = generator.operation(route);
        paths
            .entry(route.template.clone())
            .or_default()
            .insert(route.verb.as_str().to_ascii_lowercase(), operation);
    }
    let status = descriptors::rpc_status();
    generator.message_ref(&status);
    for name in ERROR_DETAILS {
        let detail = pool
            .get_message_by_name(name)
            .expect("the descriptor set holds the error details gapscore sends");
        generator.message_ref(&detail);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "gapscore",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The perception gap between what a company believes about its customer \
                experience and what its customers report, as JSON over HTTP: every unary RPC of \
                the gRPC API gapscore.v1 on the same port, at the path of its google.api.http \
                annotation, with the proto3 JSON mapping (lowerCamel field names, 64-bit integers \
                as strings, enums by name, RFC 3339 timestamps). Reads are GET with query \
                parameters (nested fields as filter.startTime, repeated fields repeated, map \
                entries as filter.labels[region]=eu); writes are POST with the request message \
                as the body. Errors are a google.rpc.Status with the HTTP status of its code. \
                Bodies may be gzip (Content-Encoding), and answers are gzip when \
                Accept-Encoding asks.",
            "license": { "name": "Apache-2.0" }
        },
        "tags": tags.into_values().collect::<Vec<_>>(),
        "security": [{ "bearerKey": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key: `gapscore tenant create NAME` prints a tenant's \
                        first key, `gapscore key create --tenant NAME` another."
                }
            },
            "schemas": generator.schemas,
        }
    })
}

/// The schemas generated so far, and the comments they are described by.
struct Generator {
    schemas: BTreeMap<String, Value>,
    comments: Comments,
}

impl Generator {
    fn new() -> Self {
        Self {
            schemas: BTreeMap::new(),
            comments: Comments::of(&[descriptors::gapscore(), descriptors::google_rpc()]),
        }
    }

    fn operation(&mut self, route: &Route) -> Value {
        let method = &route.method;
        let service = method.parent_service();
        let input = route.input();
        let output = route.output();
        let variables: BTreeSet<&str> = route.variables().collect();
        let mut parameters = Vec::new();
        for variable in &variables {
            let field = field_at(&input, variable).expect("routes check their variables");
            parameters.push(json!({
                "name": variable,
                "in": "path",
                "required": true,
                "description": self.comments.of_field(&field),
                "schema": self.field_type(&field),
            }));
        }
        let mut operation = Map::new();
        operation.insert(
            "operationId".into(),
            json!(format!("{}_{}", service.name(), method.name())),
        );
        operation.insert("tags".into(), json!([service.name()]));
        operation.insert("description".into(), json!(self.comments.of_method(method)));
        match route.body {
            BodyMapping::None => {
                self.query_parameters(&input, "", &variables, &mut parameters, 0);
            }
            BodyMapping::Whole => {
                operation.insert(
                    "requestBody".into(),
                    json!({
                        "required": true,
                        "content": { "application/json": { "schema": self.message_ref(&input) } }
                    }),
                );
            }
        }
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(parameters));
        }
        let status = descriptors::rpc_status();
        operation.insert(
            "responses".into(),
            json!({
                "200": {
                    "description": self.comments.of_message(&output),
                    "content": { "application/json": { "schema": self.message_ref(&output) } }
                },
                "default": {
                    "description": "An error: the google.rpc.Status of the call (its code, \
                        message and details: ErrorInfo, BadRequest, RetryInfo), with the HTTP \
                        status of its code and a Retry-After header when it carries a RetryInfo.",
                    "content": { "application/json": { "schema": self.message_ref(&status) } }
                }
            }),
        );
        Value::Object(operation)
    }

    /// The query parameters of the fields of `message` (prefix `prefix`)
    /// that are not path variables: scalars and repeated scalars by their
    /// dotted JSON names, maps as `deepObject`, messages by their fields.
    fn query_parameters(
        &mut self,
        message: &MessageDescriptor,
        prefix: &str,
        variables: &BTreeSet<&str>,
        out: &mut Vec<Value>,
        depth: usize,
    ) {
        assert!(depth < 8, "request messages nest a few levels at most");
        for field in message.fields() {
            let proto_path = format!("{prefix}{}", field.name());
            if variables.contains(proto_path.as_str()) {
                continue;
            }
            let json_path = json_path(prefix, &field);
            match field.kind() {
                Kind::Message(nested)
                    if !field.is_map() && !field.is_list() && string_form(&nested).is_none() =>
                {
                    self.query_parameters(
                        &nested,
                        &format!("{proto_path}."),
                        variables,
                        out,
                        depth + 1,
                    );
                }
                _ => {
                    let mut parameter = json!({
                        "name": json_path,
                        "in": "query",
                        "description": self.comments.of_field(&field),
                        "schema": self.field_type(&field),
                    });
                    if field.is_map() {
                        parameter["style"] = json!("deepObject");
                        parameter["explode"] = json!(true);
                    } else if field.is_list() {
                        parameter["style"] = json!("form");
                        parameter["explode"] = json!(true);
                    }
                    out.push(parameter);
                }
            }
        }
    }

    /// A `$ref` to the schema of `message`, generating it (and those it
    /// refers to) on first use.
    fn message_ref(&mut self, message: &MessageDescriptor) -> Value {
        if let Some(schema) = string_form(message) {
            return schema;
        }
        let name = message.full_name().to_owned();
        let reference = json!({ "$ref": format!("#/components/schemas/{name}") });
        if self.schemas.contains_key(&name) {
            return reference;
        }
        if name == "google.protobuf.Any" {
            self.schemas.insert(
                name,
                json!({
                    "type": "object",
                    "description": "A message of the type its @type names, with that type's fields.",
                    "properties": { "@type": { "type": "string" } },
                    "required": ["@type"],
                    "additionalProperties": true
                }),
            );
            return reference;
        }
        // Placed first, so a message that refers to itself ends.
        self.schemas.insert(name.clone(), Value::Null);
        let mut properties = Map::new();
        for field in message.fields() {
            let mut schema = self.field_type(&field);
            let description = self.comments.of_field(&field);
            if schema.get("$ref").is_some() {
                // A $ref cannot carry a description of its own in 3.0.
                schema = json!({ "allOf": [schema] });
            }
            if description.starts_with("Output only") {
                schema["readOnly"] = json!(true);
            }
            if !description.is_empty() {
                schema["description"] = json!(description);
            }
            properties.insert(field.json_name().to_owned(), schema);
        }
        // Open to fields added later (AIP-180): a client that checks
        // answers against this document keeps working when one appears.
        let mut schema = json!({ "type": "object", "properties": properties });
        let description = self.comments.of_message(message);
        if !description.is_empty() {
            schema["description"] = json!(description);
        }
        self.schemas.insert(name, schema);
        reference
    }

    fn enum_ref(&mut self, descriptor: &EnumDescriptor) -> Value {
        let name = descriptor.full_name().to_owned();
        let reference = json!({ "$ref": format!("#/components/schemas/{name}") });
        if !self.schemas.contains_key(&name) {
            let mut description = self.comments.of_enum(descriptor);
            for value in descriptor.values() {
                let comment = self.comments.at(value.parent_file(), value.path());
                description.push_str(&format!("\n- `{}`: {}", value.name(), comment));
            }
            let values: Vec<String> = descriptor.values().map(|v| v.name().to_owned()).collect();
            self.schemas.insert(
                name,
                json!({ "type": "string", "enum": values, "description": description }),
            );
        }
        reference
    }

    /// The JSON schema of a field's values, repeated and maps included.
    fn field_type(&mut self, field: &FieldDescriptor) -> Value {
        if field.is_map() {
            let entry = field.kind();
            let entry = entry.as_message().expect("a map field's kind is its entry");
            let value = self.kind_type(&entry.map_entry_value_field().kind());
            return json!({ "type": "object", "additionalProperties": value });
        }
        let single = self.kind_type(&field.kind());
        if field.is_list() {
            json!({ "type": "array", "items": single })
        } else {
            single
        }
    }

    /// The proto3 JSON mapping of one value of `kind`.
    fn kind_type(&mut self, kind: &Kind) -> Value {
        match kind {
            Kind::Double => json!({ "type": "number", "format": "double" }),
            Kind::Float => json!({ "type": "number", "format": "float" }),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({ "type": "integer", "format": "int32" })
            }
            Kind::Uint32 | Kind::Fixed32 => {
                json!({ "type": "integer", "format": "int64", "minimum": 0, "maximum": 4294967295u32 })
            }
            // 64-bit integers are JSON strings, so no precision is lost.
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({ "type": "string", "format": "int64", "pattern": "^-?[0-9]+$" })
            }
            Kind::Uint64 | Kind::Fixed64 => {
                json!({ "type": "string", "format": "uint64", "pattern": "^[0-9]+$" })
            }
            Kind::Bool => json!({ "type": "boolean" }),
            Kind::String => json!({ "type": "string" }),
            Kind::Bytes => json!({ "type": "string", "format": "byte" }),
            Kind::Message(message) => self.message_ref(message),
            Kind::Enum(descriptor) => self.enum_ref(descriptor),
        }
    }
}

/// The schema of a well-known type whose JSON form is a string.
fn string_form(message: &MessageDescriptor) -> Option<Value> {
    match message.full_name() {
        "google.protobuf.Timestamp" => Some(json!({ "type": "string", "format": "date-time" })),
        "google.protobuf.Duration" => Some(json!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$",
            "description": "A duration in seconds with an s suffix, e.g. 1.5s."
        })),
        "google.protobuf.FieldMask" => Some(json!({ "type": "string" })),
        _ => None,
    }
}

/// `prefix` (proto names, each ending in `.`) and `field` in JSON names.
fn json_path(prefix: &str, field: &FieldDescriptor) -> String {
    let mut parts: Vec<String> = prefix
        .split('.')
        .filter(|p| !p.is_empty())
        .map(lower_camel)
        .collect();
    parts.push(field.json_name().to_owned());
    parts.join(".")
}

/// protoc's JSON name of a proto field name.
fn lower_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The field at a dotted proto path of `message`.
fn field_at(message: &MessageDescriptor, path: &str) -> Option<FieldDescriptor> {
    let mut message = message.clone();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = message.get_field_by_name(part)?;
        if parts.peek().is_none() {
            return Some(field);
        }
        message = field.kind().as_message()?.clone();
    }
    None
}

/// Every element's leading comment, by file and source path.
struct Comments(HashMap<(String, Vec<i32>), String>);

impl Comments {
    fn of(pools: &[&DescriptorPool]) -> Self {
        let mut comments = HashMap::new();
        for pool in pools {
            for file in pool.files() {
                let Some(info) = &file.file_descriptor_proto().source_code_info else {
                    continue;
                };
                for location in &info.location {
                    if let Some(text) = &location.leading_comments {
                        comments
                            .entry((file.name().to_owned(), location.path.clone()))
                            .or_insert_with(|| clean(text));
                    }
                }
            }
        }
        Comments(comments)
    }

    fn at(&self, file: FileDescriptor, path: &[i32]) -> String {
        self.0
            .get(&(file.name().to_owned(), path.to_vec()))
            .cloned()
            .unwrap_or_default()
    }

    fn of_message(&self, m: &MessageDescriptor) -> String {
        self.at(m.parent_file(), m.path())
    }
    fn of_field(&self, f: &FieldDescriptor) -> String {
        self.at(f.parent_file(), f.path())
    }
    fn of_enum(&self, e: &EnumDescriptor) -> String {
        self.at(e.parent_file(), e.path())
    }
    fn of_method(&self, m: &prost_reflect::MethodDescriptor) -> String {
        self.at(m.parent_file(), m.path())
    }
    fn of_service(&self, s: &prost_reflect::ServiceDescriptor) -> String {
        self.at(s.parent_file(), s.path())
    }
}

/// A comment's lines joined into one paragraph.
fn clean(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_a_path_with_its_verb() {
        let document = document();
        for route in &Routes::get().routes {
            let verb = route.verb.as_str().to_ascii_lowercase();
            let operation = &document["paths"][&route.template][&verb];
            assert!(operation.is_object(), "{} {}", verb, route.template);
            assert!(
                !operation["description"].as_str().unwrap().is_empty(),
                "{}",
                route.template
            );
        }
    }

    #[test]
    fn schemas_follow_the_proto3_json_mapping() {
        let document = document();
        let schemas = &document["components"]["schemas"];
        let response = &schemas["gapscore.v1.SurveyResponse"]["properties"];
        assert_eq!(response["submittedAt"]["format"], "date-time");
        assert_eq!(response["labels"]["type"], "object");
        assert_eq!(response["labels"]["additionalProperties"]["type"], "string");
        assert_eq!(response["answers"]["type"], "array");
        assert_eq!(
            response["role"]["allOf"][0]["$ref"],
            "#/components/schemas/gapscore.v1.RespondentRole"
        );
        let role = &schemas["gapscore.v1.RespondentRole"];
        assert_eq!(role["type"], "string");
        assert!(
            role["enum"]
                .as_array()
                .unwrap()
                .contains(&json!("RESPONDENT_ROLE_CUSTOMER"))
        );
        let counts = &schemas["gapscore.v1.IngestCounts"]["properties"];
        assert_eq!(counts["inserted"]["type"], "string");
        assert_eq!(counts["inserted"]["format"], "int64");
        let answer = &schemas["gapscore.v1.Answer"]["properties"];
        assert_eq!(answer["score"]["format"], "int32");
        assert!(
            answer["score"]["description"]
                .as_str()
                .unwrap()
                .contains("RATING")
        );
        assert_eq!(
            schemas["gapscore.v1.Journey"]["properties"]["effortIndex"]["readOnly"],
            true
        );
        assert!(schemas["google.rpc.Status"]["properties"]["details"].is_object());
        assert!(schemas["google.rpc.BadRequest"].is_object());
    }

    #[test]
    fn reads_take_their_fields_as_query_parameters() {
        let document = document();
        let parameters = document["paths"]["/v1/scoring/perceptionGap"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let names: Vec<&str> = parameters
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for name in [
            "filter.startTime",
            "filter.labels",
            "questions",
            "confidenceLevel",
            "groupBy",
        ] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
        let labels = parameters
            .iter()
            .find(|p| p["name"] == "filter.labels")
            .unwrap();
        assert_eq!(labels["style"], "deepObject");
        let get = &document["paths"]["/v1/journeys/{id}"]["get"]["parameters"][0];
        assert_eq!(get["in"], "path");
        assert_eq!(get["name"], "id");
    }

    #[test]
    fn lower_camel_is_protocs() {
        assert_eq!(lower_camel("start_time"), "startTime");
        assert_eq!(lower_camel("filter"), "filter");
    }
}
