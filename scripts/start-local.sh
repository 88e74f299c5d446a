#!/usr/bin/env bash
# Starts a two-broker cluster on this machine, for trying the brokers with real clients (the
# tutorial's bootstrap_servers=['localhost:29092', 'localhost:39092']):
#   ZooKeeper  127.0.0.1:2181   (standalone, Debian's package, JVM started directly)
#   broker 1   127.0.0.1:29092  (target/release/broker, log dir .local-cluster/broker-1)
#   broker 2   127.0.0.1:39092  (same binary, log dir .local-cluster/broker-2)
# State, logs and PID files live under <repo>/.local-cluster/. Stop with scripts/stop-local.sh.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

state="$repo/.local-cluster"
zk_dir="$state/zookeeper"
zk_port=2181
# Broker id -> listener port.
declare -A broker_ports=([1]=29092 [2]=39092)
broker_config="$repo/config/broker.yaml"

export DEBIAN_FRONTEND=noninteractive

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

# True while the process in PID file $1 is alive.
running() {
    [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# Polls until $1 (a command) succeeds or $2 seconds pass.
wait_for() {
    local check="$1" seconds="$2" i
    for ((i = 0; i < seconds * 10; i++)); do
        if $check; then return 0; fi
        sleep 0.1
    done
    return 1
}

# ZooKeeper is serving once `srvr` reports a mode (`ruok` answers even without a quorum).
zk_ready() {
    local reply
    reply="$( (exec 3<>"/dev/tcp/127.0.0.1/$zk_port" && printf srvr >&3 && cat <&3) 2>/dev/null || true)"
    grep -q '^Mode: ' <<<"$reply"
}

# True once something accepts connections on 127.0.0.1:$1.
broker_ready() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

mkdir -p "$state" "$zk_dir/data"

# --- ZooKeeper ------------------------------------------------------------------------------
if [ "$(dpkg-query -W -f='${Status}' zookeeper 2>/dev/null)" != "install ok installed" ]; then
    echo "start-local: installing ZooKeeper (Debian package)" >&2
    as_root apt-get update -q
    as_root apt-get install -y -q --no-install-recommends zookeeper zookeeper-bin
fi

if running "$state/zookeeper.pid"; then
    echo "start-local: ZooKeeper already running (pid $(cat "$state/zookeeper.pid"))" >&2
else
    cat >"$zk_dir/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$zk_dir/data
clientPort=$zk_port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
CFG
    # Debian's zkServer.sh has no slf4j binding and writes no log; starting the JVM directly
    # with log4j gives us one.
    cat >"$zk_dir/log4j.properties" <<CFG
log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$state/zookeeper.log
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n
CFG
    if zk_ready; then
        echo "start-local: something else already answers on 127.0.0.1:$zk_port; stop it first" >&2
        exit 1
    fi
    echo "start-local: starting ZooKeeper on 127.0.0.1:$zk_port" >&2
    nohup java -Xms32m -Xmx256m -XX:+UseSerialGC \
        -Dzookeeper.preAllocSize=4096 \
        "-Dlog4j.configuration=file:$zk_dir/log4j.properties" \
        -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$zk_dir/zoo.cfg" \
        >"$state/zookeeper.out" 2>&1 </dev/null &
    echo $! >"$state/zookeeper.pid"
    if ! wait_for zk_ready 30; then
        echo "start-local: ZooKeeper did not become ready; see $state/zookeeper.log and zookeeper.out" >&2
        tail -n 20 "$state/zookeeper.out" "$state/zookeeper.log" >&2 || true
        exit 1
    fi
fi

# --- brokers --------------------------------------------------------------------------------
if [ ! -f "$broker_config" ]; then
    echo "start-local: $broker_config is missing" >&2
    exit 1
fi
echo "start-local: building the broker and Kafka's tools (release)" >&2
cargo build --release -p broker -p kafka-tools
bash "$repo/scripts/install-tools.sh" "$state/bin" >/dev/null 2>&1

for broker_id in 1 2; do
    broker_port="${broker_ports[$broker_id]}"
    if running "$state/broker-$broker_id.pid"; then
        echo "start-local: broker $broker_id already running (pid $(cat "$state/broker-$broker_id.pid"))" >&2
        continue
    fi
    if broker_ready "$broker_port"; then
        echo "start-local: something else already listens on 127.0.0.1:$broker_port; stop it first" >&2
        exit 1
    fi
    mkdir -p "$state/broker-$broker_id"
    echo "start-local: starting broker $broker_id on 127.0.0.1:$broker_port" >&2
    RUST_LOG="${RUST_LOG:-info}" nohup "$repo/target/release/broker" \
        --config "$broker_config" \
        --override "broker.id=$broker_id" \
        --override "zookeeper.connect=127.0.0.1:$zk_port" \
        --override "listeners=PLAINTEXT://127.0.0.1:$broker_port" \
        --override "log.dirs=$state/broker-$broker_id" \
        >"$state/broker-$broker_id.log" 2>&1 </dev/null &
    echo $! >"$state/broker-$broker_id.pid"
    if ! wait_for "broker_ready $broker_port" 60; then
        echo "start-local: broker $broker_id did not accept connections on 127.0.0.1:$broker_port" >&2
        tail -n 30 "$state/broker-$broker_id.log" >&2 || true
        exit 1
    fi
done

cat <<MSG
Local cluster is up:
  ZooKeeper  127.0.0.1:$zk_port   (pid $(cat "$state/zookeeper.pid"), log $state/zookeeper.log)
  broker 1   127.0.0.1:${broker_ports[1]}  (pid $(cat "$state/broker-1.pid"), log $state/broker-1.log)
  broker 2   127.0.0.1:${broker_ports[2]}  (pid $(cat "$state/broker-2.pid"), log $state/broker-2.log)
Clients: bootstrap_servers=['localhost:${broker_ports[1]}', 'localhost:${broker_ports[2]}']
Tools:   export PATH="$state/bin:\$PATH"   (kafka-topics, kafka-consumer-groups, ... with or without .sh)
         kafka-topics --bootstrap-server localhost:${broker_ports[1]} --list
Inspect: /usr/share/zookeeper/bin/zkCli.sh -server 127.0.0.1:$zk_port ls /brokers/ids
Stop:    scripts/stop-local.sh   (data stays in $state; delete it for a clean start)
MSG
