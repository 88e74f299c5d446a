"""Produce records from a JSON-lines file with confluent-kafka (librdkafka), one compression codec.

Input (--input): lines {"key_hex": ..., "value_hex": ...} (null for a null key/value), sent in
order to partition 0. Output: one line per delivery report {"seq", "partition", "offset"}, in
the order reports arrive; exits 1 if any delivery failed or not all were reported.
"""
import json

from confluent_kafka import Producer

from common import emit, fail, from_hex, main, parser


def run():
    p = parser(__doc__)
    p.add_argument("--input", required=True)
    p.add_argument("--codec", default="none", help="none, gzip, snappy, lz4 or zstd")
    args = p.parse_args()

    with open(args.input) as f:
        records = [json.loads(line) for line in f if line.strip()]

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "compression.type": args.codec,
        # Batch the records, so the codec compresses several at once.
        "linger.ms": 50,
        "message.timeout.ms": 30000,
    })
    errors = []
    reported = 0

    def report(seq):
        def on_delivery(err, msg):
            nonlocal reported
            reported += 1
            if err is not None:
                errors.append(f"record {seq}: {err}")
            else:
                emit(seq=seq, partition=msg.partition(), offset=msg.offset())
        return on_delivery

    for seq, r in enumerate(records):
        producer.produce(args.topic, key=from_hex(r.get("key_hex")),
                         value=from_hex(r.get("value_hex")), partition=0,
                         on_delivery=report(seq))
        producer.poll(0)
    remaining = producer.flush(40)
    if errors:
        fail("; ".join(errors))
    if remaining or reported != len(records):
        fail(f"{len(records) - reported} records without a delivery report")


if __name__ == "__main__":
    main(run)
