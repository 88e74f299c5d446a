"""confluent-kafka AdminClient and dynamic broker configs: IncrementalAlterConfigs SET on a
broker resource (librdkafka refuses the empty name of the cluster default, so only broker ids)
and DescribeConfigs of a broker or a topic. One JSON line:

  --set k=v ...:   {"step": "alter", "error": "OK" | "<ERROR_NAME>: <message>"}
  --describe:      {"step": "describe", "configs": {name: {"value", "source", "read_only",
                                                            "sensitive", "synonyms": [[n, v, source]]}}}
"""
from confluent_kafka import KafkaException
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   ConfigSource, ResourceType)

from common import emit, main, parser


def source(s):
    return ConfigSource(s).name if isinstance(s, int) else s.name


def run():
    p = parser(__doc__)
    p.add_argument("--resource-type", choices=["broker", "topic"], default="broker")
    p.add_argument("--name", required=True)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--validate-only", action="store_true")
    p.add_argument("--describe", action="store_true")
    args = p.parse_args()
    kind = ResourceType.BROKER if args.resource_type == "broker" else ResourceType.TOPIC
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    if args.set:
        entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                   for k, v in (kv.split("=", 1) for kv in args.set)]
        resource = ConfigResource(kind, args.name, incremental_configs=entries)
        (future,) = admin.incremental_alter_configs(
            [resource], validate_only=args.validate_only).values()
        try:
            future.result(timeout=30)
            emit(step="alter", error="OK")
        except KafkaException as e:
            err = e.args[0]
            emit(step="alter", error=f"{err.name()}: {err.str()}")
    if args.describe:
        (future,) = admin.describe_configs([ConfigResource(kind, args.name)]).values()
        configs = {k: {"value": e.value, "source": source(e.source), "read_only": e.is_read_only,
                       "sensitive": e.is_sensitive,
                       "synonyms": [[s.name, s.value, source(s.source)]
                                    for s in e.synonyms.values()]}
                   for k, e in future.result(timeout=30).items()}
        emit(step="describe", configs=configs)


if __name__ == "__main__":
    main(run)
