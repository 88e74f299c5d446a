"""Leader elections through an admin client: kafka-python's KafkaAdminClient.elect_leaders
(kp) or confluent-kafka's AdminClient.elect_leaders (ck).

Usage: elect_leaders.py kp|ck --bootstrap B --election-type preferred|unclean --partition t:0 ...

Prints one line: {"results": {"t:0": error name or null}}; the error name is the Kafka error
(e.g. "ELECTION_NOT_NEEDED") for each partition the cluster answered.
"""
import argparse

from common import emit, main


def kafka_python(args, partitions):
    from kafka import KafkaAdminClient
    from kafka.errors import for_code

    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap.split(","))
    topics = {}
    for topic, partition in partitions:
        topics.setdefault(topic, []).append(partition)
    election = 0 if args.election_type == "preferred" else 1
    response = admin.elect_leaders(election, topics, timeout_ms=15000, raise_errors=False)
    results = {}
    for topic in response.replica_election_results:
        for p in topic.partition_result:
            error = for_code(p.error_code)
            name = None if p.error_code == 0 else error.message
            results[f"{topic.topic}:{p.partition_id}"] = name
    admin.close()
    return results


def confluent(args, partitions):
    from confluent_kafka import ElectionType, TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    election = ElectionType.PREFERRED if args.election_type == "preferred" else ElectionType.UNCLEAN
    # Keyword arguments (request_timeout, operation_timeout) fail in confluent-kafka 2.16's C
    # binding ("more argument specifiers than keyword list entries"): the defaults it is.
    future = admin.elect_leaders(election, [TopicPartition(t, p) for t, p in partitions])
    results = {}
    for tp, error in future.result(timeout=30).items():
        # A KafkaError (2.16), or a KafkaException wrapping one.
        error = getattr(error, "args", [error])[0]
        results[f"{tp.topic}:{tp.partition}"] = None if error is None else error.name()
    return results


def run():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("client", choices=["kp", "ck"])
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--election-type", choices=["preferred", "unclean"], required=True)
    p.add_argument("--partition", action="append", required=True, help="topic:partition")
    args = p.parse_args()
    partitions = []
    for item in args.partition:
        topic, _, partition = item.rpartition(":")
        partitions.append((topic, int(partition)))
    elect = kafka_python if args.client == "kp" else confluent
    emit(results=elect(args, partitions))


if __name__ == "__main__":
    main(run)
