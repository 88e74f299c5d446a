"""Produce fixed-size records with confluent-kafka (librdkafka) until told to stop, printing every outcome.

Record n has the value b"value-<n> " padded with b"x" to --size bytes and no key, so the client
spreads records over the topic's partitions. With --interval-ms 0 records go as fast as the
client's queue (--queue-max records) takes them. Stops when the file --stop-file exists, after
--count records or after --max-seconds; then flushes. --acks and --idempotence are the
producer's settings; failed records are retried until --message-timeout-ms.

Output (the same lines as kp_steady_produce.py): {"seq", "partition", "offset"} per acknowledged
record, {"seq", "error"} per failed one, and at the end {"done": true, "sent": n}.
"""
import os
import time

from confluent_kafka import Producer

from common import emit, main, parser


def value(n, size):
    return f"value-{n} ".encode().ljust(size, b"x")


def run():
    p = parser(__doc__)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--acks", default="all", help="0, 1 or all")
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--interval-ms", type=float, default=0)
    p.add_argument("--count", type=int, default=0, help="stop after this many records (0: no limit)")
    p.add_argument("--max-seconds", type=float, default=120)
    p.add_argument("--message-timeout-ms", type=int, default=60000)
    p.add_argument("--queue-max", type=int, default=2000)
    p.add_argument("--idempotence", action="store_true")
    args = p.parse_args()

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": args.acks,
        "enable.idempotence": args.idempotence,
        "message.timeout.ms": args.message_timeout_ms,
        "queue.buffering.max.messages": args.queue_max,
        "linger.ms": 5,
        # Learn about a new leader quickly after a failover.
        "topic.metadata.refresh.interval.ms": 5000,
        "retry.backoff.ms": 100,
    })

    def report(n):
        def on_delivery(err, msg):
            if err is not None:
                emit(seq=n, error=str(err))
            else:
                emit(seq=n, partition=msg.partition(), offset=msg.offset())
        return on_delivery

    started = time.monotonic()
    n = 0
    while not os.path.exists(args.stop_file) and time.monotonic() - started < args.max_seconds:
        if args.count and n >= args.count:
            break
        try:
            producer.produce(args.topic, value=value(n, args.size), on_delivery=report(n))
        except BufferError:
            # The queue is full: wait for deliveries (or failures) to make room.
            producer.poll(0.05)
            continue
        n += 1
        producer.poll(0)
        if args.interval_ms:
            time.sleep(args.interval_ms / 1000)
    producer.flush(args.message_timeout_ms / 1000 + 10)
    emit(done=True, sent=n)


if __name__ == "__main__":
    main(run)
