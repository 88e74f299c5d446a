"""The tutorial's scripts in one file, against a list of brokers (the compose cluster).

kafka-python, shaped like the tutorial's producer.py, kafka_cluster/producer_*.py and
consumer_group/*.py, but ending on their own so a test can run them. Sub-commands:

  produce --bootstrap B            producer.py: raw bytes, keyed, JSON to json-topic, ten JSON
                                   values, callbacks + flush, retries=5 (all to my-topic); then
                                   kafka_cluster/producer_1.py (one JSON-encoded dict to
                                   `notification`). One line per acknowledged record:
                                   {"step", "topic", "partition", "offset"}
  chat --bootstrap B --origin P1|P2 --count N
                                   consumer_group/producer_1.py ({"num": n}) or producer_2.py
                                   ({"number": n*n, "origin": "P2"}) to `chatting`.
                                   One line per record: {"topic", "partition", "offset", "value"}
  group --bootstrap B --group G --topic T [--idle-ms MS]
                                   consumer_grp_*.py: group consumer, earliest, auto-commit,
                                   JSON values. Lines: {"event": "assigned", "partitions": [...]},
                                   one per record {"topic", "partition", "offset", "value"},
                                   {"event": "done", "count": n} after close (which commits).
B is a comma list, e.g. localhost:29092,localhost:39092, like the tutorial's two-element list.
"""
import argparse
import json
import time

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from common import emit, fail, main


def record(step, md):
    emit(step=step, topic=md.topic, partition=md.partition, offset=md.offset)


def produce(servers):
    producer = KafkaProducer(bootstrap_servers=servers)
    record("raw", producer.send("my-topic", b"raw_bytes").get(timeout=30))
    record("keyed", producer.send("my-topic", key=b"foo", value=b"bar").get(timeout=10))

    json_producer = KafkaProducer(
        bootstrap_servers=servers,
        value_serializer=lambda m: json.dumps(m).encode("ascii"),
    )
    record("json", json_producer.send("json-topic", {"key": "value"}).get(timeout=30))
    futures = [json_producer.send("my-topic", {"num": n}) for n in range(10)]
    for future in futures:
        record("json-loop", future.get(timeout=10))

    delivered, failed = [], []
    future = producer.send("my-topic", b"callback")
    future.add_callback(delivered.append)
    future.add_errback(failed.append)
    producer.flush(timeout=10)
    if failed or len(delivered) != 1:
        fail(f"callback: delivered {delivered!r}, failed {failed!r}")
    record("callback", delivered[0])

    retrying = KafkaProducer(bootstrap_servers=servers, retries=5)
    record("retries", retrying.send("my-topic", b"retries").get(timeout=10))

    # kafka_cluster/producer_1.py: a JSON-encoded dict as raw bytes.
    notification = json.dumps({"user": "alice", "message": "hello"}).encode("utf-8")
    record("notification", producer.send("notification", notification).get(timeout=30))
    for p in (producer, json_producer, retrying):
        p.close(timeout=10)


def chat(servers, origin, count):
    producer = KafkaProducer(
        bootstrap_servers=servers,
        value_serializer=lambda m: json.dumps(m).encode("utf-8"),
    )
    for n in range(count):
        value = {"num": n} if origin == "P1" else {"number": n * n, "origin": origin}
        md = producer.send("chatting", value).get(timeout=30)
        emit(topic=md.topic, partition=md.partition, offset=md.offset, value=value)
    producer.close(timeout=10)


class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        pass

    def on_partitions_assigned(self, assigned):
        emit(event="assigned", partitions=sorted([tp.topic, tp.partition] for tp in assigned))


def group(servers, group_id, topic, idle_ms, max_seconds):
    consumer = KafkaConsumer(
        bootstrap_servers=servers,
        group_id=group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        auto_commit_interval_ms=1000,
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
        value_deserializer=lambda v: json.loads(v.decode("utf-8")),
    )
    consumer.subscribe([topic], listener=Listener())
    count = 0
    started = last = time.monotonic()
    while time.monotonic() - started < max_seconds:
        for records in consumer.poll(timeout_ms=200).values():
            for r in records:
                count += 1
                last = time.monotonic()
                emit(topic=r.topic, partition=r.partition, offset=r.offset, value=r.value)
        if count > 0 and (time.monotonic() - last) * 1000 > idle_ms:
            break
    consumer.close()
    emit(event="done", count=count)


def run():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("command", choices=["produce", "chat", "group"])
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--origin", default="P1")
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--group", default="grp1")
    p.add_argument("--topic", default="chatting")
    p.add_argument("--idle-ms", type=int, default=5000)
    p.add_argument("--max-seconds", type=float, default=120)
    args = p.parse_args()
    servers = args.bootstrap.split(",")
    if args.command == "produce":
        produce(servers)
    elif args.command == "chat":
        chat(servers, args.origin, args.count)
    else:
        group(servers, args.group, args.topic, args.idle_ms, args.max_seconds)


if __name__ == "__main__":
    main(run)
