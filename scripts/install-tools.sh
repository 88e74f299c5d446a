#!/usr/bin/env bash
# Makes Kafka's tool names in DIR, as links to one kafka-tools binary: kafka-topics,
# kafka-topics.sh, kafka-consumer-groups, ... (both spellings, as Kafka's bin/ and Confluent's
# packages name them). The binary is target/release/kafka-tools (built if missing), or
# KAFKA_TOOLS_BIN. Usage: scripts/install-tools.sh DIR
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 1
fi
dir="$1"
bin="${KAFKA_TOOLS_BIN:-$repo/target/release/kafka-tools}"
if [ ! -x "$bin" ]; then
    echo "install-tools: building kafka-tools (release)" >&2
    (cd "$repo" && cargo build --release -p kafka-tools)
fi
mkdir -p "$dir"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
if [ "$(cd "$dir" && pwd)/kafka-tools" != "$bin" ]; then
    ln -sf "$bin" "$dir/kafka-tools"
fi
# The names the binary answers to, from the binary itself.
for tool in $("$bin" --list-tools); do
    ln -sf kafka-tools "$dir/$tool"
    ln -sf kafka-tools "$dir/$tool.sh"
done
echo "install-tools: $(("$bin" --list-tools) | wc -l) tools linked in $dir" >&2
