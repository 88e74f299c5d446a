"""confluent-kafka: binary searches over a partition with seek() + consume().

Unless --skip-produce, --records records ("0", "1", ...) are produced to partition 0 of
--topic in batches of up to 37 (linger.ms=20, --compression). Then --searches binary searches
for random offsets (--seed): each step seeks to the middle offset, backwards or forwards, and
consume(1) must return exactly that record within 10 s.

Output: {"event": "searched", "seeks": n, "worst_seconds": s}
"""
import random
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from common import emit, fail, main, parser


def run():
    p = parser(__doc__)
    p.add_argument("--records", type=int, default=1000)
    p.add_argument("--searches", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--compression", default="none")
    p.add_argument("--skip-produce", action="store_true")
    args = p.parse_args()

    if not args.skip_produce:
        producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 20,
                             "batch.num.messages": 37, "acks": "all",
                             "compression.type": args.compression})
        for i in range(args.records):
            producer.produce(args.topic, str(i).encode(), partition=0)
            producer.poll(0)
        if producer.flush(30) != 0:
            fail("records still queued after 30 s")

    # A short fetch wait: a seek waits for the fetch in flight (at the log end) to return.
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "seek-search",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 20})
    tp = TopicPartition(args.topic, 0, 0)
    consumer.assign([tp])
    rng = random.Random(args.seed)
    seeks, worst = 0, 0.0
    for _ in range(args.searches):
        target = rng.randrange(args.records)
        lo, hi = 0, args.records - 1
        while lo < hi:
            mid = (lo + hi) // 2
            consumer.seek(TopicPartition(args.topic, 0, mid))
            started = time.monotonic()
            msgs = consumer.consume(1, timeout=10)
            took = time.monotonic() - started
            seeks += 1
            worst = max(worst, took)
            if not msgs:
                fail(f"no record within {took:.1f} s after a seek to {mid} (seek {seeks})")
            if msgs[0].error() is not None:
                fail(f"error after a seek to {mid}: {msgs[0].error()}")
            if msgs[0].offset() != mid or msgs[0].value() != str(mid).encode():
                fail(f"seek to {mid} consumed offset {msgs[0].offset()}: {msgs[0].value()!r}")
            if mid < target:
                lo = mid + 1
            else:
                hi = mid
    emit(event="searched", seeks=seeks, worst_seconds=round(worst, 3))
    consumer.close()


if __name__ == "__main__":
    main(run)
