"""confluent-kafka: produce batches with explicit timestamps, then offsets_for_times.

Each batch of --batches (a JSON list of lists of timestamps; 0 lets the producer stamp the
record) is produced with linger.ms=100 and acks=all, and flushed before the next, so that the
records of one list travel in one batch. --compression sets compression.type. With --skip-produce
nothing is produced (a second run after a restart).

Output, one JSON line each:
  {"event": "delivered", "offset": o, "timestamp": t, "timestamp_type": k}  per record
  {"event": "times", "answers": {"<target>": offset}}  offsets_for_times for each --targets
"""
import json

from confluent_kafka import Consumer, Producer, TopicPartition

from common import emit, fail, main, parser


def run():
    p = parser(__doc__)
    p.add_argument("--batches", default="[]")
    p.add_argument("--compression", default="none")
    p.add_argument("--targets", required=True, help="JSON list of timestamps to look up")
    p.add_argument("--skip-produce", action="store_true")
    args = p.parse_args()

    if not args.skip_produce:
        producer = Producer({
            "bootstrap.servers": args.bootstrap,
            "linger.ms": 100,
            "acks": "all",
            "compression.type": args.compression,
            "enable.idempotence": True,
        })
        failures = []

        def report(err, msg):
            if err is not None:
                failures.append(str(err))
                return
            kind, ts = msg.timestamp()
            emit(event="delivered", offset=msg.offset(), timestamp=ts, timestamp_type=kind)

        for batch in json.loads(args.batches):
            for i, ts in enumerate(batch):
                kwargs = {"timestamp": ts} if ts else {}
                producer.produce(args.topic, value=f"r{i}".encode(), partition=0,
                                 on_delivery=report, **kwargs)
            if producer.flush(30) != 0:
                fail("records still queued after 30 s")
        if failures:
            fail(f"delivery failed: {failures}")

    targets = json.loads(args.targets)
    if not targets:
        return
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "offsets-for-times"})
    answers = {}
    # One call per target: a request may name a partition once (Kafka answers INVALID_REQUEST
    # to duplicates).
    for target in targets:
        [tp] = consumer.offsets_for_times([TopicPartition(args.topic, 0, target)], timeout=15)
        if tp.error is not None:
            fail(f"offsets_for_times({target}): {tp.error}")
        answers[str(target)] = tp.offset
    emit(event="times", answers=answers)
    consumer.close()


if __name__ == "__main__":
    main(run)
