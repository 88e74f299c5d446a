# The broker image. Configured only through KAFKA_* environment variables, mapped to Kafka
# property names like the confluentinc/cp-kafka image does (see config/broker.yaml); data in
# the /var/lib/kafka/data volume; runs as the unprivileged user `kafka`.
#
# Two ways to put the binary in, one Dockerfile:
#   target `broker` (the default, last stage): compiles inside Docker from the rust image.
#       docker build -t kafka-zk-rs/broker .
#   target `prebuilt`: copies a binary built on the host (`cargo build --release -p broker`);
#       no Rust image, no network. The runtime must have the host's glibc (Debian 12 here).
#       docker build --target prebuilt -t kafka-zk-rs/broker .
# The target is chosen by name rather than by a `FROM binary-${ARG}` switch because Docker's
# classic builder (no BuildKit, as with docker-compose 1.29) builds every stage before the
# target: `prebuilt` comes first so that building it never touches the Rust image.
#
# Build args: RUNTIME_IMAGE (default debian:bookworm-slim), BUILDER_IMAGE (default
# rust:1-slim-bookworm), BROKER_BINARY and TOOLS_BINARY (prebuilt only; default
# target/release/broker and target/release/kafka-tools).
#
# Kafka's tools are on the PATH under their names, with and without `.sh`:
#   docker compose exec kafka-1 kafka-topics --bootstrap-server kafka-1:9092 --list
ARG RUNTIME_IMAGE=debian:bookworm-slim
ARG BUILDER_IMAGE=rust:1-slim-bookworm

# ---- everything except the binary
FROM ${RUNTIME_IMAGE} AS runtime
RUN groupadd --system --gid 1001 kafka \
    && useradd --system --uid 1001 --gid kafka --home-dir /var/lib/kafka --no-create-home \
        --shell /usr/sbin/nologin kafka \
    && mkdir -p /var/lib/kafka/data \
    && chown -R kafka:kafka /var/lib/kafka
COPY docker/broker/healthcheck.sh /usr/local/bin/broker-healthcheck
RUN chmod 0755 /usr/local/bin/broker-healthcheck
# cp-kafka's default log dir; everything else comes from the KAFKA_* variables at run time.
ENV KAFKA_LOG_DIRS=/var/lib/kafka/data \
    RUST_LOG=info
VOLUME ["/var/lib/kafka/data"]
WORKDIR /var/lib/kafka
USER kafka
EXPOSE 9092
HEALTHCHECK --interval=5s --timeout=8s --start-period=120s --retries=3 \
    CMD ["/usr/local/bin/broker-healthcheck"]
ENTRYPOINT ["/usr/local/bin/broker"]

# ---- binaries built on the host
FROM runtime AS prebuilt
ARG BROKER_BINARY=target/release/broker
ARG TOOLS_BINARY=target/release/kafka-tools
COPY ${BROKER_BINARY} /usr/local/bin/broker
COPY ${TOOLS_BINARY} /usr/local/bin/kafka-tools
USER root
RUN for t in $(/usr/local/bin/kafka-tools --list-tools); do \
        ln -s kafka-tools "/usr/local/bin/$t" && ln -s kafka-tools "/usr/local/bin/$t.sh"; done
USER kafka

# ---- compile inside Docker
FROM ${BUILDER_IMAGE} AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY broker broker
COPY coordinator coordinator
COPY huge-alloc huge-alloc
COPY sasl sasl
COPY kafka-client kafka-client
COPY kafka-tools kafka-tools
COPY tests tests
RUN cargo build --release --locked -p broker -p kafka-tools \
    && cp target/release/broker target/release/kafka-tools /usr/local/bin/

FROM runtime AS broker
COPY --from=build /usr/local/bin/broker /usr/local/bin/kafka-tools /usr/local/bin/
USER root
RUN for t in $(/usr/local/bin/kafka-tools --list-tools); do \
        ln -s kafka-tools "/usr/local/bin/$t" && ln -s kafka-tools "/usr/local/bin/$t.sh"; done
USER kafka
