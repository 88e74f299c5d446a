"""confluent-kafka's librdkafka: OffsetDelete (rd_kafka_DeleteConsumerGroupOffsets) on an empty
group, on a group whose member consumes --topic, and on a group that does not exist. --topic
has two partitions, --other one.

confluent-kafka 2.16's AdminClient has no delete_consumer_group_offsets, so the librdkafka it
bundles is called through ctypes (its C admin API has it).

Output, one JSON line per step; "results" maps "<topic>/<partition>" to librdkafka's error
name for it (NO_ERROR on success), "error" is the group's own error (null if none):
  {"event": "empty", "error": e, "results": {...}}   group ck-empty: --topic/0 and --other/0
  {"event": "active", "error": e, "results": {...}}  group ck-active, a member consuming --topic
  {"event": "left", "error": e, "results": {...}}    the same once the member left
  {"event": "unknown_group", "error": e, "results": {...}}
"""
import ctypes
import glob
import os
import time

import confluent_kafka
from confluent_kafka import Consumer, TopicPartition

from common import emit, fail, main, parser

c_void_p, c_char_p, c_int, c_size_t = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t


class RdTopicPartition(ctypes.Structure):
    """rd_kafka_topic_partition_t."""
    _fields_ = [("topic", c_char_p), ("partition", ctypes.c_int32), ("offset", ctypes.c_int64),
                ("metadata", c_void_p), ("metadata_size", c_size_t), ("opaque", c_void_p),
                ("err", c_int), ("_private", c_void_p)]


class RdTopicPartitionList(ctypes.Structure):
    """rd_kafka_topic_partition_list_t."""
    _fields_ = [("cnt", c_int), ("size", c_int), ("elems", ctypes.POINTER(RdTopicPartition))]


def librdkafka():
    libs = os.path.join(os.path.dirname(confluent_kafka.__file__), os.pardir, "confluent_kafka.libs")
    found = glob.glob(os.path.join(libs, "librdkafka*.so*"))
    if not found:
        fail(f"no librdkafka in {libs}")
    lib = ctypes.CDLL(found[0])
    signatures = {
        "rd_kafka_conf_new": (c_void_p, []),
        "rd_kafka_conf_set": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p, c_size_t]),
        "rd_kafka_new": (c_void_p, [c_int, c_void_p, c_char_p, c_size_t]),
        "rd_kafka_destroy": (None, [c_void_p]),
        "rd_kafka_queue_new": (c_void_p, [c_void_p]),
        "rd_kafka_queue_destroy": (None, [c_void_p]),
        "rd_kafka_queue_poll": (c_void_p, [c_void_p, c_int]),
        "rd_kafka_topic_partition_list_new": (ctypes.POINTER(RdTopicPartitionList), [c_int]),
        "rd_kafka_topic_partition_list_add":
            (ctypes.POINTER(RdTopicPartition), [ctypes.POINTER(RdTopicPartitionList), c_char_p, ctypes.c_int32]),
        "rd_kafka_topic_partition_list_destroy": (None, [ctypes.POINTER(RdTopicPartitionList)]),
        "rd_kafka_DeleteConsumerGroupOffsets_new": (c_void_p, [c_char_p, ctypes.POINTER(RdTopicPartitionList)]),
        "rd_kafka_DeleteConsumerGroupOffsets_destroy": (None, [c_void_p]),
        "rd_kafka_DeleteConsumerGroupOffsets": (None, [c_void_p, ctypes.POINTER(c_void_p), c_size_t, c_void_p, c_void_p]),
        "rd_kafka_event_DeleteConsumerGroupOffsets_result": (c_void_p, [c_void_p]),
        "rd_kafka_DeleteConsumerGroupOffsets_result_groups": (ctypes.POINTER(c_void_p), [c_void_p, ctypes.POINTER(c_size_t)]),
        "rd_kafka_event_error": (c_int, [c_void_p]),
        "rd_kafka_event_destroy": (None, [c_void_p]),
        "rd_kafka_group_result_error": (c_void_p, [c_void_p]),
        "rd_kafka_group_result_partitions": (ctypes.POINTER(RdTopicPartitionList), [c_void_p]),
        "rd_kafka_error_code": (c_int, [c_void_p]),
        "rd_kafka_err2name": (c_char_p, [c_int]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


class OffsetDeleter:
    """A librdkafka admin handle that sends DeleteConsumerGroupOffsets."""

    def __init__(self, bootstrap):
        self.lib = librdkafka()
        conf = self.lib.rd_kafka_conf_new()
        errstr = ctypes.create_string_buffer(512)
        if self.lib.rd_kafka_conf_set(conf, b"bootstrap.servers", bootstrap.encode(), errstr, 512) != 0:
            fail(f"conf: {errstr.value}")
        self.rk = self.lib.rd_kafka_new(0, conf, errstr, 512)  # RD_KAFKA_PRODUCER: admin only
        if not self.rk:
            fail(f"rd_kafka_new: {errstr.value}")
        self.queue = self.lib.rd_kafka_queue_new(self.rk)

    def delete(self, group, partitions):
        """(group error name or None, {"topic/partition": error name})."""
        lib = self.lib
        tps = lib.rd_kafka_topic_partition_list_new(len(partitions))
        for topic, partition in partitions:
            lib.rd_kafka_topic_partition_list_add(tps, topic.encode(), partition)
        request = lib.rd_kafka_DeleteConsumerGroupOffsets_new(group.encode(), tps)
        lib.rd_kafka_topic_partition_list_destroy(tps)
        lib.rd_kafka_DeleteConsumerGroupOffsets(self.rk, ctypes.byref(c_void_p(request)), 1, None, self.queue)
        lib.rd_kafka_DeleteConsumerGroupOffsets_destroy(request)
        deadline = time.time() + 30
        while time.time() < deadline:
            event = lib.rd_kafka_queue_poll(self.queue, 500)
            if not event:
                continue
            try:
                result = lib.rd_kafka_event_DeleteConsumerGroupOffsets_result(event)
                if not result:
                    continue
                return self.read(event, result)
            finally:
                lib.rd_kafka_event_destroy(event)
        fail(f"no DeleteConsumerGroupOffsets result for {group}")

    def read(self, event, result):
        lib = self.lib
        name = lambda code: lib.rd_kafka_err2name(code).decode()  # noqa: E731
        if lib.rd_kafka_event_error(event) != 0:
            return name(lib.rd_kafka_event_error(event)), {}
        count = c_size_t(0)
        groups = lib.rd_kafka_DeleteConsumerGroupOffsets_result_groups(result, ctypes.byref(count))
        if count.value != 1:
            fail(f"{count.value} group results")
        group = groups[0]
        error = lib.rd_kafka_group_result_error(group)
        parts = lib.rd_kafka_group_result_partitions(group)
        results = {}
        if parts:
            for i in range(parts.contents.cnt):
                tp = parts.contents.elems[i]
                results[f"{tp.topic.decode()}/{tp.partition}"] = name(tp.err)
        return (name(lib.rd_kafka_error_code(error)) if error else None), results

    def close(self):
        self.lib.rd_kafka_queue_destroy(self.queue)
        self.lib.rd_kafka_destroy(self.rk)


def run():
    p = parser(__doc__)
    p.add_argument("--other", required=True)
    args = p.parse_args()
    deleter = OffsetDeleter(args.bootstrap)
    t0, o0 = (args.topic, 0), (args.other, 0)

    def step(event, group, partitions):
        error, results = deleter.delete(group, partitions)
        emit(event=event, error=error, results=results)

    committer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "ck-empty"})
    committer.commit(offsets=[TopicPartition(args.topic, 0, 5), TopicPartition(args.topic, 1, 6),
                              TopicPartition(args.other, 0, 7)], asynchronous=False)
    committer.close()
    step("empty", "ck-empty", [t0, o0])

    member = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "ck-active",
                       "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    member.subscribe([args.topic])
    deadline = time.time() + 30
    while not member.assignment():
        if time.time() > deadline:
            fail("the member got no assignment")
        member.poll(0.2)
    # A member may commit offsets of a topic it does not consume.
    member.commit(offsets=[TopicPartition(args.topic, 0, 1), TopicPartition(args.topic, 1, 1),
                           TopicPartition(args.other, 0, 3)], asynchronous=False)
    step("active", "ck-active", [t0, o0])
    member.close()
    step("left", "ck-active", [t0])
    step("unknown_group", "ck-no-such-group", [t0])
    deleter.close()


if __name__ == "__main__":
    main(run)
