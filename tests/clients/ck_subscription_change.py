"""confluent-kafka group members while a subscribed topic is deleted.

Two consumers of --group with --strategy subscribe to --topics (comma-separated) or to the
regex --pattern, with topic.metadata.refresh.interval.ms=2000. Each runs in its own thread, as
it would in its own process, and consumes with a synchronous commit per record, while a
producer writes to both topics (to --keep only once --delete is deleted: a producer would
create it again). (Two members polled from one thread with synchronous commits can deadlock
in a rebalance: one's commit waits for the rebalance, which waits for the other's poll.)

Once every partition of both topics is assigned and has had a record consumed, AdminClient
deletes --delete; the script then waits until no member holds a partition of it and every
partition of --keep is assigned again (at most --max-seconds).

Output, one JSON line each:
  {"event": "assigned", "partitions": {"<topic>": n}}   the group's assignment before the delete
  {"event": "deleted", "seconds": s}                    DeleteTopics returned
  {"event": "rebalanced", "seconds": s, "revoked": {"<topic>": n}, "keep": n, "errors": [...]}
Progress goes to stderr every 5 s.
"""
import argparse
import sys
import threading
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from common import emit, fail, main


class Member(threading.Thread):
    """One group member consuming and committing in its own thread until told to stop."""

    def __init__(self, args, subscription, shared):
        super().__init__(daemon=True)
        self.shared = shared
        # What this member holds, as its own thread last read it: librdkafka handles are
        # used only from the thread that polls them.
        self.holding = []
        self.cooperative = args.strategy == "cooperative-sticky"
        self.consumer = Consumer({
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "partition.assignment.strategy": args.strategy,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            "topic.metadata.refresh.interval.ms": 2000,
        })
        self.consumer.subscribe(subscription, on_assign=self.on_assign,
                                on_revoke=self.on_revoke)
        self.stop = threading.Event()

    def on_assign(self, consumer, partitions):
        if self.cooperative:
            consumer.incremental_assign(partitions)
        else:
            consumer.assign(partitions)

    def on_revoke(self, consumer, partitions):
        with self.shared["lock"]:
            for tp in partitions:
                revoked = self.shared["revoked"]
                revoked[tp.topic] = revoked.get(tp.topic, 0) + 1
        if self.cooperative:
            consumer.incremental_unassign(partitions)
        else:
            consumer.unassign()

    def run(self):
        while not self.stop.is_set():
            msg = self.consumer.poll(0.1)
            holding = [tp.topic for tp in self.consumer.assignment()]
            with self.shared["lock"]:
                self.holding = holding
            if msg is None:
                continue
            if msg.error() is not None:
                self.note_error(msg.error().name())
                continue
            with self.shared["lock"]:
                self.shared["consumed"].add((msg.topic(), msg.partition()))
            try:
                self.consumer.commit(message=msg, asynchronous=False)
            except Exception as e:  # noqa: BLE001 - a commit racing a rebalance may fail
                self.note_error(str(e))
        self.consumer.close()

    def note_error(self, text):
        with self.shared["lock"]:
            self.shared["errors"].add(text)


def run():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--strategy", required=True)
    p.add_argument("--topics", help="comma-separated subscription")
    p.add_argument("--pattern", help="regex subscription, e.g. ^sub-.*")
    p.add_argument("--keep", required=True)
    p.add_argument("--delete", required=True)
    p.add_argument("--partitions", type=int, required=True, help="partitions per topic")
    p.add_argument("--max-seconds", type=float, default=45)
    args = p.parse_args()
    subscription = [args.pattern] if args.pattern else args.topics.split(",")
    shared = {"lock": threading.Lock(), "revoked": {}, "errors": set(), "consumed": set()}
    members = [Member(args, subscription, shared) for _ in range(2)]
    for m in members:
        m.start()
    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5})
    writing = [args.keep, args.delete]

    def assigned():
        counts = {}
        with shared["lock"]:
            for m in members:
                for topic in m.holding:
                    counts[topic] = counts.get(topic, 0) + 1
        return counts

    def report():
        with shared["lock"]:
            return (f"revoked {shared['revoked']}, errors {sorted(shared['errors'])}, "
                    f"consumed from {len(shared['consumed'])} partitions")

    def wait(done, what):
        deadline = time.monotonic() + args.max_seconds
        last_report = time.monotonic()
        while not done():
            now = time.monotonic()
            if now > deadline:
                fail(f"{what}: not within {args.max_seconds} s: assigned {assigned()}, "
                     f"{report()}")
            if now - last_report > 5:
                last_report = now
                print(f"progress ({what}): assigned {assigned()}, {report()}", file=sys.stderr,
                      flush=True)
            for topic in writing:
                producer.produce(topic, b"x")
            producer.poll(0.02)

    everything = {args.keep: args.partitions, args.delete: args.partitions}
    def consumed_everywhere():
        with shared["lock"]:
            return len(shared["consumed"]) == 2 * args.partitions

    wait(lambda: assigned() == everything and consumed_everywhere(),
         "every partition assigned and consumed from")
    emit(event="assigned", partitions=assigned())
    writing.remove(args.delete)
    producer.flush(10)

    started = time.monotonic()
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    for future in admin.delete_topics([args.delete], operation_timeout=15).values():
        future.result()
    emit(event="deleted", seconds=round(time.monotonic() - started, 1))
    with shared["lock"]:
        shared["revoked"].clear()
        shared["errors"].clear()
    wait(lambda: assigned() == {args.keep: args.partitions},
         f"a rebalance away from {args.delete}")
    keep = assigned().get(args.keep, 0)
    with shared["lock"]:
        emit(event="rebalanced", seconds=round(time.monotonic() - started, 1),
             revoked=dict(shared["revoked"]), keep=keep, errors=sorted(shared["errors"]))
    producer.flush(10)
    for m in members:
        m.stop.set()
    for m in members:
        m.join(timeout=30)


if __name__ == "__main__":
    main(run)
