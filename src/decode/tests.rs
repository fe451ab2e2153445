//! Unit tests of the scanner, the schema and the size estimate.

use prost::{Message, Name};
use prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet,
    field_descriptor_proto::{Label, Type},
};

use super::{
    limits::{WIRE_LIMITS, WireLimit},
    scan::{ALLOCATION_EXTRA, STRING_EXTRA, Scan, map_bytes, scan, vec_bytes},
    schema::Schema,
};
use crate::{proto::v1::*, service::survey::MAX_SUBMITTED_THEMES};

fn scan_of<M: Message + Name>(message: &M) -> Scan {
    scan_bytes::<M>(&message.encode_to_vec())
}

fn scan_bytes<M: Name>(wire: &[u8]) -> Scan {
    let schema = Schema::get();
    let index = schema.message(&M::full_name()).expect("known message");
    scan(schema, index, wire)
}

fn fields(scan: &Scan) -> Vec<&str> {
    scan.violations
        .items()
        .iter()
        .map(|(f, _)| f.as_str())
        .collect()
}

fn answer(themes: usize) -> Answer {
    Answer {
        question: "q".into(),
        themes: (0..themes).map(|i| format!("t{i}")).collect(),
        ..Answer::default()
    }
}

fn response(answers: Vec<Answer>) -> SurveyResponse {
    SurveyResponse {
        id: "r".into(),
        answers,
        ..SurveyResponse::default()
    }
}

#[test]
fn counts_at_their_limits_pass_and_one_more_is_named_by_its_path() {
    let at_limits = SubmitSurveyResponsesRequest {
        responses: (0..1000)
            .map(|i| {
                response(if i == 0 {
                    vec![answer(MAX_SUBMITTED_THEMES); 100]
                } else {
                    vec![]
                })
            })
            .collect(),
    };
    let found = scan_of(&at_limits);
    assert!(found.violations.is_empty(), "{:?}", found.violations);
    assert!(!found.malformed);

    let mut over = at_limits;
    over.responses.push(response(vec![]));
    over.responses[3].answers = vec![answer(1); 101];
    over.responses[0].answers[1] = answer(MAX_SUBMITTED_THEMES + 1);
    let found = scan_of(&over);
    // The message's own field first, then the nested ones in wire order.
    assert_eq!(
        fields(&found),
        [
            "responses",
            "responses[0].answers[1].themes",
            "responses[3].answers"
        ]
    );
    assert_eq!(
        found.violations.items()[0].1,
        "must contain 1-1000 responses, got 1001"
    );
    assert_eq!(
        found.violations.items()[2].1,
        "at most 100 answers are allowed, got 101"
    );
}

#[test]
fn two_million_empty_responses_are_counted_without_decoding() {
    let wire = [0x0a, 0x00].repeat(2_000_000);
    let found = scan_bytes::<SubmitSurveyResponsesRequest>(&wire);
    assert_eq!(fields(&found), ["responses"]);
    assert!(found.violations.items()[0].1.ends_with("got 2000000"));
}

#[test]
fn singular_messages_that_prost_merges_are_counted_together() {
    let prior = OutcomePrior {
        kind: 1,
        ..OutcomePrior::default()
    };
    let half = UpdateScoringModelRequest {
        model: Some(ScoringModel {
            priors: vec![prior; 3],
            ..ScoringModel::default()
        }),
    };
    assert!(scan_of(&half).violations.is_empty());
    let mut twice = half.encode_to_vec();
    twice.extend(half.encode_to_vec());
    assert_eq!(
        UpdateScoringModelRequest::decode(twice.as_slice())
            .unwrap()
            .model
            .unwrap()
            .priors
            .len(),
        6,
        "prost merges the two"
    );
    let found = scan_bytes::<UpdateScoringModelRequest>(&twice);
    assert_eq!(fields(&found), ["model.priors"]);

    let filter = GetPerceptionGapRequest {
        filter: Some(ScoreFilter {
            labels: (0..65).map(|i| (format!("k{i}"), "v".into())).collect(),
            ..ScoreFilter::default()
        }),
        ..GetPerceptionGapRequest::default()
    };
    assert_eq!(fields(&scan_of(&filter)), ["filter.labels"]);
}

#[test]
fn malformed_bytes_stop_the_scan_and_are_left_to_prost() {
    // 1,001 responses, then a truncated field.
    let mut wire = [0x0a, 0x00].repeat(1001);
    wire.extend([0x0a, 0x05, 0x01]);
    let found = scan_bytes::<SubmitSurveyResponsesRequest>(&wire);
    assert!(found.malformed);
    assert_eq!(fields(&found), ["responses"], "the prefix is still counted");
    assert!(SubmitSurveyResponsesRequest::decode(wire.as_slice()).is_err());

    for bad in [
        &[0x0a][..],                     // no length
        &[0x00, 0x01],                   // field number 0
        &[0x0f],                         // wire type 7
        &[0x0a, 0x80],                   // truncated varint
        &[0x0b, 0x08, 0x01],             // unterminated group
        &[0x0b, 0x14],                   // group ended by another number
        &[0x80, 0x80, 0x80, 0x80, 0x10], // key above u32
    ] {
        let found = scan_bytes::<SubmitSurveyResponsesRequest>(bad);
        assert!(found.malformed, "{bad:?}");
        assert!(
            SubmitSurveyResponsesRequest::decode(bad).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn unknown_fields_and_groups_are_skipped_and_not_counted() {
    // Field 99 as a varint, as bytes that look like 2,000 responses, and
    // as a group with fields (and a nested group) inside.
    let mut wire = vec![0x98, 0x06, 0x2a];
    let fake = [0x0a, 0x00].repeat(2000);
    wire.extend([0x9a, 0x06]);
    ::prost::encoding::encode_varint(fake.len() as u64, &mut wire);
    wire.extend(&fake);
    wire.extend([0x9b, 0x06, 0x08, 0x01, 0x1b, 0x1c, 0x9c, 0x06]);
    wire.extend([0x0a, 0x00]);
    let found = scan_bytes::<SubmitSurveyResponsesRequest>(&wire);
    assert!(!found.malformed);
    assert!(found.violations.is_empty(), "{:?}", found.violations);
    let decoded = SubmitSurveyResponsesRequest::decode(wire.as_slice()).unwrap();
    assert_eq!(decoded.responses.len(), 1);
}

/// A descriptor set with one message `t.T { repeated int32 a = 1;
/// repeated fixed64 b = 2; repeated float c = 3; }`, each limited to 3.
fn packed_schema() -> Schema {
    static LIMITS: &[WireLimit] = &[
        WireLimit {
            message: "t.T",
            field: "a",
            max: 3,
            describe: |n| format!("got {n}"),
        },
        WireLimit {
            message: "t.T",
            field: "b",
            max: 3,
            describe: |n| format!("got {n}"),
        },
        WireLimit {
            message: "t.T",
            field: "c",
            max: 3,
            describe: |n| format!("got {n}"),
        },
    ];
    let field = |name: &str, number: i32, ty: Type| FieldDescriptorProto {
        name: Some(name.into()),
        number: Some(number),
        label: Some(Label::Repeated as i32),
        r#type: Some(ty as i32),
        ..FieldDescriptorProto::default()
    };
    let set = FileDescriptorSet {
        file: vec![FileDescriptorProto {
            package: Some("t".into()),
            message_type: vec![DescriptorProto {
                name: Some("T".into()),
                field: vec![
                    field("a", 1, Type::Int32),
                    field("b", 2, Type::Fixed64),
                    field("c", 3, Type::Float),
                ],
                ..DescriptorProto::default()
            }],
            ..FileDescriptorProto::default()
        }],
    };
    Schema::from_descriptors(&set, LIMITS)
}

#[test]
fn packed_and_unpacked_scalars_are_counted() {
    let schema = packed_schema();
    let t = schema.message("t.T").unwrap();
    let fields_of = |wire: &[u8]| -> Vec<String> {
        scan(&schema, t, wire)
            .violations
            .items()
            .iter()
            .map(|(f, _)| f.clone())
            .collect()
    };
    // a: packed, three varints (one of two bytes), then one unpacked = 4.
    let a = [0x0a, 0x04, 0x01, 0x96, 0x01, 0x02, 0x08, 0x05];
    // b: packed, 3 x 8 bytes = 3 (at the limit).
    let mut b = vec![0x12, 24];
    b.extend([0u8; 24]);
    // c: unpacked, 4 floats.
    let c = [0x1d, 0, 0, 0, 0].repeat(4);
    assert_eq!(fields_of(&a), ["a"]);
    assert!(fields_of(&b).is_empty());
    assert_eq!(fields_of(&c), ["c"]);
    let mut all = a.to_vec();
    all.extend(&b);
    all.extend(&c);
    assert_eq!(fields_of(&all), ["a", "c"]);
}

#[test]
fn every_wire_limit_names_a_repeated_field() {
    let schema = Schema::get();
    for limit in WIRE_LIMITS {
        let message = schema
            .message(limit.message)
            .unwrap_or_else(|| panic!("no message {}", limit.message));
        let field = schema.messages[message]
            .fields
            .iter()
            .find(|f| f.name == limit.field)
            .unwrap_or_else(|| panic!("no field {}.{}", limit.message, limit.field));
        let repeated = field.repeated.as_ref().expect("a repeated field");
        assert!(
            repeated.limit.is_some_and(|l| std::ptr::eq(l, limit)),
            "{}.{} is attached",
            limit.message,
            limit.field
        );
    }
    let streamed: Vec<&str> = schema
        .messages
        .iter()
        .filter(|m| m.stream_input)
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(
        streamed.len(),
        2,
        "StreamSurveyResponses and StreamJourneys: {streamed:?}"
    );
}

/// `struct_bytes` from the descriptor against the generated structs.
#[test]
fn struct_sizes_from_the_descriptor_bound_the_generated_structs() {
    macro_rules! check {
        ($($t:ty),+ $(,)?) => {$({
            let schema = Schema::get();
            let estimate = schema.messages[schema.message(&<$t>::full_name()).unwrap()].struct_bytes;
            let real = std::mem::size_of::<$t>() as u64;
            assert!(estimate >= real, "{}: {estimate} < {real}", <$t>::full_name());
            assert!(estimate <= 3 * real.max(8), "{}: {estimate} vs {real}", <$t>::full_name());
        })+};
    }
    check!(
        SubmitSurveyResponsesRequest,
        StreamSurveyResponsesRequest,
        SurveyResponse,
        Answer,
        SubmitJourneysRequest,
        Journey,
        Touchpoint,
        SubmitOutcomesRequest,
        Outcome,
        ScoreFilter,
        GetPerceptionGapRequest,
        GetExpectationGapRequest,
        GetCompetitiveGapRequest,
        GetEffortIndexRequest,
        GetLoyaltyRiskRequest,
        GetScorecardRequest,
        GetTrendRequest,
        GetChangeRequest,
        ListSurveyResponsesRequest,
        ListJourneysRequest,
        ListOutcomesRequest,
        ListAtRiskCustomersRequest,
        GetCustomerRiskRequest,
        DeleteCustomerDataRequest,
        UpsertQuestionRequest,
        Question,
        UpdateScoringModelRequest,
        ScoringModel,
        EffortWeights,
        OutcomePrior,
        GetJourneyRequest,
        GetSurveyResponseRequest,
        ListQuestionsRequest,
        GetScoringModelRequest,
    );
}

/// The heap a decoded survey batch really holds, from its capacities, with
/// the same allocator model as the estimate (a string's content plus
/// [`STRING_EXTRA`], a buffer's [`ALLOCATION_EXTRA`]).
fn survey_heap(request: &SubmitSurveyResponsesRequest) -> u64 {
    fn text(s: &String) -> u64 {
        if s.capacity() == 0 {
            0
        } else {
            s.capacity() as u64 + STRING_EXTRA - 8
        }
    }
    fn buffer<T>(v: &Vec<T>) -> u64 {
        if v.capacity() == 0 {
            0
        } else {
            (v.capacity() * std::mem::size_of::<T>()) as u64 + ALLOCATION_EXTRA
        }
    }
    let mut heap = std::mem::size_of::<SubmitSurveyResponsesRequest>() as u64;
    heap += buffer(&request.responses);
    for r in &request.responses {
        heap += text(&r.id) + text(&r.respondent_id) + text(&r.survey_id);
        heap += buffer(&r.answers);
        // A B-tree leaf of 11 String pairs per up to 11 labels.
        let leaves = r.labels.len().div_ceil(11) as u64;
        heap += leaves * (11 * 48 + 16 + ALLOCATION_EXTRA);
        for (k, v) in &r.labels {
            heap += text(k) + text(v);
        }
        for a in &r.answers {
            heap += text(&a.question) + text(&a.comment) + buffer(&a.themes);
            heap += a.themes.iter().map(text).sum::<u64>();
        }
    }
    heap
}

#[test]
fn the_decoded_size_estimate_is_an_upper_bound_within_a_small_factor() {
    let shapes = [
        (1, 1, 1, 0),
        (1000, 1, 0, 0),
        (10, 100, 20, 16),
        (1000, 3, 5, 2),
        (200, 100, 80, 16),
    ];
    for (responses, answers, themes, labels) in shapes {
        let request = SubmitSurveyResponsesRequest {
            responses: (0..responses)
                .map(|i| SurveyResponse {
                    id: format!("r{i}"),
                    labels: (0..labels).map(|l| (format!("k{l}"), "v".into())).collect(),
                    ..response(vec![answer(themes); answers])
                })
                .collect(),
        };
        let wire = request.encode_to_vec();
        let estimate = scan_of(&request).decoded_bytes;
        let decoded = SubmitSurveyResponsesRequest::decode(wire.as_slice()).unwrap();
        let real = survey_heap(&decoded);
        assert!(
            estimate >= real,
            "{responses}x{answers}x{themes}: estimate {estimate} < real {real}"
        );
        assert!(
            estimate <= 4 * real,
            "{responses}x{answers}x{themes}: estimate {estimate} > 4 x real {real}"
        );
    }
}

#[test]
fn vec_and_map_sizes_follow_their_growth() {
    assert_eq!(vec_bytes(1, 10), 40 + ALLOCATION_EXTRA);
    assert_eq!(vec_bytes(5, 10), 80 + ALLOCATION_EXTRA);
    let mut v: Vec<u64> = Vec::new();
    for n in 1..=3000u64 {
        v.push(n);
        assert!(vec_bytes(n, 8) >= (v.capacity() * 8) as u64 + ALLOCATION_EXTRA);
    }
    assert!(map_bytes(1, 48) >= 11 * 48);
}

mod never_stricter_than_prost {
    use proptest::prelude::*;

    use super::*;

    /// A valid request with a few bytes changed or cut: where the scan says
    /// malformed, prost must fail too, or the scan would have stopped early
    /// on bytes prost goes on decoding.
    fn mutated() -> impl Strategy<Value = Vec<u8>> {
        let base = SubmitSurveyResponsesRequest {
            responses: vec![
                SurveyResponse {
                    labels: [("k".to_owned(), "v".to_owned())].into(),
                    ..response(vec![answer(3), answer(0)])
                };
                3
            ],
        }
        .encode_to_vec();
        let len = base.len();
        (
            proptest::collection::vec((0..len, any::<u8>()), 0..4),
            0..=len,
        )
            .prop_map(move |(edits, cut)| {
                let mut wire = base.clone();
                for (at, byte) in edits {
                    wire[at] = byte;
                }
                wire.truncate(cut);
                wire
            })
    }

    /// The case proptest found: a labels entry whose key says "start
    /// group" (wire type 3). prost decodes it as a length-delimited entry
    /// anyway, so the scanner must not call it malformed.
    #[test]
    fn a_map_entry_under_another_wire_type_is_read_as_prost_reads_it() {
        let wire = [
            10, 33, 10, 1, 114, 50, 6, 10, 1, 107, 18, 1, 118, 58, 15, 10, 1, 113, 26, 2, 116, 48,
            26, 2, 116, 49, 26, 2, 116, 50, 51, 3, 10, 1, 113,
        ];
        let decoded =
            SubmitSurveyResponsesRequest::decode(wire.as_slice()).expect("prost reads it");
        assert_eq!(decoded.responses[0].labels.len(), 2);
        assert!(!scan_bytes::<SubmitSurveyResponsesRequest>(&wire).malformed);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn mutated_requests(wire in mutated()) {
            let found = scan_bytes::<SubmitSurveyResponsesRequest>(&wire);
            if found.malformed {
                prop_assert!(SubmitSurveyResponsesRequest::decode(wire.as_slice()).is_err());
            }
        }

        #[test]
        fn random_bytes(wire in proptest::collection::vec(any::<u8>(), 0..64)) {
            let found = scan_bytes::<SubmitJourneysRequest>(&wire);
            if found.malformed {
                prop_assert!(SubmitJourneysRequest::decode(wire.as_slice()).is_err());
            }
        }
    }
}
