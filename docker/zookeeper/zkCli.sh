#!/bin/bash
# zkCli.sh on PATH, as in the official image. Debian's script finds zkEnv.sh next to itself,
# so it cannot be symlinked: call it where it lives.
exec /usr/share/zookeeper/bin/zkCli.sh "$@"
