#!/usr/bin/env bash
# The docker test tier: local images (no registry), the compose cluster end to end, and the
# testcontainers fault tests. Without a reachable Docker engine it says SKIPPED and succeeds.
#
#   scripts/test-docker.sh           images, then the docker tests alone
#   scripts/test-docker.sh images    only clean leftovers and build/refresh the images
#                                    (scripts/test.sh runs this before `cargo test`, which then
#                                    runs tests/tests/docker_*.rs with the rest)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
    echo "SKIPPED docker tier: no Docker engine reachable" >&2
    exit 0
fi

# Leftovers of a run that was killed before its cleanup: the compose tests' projects and the
# fault tests' containers and networks (all named kzr-tc-*).
sweep() {
    local ids project
    ids="$(docker ps -aq --filter name=kzr-tc-)"
    for project in kzr-e2e kzr-e2e-secure; do
        ids="$ids $(docker ps -aq --filter label=com.docker.compose.project=$project)"
    done
    if [ -n "${ids// /}" ]; then
        # shellcheck disable=SC2086
        docker rm -f -v $ids >/dev/null
    fi
    for net in $(docker network ls -q --filter label=com.docker.compose.project=kzr-e2e) \
        $(docker network ls -q --filter label=com.docker.compose.project=kzr-e2e-secure) \
        $(docker network ls -q --filter name=kzr-tc-); do
        docker network rm "$net" >/dev/null
    done
    for vol in $(docker volume ls -q --filter label=com.docker.compose.project=kzr-e2e) \
        $(docker volume ls -q --filter label=com.docker.compose.project=kzr-e2e-secure); do
        docker volume rm "$vol" >/dev/null
    done
}

started=$SECONDS
sweep
bash docker/build-test-images.sh >/dev/null
echo "test-docker: images ready in $((SECONDS - started)) s" >&2

if [ "${1:-}" = images ]; then
    exit 0
fi

export TEST_PYTHON="${TEST_PYTHON:-$repo/.venv/bin/python}"
# The two compose tests publish the same host ports: cargo runs test binaries one after
# another, so they never overlap.
cargo test -p tests --test docker_compose --test docker_compose_secure --test docker_faults -- --test-threads=2
echo "test-docker: docker tier passed in $((SECONDS - started)) s" >&2
