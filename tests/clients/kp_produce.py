"""Produce --count records with kafka-python and print each acknowledgement.

Record n (from --start) has value b"<prefix>-<n>" and, with --keyed, key b"key-<n>".
Output: one line per acknowledged record {"seq": n, "partition": p, "offset": o}; with
--stream, a failed record prints {"seq": n, "error": "..."} and later records still go on.

Modes:
  default   send one record at a time, blocking on future.get(timeout=10): one batch each.
  --stream  send without waiting (--interval-ms apart), printing acknowledgements from
            callbacks as they arrive; used to crash the broker mid-stream.
"""
import time

from kafka import KafkaProducer

from common import api_version, emit, main, parser


def run():
    p = parser(__doc__)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--prefix", default="value")
    p.add_argument("--keyed", action="store_true")
    p.add_argument("--api-version", type=api_version, default=None,
                   help="e.g. 0.10: skip ApiVersions and use that broker's protocol")
    p.add_argument("--acks", default=None, help="0, 1 or all (default: the client's)")
    p.add_argument("--retries", type=int, default=None)
    p.add_argument("--stream", action="store_true")
    p.add_argument("--interval-ms", type=float, default=5)
    args = p.parse_args()

    config = {"bootstrap_servers": args.bootstrap.split(",")}
    if args.api_version is not None:
        config["api_version"] = args.api_version
    if args.acks is not None:
        config["acks"] = args.acks if args.acks == "all" else int(args.acks)
    if args.retries is not None:
        config["retries"] = args.retries
    if args.stream:
        # Fail fast once the broker is gone instead of retrying for two minutes.
        config.update(request_timeout_ms=3000, delivery_timeout_ms=6000, max_block_ms=6000)
    producer = KafkaProducer(**config)

    def payload(n):
        key = f"key-{n}".encode() if args.keyed else None
        return key, f"{args.prefix}-{n}".encode()

    if not args.stream:
        for n in range(args.start, args.start + args.count):
            key, value = payload(n)
            md = producer.send(args.topic, key=key, value=value).get(timeout=10)
            emit(seq=n, partition=md.partition, offset=md.offset)
        producer.close(timeout=10)
        return

    def acked(n):
        return lambda md: emit(seq=n, partition=md.partition, offset=md.offset)

    def failed(n):
        return lambda e: emit(seq=n, error=f"{type(e).__name__}: {e}")

    for n in range(args.start, args.start + args.count):
        key, value = payload(n)
        try:
            future = producer.send(args.topic, key=key, value=value)
        except Exception as e:  # noqa: BLE001 - a dead broker makes send() itself time out
            emit(seq=n, error=f"{type(e).__name__}: {e}")
            break
        future.add_callback(acked(n))
        future.add_errback(failed(n))
        time.sleep(args.interval_ms / 1000)
    producer.close(timeout=10)


if __name__ == "__main__":
    main(run)
