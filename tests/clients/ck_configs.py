"""confluent-kafka AdminClient and topic configs: what describe_configs reports for a broker
and a topic (value, source, is_default, read-only, synonyms), what create_topics, alter_configs
and incremental_alter_configs answer for invalid compaction settings, and APPEND/SUBTRACT on
cleanup.policy. One JSON line per step:

  {"step": "broker"|"topic", "configs": {name: {"value", "source", "is_default", "read_only",
                                                "sensitive", "synonyms": [[n, v, source]]}}}
  {"step": "create-invalid"|"alter-invalid"|"incremental-invalid", "key", "value", "error"}
  {"step": "append"|"subtract", "cleanup_policy": ...}

librdkafka keeps synonyms in a dict by name, so of two synonyms with the same name (a key set in
the file, and its default) only the last is listed.
"""
from confluent_kafka import KafkaException
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   ConfigSource, NewTopic, ResourceType)

from common import emit, main, parser

INVALID = [
    ("cleanup.policy", "shred"),
    ("min.cleanable.dirty.ratio", "-0.5"),
    ("min.compaction.lag.ms", "-1"),
    ("max.compaction.lag.ms", "0"),
    ("delete.retention.ms", "-1"),
]


def source(s):
    """A ConfigSource name (librdkafka hands some sources over as plain ints)."""
    return ConfigSource(s).name if isinstance(s, int) else s.name


def describe(admin, resource):
    (future,) = admin.describe_configs([resource]).values()
    return {k: {"value": e.value, "source": source(e.source), "is_default": e.is_default,
                "read_only": e.is_read_only, "sensitive": e.is_sensitive,
                "synonyms": [[s.name, s.value, source(s.source)] for s in e.synonyms.values()]}
            for k, e in future.result(timeout=30).items()}


def error_of(future):
    """The broker's error name and message, or "OK"."""
    try:
        future.result(timeout=30)
        return "OK"
    except KafkaException as e:
        err = e.args[0]
        return f"{err.name()}: {err.str()}"


def only(futures):
    (future,) = futures.values()
    return future


def run():
    p = parser(__doc__)
    p.add_argument("--broker-id", required=True)
    args = p.parse_args()
    topic = args.topic
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    created = only(admin.create_topics(
        [NewTopic(topic, num_partitions=1, replication_factor=1,
                  config={"cleanup.policy": "compact", "min.compaction.lag.ms": "100"})],
        operation_timeout=15))
    emit(step="created", result=error_of(created))

    emit(step="broker", configs=describe(admin, ConfigResource(ResourceType.BROKER, args.broker_id)))
    emit(step="topic", configs=describe(admin, ConfigResource(ResourceType.TOPIC, topic)))

    for key, value in INVALID:
        future = only(admin.create_topics(
            [NewTopic(f"{topic}-bad", num_partitions=1, replication_factor=1, config={key: value})],
            operation_timeout=15))
        emit(step="create-invalid", key=key, value=value, error=error_of(future))
        future = only(admin.alter_configs([ConfigResource(ResourceType.TOPIC, topic,
                                                          set_config={key: value})]))
        emit(step="alter-invalid", key=key, value=value, error=error_of(future))
        future = only(admin.incremental_alter_configs([ConfigResource(
            ResourceType.TOPIC, topic,
            incremental_configs=[ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)])]))
        emit(step="incremental-invalid", key=key, value=value, error=error_of(future))

    def incremental(op, value):
        return error_of(only(admin.incremental_alter_configs([ConfigResource(
            ResourceType.TOPIC, topic,
            incremental_configs=[ConfigEntry("cleanup.policy", value, incremental_operation=op)])])))

    def policy():
        return describe(admin, ConfigResource(ResourceType.TOPIC, topic))["cleanup.policy"]["value"]

    result = incremental(AlterConfigOpType.APPEND, "delete")
    emit(step="append", result=result, cleanup_policy=policy())
    result = incremental(AlterConfigOpType.SUBTRACT, "compact")
    emit(step="subtract", result=result, cleanup_policy=policy())


if __name__ == "__main__":
    main(run)
