"""A kafka-python group consumer, shaped like the tutorial's consumer_grp_*.py.

KafkaConsumer(--topic | pattern=--pattern, group_id=--group, auto_offset_reset='earliest',
enable_auto_commit=True, value_deserializer=json) with test-sized timeouts. Runs until killed,
or until --max-seconds, or (with --idle-ms) until no record arrived for that long.
Output, one JSON line each:
  {"event": "ready"}                                once the consumer object exists
  {"event": "assigned", "partitions": [[t, p], ...]} after every rebalance
  {"topic", "partition", "offset", "value"}          per record (value decoded from JSON)
  {"event": "done", "count": n}                      on a normal end (after close())
"""
import json
import time

from kafka import KafkaConsumer
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from common import api_version, emit, main
import argparse


class Listener(ConsumerRebalanceListener):
    def __init__(self, consumer):
        self.consumer = consumer

    def on_partitions_revoked(self, revoked):
        pass

    def on_partitions_assigned(self, assigned):
        emit(event="assigned", partitions=sorted([tp.topic, tp.partition] for tp in assigned))


def run():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", default=None)
    p.add_argument("--pattern", default=None)
    p.add_argument("--group", required=True)
    p.add_argument("--session-timeout-ms", type=int, default=6000)
    p.add_argument("--heartbeat-interval-ms", type=int, default=1000)
    p.add_argument("--auto-commit-interval-ms", type=int, default=1000)
    p.add_argument("--metadata-max-age-ms", type=int, default=300000)
    p.add_argument("--max-seconds", type=float, default=120)
    p.add_argument("--idle-ms", type=int, default=None)
    p.add_argument("--raw", action="store_true", help="values are text, not JSON")
    p.add_argument("--api-version", type=api_version, default=None)
    args = p.parse_args()

    config = dict(
        bootstrap_servers=[args.bootstrap],
        group_id=args.group,
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        auto_commit_interval_ms=args.auto_commit_interval_ms,
        session_timeout_ms=args.session_timeout_ms,
        heartbeat_interval_ms=args.heartbeat_interval_ms,
        metadata_max_age_ms=args.metadata_max_age_ms,
        value_deserializer=(lambda v: v.decode("utf-8", "replace")) if args.raw
        else (lambda v: json.loads(v.decode("utf-8"))),
    )
    if args.api_version is not None:
        config["api_version"] = args.api_version
    consumer = KafkaConsumer(**config)
    listener = Listener(consumer)
    if args.pattern:
        consumer.subscribe(pattern=args.pattern, listener=listener)
    else:
        consumer.subscribe([args.topic], listener=listener)
    emit(event="ready")

    count = 0
    started = time.monotonic()
    last = started
    while time.monotonic() - started < args.max_seconds:
        batches = consumer.poll(timeout_ms=200)
        for records in batches.values():
            for r in records:
                count += 1
                last = time.monotonic()
                emit(topic=r.topic, partition=r.partition, offset=r.offset, value=r.value)
        if args.idle_ms is not None and (time.monotonic() - last) * 1000 > args.idle_ms:
            break
    consumer.close()
    emit(event="done", count=count)


if __name__ == "__main__":
    main(run)
