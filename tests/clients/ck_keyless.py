"""confluent-kafka (librdkafka) producers against a compacted topic: keyed records are
acknowledged, records without a key refused (INVALID_RECORD), uncompressed and gzip. A batch
mixing both fails as a whole. One JSON line per delivery report:

  {"producer": "none"|"gzip", "case": ..., "ok": true, "offset": o}
  {"producer": ..., "case": ..., "ok": false, "error": "<error name>: <message>"}
"""
from confluent_kafka import Producer

from common import emit, fail, main, parser


def run():
    p = parser(__doc__)
    args = p.parse_args()
    for codec in ["none", "gzip"]:
        producer = Producer({
            "bootstrap.servers": args.bootstrap,
            "compression.type": codec,
            "linger.ms": 200,
            "message.timeout.ms": 15000,
        })
        reports = []

        def report(case):
            def on_delivery(err, msg):
                if err is None:
                    reports.append(dict(producer=codec, case=case, ok=True, offset=msg.offset()))
                else:
                    reports.append(dict(producer=codec, case=case, ok=False,
                                        error=f"{err.name()}: {err.str()}"))
            return on_delivery

        def send(case, key):
            producer.produce(args.topic, key=key, value=f"{codec}-{case}".encode(), partition=0,
                             on_delivery=report(case))

        def flush():
            if producer.flush(20):
                fail("delivery reports missing")

        send("keyed", b"k1")
        flush()
        send("keyless", None)
        flush()
        # Produced within linger.ms: one batch.
        send("mixed-keyed", b"k2")
        send("mixed-keyless", None)
        send("mixed-keyed-2", b"k3")
        flush()
        send("after", b"k4")
        flush()
        for r in reports:
            emit(**r)


if __name__ == "__main__":
    main(run)
