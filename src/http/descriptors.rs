//! The descriptors the JSON-over-HTTP API is built from, read once: the
//! gapscore set (messages, services, their `google.api.http` annotations
//! and comments) and tonic-types' `google.rpc` set (the `Status` an error
//! body is, and the details it carries).

use std::sync::LazyLock;

use prost_reflect::{DescriptorPool, ExtensionDescriptor, MessageDescriptor};

/// The gapscore descriptor set the server also serves by reflection
/// ([`crate::proto::FILE_DESCRIPTOR_SET`]).
pub fn gapscore() -> &'static DescriptorPool {
    static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
        DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("the built-in descriptor set decodes")
    });
    &POOL
}

/// The `google.api.http` method option.
pub fn http_option() -> ExtensionDescriptor {
    gapscore()
        .get_extension_by_name("google.api.http")
        .expect("google/api/annotations.proto is compiled into the descriptor set")
}

/// Google's complete `google.rpc` set (Status and every error detail), as
/// tonic-types compiles it: error bodies are rendered with it, so a detail
/// type gapscore does not send yet is still rendered by name.
pub fn google_rpc() -> &'static DescriptorPool {
    static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
        DescriptorPool::decode(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .expect("tonic-types' descriptor set decodes")
    });
    &POOL
}

/// `google.rpc.Status`.
pub fn rpc_status() -> MessageDescriptor {
    google_rpc()
        .get_message_by_name("google.rpc.Status")
        .expect("tonic-types' set holds google.rpc.Status")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sets_decode_with_what_the_api_needs() {
        assert!(
            gapscore()
                .get_service_by_name("gapscore.v1.SurveyService")
                .is_some()
        );
        assert_eq!(http_option().number(), 72295728);
        let status = rpc_status();
        assert!(status.get_field_by_name("details").is_some());
        for detail in ["ErrorInfo", "BadRequest", "RetryInfo"] {
            let name = format!("google.rpc.{detail}");
            assert!(google_rpc().get_message_by_name(&name).is_some(), "{name}");
        }
    }
}
