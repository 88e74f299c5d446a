#!/bin/bash
# Entry point of the stand-in ZooKeeper image, following the official image's
# docker-entrypoint.sh (31z4/zookeeper-docker, 3.5+ layout): writes $ZOO_CONF_DIR/zoo.cfg from
# ZOO_* variables unless it exists, writes $ZOO_DATA_DIR/myid unless it exists, then runs the
# command (by default `zkServer.sh start-foreground`).
set -euo pipefail

config="$ZOO_CONF_DIR/zoo.cfg"

if [[ ! -f "$config" ]]; then
    {
        echo "dataDir=$ZOO_DATA_DIR"
        echo "dataLogDir=$ZOO_DATA_LOG_DIR"
        echo "tickTime=$ZOO_TICK_TIME"
        echo "initLimit=$ZOO_INIT_LIMIT"
        echo "syncLimit=$ZOO_SYNC_LIMIT"
        echo "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT"
        echo "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL"
        echo "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS"
        echo "standaloneEnabled=$ZOO_STANDALONE_ENABLED"
        echo "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"
        if [[ -n "${ZOO_4LW_COMMANDS_WHITELIST:-}" ]]; then
            echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
        fi
        # Space-separated key=value pairs, one line each.
        for line in ${ZOO_CFG_EXTRA:-}; do
            echo "$line"
        done
        # 3.5+ form: `server.N=host:peer:election;clientPort`, space-separated.
        if [[ -z "${ZOO_SERVERS:-}" ]]; then
            echo "server.1=localhost:2888:3888;2181"
        else
            for server in $ZOO_SERVERS; do
                echo "$server"
            done
        fi
    } >"$config"
fi

if [[ ! -f "$ZOO_DATA_DIR/myid" ]]; then
    echo "${ZOO_MY_ID:-1}" >"$ZOO_DATA_DIR/myid"
fi

exec "$@"
