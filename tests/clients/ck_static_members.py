"""confluent-kafka static members: a newer instance fences the older one, and groups list as
what they are.

Two consumers with group.instance.id consumer1 and consumer2 join --group on --topic; consumer1
commits offset 0 for its partitions. A simple consumer (assign + commit, no subscribe) commits
to --simple-group. Then a third consumer starts with group.instance.id consumer2: it must take
over consumer2's assignment without a rebalance, and the old consumer2 must get the fatal
FENCED_INSTANCE_ID. While consumer1 and the newcomer stay in the group, AdminClient lists and
describes the groups; then the script polls on until --release names an existing file, and
closes the consumers.

Output, one JSON line each:
  {"event": "stable", "consumer1": [p...], "consumer2": [p...]}
  {"event": "fenced", "code": c, "error": text, "seconds": s}   the old consumer2's fatal error
  {"event": "after", "consumer1": [p...], "newcomer": [p...], "revoked": {name: count}}
  {"event": "listed", "groups": {id: {"simple": b, "state": s}}}     list_consumer_groups()
  {"event": "described", "group": id, "state": s, "assignor": a, "instances": [...]}
"""
import os
import time

from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient

from common import emit, fail, main, parser


class Member:
    """A subscribed consumer whose assignment, revocations and errors are recorded."""

    def __init__(self, bootstrap, group, instance, topic):
        self.name = instance
        self.errors = []
        self.revoked = 0
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "group.instance.id": instance,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            "enable.auto.commit": False,
            "error_cb": self.errors.append,
        })
        self.consumer.subscribe([topic], on_revoke=self.on_revoke)

    def on_revoke(self, consumer, partitions):
        if partitions:
            self.revoked += 1

    def poll(self):
        msg = self.consumer.poll(0.05)
        if msg is not None and msg.error() is not None:
            self.errors.append(msg.error())

    def partitions(self):
        return sorted(tp.partition for tp in self.consumer.assignment())

    def fatal(self):
        """librdkafka reports a fatal error through error_cb with the code _FATAL."""
        return next((e for e in self.errors
                     if e.fatal() or e.code() == KafkaError._FATAL), None)


def poll_until(members, done, seconds, what):
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            fail(f"{what}: not within {seconds} s; errors: "
                 f"{ {m.name: [str(e) for e in m.errors] for m in members} }")
        for m in members:
            m.poll()


def run():
    p = parser(__doc__)
    p.add_argument("--group", required=True)
    p.add_argument("--simple-group", required=True)
    p.add_argument("--partitions", type=int, required=True)
    p.add_argument("--release", required=True, help="close the consumers once this file exists")
    args = p.parse_args()

    simple = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.simple_group})
    simple.commit(offsets=[TopicPartition(args.topic, 0, 1)], asynchronous=False)
    simple.close()

    c1 = Member(args.bootstrap, args.group, "consumer1", args.topic)
    c2 = Member(args.bootstrap, args.group, "consumer2", args.topic)
    everything = list(range(args.partitions))
    poll_until([c1, c2], lambda: sorted(c1.partitions() + c2.partitions()) == everything
               and c1.partitions() and c2.partitions(), 30, "both members assigned")
    emit(event="stable", consumer1=c1.partitions(), consumer2=c2.partitions())
    c1.revoked = 0
    old_assignment = c2.partitions()
    c1.consumer.commit(offsets=[TopicPartition(args.topic, p, 0) for p in c1.partitions()],
                       asynchronous=False)

    started = time.monotonic()
    newcomer = Member(args.bootstrap, args.group, "consumer2", args.topic)
    newcomer.name = "newcomer"
    poll_until([c1, c2, newcomer], lambda: c2.fatal() is not None, 20,
               "the replaced consumer2 fenced")
    error = c2.fatal()
    emit(event="fenced", code=error.name(), error=error.str(),
         seconds=round(time.monotonic() - started, 1))
    poll_until([c1, newcomer], lambda: newcomer.partitions() == old_assignment, 20,
               "the newcomer takes over consumer2's partitions")
    emit(event="after", consumer1=c1.partitions(), newcomer=newcomer.partitions(),
         revoked={"consumer1": c1.revoked, "newcomer": newcomer.revoked})

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    listed = admin.list_consumer_groups(request_timeout=15).result()
    if listed.errors:
        fail(f"list_consumer_groups errors: {listed.errors}")
    emit(event="listed", groups={g.group_id: {"simple": g.is_simple_consumer_group,
                                              "state": g.state.name}
                                 for g in listed.valid})
    for group_id, future in admin.describe_consumer_groups([args.group]).items():
        g = future.result()
        emit(event="described", group=group_id, state=g.state.name,
             assignor=g.partition_assignor, simple=g.is_simple_consumer_group,
             instances=sorted(m.group_instance_id or "" for m in g.members))

    deadline = time.monotonic() + 60
    while not os.path.exists(args.release):
        if time.monotonic() > deadline:
            fail(f"{args.release} did not appear within 60 s")
        c1.poll()
        newcomer.poll()
    for m in (c1, newcomer):
        m.consumer.close()


if __name__ == "__main__":
    main(run)
