//! What ships beside the service: the demo tenant (`gapscore demo`), the
//! HTML report (`gapscore report`), bulk files (`gapscore import`,
//! `gapscore export`) and the benchmark harness
//! (`gapscore-bench`, `gapscore-soak`). They call the service layer or
//! the public gRPC API, like any other client, and use the transport only
//! for its public protobuf conversions (the report renders exactly what
//! `GetScorecard` would return); the server never calls them.

pub mod bench;
pub mod bulk;
pub mod demo;
pub mod report;
