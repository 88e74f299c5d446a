"""Read every partition of a topic from the beginning with confluent-kafka until it goes quiet.

For the records of ck_steady_produce.py: each value is printed up to its first space ("value-<n>")
with its full length, so that large records make small output. The partitions are assigned
directly (no group membership, no commits). Stops once no record arrived for --idle-ms (the
first record may take up to --timeout seconds).
Output: one line per record {"partition", "offset", "value", "size"}.
"""
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from common import emit, fail, main, parser


def run():
    p = parser(__doc__)
    p.add_argument("--idle-ms", type=int, default=3000)
    p.add_argument("--timeout", type=float, default=30)
    args = p.parse_args()

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        # Required by the client even for assign(); nothing is committed.
        "group.id": f"ck-consume-all-{args.topic}",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
    })
    partitions = consumer.list_topics(args.topic, timeout=10).topics[args.topic].partitions
    consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in sorted(partitions)])
    deadline = time.monotonic() + args.timeout
    last = None
    while True:
        now = time.monotonic()
        if last is None and now > deadline:
            fail(f"no record within {args.timeout}s")
        if last is not None and now - last > args.idle_ms / 1000:
            break
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() in (KafkaError.UNKNOWN_TOPIC_OR_PART,
                                      KafkaError.LEADER_NOT_AVAILABLE,
                                      KafkaError._TRANSPORT):
                continue
            fail(f"consumer error: {msg.error()}")
        last = now
        data = msg.value() or b""
        emit(partition=msg.partition(), offset=msg.offset(),
             value=data.split(b" ", 1)[0].decode(errors="replace"), size=len(data))
    consumer.close()


if __name__ == "__main__":
    main(run)
