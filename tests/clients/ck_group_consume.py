"""A confluent-kafka group consumer with manual commits.

Consumer({group.id: --group, partition.assignment.strategy: --strategy,
enable.auto.commit: false, auto.offset.reset: earliest}) subscribed to --topic. Every record
is committed synchronously (consumer.commit(message, asynchronous=False)) before the next poll.
Ends after --idle-ms without records once it has an assignment (or --max-seconds).
Output, one JSON line each:
  {"event": "assigned", "partitions": [[t, p], ...]}  the full assignment after each change
  {"topic", "partition", "offset", "value"}            per record
  {"event": "committed", "partitions": {"p": offset}}  committed() for the final assignment
  {"event": "times", "partitions": {"p": offset}}      offsets_for_times(timestamp 0)
"""
import sys
import time

from confluent_kafka import Consumer, KafkaError, TopicPartition

from common import emit, fail, main, parser


def run():
    p = parser(__doc__)
    p.add_argument("--group", required=True)
    p.add_argument("--strategy", default="range")
    p.add_argument("--idle-ms", type=int, default=4000)
    p.add_argument("--max-seconds", type=float, default=60)
    args = p.parse_args()

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "partition.assignment.strategy": args.strategy,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "topic.metadata.refresh.interval.ms": 2000,
    })
    cooperative = args.strategy == "cooperative-sticky"

    def report(c):
        emit(event="assigned",
             partitions=sorted([tp.topic, tp.partition] for tp in c.assignment()))

    def on_assign(c, partitions):
        if cooperative:
            c.incremental_assign(partitions)
        else:
            c.assign(partitions)
        report(c)

    def on_revoke(c, partitions):
        if cooperative:
            c.incremental_unassign(partitions)
        else:
            c.unassign()
        report(c)

    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke)
    started = time.monotonic()
    last = None
    while time.monotonic() - started < args.max_seconds:
        msg = consumer.poll(0.2)
        if msg is None:
            if consumer.assignment() and last is None:
                last = time.monotonic()
            if last is not None and (time.monotonic() - last) * 1000 > args.idle_ms:
                break
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                continue
            fail(f"consumer error: {msg.error()}")
        emit(topic=msg.topic(), partition=msg.partition(), offset=msg.offset(),
             value=msg.value().decode("utf-8", "replace"))
        consumer.commit(message=msg, asynchronous=False)
        last = time.monotonic()

    assignment = consumer.assignment()
    committed = consumer.committed(assignment, timeout=10)
    emit(event="committed", partitions={str(tp.partition): tp.offset for tp in committed})
    times = consumer.offsets_for_times(
        [TopicPartition(tp.topic, tp.partition, 0) for tp in assignment], timeout=10)
    emit(event="times", partitions={str(tp.partition): tp.offset for tp in times})
    try:
        consumer.close()
    except:  # noqa: E722 - the C extension raises a bare KafkaError, not an Exception
        # librdkafka can report a rebalance it abandons while closing (the other member just
        # left); everything this test checks was printed above.
        emit(event="close_error", error=str(sys.exc_info()[1]))


if __name__ == "__main__":
    main(run)
