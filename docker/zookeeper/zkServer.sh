#!/bin/bash
# `zkServer.sh start-foreground [CONFIG]` as in the official image, for Debian's package: its own
# zkServer.sh hard-codes /etc/zookeeper and /var/log/zookeeper and has no logging binding, so
# the JVM is started directly, logging to the console (`docker logs`).
# `zkServer.sh status` prints the `srvr` four-letter word's answer (Mode: leader|follower|...).
set -euo pipefail

case "${1:-}" in
    start-foreground)
        config="${2:-$ZOO_CONF_DIR/zoo.cfg}"
        # JVMFLAGS (server and zkCli) and SERVER_JVMFLAGS (server only, e.g. its JAAS file),
        # as upstream's zkServer.sh takes them: lists of JVM options, word splitting intended.
        # shellcheck disable=SC2086
        exec java ${SERVER_JVMFLAGS:-} $JVMFLAGS \
            -Dzookeeper.log.dir="$ZOO_LOG_DIR" \
            -Dlog4j.configuration=file:/usr/local/lib/zookeeper-docker/log4j.properties \
            -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar \
            org.apache.zookeeper.server.quorum.QuorumPeerMain "$config"
        ;;
    status)
        exec 3<>/dev/tcp/127.0.0.1/"${ZOO_CLIENT_PORT:-2181}"
        printf 'srvr' >&3
        answer="$(timeout 5 cat <&3)"
        echo "$answer"
        grep -qE '^Mode: (leader|follower|standalone)' <<<"$answer"
        ;;
    *)
        echo "usage: zkServer.sh start-foreground [CONFIG] | status" >&2
        exit 2
        ;;
esac
