//! Compiles the gapscore protos without a system `protoc`: `protox` parses
//! them in pure Rust, tonic generates the code, and the encoded descriptor
//! set is written for server reflection.
use std::{env, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/gapscore/v1/common.proto",
        "proto/gapscore/v1/survey.proto",
        "proto/gapscore/v1/journey.proto",
        "proto/gapscore/v1/outcome.proto",
        "proto/gapscore/v1/customer.proto",
        "proto/gapscore/v1/gaps.proto",
        "proto/gapscore/v1/scoring.proto",
        "proto/gapscore/v1/catalog.proto",
        "proto/gapscore/v1/webhook.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    // `sqlx::migrate!` embeds the migrations: a new file must rebuild.
    println!("cargo:rerun-if-changed=migrations");
    let fds = protox::compile(files, ["proto"])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    // Reflection also serves the error details gapscore sends, so grpcurl
    // can print them; tonic-types already provides their Rust types. The
    // set is encoded by protox itself, not through `prost_types`, whose
    // `MethodOptions` would drop the `google.api.http` annotations that the
    // JSON-over-HTTP routes and the OpenAPI document are read from
    // (`src/http/`).
    let mut reflected = protox::Compiler::new(["proto"])?;
    reflected
        .include_source_info(true)
        .include_imports(true)
        .open_files(
            files
                .iter()
                .copied()
                .chain(["google/rpc/error_details.proto"]),
        )?;
    fs::write(
        out.join("gapscore_descriptor.bin"),
        reflected.encode_file_descriptor_set(),
    )?;
    // Type names (`prost::Name`) tell the codec which message it decodes,
    // so it can look the message's fields and limits up (src/decode/).
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        // BTreeMap keeps label maps in key order, so a record encodes to the
        // same bytes every time and its content hash detects re-sends.
        .btree_map(".")
        // Malformed requests are INVALID_ARGUMENT, not INTERNAL (src/codec.rs).
        .codec_path("crate::codec::ProstCodec")
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(fds, config)?;
    Ok(())
}
