"""kafka-python's admin client and dynamic broker configs: AlterConfigs (the non-incremental
API, which replaces the broker's whole dynamic set) on a broker id, then DescribeConfigs of
that broker with synonyms. One JSON line each:

  {"step": "alter", "error": "OK" | "<ErrorName>"}
  {"step": "describe", "configs": {name: {"value", "source"}}}
"""
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from common import emit, main, parser


def run():
    p = parser(__doc__)
    p.add_argument("--broker-id", required=True)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args()
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=30000)
    try:
        configs = dict(kv.split("=", 1) for kv in args.set)
        result = admin.alter_configs(
            [ConfigResource(ConfigResourceType.BROKER, args.broker_id, configs=configs)],
            raise_on_unknown=False, incremental=False)
        emit(step="alter", result=repr(result))
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.BROKER, args.broker_id)],
            include_synonyms=True, config_filter="all")
        flat = {}
        for by_name in described.values():
            for configs in by_name.values():
                for name, c in configs.items():
                    flat[name] = {"value": c.get("value"), "source": str(c.get("config_source"))}
        emit(step="configs", configs=flat)
    finally:
        admin.close()


if __name__ == "__main__":
    main(run)
