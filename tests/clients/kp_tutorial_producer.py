"""The tutorial's producer.py, against one topic and one JSON topic, neither created beforehand.

kafka-python with its defaults (idempotence on, acks=all as a consequence, ApiVersions probing).
Prints one line per acknowledged record, in send order:
  {"step": ..., "topic": ..., "partition": ..., "offset": ...}
Steps, all to --topic unless said otherwise:
  raw            b'raw_bytes', blocking on future.get(timeout=10)
  keyed          key=b'foo', value=b'bar'
  json           {"key": "value"} to --json-topic, via a JSON value_serializer
  json-loop      ten JSON values {"num": n}
  callback       b'callback' with add_callback/add_errback, then flush()
  retries        b'retries' from a producer built with retries=5
"""
import json

from kafka import KafkaProducer

from common import emit, fail, main, parser


def record(step, metadata):
    emit(step=step, topic=metadata.topic, partition=metadata.partition, offset=metadata.offset)


def run():
    p = parser(__doc__)
    p.add_argument("--json-topic", required=True)
    args = p.parse_args()
    servers = [args.bootstrap]

    producer = KafkaProducer(bootstrap_servers=servers)
    record("raw", producer.send(args.topic, b"raw_bytes").get(timeout=10))
    record("keyed", producer.send(args.topic, key=b"foo", value=b"bar").get(timeout=10))

    json_producer = KafkaProducer(
        bootstrap_servers=servers,
        value_serializer=lambda m: json.dumps(m).encode("ascii"),
    )
    record("json", json_producer.send(args.json_topic, {"key": "value"}).get(timeout=10))
    futures = [json_producer.send(args.topic, {"num": n}) for n in range(10)]
    for future in futures:
        record("json-loop", future.get(timeout=10))

    # Callbacks run on the producer's I/O thread: collect, then report after flush().
    delivered, failed = [], []
    future = producer.send(args.topic, b"callback")
    future.add_callback(delivered.append)
    future.add_errback(failed.append)
    producer.flush(timeout=10)
    if failed:
        fail(f"errback called: {failed[0]!r}")
    if len(delivered) != 1:
        fail(f"callback called {len(delivered)} times after flush(), expected once")
    record("callback", delivered[0])

    retrying = KafkaProducer(bootstrap_servers=servers, retries=5)
    record("retries", retrying.send(args.topic, b"retries").get(timeout=10))

    for p_ in (producer, json_producer, retrying):
        p_.close(timeout=10)


if __name__ == "__main__":
    main(run)
