"""Produce and consume over a SASL_PLAINTEXT listener with kafka-python or confluent-kafka;
over SASL_SSL when --cafile (the CA that signed the broker's certificate) is given.

--mode roundtrip: produce --count records ("v0", "v1", ...) to partition 0 with acks=all, then
read them back from the beginning; prints {"produced": n} and {"consumed": [values]}.
--mode denied: try to produce one record with credentials expected to be refused; prints
{"delivered": bool, "auth_error": bool, "error": text, "seconds": elapsed} (exit 0 either way).
--mode describe-scram: DescribeUserScramCredentials of --user itself through kafka-python's
admin client (confluent-kafka 2.16 crashes on a refused one: librdkafka keeps the refusal's
message in a stack buffer); prints {"described": result} or {"error": text}.
--mode unauthorized (kafka-python): authenticate, try to produce one record to a topic the
user has no ACL for; prints {"delivered": bool, "error": "<exception class>: <text>"}.
Every wait is bounded by --timeout seconds.
"""
import logging
import os
import sys
import time

from common import emit, fail, main, parser


def kp_config(args):
    config = dict(bootstrap_servers=args.bootstrap.split(","), security_protocol="SASL_PLAINTEXT",
                  sasl_mechanism=args.mechanism, sasl_plain_username=args.user,
                  sasl_plain_password=args.password)
    if args.cafile:
        config.update(security_protocol="SASL_SSL", ssl_cafile=args.cafile,
                      ssl_check_hostname=True)
    return config


def ck_config(args):
    config = {"bootstrap.servers": args.bootstrap, "security.protocol": "SASL_PLAINTEXT",
              "sasl.mechanisms": args.mechanism, "sasl.username": args.user,
              "sasl.password": args.password}
    if args.cafile:
        config.update({"security.protocol": "SASL_SSL", "ssl.ca.location": args.cafile,
                       "ssl.endpoint.identification.algorithm": "https"})
    return config


class Seen(logging.Handler):
    """Collects kafka-python's log lines about authentication failures."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        text = record.getMessage()
        if "Authentication" in text or "SaslAuthenticationFailed" in text:
            self.lines.append(text)


def kp_roundtrip(args):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    producer = KafkaProducer(acks="all", max_block_ms=int(args.timeout * 1000), **kp_config(args))
    for i in range(args.count):
        producer.send(args.topic, value=f"v{i}".encode(), partition=0).get(timeout=args.timeout)
    producer.close()
    emit(produced=args.count)
    consumer = KafkaConsumer(consumer_timeout_ms=int(args.timeout * 1000), **kp_config(args))
    tp = TopicPartition(args.topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    values = []
    for message in consumer:
        values.append(message.value.decode())
        if len(values) >= args.count:
            break
    consumer.close()
    emit(consumed=values)


def ck_roundtrip(args):
    from confluent_kafka import Consumer, Producer, TopicPartition
    producer = Producer({**ck_config(args), "acks": "all",
                         "message.timeout.ms": int(args.timeout * 1000)})
    errors = []
    for i in range(args.count):
        producer.produce(args.topic, value=f"v{i}".encode(), partition=0,
                         on_delivery=lambda err, msg: err and errors.append(str(err)))
    if producer.flush(args.timeout) != 0 or errors:
        fail(f"produce failed: {errors}")
    emit(produced=args.count)
    consumer = Consumer({**ck_config(args), "group.id": "sasl-test", "enable.auto.commit": False})
    consumer.assign([TopicPartition(args.topic, 0, 0)])
    values = []
    deadline = time.monotonic() + args.timeout
    while len(values) < args.count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            values.append(message.value().decode())
    consumer.close()
    emit(consumed=values)


def kp_unauthorized(args):
    """Authenticated, then refused by the authorizer: the exception names the refusal."""
    from kafka import KafkaProducer
    producer = KafkaProducer(max_block_ms=int(args.timeout * 1000), **kp_config(args))
    try:
        producer.send(args.topic, value=b"x").get(timeout=args.timeout)
        emit(delivered=True, error="")
    except Exception as e:  # noqa: BLE001 - the refusal is the expected outcome
        emit(delivered=False, error=f"{type(e).__name__}: {e}"[:2000])
    producer.close(timeout=1)


def kp_denied(args):
    """kafka-python retries a refused bootstrap until its own timeout: the producer runs in a
    thread, and the first authentication error it logs is the answer."""
    import threading
    from kafka import KafkaProducer
    seen = Seen()
    logging.getLogger("kafka").addHandler(seen)
    logging.getLogger("kafka").setLevel(logging.DEBUG)
    outcome = {"delivered": False, "error": ""}

    def attempt():
        try:
            producer = KafkaProducer(max_block_ms=int(args.timeout * 1000), **kp_config(args))
            producer.send(args.topic, value=b"x").get(timeout=args.timeout)
            outcome["delivered"] = True
        except Exception as e:  # noqa: BLE001 - any failure is the expected outcome
            outcome["error"] = f"{type(e).__name__}: {e}"

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    deadline = time.monotonic() + args.timeout
    while thread.is_alive() and not seen.lines and time.monotonic() < deadline:
        time.sleep(0.05)
    text = outcome["error"] + " " + " ".join(seen.lines)
    return outcome["delivered"], bool(seen.lines) or "Authentication" in text, text


def ck_denied(args):
    from confluent_kafka import KafkaError, Producer
    errors = []
    producer = Producer({**ck_config(args), "message.timeout.ms": int(args.timeout * 1000),
                         "error_cb": lambda err: errors.append(err)})
    delivered = []
    producer.produce(args.topic, value=b"x",
                     on_delivery=lambda err, msg: delivered.append(err is None))
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and not delivered:
        producer.poll(0.2)
        if any(e.code() == KafkaError._AUTHENTICATION for e in errors):
            break
    auth = any(e.code() == KafkaError._AUTHENTICATION for e in errors)
    return any(delivered), auth, "; ".join(str(e) for e in errors)


def run():
    p = parser(__doc__)
    p.add_argument("--client", choices=["kp", "ck"], required=True)
    p.add_argument("--mode", choices=["roundtrip", "denied", "describe-scram", "unauthorized"],
                   default="roundtrip")
    p.add_argument("--mechanism", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--cafile", help="SASL_SSL, verifying the broker with this CA (PEM)")
    args = p.parse_args()
    if args.mode == "describe-scram":
        from kafka import KafkaAdminClient
        admin = KafkaAdminClient(request_timeout_ms=int(args.timeout * 1000), **kp_config(args))
        try:
            emit(described=str(admin.describe_user_scram_credentials([args.user])))
        except Exception as e:  # noqa: BLE001 - the refusal is what the test asserts on
            emit(error=f"{type(e).__name__}: {e}")
        admin.close()
        return
    if args.mode == "roundtrip":
        (kp_roundtrip if args.client == "kp" else ck_roundtrip)(args)
        return
    if args.mode == "unauthorized":
        if args.client != "kp":
            fail("--mode unauthorized is kafka-python's only")
        kp_unauthorized(args)
        return
    start = time.monotonic()
    delivered, auth_error, error = (kp_denied if args.client == "kp" else ck_denied)(args)
    emit(delivered=delivered, auth_error=auth_error, error=error[:2000],
         seconds=round(time.monotonic() - start, 2))
    # kafka-python's threads may still be retrying: leave without waiting for them.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(run)
