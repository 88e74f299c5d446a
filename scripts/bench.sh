#!/usr/bin/env bash
# The performance suite of issue 6: builds the broker and the bench in release mode, then runs
# `bench all`, which starts a real ZooKeeper and 1 or 3 brokers per scenario group, drives them
# through librdkafka, and writes target/bench/results.jsonl and target/bench/results.md.
# Extra arguments go to `bench all` (e.g. `--scale 0.05` for a smoke run).
#
# The bench is not a member of the root workspace (librdkafka's build would cost CI minutes);
# it has its own Cargo.lock and builds into the root target/ directory.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

if [ ! -f /usr/share/java/zookeeper.jar ]; then
    echo "bench: installing Debian's zookeeper package" >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends zookeeper zookeeper-bin
fi

cargo build --release -p broker
CARGO_TARGET_DIR="$repo/target" cargo build --release --manifest-path bench/Cargo.toml

# The bench runs in its own session so that an interrupt can stop it together with every
# ZooKeeper and broker process it started (they share its process group), by that group's id.
setsid target/release/bench --out target/bench all "$@" &
bench_pid=$!
trap 'kill -TERM -- "-$bench_pid" 2>/dev/null || true; wait "$bench_pid" 2>/dev/null; exit 130' INT TERM
wait "$bench_pid"
