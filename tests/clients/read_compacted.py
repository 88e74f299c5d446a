"""Read partition 0 of --topic from the beginning to its end with --client (kafka-python or
confluent), as a consumer of a compacted topic does.

The end is the high watermark when the read starts; the read stops once the position reaches
it (a compacted log has gaps, so counting records would not do).
Output: one line per record {"offset", "key", "value"} (text, value null for a tombstone), then
{"done": true, "end": high_watermark}.
"""
import time

from common import emit, fail, main, parser


def read_kafka_python(args):
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap.split(","),
                             enable_auto_commit=False, consumer_timeout_ms=1000)
    tp = TopicPartition(args.topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    end = consumer.end_offsets([tp])[tp]
    deadline = time.monotonic() + args.timeout
    while consumer.position(tp) < end:
        if time.monotonic() > deadline:
            fail(f"kafka-python: at {consumer.position(tp)} of {end} after {args.timeout} s")
        for batch in consumer.poll(timeout_ms=500).values():
            for m in batch:
                yield m.offset, m.key, m.value
    emit(done=True, end=end)
    consumer.close()


def read_confluent(args):
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "read-compacted",
                         "enable.auto.commit": False})
    _, end = consumer.get_watermark_offsets(TopicPartition(args.topic, 0), timeout=10)
    consumer.assign([TopicPartition(args.topic, 0, OFFSET_BEGINNING)])
    deadline = time.monotonic() + args.timeout
    position = 0
    while position < end:
        if time.monotonic() > deadline:
            fail(f"confluent: at {position} of {end} after {args.timeout} s")
        m = consumer.poll(0.5)
        if m is None:
            # After a gap at the log end the position moves without a record.
            [tp] = consumer.position([TopicPartition(args.topic, 0)])
            position = max(position, tp.offset)
            continue
        if m.error() is not None:
            fail(f"consumer error: {m.error()}")
        position = m.offset() + 1
        yield m.offset(), m.key(), m.value()
    emit(done=True, end=end)
    consumer.close()


def run():
    p = parser(__doc__)
    p.add_argument("--client", choices=["kafka-python", "confluent"], required=True)
    p.add_argument("--timeout", type=float, default=60)
    args = p.parse_args()
    read = read_kafka_python if args.client == "kafka-python" else read_confluent
    for offset, key, value in read(args):
        emit(offset=offset, key=None if key is None else key.decode(),
             value=None if value is None else value.decode())


if __name__ == "__main__":
    main(run)
