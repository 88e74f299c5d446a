"""kafka-python: KafkaAdminClient.delete_group_offsets (OffsetDelete) on an empty group, on a
group whose member consumes --topic, and on groups and topics that do not exist. --topic has
two partitions, --other one.

Output, one JSON line per step; "results" maps "<topic>/<partition>" to the error class name
the admin client reports for it (NoError on success):
  {"event": "empty", "results": {...}}      group od-empty: --topic/0 and --other/0
  {"event": "active", "results": {...}}     group od-active, its member consuming --topic
  {"event": "left", "results": {...}}       the same once the member left
  {"event": "unknown_topic", "results": {...}}
  {"event": "unknown_group", "error": "<error class>"}
  {"event": "offsets", "group": g, "partitions": ["<topic>/<partition>", ...]}  what is left
"""
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from common import emit, fail, main, parser


def names(results):
    return {f"{tp.topic}/{tp.partition}": getattr(err, "__name__", str(err))
            for tp, err in results.items()}


def committed(admin, group):
    offsets = admin.list_group_offsets({group: None})[group]
    return sorted(f"{tp.topic}/{tp.partition}" for tp in offsets)


def commit(admin, group, partitions):
    errors = admin.alter_group_offsets(
        group, {tp: OffsetAndMetadata(5, "", -1) for tp in partitions})
    bad = {tp: e for tp, e in errors.items() if getattr(e, "__name__", "") != "NoError"}
    if bad:
        fail(f"committing {group}: {bad}")


def joined_member(bootstrap, topic, group):
    """A consumer of `topic` in `group` that has its assignment and committed."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                             enable_auto_commit=False, auto_offset_reset="earliest")
    deadline = time.time() + 30
    while not consumer.assignment():
        if time.time() > deadline:
            fail("the member got no assignment")
        consumer.poll(timeout_ms=200)
    consumer.commit({tp: OffsetAndMetadata(1, "", -1) for tp in consumer.assignment()})
    return consumer


def run():
    p = parser(__doc__)
    p.add_argument("--other", required=True)
    args = p.parse_args()
    t0, t1 = TopicPartition(args.topic, 0), TopicPartition(args.topic, 1)
    o0 = TopicPartition(args.other, 0)
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=30000)

    commit(admin, "od-empty", [t0, t1, o0])
    emit(event="empty", results=names(admin.delete_group_offsets("od-empty", [t0, o0])))

    member = joined_member(args.bootstrap, args.topic, "od-active")
    # A member may commit offsets of a topic it does not consume.
    member.commit({o0: OffsetAndMetadata(3, "", -1)})
    emit(event="active", results=names(admin.delete_group_offsets("od-active", [t0, o0])))
    member.close()
    emit(event="left", results=names(admin.delete_group_offsets("od-active", [t0])))

    unknown = TopicPartition("od-no-such-topic", 0)
    emit(event="unknown_topic", results=names(admin.delete_group_offsets("od-empty", [unknown])))
    try:
        admin.delete_group_offsets("od-no-such-group", [t0])
        emit(event="unknown_group", error=None)
    except KafkaError as e:
        emit(event="unknown_group", error=type(e).__name__)

    for group in ["od-empty", "od-active"]:
        emit(event="offsets", group=group, partitions=committed(admin, group))
    admin.close()


if __name__ == "__main__":
    main(run)
