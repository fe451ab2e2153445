//! The domain's enums and the one table of their numbers.
//!
//! Each enum's number is its value in `gapscore.v1` *and* in the database
//! (tables store the proto number), so the table below is the only place a
//! number is written: the store binds `number()`, the gRPC transport
//! converts with `from_number`, and a test in `grpc::convert` checks every
//! entry against the generated proto enums.

use serde::{Deserialize, Serialize};

/// An enum with a stable wire and database number. 0 is proto3's
/// "unspecified": only `TouchpointOutcome` has it as a value (a
/// company-initiated touchpoint may have no outcome).
pub trait Numbered: Sized + Copy + 'static {
    /// Every value with its number.
    const NUMBERS: &'static [(Self, i32)];

    /// The number of `self`.
    fn number(self) -> i32;

    /// The value of `number`, `None` for 0 or an unknown number.
    fn from_number(number: i32) -> Option<Self> {
        Self::NUMBERS
            .iter()
            .find(|(_, n)| *n == number)
            .map(|(v, _)| *v)
    }

    /// The number as the `smallint` the database stores.
    fn db(self) -> i16 {
        i16::try_from(self.number()).expect("enum numbers are small")
    }

    /// The value of a stored `smallint`.
    fn from_db(value: i16) -> Option<Self> {
        Self::from_number(i32::from(value))
    }
}

/// Writes the number table of an enum.
macro_rules! numbered {
    ($ty:ident { $($variant:ident = $n:literal),+ $(,)? }) => {
        impl Numbered for $ty {
            const NUMBERS: &'static [(Self, i32)] = &[$(($ty::$variant, $n)),+];

            fn number(self) -> i32 {
                match self {
                    $($ty::$variant => $n),+
                }
            }
        }
    };
}

numbered!(Role { Leadership = 1, Staff = 2, Customer = 3 });
numbered!(Channel {
    Web = 1,
    MobileApp = 2,
    Ivr = 3,
    Chatbot = 4,
    Phone = 5,
    LiveChat = 6,
    Email = 7,
    Social = 8,
    InPerson = 9,
});
numbered!(Initiator { Customer = 1, Company = 2 });
numbered!(TouchpointOutcome {
    Unspecified = 0,
    Resolved = 1,
    Unresolved = 2,
    Abandoned = 3,
});
numbered!(OutcomeKind {
    Repurchase = 1,
    SpendIncrease = 2,
    NegativeWordOfMouth = 3,
    Disloyalty = 4,
});
numbered!(QuestionKind { Rating = 1, Themes = 2 });
numbered!(EffortTier { Low = 1, Medium = 2, High = 3 });
numbered!(TierSource { Ces = 1, Journeys = 2 });
numbered!(FollowUpAction {
    Callback = 1,
    Email = 2,
    Credit = 3,
    Other = 4,
});
numbered!(AnswerFrame {
    Experience = 1,
    Expectation = 2,
    Importance = 3,
    Competitor = 4,
});

/// What an answer's score describes (SPEC §16.1). Not setting a frame
/// means `Experience`, so every answer sent before frames existed is one;
/// every score of SPEC §5-15 reads `Experience` answers only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AnswerFrame {
    /// What the respondent experienced.
    Experience,
    /// What the respondent expects (from LEADERSHIP or STAFF: what they
    /// believe customers expect).
    Expectation,
    /// How important the question's subject is to the respondent.
    Importance,
    /// How a named competitor did.
    Competitor,
}

impl AnswerFrame {
    /// The proto spelling without prefix, e.g. `EXPECTATION`.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerFrame::Experience => "EXPERIENCE",
            AnswerFrame::Expectation => "EXPECTATION",
            AnswerFrame::Importance => "IMPORTANCE",
            AnswerFrame::Competitor => "COMPETITOR",
        }
    }
}

/// What was done to follow up a customer (SPEC §12.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FollowUpAction {
    Callback,
    Email,
    Credit,
    Other,
}

/// Who started a touchpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Initiator {
    Customer,
    Company,
}

/// What a question collects (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QuestionKind {
    /// A score on the question's scale.
    Rating,
    /// Free tags (normalized themes).
    Themes,
}

/// Where a customer's tier came from (SPEC §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TierSource {
    /// Their latest `ease` answer.
    Ces,
    /// Their worst journey.
    Journeys,
}

/// Who answered: the three sides of the gap (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    Leadership,
    Staff,
    Customer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Leadership, Role::Staff, Role::Customer];

    /// The three comparisons of SPEC §5 in report order, each from the more
    /// inside view to the more outside one, so a positive gap always means
    /// "the inside view is rosier".
    pub const COMPARISONS: [(Role, Role); 3] = [
        (Role::Leadership, Role::Customer),
        (Role::Staff, Role::Customer),
        (Role::Leadership, Role::Staff),
    ];

    /// The proto / SQL spelling without prefix: `LEADERSHIP`, `STAFF`,
    /// `CUSTOMER`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leadership => "LEADERSHIP",
            Role::Staff => "STAFF",
            Role::Customer => "CUSTOMER",
        }
    }
}

/// Contact channel (SPEC §3.1). Self-service channels are where "failed
/// self-service" happens; the others are assisted by a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Channel {
    Web,
    MobileApp,
    Ivr,
    Chatbot,
    Phone,
    LiveChat,
    Email,
    Social,
    InPerson,
}

impl Channel {
    pub const ALL: [Channel; 9] = [
        Channel::Web,
        Channel::MobileApp,
        Channel::Ivr,
        Channel::Chatbot,
        Channel::Phone,
        Channel::LiveChat,
        Channel::Email,
        Channel::Social,
        Channel::InPerson,
    ];

    /// WEB, MOBILE_APP, IVR and CHATBOT are self-service; PHONE, LIVE_CHAT,
    /// EMAIL, SOCIAL and IN_PERSON are assisted.
    pub fn is_self_service(self) -> bool {
        matches!(
            self,
            Channel::Web | Channel::MobileApp | Channel::Ivr | Channel::Chatbot
        )
    }

    /// The proto / SQL spelling without prefix, e.g. `MOBILE_APP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "WEB",
            Channel::MobileApp => "MOBILE_APP",
            Channel::Ivr => "IVR",
            Channel::Chatbot => "CHATBOT",
            Channel::Phone => "PHONE",
            Channel::LiveChat => "LIVE_CHAT",
            Channel::Email => "EMAIL",
            Channel::Social => "SOCIAL",
            Channel::InPerson => "IN_PERSON",
        }
    }
}

/// How a touchpoint ended. Company-initiated touchpoints may be
/// `Unspecified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TouchpointOutcome {
    Unspecified,
    Resolved,
    Unresolved,
    Abandoned,
}

/// Effort tier of a journey, or of a customer (SPEC §7.1). Ordered
/// `Low < Medium < High`, so "at least HIGH" is `tier >= EffortTier::High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EffortTier {
    Low,
    Medium,
    High,
}

impl EffortTier {
    pub const ALL: [EffortTier; 3] = [EffortTier::Low, EffortTier::Medium, EffortTier::High];

    /// `LOW`, `MEDIUM`, `HIGH`.
    pub fn as_str(self) -> &'static str {
        match self {
            EffortTier::Low => "LOW",
            EffortTier::Medium => "MEDIUM",
            EffortTier::High => "HIGH",
        }
    }
}

/// An observable loyalty event (SPEC §3.1 `Outcome.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OutcomeKind {
    NegativeWordOfMouth,
    Disloyalty,
    Repurchase,
    SpendIncrease,
}

impl OutcomeKind {
    /// In SPEC §7.2's table order.
    pub const ALL: [OutcomeKind; 4] = [
        OutcomeKind::NegativeWordOfMouth,
        OutcomeKind::Disloyalty,
        OutcomeKind::Repurchase,
        OutcomeKind::SpendIncrease,
    ];

    /// The proto / SQL spelling without prefix, e.g. `NEGATIVE_WORD_OF_MOUTH`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::NegativeWordOfMouth => "NEGATIVE_WORD_OF_MOUTH",
            OutcomeKind::Disloyalty => "DISLOYALTY",
            OutcomeKind::Repurchase => "REPURCHASE",
            OutcomeKind::SpendIncrease => "SPEND_INCREASE",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Numbered + PartialEq + std::fmt::Debug>() {
        for &(value, number) in T::NUMBERS {
            assert_eq!(value.number(), number);
            assert_eq!(T::from_number(number), Some(value));
            assert_eq!(T::from_db(value.db()), Some(value));
        }
        if T::NUMBERS.iter().all(|(_, n)| *n != 0) {
            assert_eq!(T::from_number(0), None);
        }
        assert_eq!(T::from_number(T::NUMBERS.len() as i32 + 1), None);
    }

    #[test]
    fn every_number_round_trips_and_zero_is_unspecified() {
        round_trips::<Role>();
        round_trips::<Channel>();
        round_trips::<Initiator>();
        round_trips::<TouchpointOutcome>();
        round_trips::<OutcomeKind>();
        round_trips::<QuestionKind>();
        round_trips::<EffortTier>();
        round_trips::<TierSource>();
        round_trips::<AnswerFrame>();
    }
}
