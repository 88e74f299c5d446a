"""kafka-python KafkaAdminClient against the cluster: create, describe configs, alter configs,
create partitions, describe cluster, list and delete topics. One JSON line per step."""
import sys
import time

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic

from common import emit, fail


def topic_configs(admin, topic):
    """{key: value} of every config of `topic` (kafka-python 3: nested dicts per resource)."""
    res = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")
    return {k: v["value"] for k, v in res["topic"][topic].items()}


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)
    admin.create_topics(
        [NewTopic(topic, num_partitions=2, replication_factor=2, topic_configs={"retention.ms": "123456"})],
        timeout_ms=15000,
    )
    emit(step="created", topics=sorted(admin.list_topics()))
    configs = topic_configs(admin, topic)
    emit(step="described", retention=configs.get("retention.ms"), cleanup=configs.get("cleanup.policy"))
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "999"})])
    configs = topic_configs(admin, topic)
    emit(step="altered", retention=configs.get("retention.ms"))
    admin.create_partitions({topic: NewPartitions(total_count=3)}, timeout_ms=15000)
    described = admin.describe_topics([topic])
    emit(step="partitions", count=len(described[0]["partitions"]))
    cluster = admin.describe_cluster()
    emit(step="cluster", brokers=len(cluster["brokers"]), controller=cluster["controller_id"])
    admin.delete_topics([topic], timeout_ms=15000)
    deadline = time.time() + 20
    while topic in admin.list_topics():
        if time.time() > deadline:
            fail("topic still listed after delete")
        time.sleep(0.2)
    emit(step="deleted", topics=sorted(admin.list_topics()))
    admin.close()


if __name__ == "__main__":
    main()
