"""Produce at a steady rate with kafka-python until told to stop, printing every outcome.

Record n has value b"<prefix>-<n>" (with --json: {"num": n} through a JSON value_serializer,
as the tutorial's producer_2.py) and no key, so the client spreads records over the topic's
partitions. One record every --interval-ms until the file --stop-file exists (or --max-seconds
pass); then flush and close. The producer is idempotent (kafka-python's default with acks=all)
and retries for up to --delivery-timeout-ms, so records survive a leader failover. With
--client-defaults the producer is built exactly as the tutorial's scripts build it: only
bootstrap_servers (a list) and the serializer, every other setting kafka-python's default.

Output: one line per acknowledged record {"seq", "partition", "offset"}, one per failed record
{"seq", "error"}, and at the end {"done": true, "sent": n}.
"""
import json
import logging
import os
import time

from kafka import KafkaProducer

from common import emit, main, parser


def run():
    p = parser(__doc__)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--prefix", default="value")
    p.add_argument("--acks", default="all", help="0, 1 or all")
    p.add_argument("--interval-ms", type=float, default=20)
    p.add_argument("--max-seconds", type=float, default=120)
    p.add_argument("--delivery-timeout-ms", type=int, default=60000)
    p.add_argument("--json", action="store_true")
    p.add_argument("--client-defaults", action="store_true")
    p.add_argument("--log-level", default=None, help="e.g. DEBUG: kafka-python's log on stderr")
    args = p.parse_args()
    if args.log_level:
        logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(message)s")

    config = dict(bootstrap_servers=args.bootstrap.split(","))
    if args.json:
        config["value_serializer"] = lambda v: json.dumps(v).encode("utf-8")
    if not args.client_defaults:
        config.update(
            acks=args.acks if args.acks == "all" else int(args.acks),
            request_timeout_ms=5000,
            delivery_timeout_ms=args.delivery_timeout_ms,
            max_block_ms=30000,
            # Learn about new leaders quickly after a failover.
            metadata_max_age_ms=5000,
            retry_backoff_ms=200,
        )
    producer = KafkaProducer(**config)

    def acked(n):
        return lambda md: emit(seq=n, partition=md.partition, offset=md.offset)

    def failed(n):
        return lambda e: emit(seq=n, error=f"{type(e).__name__}: {e}")

    started = time.monotonic()
    n = 0
    while not os.path.exists(args.stop_file) and time.monotonic() - started < args.max_seconds:
        try:
            value = {"num": n} if args.json else f"{args.prefix}-{n}".encode()
            future = producer.send(args.topic, value=value)
            future.add_callback(acked(n))
            future.add_errback(failed(n))
        except Exception as e:  # noqa: BLE001 - send() itself fails when metadata is unavailable
            emit(seq=n, error=f"{type(e).__name__}: {e}")
        n += 1
        time.sleep(args.interval_ms / 1000)
    producer.flush(timeout=130 if args.client_defaults else args.delivery_timeout_ms / 1000 + 10)
    producer.close(timeout=10)
    emit(done=True, sent=n)


if __name__ == "__main__":
    main(run)
