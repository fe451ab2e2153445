//! The route table: every unary RPC with a `google.api.http` annotation, as
//! a verb and a path template (AIP-127), read from the descriptor set so a
//! new annotated RPC is served without touching this code.
//!
//! Templates are literal segments and single-segment variables naming a
//! field of the request (`/v1/journeys/{id}`), optionally ending in a
//! custom verb (`/v1/surveyResponses:submit`). Multi-segment variables
//! (`{name=**}`) and `additional_bindings` are refused when the table is
//! built (a unit test builds it), since no gapscore RPC uses them.

use std::sync::LazyLock;

use http::Method;
use prost_reflect::{DescriptorPool, MessageDescriptor, MethodDescriptor, Value};

/// One RPC served over HTTP.
#[derive(Debug, Clone)]
pub struct Route {
    pub verb: Method,
    /// The template as annotated, e.g. `/v1/journeys/{id}`.
    pub template: String,
    segments: Vec<Segment>,
    /// The custom verb after the last segment's `:`, if any.
    custom_verb: Option<String>,
    /// Where the request message is read from besides the path.
    pub body: BodyMapping,
    pub method: MethodDescriptor,
    /// The gRPC path, `/gapscore.v1.SurveyService/SubmitSurveyResponses`.
    pub grpc_path: String,
}

/// What the HTTP body holds (HttpRule's `body`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyMapping {
    /// No body: every field not in the path is a query parameter.
    None,
    /// `*`: the body is the request message, less the path's fields.
    Whole,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// A field path of the request message, `id` or `filter.survey_id`.
    Variable(String),
}

/// A path variable's field and its (percent-decoded) value.
pub type Binding = (String, String);

/// What a request's verb and path found.
#[derive(Debug)]
pub enum Found<'a> {
    Route(&'a Route, Vec<Binding>),
    /// The path exists with other verbs only.
    OtherVerbs(Vec<Method>),
    None,
}

/// Every route, in descriptor order.
#[derive(Debug)]
pub struct Routes {
    pub routes: Vec<Route>,
}

impl Routes {
    /// The routes of the built-in descriptor set, built once.
    pub fn get() -> &'static Routes {
        static ROUTES: LazyLock<Routes> = LazyLock::new(|| {
            Routes::from_pool(super::descriptors::gapscore())
                .unwrap_or_else(|err| panic!("invalid google.api.http annotation: {err}"))
        });
        &ROUTES
    }

    /// The routes of every annotated unary method of `pool`.
    pub fn from_pool(pool: &DescriptorPool) -> Result<Routes, String> {
        let Some(option) = pool.get_extension_by_name("google.api.http") else {
            return Ok(Routes { routes: Vec::new() });
        };
        let mut routes = Vec::new();
        for service in pool.services() {
            for method in service.methods() {
                let options = method.options();
                if !options.has_extension(&option) {
                    continue;
                }
                let name = method.full_name().to_owned();
                if method.is_client_streaming() || method.is_server_streaming() {
                    return Err(format!("{name}: streaming RPCs have no HTTP form"));
                }
                let rule = options.get_extension(&option);
                let rule = rule
                    .as_message()
                    .ok_or_else(|| format!("{name}: not an HttpRule"))?;
                routes.push(route(&method, rule).map_err(|err| format!("{name}: {err}"))?);
            }
        }
        for (i, a) in routes.iter().enumerate() {
            for b in &routes[..i] {
                if a.verb == b.verb && a.segments == b.segments && a.custom_verb == b.custom_verb {
                    return Err(format!(
                        "{} and {} share {} {}",
                        a.grpc_path, b.grpc_path, a.verb, a.template
                    ));
                }
            }
        }
        Ok(Routes { routes })
    }

    /// The route of `verb` and `path` (still percent-encoded).
    pub fn find(&self, verb: &Method, path: &str) -> Found<'_> {
        let mut other_verbs = Vec::new();
        for route in &self.routes {
            if let Some(bindings) = route.matches(path) {
                if route.verb == *verb {
                    return Found::Route(route, bindings);
                }
                other_verbs.push(route.verb.clone());
            }
        }
        if other_verbs.is_empty() {
            Found::None
        } else {
            Found::OtherVerbs(other_verbs)
        }
    }
}

fn route(method: &MethodDescriptor, rule: &prost_reflect::DynamicMessage) -> Result<Route, String> {
    let text = |field: &str| match rule.get_field_by_name(field).as_deref() {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    if rule
        .get_field_by_name("additional_bindings")
        .and_then(|v| v.as_list().map(|l| !l.is_empty()))
        .unwrap_or(false)
    {
        return Err("additional_bindings are not supported".into());
    }
    let verbs = [
        ("get", Method::GET),
        ("put", Method::PUT),
        ("post", Method::POST),
        ("delete", Method::DELETE),
        ("patch", Method::PATCH),
    ];
    let (verb, template) = verbs
        .into_iter()
        .find(|(field, _)| rule.has_field_by_name(field))
        .map(|(field, verb)| (verb, text(field)))
        .ok_or("only get, put, post, delete and patch rules are supported")?;
    let body = match text("body").as_str() {
        "" => BodyMapping::None,
        "*" => BodyMapping::Whole,
        other => return Err(format!("body {other:?}: only \"*\" or none is supported")),
    };
    if !text("response_body").is_empty() {
        return Err("response_body is not supported".into());
    }
    let (segments, custom_verb) = parse_template(&template)?;
    let input = method.input();
    for segment in &segments {
        if let Segment::Variable(path) = segment {
            check_variable(&input, path)?;
        }
    }
    Ok(Route {
        verb,
        template,
        segments,
        custom_verb,
        body,
        grpc_path: format!("/{}/{}", method.parent_service().full_name(), method.name()),
        method: method.clone(),
    })
}

/// Splits `/a/{b}/c:verb` into its segments and custom verb.
fn parse_template(template: &str) -> Result<(Vec<Segment>, Option<String>), String> {
    let rest = template
        .strip_prefix('/')
        .ok_or_else(|| format!("template {template:?} must start with /"))?;
    // The verb is after the last `:` that is outside a variable.
    let (rest, verb) = match rest.rfind(':') {
        Some(at) if !rest[at..].contains('}') && !rest[at..].contains('/') => {
            (&rest[..at], Some(rest[at + 1..].to_owned()))
        }
        _ => (rest, None),
    };
    let mut segments = Vec::new();
    for segment in rest.split('/') {
        if let Some(inner) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if inner.contains('=') || inner.contains('*') {
                return Err(format!(
                    "template {template:?}: only {{field}} variables are supported"
                ));
            }
            segments.push(Segment::Variable(inner.to_owned()));
        } else if segment.is_empty() || segment.contains(['{', '}', '*']) {
            return Err(format!("template {template:?}: bad segment {segment:?}"));
        } else {
            segments.push(Segment::Literal(segment.to_owned()));
        }
    }
    Ok((segments, verb))
}

/// A path variable must name a singular scalar field (AIP-127).
fn check_variable(input: &MessageDescriptor, path: &str) -> Result<(), String> {
    let mut message = input.clone();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = message.get_field_by_name(part).ok_or_else(|| {
            format!(
                "path variable {path:?}: no field {part:?} in {}",
                message.full_name()
            )
        })?;
        if field.is_list() || field.is_map() {
            return Err(format!("path variable {path:?} is repeated"));
        }
        match (field.kind().as_message().cloned(), parts.peek()) {
            (Some(next), Some(_)) => message = next,
            (None, None) => return Ok(()),
            _ => return Err(format!("path variable {path:?} must end at a scalar field")),
        }
    }
    Ok(())
}

impl Route {
    /// The request message type.
    pub fn input(&self) -> MessageDescriptor {
        self.method.input()
    }

    /// The response message type.
    pub fn output(&self) -> MessageDescriptor {
        self.method.output()
    }

    /// The path variables' fields.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Variable(path) => Some(path.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// The bindings of `path` when it matches this route's template.
    fn matches(&self, path: &str) -> Option<Vec<Binding>> {
        let rest = path.strip_prefix('/')?;
        let rest = match &self.custom_verb {
            Some(verb) => rest.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => rest,
        };
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut bindings = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(literal) => {
                    if literal != part {
                        return None;
                    }
                }
                Segment::Variable(field) => {
                    // Without a custom verb, a `:` in the last segment would
                    // be another route's verb, never a value.
                    if part.is_empty() || (self.custom_verb.is_none() && part.contains(':')) {
                        return None;
                    }
                    let value = percent_encoding::percent_decode_str(part)
                        .decode_utf8()
                        .ok()?
                        .into_owned();
                    bindings.push((field.clone(), value));
                }
            }
        }
        Some(bindings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> &'static Routes {
        Routes::get()
    }

    #[test]
    fn every_unary_rpc_has_a_route_and_no_stream_has_one() {
        let pool = super::super::descriptors::gapscore();
        let mut unary = 0;
        for service in pool
            .services()
            .filter(|s| s.package_name() == "gapscore.v1")
        {
            for method in service.methods() {
                let path = format!("/{}/{}", service.full_name(), method.name());
                let routed = routes().routes.iter().any(|r| r.grpc_path == path);
                if method.is_client_streaming() || method.is_server_streaming() {
                    assert!(!routed, "{path} streams");
                } else {
                    unary += 1;
                    assert!(routed, "{path} has no google.api.http annotation");
                }
            }
        }
        assert_eq!(routes().routes.len(), unary);
    }

    #[test]
    fn reads_are_gets_standard_methods_follow_aip_and_other_writes_are_custom_posts() {
        for route in &routes().routes {
            let name = route.method.name();
            let read = name.starts_with("Get") || name.starts_with("List");
            if read {
                assert_eq!(route.verb, Method::GET, "{name}");
                assert_eq!(route.body, BodyMapping::None, "{name}");
            } else if route.custom_verb.is_none() && name.starts_with("Create") {
                // AIP-133: a standard Create posts the resource to its collection.
                assert_eq!(route.verb, Method::POST, "{name}");
                assert_eq!(route.body, BodyMapping::Whole, "{name}");
            } else if route.custom_verb.is_none() && name.starts_with("Delete") {
                // AIP-135: a standard Delete has no body.
                assert_eq!(route.verb, Method::DELETE, "{name}");
                assert_eq!(route.body, BodyMapping::None, "{name}");
            } else {
                assert_eq!(route.verb, Method::POST, "{name}");
                assert_eq!(route.body, BodyMapping::Whole, "{name}");
                assert!(route.custom_verb.is_some(), "{name} is a custom method");
            }
        }
    }

    #[test]
    fn paths_find_their_route_with_decoded_bindings() {
        let Found::Route(route, bindings) = routes().find(&Method::GET, "/v1/journeys/j%201")
        else {
            panic!("no route");
        };
        assert_eq!(route.grpc_path, "/gapscore.v1.JourneyService/GetJourney");
        assert_eq!(bindings, [("id".to_owned(), "j 1".to_owned())]);

        let Found::Route(route, _) = routes().find(&Method::POST, "/v1/surveyResponses:submit")
        else {
            panic!("no route");
        };
        assert_eq!(
            route.grpc_path,
            "/gapscore.v1.SurveyService/SubmitSurveyResponses"
        );

        let Found::Route(route, bindings) =
            routes().find(&Method::POST, "/v1/customers/c-1:deleteData")
        else {
            panic!("no route");
        };
        assert_eq!(
            route.grpc_path,
            "/gapscore.v1.CustomerService/DeleteCustomerData"
        );
        assert_eq!(bindings, [("customer_id".to_owned(), "c-1".to_owned())]);

        // A custom verb is not an id.
        let Found::Route(route, _) = routes().find(&Method::GET, "/v1/customers:listAtRisk") else {
            panic!("no route");
        };
        assert_eq!(route.method.name(), "ListAtRiskCustomers");
    }

    #[test]
    fn a_known_path_with_another_verb_names_the_verbs_it_has() {
        match routes().find(&Method::GET, "/v1/surveyResponses:submit") {
            Found::OtherVerbs(verbs) => assert_eq!(verbs, [Method::POST]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            routes().find(&Method::GET, "/v1/nothing"),
            Found::None
        ));
        assert!(matches!(
            routes().find(&Method::GET, "/v1/journeys/"),
            Found::None
        ));
        assert!(matches!(
            routes().find(&Method::GET, "/v1/journeys/a/b"),
            Found::None
        ));
    }

    #[test]
    fn unsupported_templates_are_refused() {
        assert!(parse_template("/v1/{name=**}").is_err());
        assert!(parse_template("v1/x").is_err());
        assert!(parse_template("/v1//x").is_err());
        let (segments, verb) = parse_template("/v1/a/{b}:run").unwrap();
        assert_eq!(
            segments,
            [
                Segment::Literal("v1".into()),
                Segment::Literal("a".into()),
                Segment::Variable("b".into())
            ]
        );
        assert_eq!(verb.as_deref(), Some("run"));
    }
}
