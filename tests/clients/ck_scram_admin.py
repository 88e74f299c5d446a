"""SCRAM credentials through confluent-kafka's AdminClient (AlterUserScramCredentials,
DescribeUserScramCredentials), over a PLAINTEXT listener, or any other with --config
KEY=VALUE (repeatable: security.protocol, sasl.*, ssl.*).

--upsert USER:MECHANISM:ITERATIONS:PASSWORD (repeatable), --delete USER:MECHANISM
(repeatable): one alteration request; prints {"altered": user, "error": null | text} per user.
--describe USER (repeatable; none: every user): prints {"described": user, "credentials":
[[mechanism, iterations], ...], "error": null | text} per user.
"""
from confluent_kafka.admin import (AdminClient, ScramCredentialInfo, ScramMechanism,
                                   UserScramCredentialDeletion, UserScramCredentialUpsertion)

from common import emit, main
import argparse


def error_text(future):
    try:
        return future.result(timeout=20), None
    except Exception as e:  # noqa: BLE001 - reported, the test asserts on it
        return None, str(e)


def run():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--upsert", action="append", default=[])
    p.add_argument("--delete", action="append", default=[])
    p.add_argument("--describe", action="append")
    p.add_argument("--config", action="append", default=[])
    args = p.parse_args()
    settings = dict(item.split("=", 1) for item in args.config)
    admin = AdminClient({"bootstrap.servers": args.bootstrap, **settings})
    alterations = []
    for item in args.upsert:
        user, mechanism, iterations, password = item.split(":", 3)
        info = ScramCredentialInfo(ScramMechanism[mechanism.replace("-", "_")], int(iterations))
        alterations.append(UserScramCredentialUpsertion(user, info, password.encode()))
    for item in args.delete:
        user, mechanism = item.split(":", 1)
        alterations.append(UserScramCredentialDeletion(user, ScramMechanism[mechanism.replace("-", "_")]))
    if alterations:
        for user, future in admin.alter_user_scram_credentials(alterations, request_timeout=20).items():
            _, error = error_text(future)
            emit(altered=user, error=error)
    if args.describe is not None:
        users = [u for u in args.describe if u != "*"]
        result = admin.describe_user_scram_credentials(users or None, request_timeout=20)
        if not isinstance(result, dict):
            descriptions, error = error_text(result)
            result = {u: d for u, d in (descriptions or {}).items()}
            if error:
                emit(described="*", credentials=[], error=error)
            for user, description in sorted(result.items()):
                emit(described=user, error=None, credentials=[
                    [i.mechanism.name.replace("_", "-"), i.iterations]
                    for i in description.scram_credential_infos])
            return
        for user, future in result.items():
            description, error = error_text(future)
            creds = [] if description is None else [
                [i.mechanism.name.replace("_", "-"), i.iterations]
                for i in description.scram_credential_infos]
            emit(described=user, credentials=creds, error=error)


if __name__ == "__main__":
    main(run)
