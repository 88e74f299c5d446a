"""The tutorial's consumer_group/producer_*.py: JSON values to a topic with kafka-python.

Sends --count values {"num": n, "origin": --origin} (n from --start), --interval-ms apart,
each blocking on future.get(timeout=10). Output: one line per acknowledged record
{"num": n, "partition": p, "offset": o}.
"""
import json
import time

from kafka import KafkaProducer

from common import emit, main, parser


def run():
    p = parser(__doc__)
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--origin", default="P1")
    p.add_argument("--interval-ms", type=int, default=0)
    p.add_argument("--partition", type=int, default=None)
    args = p.parse_args()
    producer = KafkaProducer(
        bootstrap_servers=[args.bootstrap],
        value_serializer=lambda v: json.dumps(v).encode("utf-8"),
    )
    for n in range(args.start, args.start + args.count):
        future = producer.send(args.topic, {"num": n, "origin": args.origin},
                               partition=args.partition)
        md = future.get(timeout=10)
        emit(num=n, partition=md.partition, offset=md.offset)
        if args.interval_ms:
            time.sleep(args.interval_ms / 1000)
    producer.flush()
    producer.close()


if __name__ == "__main__":
    main(run)
