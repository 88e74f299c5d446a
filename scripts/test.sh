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

# The integration tests spawn target/debug/broker; build it explicitly, since `cargo test`
# only builds a bin target for the bin's own package's integration tests.
step "cargo build -p broker"
cargo build -p broker

# Docker tier: images built locally (debootstrap, Debian's ZooKeeper, the release broker;
# cached between runs). tests/tests/docker_*.rs then run within `cargo test` below; both say
# SKIPPED and pass when no Docker engine is reachable.
step "docker test images"
bash "$repo/scripts/test-docker.sh" images

step "cargo test"
# Each integration test starts a JVM (ZooKeeper) and a broker; two at a time keeps the two
# cores busy without pushing timing-sensitive tests past their deadlines.
export TEST_PYTHON="$repo/.venv/bin/python"
export BROKER_BIN="${BROKER_BIN:-$repo/target/debug/broker}"
export RUST_BACKTRACE=1
cargo test --workspace --no-fail-fast -- --test-threads="${TEST_THREADS:-2}"

step "all tests passed"
