#!/usr/bin/env bash
# Builds the images the docker test tier needs, without any registry: only the Debian mirror.
#
#   1. $BASE_IMAGE (kafka-zk-rs/debian:bookworm): a Debian 12 root filesystem made with
#      `debootstrap --variant=minbase` and `docker import`ed; stands in for debian:bookworm-slim.
#   2. $ZOOKEEPER_IMAGE (kafka-zk-rs/zookeeper:3.8): docker/zookeeper on that base, Debian's
#      ZooKeeper 3.8 behind the official image's ZOO_* interface; stands in for zookeeper:3.9.
#   3. $BROKER_IMAGE (kafka-zk-rs/broker:test): the repo's Dockerfile, target `prebuilt`, with
#      the host's $BROKER_BINARY (default target/release/broker, built here if missing or stale)
#      and target/release/kafka-tools (always built here).
#
# 1 and 2 are cached: built only when `docker image inspect` finds no image whose
# kafka-zk-rs.inputs label matches the hash of what it is built from. 3 is rebuilt every time
# (a COPY on cached layers: about a second). Prints the image names as KEY=VALUE lines on
# stdout; progress goes to stderr. Needs root (debootstrap) on the first run.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

BASE_IMAGE="${BASE_IMAGE:-kafka-zk-rs/debian:bookworm}"
ZOOKEEPER_IMAGE="${ZOOKEEPER_IMAGE:-kafka-zk-rs/zookeeper:3.8}"
BROKER_IMAGE="${BROKER_IMAGE:-kafka-zk-rs/broker:test}"
BROKER_BINARY="${BROKER_BINARY:-target/release/broker}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

log() { echo "build-test-images: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo -n "$@"
    fi
}

# The hash of the files an image is built from (plus extra words), for the inputs label.
inputs_hash() {
    { cat "$@"; } | sha256sum | cut -c1-16
}

# True if $1 exists and carries kafka-zk-rs.inputs=$2.
up_to_date() {
    local have
    have="$(docker image inspect --format '{{ index .Config.Labels "kafka-zk-rs.inputs" }}' "$1" 2>/dev/null)" || return 1
    [ "$have" = "$2" ]
}

build_base() {
    local hash
    hash="$(echo "debootstrap minbase bookworm v1" | inputs_hash -)"
    if up_to_date "$BASE_IMAGE" "$hash"; then
        log "$BASE_IMAGE is cached"
        return
    fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "debootstrap is missing: run scripts/install-test-deps.sh"
        exit 1
    fi
    local work start
    work="$(mktemp -d /var/tmp/kafka-zk-rs-rootfs.XXXXXX)"
    # shellcheck disable=SC2064
    trap "as_root rm -rf '$work'" EXIT
    start=$SECONDS
    log "debootstrap bookworm into $work (about a minute or two)"
    as_root debootstrap --variant=minbase bookworm "$work/rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 || {
        tail -n 30 "$work/debootstrap.log" >&2
        exit 1
    }
    # Like the official slim images: no package lists, no downloaded .debs.
    as_root rm -rf "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/archives/*.deb \
        "$work"/rootfs/var/cache/apt/*.bin
    as_root tar --numeric-owner -C "$work/rootfs" -c . |
        docker import \
            --change 'CMD ["bash"]' \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change "LABEL kafka-zk-rs.inputs=$hash" \
            - "$BASE_IMAGE" >/dev/null
    as_root rm -rf "$work"
    trap - EXIT
    log "$BASE_IMAGE built in $((SECONDS - start)) s"
}

build_zookeeper() {
    local base_id hash start
    base_id="$(docker image inspect --format '{{ .Id }}' "$BASE_IMAGE")"
    hash="$( (echo "$base_id"; cat docker/zookeeper/*) | inputs_hash -)"
    if up_to_date "$ZOOKEEPER_IMAGE" "$hash"; then
        log "$ZOOKEEPER_IMAGE is cached"
        return
    fi
    start=$SECONDS
    log "building $ZOOKEEPER_IMAGE (apt-get install zookeeper inside the build)"
    docker build -q --build-arg BASE_IMAGE="$BASE_IMAGE" --label "kafka-zk-rs.inputs=$hash" \
        -t "$ZOOKEEPER_IMAGE" docker/zookeeper >/dev/null
    log "$ZOOKEEPER_IMAGE built in $((SECONDS - start)) s"
}

build_broker() {
    local start=$SECONDS
    if [ "$BROKER_BINARY" = target/release/broker ]; then
        # Incremental: a no-op when the binary is current.
        log "cargo build --release -p broker"
        cargo build --release -p broker >&2
    fi
    # The image carries Kafka's tools too (Dockerfile, target `prebuilt`).
    log "cargo build --release -p kafka-tools"
    cargo build --release -p kafka-tools >&2
    if [ ! -x "$BROKER_BINARY" ]; then
        log "no broker binary at $BROKER_BINARY"
        exit 1
    fi
    docker build -q --target prebuilt --build-arg RUNTIME_IMAGE="$BASE_IMAGE" \
        --build-arg BROKER_BINARY="$BROKER_BINARY" -t "$BROKER_IMAGE" . >/dev/null
    log "$BROKER_IMAGE built in $((SECONDS - start)) s"
}

build_base
build_zookeeper
build_broker
echo "BASE_IMAGE=$BASE_IMAGE"
echo "ZOOKEEPER_IMAGE=$ZOOKEEPER_IMAGE"
echo "BROKER_IMAGE=$BROKER_IMAGE"
