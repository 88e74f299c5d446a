"""Helpers shared by the client scripts: JSON-lines output and argument parsing.

Every script prints one JSON object per line on stdout (what the Rust tests assert on) and, on
failure, a message on stderr and a non-zero exit status.
"""
import argparse
import json
import sys
import traceback


def emit(**fields):
    """Print one JSON line and flush, so a test reading the stream sees it at once."""
    print(json.dumps(fields, sort_keys=True), flush=True)


def fail(message):
    print(f"{sys.argv[0]}: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def to_hex(data):
    return None if data is None else data.hex()


def from_hex(text):
    return None if text is None else bytes.fromhex(text)


def text_or_none(data):
    """Bytes as text for readable assertions; undecodable bytes are replaced."""
    return None if data is None else data.decode("utf-8", errors="replace")


def api_version(text):
    """"0.10" -> (0, 10); kafka-python takes the broker version as a tuple."""
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad api version {text!r}, expected e.g. 0.10")


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--bootstrap", required=True, help="host:port of a broker (comma-separated for several)")
    p.add_argument("--topic", required=True)
    return p


def main(run):
    """Run `run()`, turning any exception into a message on stderr and exit status 1."""
    try:
        run()
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - report everything, including KeyboardInterrupt
        traceback.print_exc(file=sys.stderr)
        fail(f"{type(e).__name__}: {e}")


def take_settings(argv):
    """Removes `-X key=value` pairs (kcat's form: client settings such as security.protocol)
    from `argv` and returns them as a dict, for scripts whose other arguments are positional."""
    settings, rest = {}, []
    items = iter(argv)
    for item in items:
        if item == "-X":
            key, _, value = next(items, "").partition("=")
            if not key or not value:
                fail(f"-X needs key=value, got {key!r}")
            settings[key] = value
        else:
            rest.append(item)
    return settings, rest
