"""kafka-python KafkaAdminClient group administration against --group.

Prints, in order:
  {"step": "list", "groups": [[group_id, protocol_type, state], ...]}          list_groups()
  {"step": "describe", "state": s, "protocol_type": t, "members": n, "error": e} describe_groups
  {"step": "offsets", "offsets": {"topic/partition": offset}}                  list_group_offsets
  {"step": "delete", "result": ...}                                            delete_groups
  {"step": "list-after", "groups": [...]}
"""
from kafka import KafkaAdminClient

from common import emit, main
import argparse


def run():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--group", required=True)
    args = p.parse_args()
    admin = KafkaAdminClient(bootstrap_servers=[args.bootstrap])

    def listed():
        out = []
        for g in admin.list_groups():
            d = g if isinstance(g, dict) else {"group_id": g[0], "protocol_type": g[1]}
            out.append([d.get("group_id"), d.get("protocol_type"), d.get("group_state")])
        return sorted(out)

    emit(step="list", groups=listed())
    described = admin.describe_groups([args.group])
    d = described[args.group] if isinstance(described, dict) else described[0]
    d = d if isinstance(d, dict) else d._asdict()
    emit(step="describe", state=d.get("group_state"), protocol_type=d.get("protocol_type"),
         members=len(d.get("members") or []), error=d.get("error"))
    offsets = admin.list_group_offsets({args.group: None})
    group_offsets = offsets.get(args.group, offsets)
    emit(step="offsets", offsets={f"{tp.topic}/{tp.partition}": om.offset
                                  for tp, om in group_offsets.items()})
    result = admin.delete_groups([args.group])
    emit(step="delete", result=repr(result))
    emit(step="list-after", groups=listed())
    admin.close()


if __name__ == "__main__":
    main(run)
