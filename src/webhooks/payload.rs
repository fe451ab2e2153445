//! The body of a delivery: the Standard Webhooks envelope around the event
//! in its proto3 JSON form (the same JSON `WatchAtRiskCustomers` gives over
//! HTTP).
//!
//! ```json
//! {"type":"customer.at_risk","timestamp":"2026-05-01T12:00:00.123Z",
//!  "data":{"eventId":"…","customerId":"c-1","tier":"EFFORT_TIER_HIGH",…}}
//! ```

use chrono::SecondsFormat;
use prost_reflect::{DynamicMessage, SerializeOptions};

use crate::{grpc::events::event_message, store::webhooks::Claimed};

/// The envelope's `type`.
pub const EVENT_TYPE: &str = "customer.at_risk";

/// The JSON body of a claimed delivery.
pub fn body(claimed: &Claimed) -> Vec<u8> {
    let descriptor = crate::http::descriptors::gapscore()
        .get_message_by_name("gapscore.v1.AtRiskEvent")
        .expect("AtRiskEvent is in the descriptor set");
    let mut data = DynamicMessage::new(descriptor);
    data.transcode_from(&event_message(&claimed.event))
        .expect("an AtRiskEvent converts to its own descriptor");
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(br#"{"type":"#);
    serde_json::to_writer(&mut out, EVENT_TYPE).expect("a string serializes");
    out.extend_from_slice(br#","timestamp":"#);
    let timestamp = claimed
        .event
        .occurred_at
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    serde_json::to_writer(&mut out, &timestamp).expect("a string serializes");
    out.extend_from_slice(br#","data":"#);
    let mut serializer = serde_json::Serializer::new(&mut out);
    data.serialize_with_options(&mut serializer, &SerializeOptions::new())
        .expect("an AtRiskEvent serializes");
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;
    use crate::store::events::StoredEvent;

    #[test]
    fn the_body_is_the_envelope_around_the_proto3_json_event() {
        let claimed = Claimed {
            tenant_id: 1,
            webhook_id: Uuid::nil(),
            attempts: 1,
            url: "https://example.com/".into(),
            secret: vec![1; 32],
            event: StoredEvent {
                seq: 7,
                event_id: Uuid::from_u128(0x1234),
                customer_id: "c-\"1\"".into(),
                tier: 3,
                previous_tier: 0,
                tier_source: 2,
                reasons: vec!["3 contacts".into()],
                journey_id: Some("j-1".into()),
                response_id: None,
                holdout: true,
                occurred_at: chrono::Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap(),
            },
        };
        let body: serde_json::Value = serde_json::from_slice(&body(&claimed)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "type": "customer.at_risk",
                "timestamp": "2026-05-01T12:00:00.000Z",
                "data": {
                    "eventId": "00000000-0000-0000-0000-000000001234",
                    "customerId": "c-\"1\"",
                    "tier": "EFFORT_TIER_HIGH",
                    "tierSource": "TIER_SOURCE_JOURNEYS",
                    "reasons": ["3 contacts"],
                    "journeyId": "j-1",
                    "occurredAt": "2026-05-01T12:00:00Z",
                    "holdout": true
                }
            })
        );
    }
}
