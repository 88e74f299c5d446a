"""One ACL or client operation per run, with confluent-kafka, printing one JSON line:
  create   <bootstrap> <type> <name> <pattern> <principal> <operation> <permission>
  describe <bootstrap> <type|any> <name|-> <pattern>
  delete   <bootstrap> <type|any> <name|-> <pattern> <permission|any>
  produce  <bootstrap> <topic> <count> [partitions]   (spread round-robin over partitions)
  topic    <bootstrap> <topic> <partitions> <replication factor>
           (CreateTopics; prints {"created", "leaders": [leader of each partition]})
  consume  <bootstrap> <topic> <group> <count>   (subscribes; reports the first error code)
  await    <bootstrap> <topic> <partitions> <count>
           waits until the topic is visible, then reads <count> records from its partitions
           (assigned, no group), retrying refusals; first prints {"ready", "visible"} (whether
           Metadata showed the topic at the start), then when and after what it got them.
Operations and types are Kafka's names (TOPIC, READ, ALLOW, LITERAL, ...).
`-X key=value` anywhere: client settings for every client (security.protocol, sasl.*, ssl.*);
times are Unix seconds, so a test can compare them with another process's."""
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType,
                                   AdminClient, NewTopic, ResourcePatternType, ResourceType)

from common import emit, fail, take_settings


def binding_json(b):
    return {"type": b.restype.name, "name": b.name, "pattern": b.resource_pattern_type.name,
            "principal": b.principal, "host": b.host, "operation": b.operation.name,
            "permission": b.permission_type.name}


def error_code(e):
    if isinstance(e, KafkaException):
        e = e.args[0]
    return e.name() if hasattr(e, "name") else str(e)


def shown(consumer, topic, partitions):
    t = consumer.list_topics(topic, timeout=5).topics.get(topic)
    return t is not None and t.error is None and len(t.partitions) == partitions


def wait_and_read(bootstrap, settings, topic, partitions, count):
    # Refused fetches are retried after fetch.error.backoff.ms: keep it short, the test
    # measures how soon a grant takes effect.
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "await", **settings,
                  "enable.auto.commit": False, "fetch.error.backoff.ms": 20})
    emit(ready=True, visible=shown(c, topic, partitions))
    deadline = time.time() + 20
    while not shown(c, topic, partitions):
        if time.time() > deadline:
            fail(f"{topic} never shown")
        time.sleep(0.02)
    visible_at = time.time()
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got, refusals = [], set()
    while len(got) < count and time.time() < deadline:
        m = c.poll(0.05)
        if m is None:
            continue
        if m.error():
            refusals.add(m.error().name())
            continue
        got.append((m.partition(), m.value().decode()))
    c.close()
    emit(visible_at=visible_at, consumed_at=time.time(), consumed=len(got),
         partitions=sorted({p for p, _ in got}), refusals=sorted(refusals))


def main():
    settings, argv = take_settings(sys.argv[1:])
    op, bootstrap, args = argv[0], argv[1], argv[2:]
    admin = AdminClient({"bootstrap.servers": bootstrap, **settings})
    if op == "create":
        t, name, pattern, principal, operation, permission = args
        b = AclBinding(ResourceType[t], name, ResourcePatternType[pattern], principal, "*",
                       AclOperation[operation], AclPermissionType[permission])
        try:
            for f in admin.create_acls([b], request_timeout=15).values():
                f.result(timeout=30)
            emit(created=True, at=time.time())
        except KafkaException as e:
            emit(created=False, error=error_code(e))
    elif op in ("describe", "delete"):
        t, name, pattern = args[0], args[1], args[2]
        permission = AclPermissionType[args[3]] if len(args) > 3 else AclPermissionType.ANY
        f = AclBindingFilter(ResourceType[t.upper()], None if name == "-" else name,
                             ResourcePatternType[pattern], None, None, AclOperation.ANY, permission)
        try:
            if op == "describe":
                found = admin.describe_acls(f, request_timeout=15).result(timeout=30)
            else:
                found = [b for fut in admin.delete_acls([f], request_timeout=15).values()
                         for b in fut.result(timeout=30)]
            emit(acls=sorted((binding_json(b) for b in found), key=lambda j: sorted(j.items())))
        except KafkaException as e:
            emit(error=error_code(e))
    elif op == "produce":
        topic, count = args[0], int(args[1])
        spread = int(args[2]) if len(args) > 2 else 0
        errors = []
        p = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 10000, **settings})
        for i in range(count):
            where = {"partition": i % spread} if spread else {}
            p.produce(topic, f"m{i}".encode(), **where,
                      on_delivery=lambda err, _m: errors.append(err.name()) if err else None)
        p.flush(20)
        emit(produced=count - len(errors), errors=sorted(set(errors)))
    elif op == "consume":
        topic, group, count = args[0], args[1], int(args[2])
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, **settings,
                      "auto.offset.reset": "earliest", "enable.auto.commit": False,
                      "error_cb": lambda e: errors.append(e.name())})
        errors = []
        c.subscribe([topic])
        got = []
        deadline = time.time() + 15
        while len(got) < count and time.time() < deadline and not errors:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    errors.append(m.error().name())
                continue
            got.append(m.value().decode())
        c.close()
        emit(consumed=len(got), errors=sorted(set(errors)))
    elif op == "topic":
        topic, partitions, rf = args[0], int(args[1]), int(args[2])
        try:
            for f in admin.create_topics([NewTopic(topic, partitions, rf)],
                                         request_timeout=15).values():
                f.result(timeout=30)
        except KafkaException as e:
            emit(created=False, error=error_code(e))
            return
        deadline = time.time() + 15
        while True:
            t = admin.list_topics(topic, timeout=5).topics.get(topic)
            leaders = [] if t is None or t.error else [
                t.partitions[p].leader for p in sorted(t.partitions)]
            if len(leaders) == partitions and all(l >= 0 for l in leaders):
                break
            if time.time() > deadline:
                fail(f"{topic}: no leader for every partition: {leaders}")
            time.sleep(0.1)
        emit(created=True, leaders=leaders)
    elif op == "await":
        wait_and_read(bootstrap, settings, args[0], int(args[1]), int(args[2]))
    else:
        fail(f"unknown operation {op}")


if __name__ == "__main__":
    main()
