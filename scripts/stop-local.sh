#!/usr/bin/env bash
# Stops what scripts/start-local.sh started, by the PIDs it recorded: both brokers first (so
# they can move leadership away and deregister from ZooKeeper cleanly), then ZooKeeper.
# SIGTERM, wait, SIGKILL as a last resort.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="$repo/.local-cluster"

# Stops the process in PID file $1 (named $2), giving it $3 seconds to exit after SIGTERM.
stop_pid_file() {
    local pid_file="$1" name="$2" grace="$3" pid i
    [ -f "$pid_file" ] || return 0
    pid="$(cat "$pid_file")"
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "stop-local: $name (pid $pid) was not running" >&2
        rm -f "$pid_file"
        return 0
    fi
    echo "stop-local: stopping $name (pid $pid)" >&2
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "stop-local: $name did not exit within ${grace}s, sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file"
}

shopt -s nullglob
# One at a time: the second broker can only take over leadership while ZooKeeper is up.
for pid_file in "$state"/broker-*.pid; do
    name="$(basename "$pid_file" .pid)"
    stop_pid_file "$pid_file" "$name" 30
done
stop_pid_file "$state/zookeeper.pid" zookeeper 15
echo "stop-local: stopped" >&2
