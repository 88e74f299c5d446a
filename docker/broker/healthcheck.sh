#!/bin/bash
# The broker image's HEALTHCHECK: healthy once the broker answers an ApiVersions request.
#
# The broker binds its listeners before it registers in ZooKeeper but only accepts
# connections after registering, so an answer means "registered and serving". Plain bash
# (/dev/tcp), coreutils and no Kafka client, so it runs in a slim image.
#
# Port: $BROKER_HEALTHCHECK_PORT, else the port of the first entry of $KAFKA_LISTENERS,
# else 9092.
set -euo pipefail

first="${KAFKA_LISTENERS:-PLAINTEXT://:9092}"
first="${first%%,*}"
port="${BROKER_HEALTHCHECK_PORT:-${first##*:}}"

exec 3<>"/dev/tcp/127.0.0.1/$port"
# ApiVersions v0: size 10, api_key 18, api_version 0, correlation_id 1, client_id null.
printf '\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff' >&3
# Response: size (4 bytes), correlation_id (4), error_code (2).
answer="$(timeout 5 head -c 10 <&3 | od -An -tx1 | tr -d ' \n')"
exec 3<&-
if [[ "${answer:8:12}" != "000000010000" ]]; then
    echo "broker on port $port: unexpected ApiVersions answer '${answer}'" >&2
    exit 1
fi
echo "broker on port $port answers ApiVersions"
