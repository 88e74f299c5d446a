"""One ACL or client operation per run, with confluent-kafka, printing one JSON line:
  create   <bootstrap> <type> <name> <pattern> <principal> <operation> <permission>
  describe <bootstrap> <type|any> <name|-> <pattern>
  delete   <bootstrap> <type|any> <name|-> <pattern> <permission|any>
  produce  <bootstrap> <topic> <count>
  consume  <bootstrap> <topic> <group> <count>   (subscribes; reports the first error code)
Operations and types are Kafka's names (TOPIC, READ, ALLOW, LITERAL, ...)."""
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType,
                                   AdminClient, ResourcePatternType, ResourceType)

from common import emit, fail


def binding_json(b):
    return {"type": b.restype.name, "name": b.name, "pattern": b.resource_pattern_type.name,
            "principal": b.principal, "host": b.host, "operation": b.operation.name,
            "permission": b.permission_type.name}


def error_code(e):
    if isinstance(e, KafkaException):
        e = e.args[0]
    return e.name() if hasattr(e, "name") else str(e)


def main():
    op, bootstrap, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    if op == "create":
        t, name, pattern, principal, operation, permission = args
        b = AclBinding(ResourceType[t], name, ResourcePatternType[pattern], principal, "*",
                       AclOperation[operation], AclPermissionType[permission])
        try:
            for f in admin.create_acls([b], request_timeout=15).values():
                f.result(timeout=30)
            emit(created=True)
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
        errors = []
        p = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 10000})
        for i in range(count):
            p.produce(topic, f"m{i}".encode(),
                      on_delivery=lambda err, _m: errors.append(err.name()) if err else None)
        p.flush(20)
        emit(produced=count - len(errors), errors=sorted(set(errors)))
    elif op == "consume":
        topic, group, count = args[0], args[1], int(args[2])
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
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
    else:
        fail(f"unknown operation {op}")


if __name__ == "__main__":
    main()
