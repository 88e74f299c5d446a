"""kafka-python KafkaAdminClient and topic configs: what describe_configs reports for a broker
and a topic (value, source, read-only, synonyms), what create_topics, alter_configs and
incremental alter_configs answer for invalid compaction settings, and APPEND/SUBTRACT on
cleanup.policy. One JSON line per step:

  {"step": "created", "error_code", "sources": {name: source}}     CreateTopics v5+ configs
  {"step": "broker"|"topic", "configs": {name: {"value", "source", "read_only",
                                                "sensitive", "synonyms": [[n, v, source]]}}}
  {"step": "create-invalid"|"alter-invalid"|"incremental-invalid", "key", "value", "error"}
  {"step": "append"|"subtract", "cleanup_policy": ...}
"""
from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType, KafkaAdminClient

from common import emit, main, parser

# (key, value) pairs Kafka refuses with INVALID_CONFIG.
INVALID = [
    ("cleanup.policy", "shred"),
    ("cleanup.policy", "compact,Delete"),
    ("min.cleanable.dirty.ratio", "1.5"),
    ("min.compaction.lag.ms", "-1"),
    ("max.compaction.lag.ms", "0"),
    ("delete.retention.ms", "soon"),
]


def describe(admin, resource_type, name):
    res = admin.describe_configs([ConfigResource(resource_type, name)], include_synonyms=True,
                                 config_filter="all")
    configs = res[resource_type.name.lower()][name]
    return {k: {"value": v["value"], "source": v["config_source"], "read_only": v["read_only"],
                "sensitive": v["is_sensitive"],
                "synonyms": [[s["name"], s["value"], s["source"]] for s in v.get("synonyms", [])]}
            for k, v in configs.items()}


def alter_result(result, topic):
    """'OK' or the error kafka-python reports for the topic."""
    return result["topic"][topic]


def cleanup_policy(admin, topic):
    return describe(admin, ConfigResourceType.TOPIC, topic)["cleanup.policy"]["value"]


def run():
    p = parser(__doc__)
    p.add_argument("--broker-id", required=True)
    args = p.parse_args()
    topic = args.topic
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=20000)

    created = admin.create_topics(
        {topic: {"num_partitions": 1, "replication_factor": 1,
                 "configs": {"cleanup.policy": "compact", "min.compaction.lag.ms": "100"}}},
        timeout_ms=15000, raise_errors=False)["topics"][0]
    emit(step="created", error_code=created["error_code"],
         sources={k: v["config_source"] for k, v in (created.get("configs") or {}).items()})

    emit(step="broker", configs=describe(admin, ConfigResourceType.BROKER, args.broker_id))
    emit(step="topic", configs=describe(admin, ConfigResourceType.TOPIC, topic))

    for key, value in INVALID:
        res = admin.create_topics({f"{topic}-bad": {"num_partitions": 1, "replication_factor": 1,
                                                     "configs": {key: value}}},
                                  timeout_ms=15000, raise_errors=False)["topics"][0]
        emit(step="create-invalid", key=key, value=value, error_code=res["error_code"],
             error=res["error_message"])
        res = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={key: value})],
                                  incremental=False)
        emit(step="alter-invalid", key=key, value=value, error=alter_result(res, topic))
        res = admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs={key: (AlterConfigOp.SET, value)})],
            incremental=True)
        emit(step="incremental-invalid", key=key, value=value, error=alter_result(res, topic))

    # The refused alterations left the topic as it was; lists grow and shrink item by item.
    res = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                              configs={"cleanup.policy": (AlterConfigOp.APPEND, "delete")})],
                              incremental=True)
    emit(step="append", result=alter_result(res, topic), cleanup_policy=cleanup_policy(admin, topic))
    res = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                              configs={"cleanup.policy": (AlterConfigOp.SUBTRACT, "compact")})],
                              incremental=True)
    emit(step="subtract", result=alter_result(res, topic), cleanup_policy=cleanup_policy(admin, topic))
    res = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                              configs={"retention.ms": (AlterConfigOp.APPEND, "5")})],
                              incremental=True)
    emit(step="append-invalid", result=alter_result(res, topic))
    admin.close()


if __name__ == "__main__":
    main(run)
