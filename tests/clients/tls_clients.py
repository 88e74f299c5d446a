"""Kafka clients over TLS: produce and consume back, or probe a TLS listener.

--mode:
  kp       kafka-python: produce --count records to partition 0, then consume them back.
  ck       confluent-kafka (librdkafka): the same.
  serial   Python's ssl module: handshake, print the broker certificate's serial number.
  refused  Python's ssl module: handshake and send an ApiVersions request; print how the broker
           refused the connection (no client certificate on a listener that requires one).
--cafile verifies the broker; --certfile / --keyfile are the client's certificate (optional).
Output: {"produced": n, "consumed": [values...]} | {"serial": "hex"} |
        {"refused": true, "error": "...", "seconds": s}.
"""
import socket
import ssl
import struct
import time

from common import emit, fail, main, parser


def host_port(bootstrap):
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    return host, int(port)


def values(args):
    return [f"{args.prefix}-{n}".encode() for n in range(args.count)]


def kafka_python(args):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    tls = {"security_protocol": "SSL", "ssl_cafile": args.cafile, "ssl_check_hostname": True}
    if args.certfile:
        tls.update(ssl_certfile=args.certfile, ssl_keyfile=args.keyfile)
    producer = KafkaProducer(bootstrap_servers=args.bootstrap.split(","), acks="all", **tls)
    for v in values(args):
        producer.send(args.topic, value=v, partition=0).get(timeout=20)
    producer.close(timeout=10)
    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap.split(","),
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=10000, **tls)
    consumer.assign([TopicPartition(args.topic, 0)])
    consumer.seek_to_beginning()
    got = []
    for m in consumer:
        got.append(m.value.decode())
        if len(got) >= args.count:
            break
    consumer.close()
    emit(produced=args.count, consumed=got)


def confluent(args):
    from confluent_kafka import Consumer, Producer, TopicPartition

    tls = {"bootstrap.servers": args.bootstrap, "security.protocol": "SSL",
           "ssl.ca.location": args.cafile,
           "ssl.endpoint.identification.algorithm": "https"}
    if args.certfile:
        tls.update({"ssl.certificate.location": args.certfile,
                    "ssl.key.location": args.keyfile})
    producer = Producer({**tls, "acks": "all", "message.timeout.ms": 20000})
    errors = []
    for v in values(args):
        producer.produce(args.topic, value=v, partition=0,
                         on_delivery=lambda err, _msg: err and errors.append(str(err)))
    if producer.flush(30) != 0 or errors:
        fail(f"delivery failed: {errors}")
    consumer = Consumer({**tls, "group.id": f"tls-{time.time()}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(args.topic, 0, 0)])
    got = []
    deadline = time.time() + 20
    while len(got) < args.count and time.time() < deadline:
        m = consumer.poll(1.0)
        if m is None:
            continue
        if m.error():
            fail(f"consume error: {m.error()}")
        got.append(m.value().decode())
    consumer.close()
    emit(produced=args.count, consumed=got)


def tls_socket(args):
    context = ssl.create_default_context(cafile=args.cafile)
    if args.certfile:
        context.load_cert_chain(args.certfile, args.keyfile)
    host, port = host_port(args.bootstrap)
    raw = socket.create_connection((host, port), timeout=10)
    return context.wrap_socket(raw, server_hostname=host)


def serial(args):
    with tls_socket(args) as s:
        emit(serial=s.getpeercert()["serialNumber"].lower())


def refused(args):
    start = time.time()
    try:
        with tls_socket(args) as s:
            # ApiVersions v0, correlation id 1, client id "tls-probe".
            client = b"tls-probe"
            body = struct.pack(">hhih", 18, 0, 1, len(client)) + client
            s.sendall(struct.pack(">i", len(body)) + body)
            data = s.recv(4)
            if data:
                fail(f"the broker answered without a client certificate: {data!r}")
            emit(refused=True, error="closed", seconds=time.time() - start)
    except (ssl.SSLError, ConnectionError) as e:
        emit(refused=True, error=f"{type(e).__name__}: {e}", seconds=time.time() - start)


def run():
    p = parser(__doc__)
    p.add_argument("--mode", required=True, choices=["kp", "ck", "serial", "refused"])
    p.add_argument("--cafile", required=True)
    p.add_argument("--certfile")
    p.add_argument("--keyfile")
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--prefix", default="tls")
    args = p.parse_args()
    {"kp": kafka_python, "ck": confluent, "serial": serial, "refused": refused}[args.mode](args)


if __name__ == "__main__":
    main(run)
