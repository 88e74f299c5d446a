"""The tutorial's kafka_cluster/consumer_2.py, made to stop: a group consumer on two brokers.

KafkaConsumer(--topic, bootstrap_servers=[<every --bootstrap entry>], auto_offset_reset='earliest',
enable_auto_commit=True, group_id=--group, value_deserializer=json), every other setting
kafka-python's default, as in the tutorial. Polls until the file --stop-file exists (or
--max-seconds pass), then closes (committing its offsets).

Output: one line per record {"partition", "offset", "value"} (value as decoded JSON), then
{"done": true, "count": n}.
"""
import json
import os
import time

from kafka import KafkaConsumer

from common import emit, main, parser


def run():
    p = parser(__doc__)
    p.add_argument("--group", default="my-group")
    p.add_argument("--stop-file", required=True)
    p.add_argument("--max-seconds", type=float, default=150)
    args = p.parse_args()

    consumer = KafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap.split(","),
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        group_id=args.group,
        value_deserializer=lambda x: json.loads(x.decode("utf-8")),
    )
    count = 0
    started = time.monotonic()
    while not os.path.exists(args.stop_file) and time.monotonic() - started < args.max_seconds:
        for records in consumer.poll(timeout_ms=200).values():
            for r in records:
                count += 1
                emit(partition=r.partition, offset=r.offset, value=r.value)
    consumer.close()
    emit(done=True, count=count)


if __name__ == "__main__":
    main(run)
