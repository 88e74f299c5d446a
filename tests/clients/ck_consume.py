"""Read partition 0 of a topic from the beginning with confluent-kafka until --count records.

The consumer is assigned the partition directly (no group membership, no commits).
Output: one line per record {"offset", "key_hex", "value_hex"}; exits 1 on a consumer error or
if --count records do not arrive within --timeout seconds.
"""
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from common import emit, fail, main, parser, to_hex


def run():
    p = parser(__doc__)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--timeout", type=float, default=30)
    args = p.parse_args()

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        # Required by the client even for assign(); nothing is committed.
        "group.id": f"ck-consume-{args.topic}",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
    })
    consumer.assign([TopicPartition(args.topic, 0, OFFSET_BEGINNING)])
    deadline = time.monotonic() + args.timeout
    got = 0
    while got < args.count:
        if time.monotonic() > deadline:
            fail(f"only {got} of {args.count} records within {args.timeout}s")
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            # Transient conditions (e.g. the topic's leader not known yet) are retried.
            if msg.error().code() in (KafkaError.UNKNOWN_TOPIC_OR_PART,
                                      KafkaError.LEADER_NOT_AVAILABLE,
                                      KafkaError._TRANSPORT):
                continue
            fail(f"consumer error: {msg.error()}")
        got += 1
        emit(offset=msg.offset(), key_hex=to_hex(msg.key()), value_hex=to_hex(msg.value()))
    consumer.close()


if __name__ == "__main__":
    main(run)
