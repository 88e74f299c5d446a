"""kafka-python: KafkaAdminClient.delete_records on partition 0 of --topic, then (--check) what
consumers see of it.

Output, one JSON line each:
  {"event": "deleted", "low_watermark": n}  or  {"event": "deleted", "error": "<error class>"}
  with --check:
  {"event": "earliest", "offset": n}        list_partition_offsets(EARLIEST)
  {"event": "first", "offset": n}           the first record a consumer reads from the beginning
  {"event": "below", "error": "<class>"}    a consumer with auto_offset_reset='none' at offset 0
"""
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError
from kafka.protocol.consumer.offsets import OffsetSpec

from common import emit, fail, main, parser


def first_offset(bootstrap, tp):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             auto_offset_reset="earliest")
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    deadline = time.time() + 20
    try:
        while time.time() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                if records:
                    return records[0].offset
        fail("no record consumed from the beginning")
    finally:
        consumer.close()


def read_below(bootstrap, tp):
    """The error a consumer that may not reset gets at offset 0 (None if it read anything)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             auto_offset_reset="none")
    consumer.assign([tp])
    consumer.seek(tp, 0)
    deadline = time.time() + 20
    try:
        while time.time() < deadline:
            try:
                got = consumer.poll(timeout_ms=500)
            except KafkaError as e:
                return type(e).__name__
            if any(got.values()):
                return None
        fail("neither records nor an error at offset 0")
    finally:
        consumer.close()


def run():
    p = parser(__doc__)
    p.add_argument("--offset", type=int, help="delete below this offset (-1: all); none: only --check")
    p.add_argument("--check", action="store_true")
    args = p.parse_args()
    tp = TopicPartition(args.topic, 0)
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=30000)
    if args.offset is not None:
        try:
            result = admin.delete_records({tp: args.offset}, timeout_ms=20000)
            emit(event="deleted", low_watermark=result[tp]["low_watermark"])
        except KafkaError as e:
            emit(event="deleted", error=type(e).__name__)
    if args.check:
        earliest = admin.list_partition_offsets({tp: OffsetSpec.EARLIEST})[tp]
        emit(event="earliest", offset=earliest.offset)
        emit(event="first", offset=first_offset(args.bootstrap, tp))
        emit(event="below", error=read_below(args.bootstrap, tp))
    admin.close()


if __name__ == "__main__":
    main(run)
