//! Why a journey was effortful, in words.

use super::{EffortComponents, EffortModel, effort_breakdown};

/// Why a journey was effortful, in words, one phrase per component that
/// adds points under `model` (a component with zero weight, or customer
/// time within the free minutes, is not a reason):
///
/// "3 contacts across 3 channels", "2 channel switches", "2 failed
/// self-service attempts", "1 transfer", "repeated information 2 times",
/// "45 minutes of the customer's time", "not resolved".
///
/// Minutes are rounded to the nearest whole minute.
pub fn reasons(components: &EffortComponents, model: &EffortModel) -> Vec<String> {
    let b = effort_breakdown(components, model);
    let c = components;
    let mut out = Vec::new();
    if b.extra_contacts > 0.0 {
        let contacts = c.customer_touchpoints;
        out.push(if c.distinct_channels <= 1 {
            format!("{contacts} contacts on the same channel")
        } else {
            format!(
                "{contacts} contacts across {}",
                plural(i64::from(c.distinct_channels), "channel", "channels")
            )
        });
    }
    if b.channel_switches > 0.0 {
        out.push(plural(
            i64::from(c.channel_switches),
            "channel switch",
            "channel switches",
        ));
    }
    if b.failed_self_service > 0.0 {
        out.push(plural(
            i64::from(c.failed_self_service),
            "failed self-service attempt",
            "failed self-service attempts",
        ));
    }
    if b.transfers > 0.0 {
        out.push(plural(i64::from(c.transfers), "transfer", "transfers"));
    }
    if b.repeated_information > 0.0 {
        out.push(match c.repeated_information {
            1 => "repeated information once".to_owned(),
            n => format!("repeated information {n} times"),
        });
    }
    if b.customer_time > 0.0 {
        let minutes = c.customer_minutes().round() as i64;
        out.push(format!(
            "{} of the customer's time",
            plural(minutes, "minute", "minutes")
        ));
    }
    if b.unresolved > 0.0 {
        out.push("not resolved".to_owned());
    }
    out
}

fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_for_single_counts() {
        let c = EffortComponents {
            customer_touchpoints: 2,
            distinct_channels: 1,
            transfers: 1,
            repeated_information: 1,
            customer_seconds: 6 * 60,
            resolved: true,
            ..Default::default()
        };
        assert_eq!(
            reasons(&c, &EffortModel::default()),
            [
                "2 contacts on the same channel",
                "1 transfer",
                "repeated information once",
                "6 minutes of the customer's time",
            ]
        );
        // A zero weight is not a reason.
        let mut model = EffortModel::default();
        model.weights.transfer = 0.0;
        assert!(!reasons(&c, &model).iter().any(|r| r.contains("transfer")));
    }
}
