"""An aiokafka group consumer: AIOKafkaConsumer(--topic, group_id=--group,
auto_offset_reset='earliest', enable_auto_commit=False); commits after each batch and stops
after --expect records. Output: one line per record {"partition", "offset", "value"}, then
{"event": "committed", "partitions": {"p": offset}} from consumer.committed().
"""
import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

from common import emit, main, parser


async def consume(args):
    consumer = AIOKafkaConsumer(
        args.topic, bootstrap_servers=args.bootstrap, group_id=args.group,
        auto_offset_reset="earliest", enable_auto_commit=False,
        session_timeout_ms=6000, heartbeat_interval_ms=1000)
    await consumer.start()
    try:
        count = 0
        while count < args.expect:
            batches = await asyncio.wait_for(consumer.getmany(timeout_ms=500), 30)
            for tp, records in batches.items():
                for r in records:
                    count += 1
                    emit(partition=r.partition, offset=r.offset, value=r.value.decode())
            if batches:
                await consumer.commit()
        committed = {}
        for tp in consumer.assignment():
            committed[str(tp.partition)] = await consumer.committed(tp)
        emit(event="committed", partitions=committed)
    finally:
        await consumer.stop()


def run():
    p = parser(__doc__)
    p.add_argument("--group", required=True)
    p.add_argument("--expect", type=int, required=True)
    args = p.parse_args()
    asyncio.run(consume(args))


if __name__ == "__main__":
    main(run)
