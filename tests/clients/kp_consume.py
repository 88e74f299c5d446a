"""Consume a topic from the beginning with kafka-python and print every record.

KafkaConsumer(topic, bootstrap_servers=[...], auto_offset_reset='earliest',
consumer_timeout_ms=--timeout-ms), no group unless --group. Iteration ends when no record
arrives for --timeout-ms, or after --expect records.
Output: one line per record {"topic", "partition", "offset", "key_hex", "value_hex", "value"
(text)}, then {"done": true, "count": n}.
"""
import time

from kafka import KafkaConsumer

from common import api_version, emit, main, parser, text_or_none, to_hex


def run():
    p = parser(__doc__)
    p.add_argument("--timeout-ms", type=int, default=10000)
    p.add_argument("--expect", type=int, default=None, help="stop after this many records")
    p.add_argument("--api-version", type=api_version, default=None)
    p.add_argument("--group", default=None)
    args = p.parse_args()

    config = dict(
        bootstrap_servers=args.bootstrap.split(","),
        auto_offset_reset="earliest",
        consumer_timeout_ms=args.timeout_ms,
    )
    if args.api_version is not None:
        config["api_version"] = args.api_version
    if args.group is not None:
        config["group_id"] = args.group
    consumer = KafkaConsumer(args.topic, **config)

    count = 0
    started = time.monotonic()
    last = started
    for message in consumer:
        count += 1
        last = time.monotonic()
        emit(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key_hex=to_hex(message.key),
            value_hex=to_hex(message.value),
            value=text_or_none(message.value),
        )
        if args.expect is not None and count >= args.expect:
            break
    ended = time.monotonic()
    consumer.close()
    emit(done=True, count=count, idle_ms=round((ended - last) * 1000),
         elapsed_ms=round((ended - started) * 1000))


if __name__ == "__main__":
    main(run)
