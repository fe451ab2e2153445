# Build stage: compiles the release binary. Protos are compiled by protox in
# build.rs, so no protoc is needed.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto proto
COPY migrations migrations
COPY src src
RUN cargo build --release --locked --bin gapscore

# Runtime stage: a small image running as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home gapscore
COPY --from=build /src/target/release/gapscore /usr/local/bin/gapscore
USER 10001
ENV GAPSCORE_LISTEN=0.0.0.0:50051 \
    GAPSCORE_LOG_FORMAT=json
EXPOSE 50051
ENTRYPOINT ["/usr/local/bin/gapscore"]
CMD ["serve"]
