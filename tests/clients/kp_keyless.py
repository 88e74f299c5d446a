"""kafka-python producers against a compacted topic: keyed records are acknowledged, records
without a key refused (INVALID_RECORD), with Produce v8+ and with the 0.10 protocol (v1 message
sets), uncompressed and gzip. A batch mixing both fails as a whole, each record with its own
error. One JSON line per record:

  {"producer": "default"|"gzip"|"0.10", "case": ..., "ok": true, "offset": o}
  {"producer": ..., "case": ..., "ok": false, "error": "<exception class>: <message>"}
"""
from kafka import KafkaProducer

from common import emit, main, parser

PRODUCERS = {
    "default": {},
    "gzip": {"compression_type": "gzip"},
    "0.10": {"api_version": (0, 10)},
}


def outcome(future):
    try:
        md = future.get(timeout=15)
        return {"ok": True, "offset": md.offset}
    except Exception as e:  # noqa: BLE001 - the failure is the result
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


def run():
    p = parser(__doc__)
    args = p.parse_args()
    for name, extra in PRODUCERS.items():
        producer = KafkaProducer(bootstrap_servers=args.bootstrap.split(","), linger_ms=200,
                                 retries=0, **extra)

        def send(case, key):
            return case, producer.send(args.topic, key=key, value=f"{name}-{case}".encode())

        for case, future in [send("keyed", b"k1")]:
            emit(producer=name, case=case, **outcome(future))
        for case, future in [send("keyless", None)]:
            emit(producer=name, case=case, **outcome(future))
        # Sent together within linger_ms: one batch.
        mixed = [send("mixed-keyed", b"k2"), send("mixed-keyless", None), send("mixed-keyed-2", b"k3")]
        for case, future in mixed:
            emit(producer=name, case=case, **outcome(future))
        for case, future in [send("after", b"k4")]:
            emit(producer=name, case=case, **outcome(future))
        producer.close(timeout=10)


if __name__ == "__main__":
    main(run)
