"""confluent-kafka AdminClient against the cluster: create, describe/alter configs, create
partitions, list and delete topics. One JSON line per step."""
import sys
import time

from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from common import emit, fail


def wait(futures):
    for f in futures.values():
        f.result(timeout=30)


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    wait(admin.create_topics(
        [NewTopic(topic, num_partitions=2, replication_factor=2, config={"cleanup.policy": "compact"})],
        operation_timeout=15,
    ))
    md = admin.list_topics(timeout=10)
    emit(step="created", topics=sorted(md.topics), brokers=len(md.brokers), controller=md.controller_id)
    res = admin.describe_configs([ConfigResource("topic", topic)])
    configs = {k: v.value for k, v in list(res.values())[0].result(timeout=30).items()}
    emit(step="described", cleanup=configs.get("cleanup.policy"), retention=configs.get("retention.ms"))
    wait(admin.alter_configs([ConfigResource("topic", topic, set_config={"retention.ms": "4242"})]))
    res = admin.describe_configs([ConfigResource("topic", topic)])
    configs = {k: v.value for k, v in list(res.values())[0].result(timeout=30).items()}
    emit(step="altered", retention=configs.get("retention.ms"), cleanup=configs.get("cleanup.policy"))
    wait(admin.create_partitions([NewPartitions(topic, 4)], operation_timeout=15))
    deadline = time.time() + 20
    while len(admin.list_topics(timeout=10).topics[topic].partitions) < 4:
        if time.time() > deadline:
            fail("partitions not added")
        time.sleep(0.2)
    emit(step="partitions", count=len(admin.list_topics(timeout=10).topics[topic].partitions))
    wait(admin.delete_topics([topic], operation_timeout=15))
    deadline = time.time() + 20
    while topic in admin.list_topics(timeout=10).topics:
        if time.time() > deadline:
            fail("topic still listed after delete")
        time.sleep(0.2)
    emit(step="deleted", topics=sorted(admin.list_topics(timeout=10).topics))


if __name__ == "__main__":
    main()
