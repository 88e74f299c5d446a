#!/usr/bin/env bash
# THE command that runs the whole test suite, on a fresh Debian machine or a warm one:
# test dependencies, formatting, lints, the broker binary the integration tests spawn, then
# every test in the workspace. Exits non-zero on the first failure.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

export CI="${CI:-true}"
export DEBIAN_FRONTEND=noninteractive
# Colour codes only clutter CI logs.
export CARGO_TERM_COLOR=never

step() { echo "==> $*" >&2; }

step "installing test dependencies"
bash "$repo/scripts/install-test-deps.sh"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

# The integration tests spawn target/debug/broker and target/debug/kafka-tools; build them
# explicitly, since `cargo test` only builds a bin target for the bin's own package's tests.
step "cargo build -p broker -p kafka-tools"
cargo build -p broker -p kafka-tools

# Docker tier: images built locally (debootstrap, Debian's ZooKeeper, the release broker;
# cached between runs). tests/tests/docker_*.rs then run within `cargo test` below; both say
# SKIPPED and pass when no Docker engine is reachable.
step "docker test images"
bash "$repo/scripts/test-docker.sh" images

# The compose file publishes fixed host ports, most of them inside the kernel's ephemeral range.
# Reserve them while the tests run, so that no outgoing connection and no test that binds "any
# free port" holds one when the compose test publishes it (seen once: "listen tcp4
# 0.0.0.0:39092: bind: address already in use"). The previous setting comes back on exit.
compose_ports=22181,32181,42181,29092,39092,49092
reserved_ports=/proc/sys/net/ipv4/ip_local_reserved_ports
if [ -w "$reserved_ports" ]; then
    old_reserved="$(cat "$reserved_ports")"
    echo "${old_reserved:+$old_reserved,}$compose_ports" > "$reserved_ports"
    trap 'echo "$old_reserved" > "$reserved_ports"' EXIT
else
    echo "test: $reserved_ports is not writable, so the compose test's host ports are not reserved" >&2
fi

step "cargo test"
# Each integration test starts a JVM (ZooKeeper) and a broker; two at a time keeps the two
# cores busy without pushing timing-sensitive tests past their deadlines.
export TEST_PYTHON="$repo/.venv/bin/python"
export BROKER_BIN="${BROKER_BIN:-$repo/target/debug/broker}"
export RUST_BACKTRACE=1
cargo test --workspace --no-fail-fast -- --test-threads="${TEST_THREADS:-2}"

step "all tests passed"
