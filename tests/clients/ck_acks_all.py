"""Produce --count records with acks=all through confluent-kafka; prints {"delivered": n,
"errors": [...]} (exit 0 either way, the test decides)."""
from confluent_kafka import Producer

from common import emit, main, parser


def run():
    p = parser(__doc__)
    p.add_argument("--count", type=int, default=3)
    args = p.parse_args()
    producer = Producer({"bootstrap.servers": args.bootstrap, "acks": "all",
                         "message.timeout.ms": 10000})
    delivered, errors = [], []

    def on_delivery(err, msg):
        (errors.append(str(err)) if err else delivered.append(msg.offset()))

    for i in range(args.count):
        producer.produce(args.topic, value=f"r{i}".encode(), partition=0, on_delivery=on_delivery)
    producer.flush(15)
    emit(delivered=len(delivered), errors=errors)


if __name__ == "__main__":
    main(run)
