//! Generated gRPC types of `gapscore.v1`.
#![allow(clippy::all, missing_docs)]

/// The `gapscore.v1` package.
pub mod v1 {
    tonic::include_proto!("gapscore.v1");
}

/// The encoded descriptor set of `gapscore.v1`, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("gapscore_descriptor");
