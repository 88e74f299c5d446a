"""confluent-kafka: AdminClient.delete_records on partition 0 of --topic, then (--check) what
consumers see of it.

Output, one JSON line each:
  {"event": "deleted", "low_watermark": n}  or  {"event": "deleted", "error": "<error name>"}
  with --check:
  {"event": "earliest", "offset": n}        list_offsets(OffsetSpec.earliest())
  {"event": "first", "offset": n}           the first record a consumer reads from the beginning
  {"event": "below", "error": "<name>"}     a consumer with auto.offset.reset=error at offset 0
"""
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from common import emit, fail, main, parser


def consumer(bootstrap, reset):
    return Consumer({"bootstrap.servers": bootstrap, "group.id": "delete-records-check",
                     "enable.auto.commit": False, "auto.offset.reset": reset})


def first_offset(bootstrap, topic):
    c = consumer(bootstrap, "earliest")
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    deadline = time.time() + 20
    try:
        while time.time() < deadline:
            msg = c.poll(0.5)
            if msg is not None and msg.error() is None:
                return msg.offset()
        fail("no record consumed from the beginning")
    finally:
        c.close()


def read_below(bootstrap, topic):
    """The error a consumer that may not reset gets at offset 0 (None if it read anything)."""
    c = consumer(bootstrap, "error")
    c.assign([TopicPartition(topic, 0, 0)])
    deadline = time.time() + 20
    try:
        while time.time() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                return msg.error().name()
            return None
        fail("neither records nor an error at offset 0")
    finally:
        c.close()


def run():
    p = parser(__doc__)
    p.add_argument("--offset", type=int, help="delete below this offset (-1: all); none: only --check")
    p.add_argument("--check", action="store_true")
    args = p.parse_args()
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    if args.offset is not None:
        tp = TopicPartition(args.topic, 0, args.offset)
        [future] = admin.delete_records([tp], request_timeout=30, operation_timeout=20).values()
        try:
            emit(event="deleted", low_watermark=future.result().low_watermark)
        except KafkaException as e:
            emit(event="deleted", error=e.args[0].name())
    if args.check:
        spec = {TopicPartition(args.topic, 0): OffsetSpec.earliest()}
        [earliest] = admin.list_offsets(spec, request_timeout=20).values()
        emit(event="earliest", offset=earliest.result().offset)
        emit(event="first", offset=first_offset(args.bootstrap, args.topic))
        emit(event="below", error=read_below(args.bootstrap, args.topic))


if __name__ == "__main__":
    main(run)
