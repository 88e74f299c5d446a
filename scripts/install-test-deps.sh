#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, and nothing when it is
# already there: ZooKeeper (the real one the broker is coordinated by), kcat, and a Python
# virtualenv at <repo>/.venv with the pinned Kafka clients the tests drive.
#
# Safe to run repeatedly; non-interactive (CI has no terminal).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"

# Pinned client versions: the tests assert on their behaviour, so an upgrade is a deliberate change.
python_pkgs=(kafka-python==3.0.12 confluent-kafka==2.16.1 aiokafka==0.14.0)
debian_pkgs=(zookeeper zookeeper-bin kcat python3-venv)
# The docker tier builds its base image with debootstrap and drives Compose; only where a
# Docker engine is installed.
if command -v docker >/dev/null 2>&1; then
    debian_pkgs+=(debootstrap)
    if ! docker compose version >/dev/null 2>&1; then
        debian_pkgs+=(docker-compose)
    fi
fi

export DEBIAN_FRONTEND=noninteractive

# Root on CI; elsewhere go through sudo, but only for the commands that need it.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo -n "$@"
    fi
}

missing=()
for pkg in "${debian_pkgs[@]}"; do
    # dpkg-query says "install ok installed" only for fully installed packages.
    if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-test-deps: installing ${missing[*]}" >&2
    # `update` is the slow part, so only when something is actually missing.
    as_root apt-get update -q
    as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# ZooKeeper runs on the JVM; the package only depends on a headless runtime virtually, so
# check that `java` really is there rather than discover it when the first test times out.
if ! command -v java >/dev/null 2>&1; then
    echo "install-test-deps: no java on PATH, installing default-jre-headless" >&2
    as_root apt-get update -q
    as_root apt-get install -y -q --no-install-recommends default-jre-headless
fi

# Prefer Debian's interpreter (python3-venv above is for it); fall back to whatever is on PATH.
host_python=python3
if [ -x /usr/bin/python3 ]; then
    host_python=/usr/bin/python3
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "install-test-deps: creating virtualenv $venv" >&2
    "$host_python" -m venv "$venv"
fi

# Compare installed versions with the pins, so a warm machine skips pip entirely.
if ! "$venv/bin/python" - "${python_pkgs[@]}" <<'PY'
import sys
from importlib import metadata

for spec in sys.argv[1:]:
    name, want = spec.split("==")
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        sys.exit(1)
    if have != want:
        sys.exit(1)
PY
then
    echo "install-test-deps: installing ${python_pkgs[*]}" >&2
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q "${python_pkgs[@]}"
fi

echo "install-test-deps: ok (python: $venv/bin/python)" >&2
