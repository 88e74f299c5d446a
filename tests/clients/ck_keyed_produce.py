"""confluent-kafka: keyed records for a compacted topic, and what was acknowledged.

Produces --count records to partition 0 of --topic: record i has key "k<i % keys>" and value
"<prefix><i>" (padded with dots to --value-bytes), then a tombstone (null value) for each key in --tombstones. acks=all;
--idempotent turns on enable.idempotence. Fails on any delivery error (an idempotent producer
must see neither OUT_OF_ORDER_SEQUENCE_NUMBER nor a duplicate).

Output: {"event": "acked", "count": n, "latest": {"<key>": [offset, value or null]}}, the
latest acknowledged record of every key written.
"""
from confluent_kafka import Producer

from common import fail, emit, main, parser


def run():
    p = parser(__doc__)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--keys", type=int, required=True)
    p.add_argument("--prefix", default="v")
    p.add_argument("--value-bytes", type=int, default=0)
    p.add_argument("--tombstones", default="", help="comma-separated keys to delete at the end")
    p.add_argument("--compression", default="lz4")
    p.add_argument("--idempotent", action="store_true")
    args = p.parse_args()

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": "all",
        "linger.ms": 10,
        "compression.type": args.compression,
        "enable.idempotence": args.idempotent,
    })
    latest = {}
    errors = []
    acked = [0]

    def report(err, msg):
        if err is not None:
            errors.append(str(err))
            return
        acked[0] += 1
        key = msg.key().decode()
        value = None if msg.value() is None else msg.value().decode()
        if key not in latest or latest[key][0] < msg.offset():
            latest[key] = [msg.offset(), value]

    def send(key, value):
        while True:
            try:
                producer.produce(args.topic, key=key, value=value, partition=0,
                                 on_delivery=report)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)

    for i in range(args.count):
        send(f"k{i % args.keys}", f"{args.prefix}{i}".ljust(args.value_bytes, "."))
    for key in filter(None, args.tombstones.split(",")):
        send(key, None)
    if producer.flush(60) != 0:
        fail("records still queued after 60 s")
    if errors:
        fail(f"{len(errors)} delivery errors, first: {errors[:3]}")
    emit(event="acked", count=acked[0], latest=latest)


if __name__ == "__main__":
    main(run)
