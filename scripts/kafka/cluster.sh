#!/usr/bin/env bash
# Local three-node Kafka (KRaft, combined broker+controller) cluster on loopback.
#
#   cluster.sh start            fetch jars, format storage once, start all 3, wait until ready
#   cluster.sh stop [--purge]   SIGTERM all, SIGKILL after 30 s; --purge (or KD_PURGE=1) wipes data
#   cluster.sh status           one line per broker
#   cluster.sh kill N           kill -9 broker N (fault tests)
#   cluster.sh restart N        start broker N again on its existing data, wait until it is back
#
# Every broker listens three ways on loopback (issue 15, a secured Kafka):
#   PLAINTEXT  port base + N          what the services use by default, and the brokers among themselves
#   SASL_SSL   port base + 50 + N     TLS, then SCRAM-SHA-512 or -256 as user "shop"
#   SSL        port base + 60 + N     mutual TLS: the client shows a certificate of our CA
# The CA, the brokers' and a client's certificate (openssl) and the SCRAM user's password are made once
# into $KD_VAR/kafka/tls (kept across restarts; the CA and client files are what `make up` hands to the
# services when KD_KAFKA_SECURITY asks for it, see scripts/local/services.sh).
#
# Env: KD_VAR (default <repo>/.var), KD_CACHE (default <repo>/.cache),
#      KD_KAFKA_PORT_BASE (9092), KD_KAFKA_CONTROLLER_PORT_BASE (19092),
#      KD_KAFKA_START_TIMEOUT (seconds, default 90),
#      KD_KAFKA_HOSTS (default: 127.0.0.1 for each): broker N's address, the Nth of a comma-separated list,
#        on which it listens and which it advertises (the fault tests' test hosts, tests/chaos/hosts.py),
#      KD_KAFKA_NETNS (default none): broker N runs inside network namespace N of this list (ip netns exec),
#      KD_KAFKA_JVM_OPTS (default below): the brokers' heap and collector flags (bench/ab.py compares them),
#      KD_KAFKA_CONFIG (default none): server.properties lines "key=value;key=value" added after ours, which
#        they override (Java's Properties keeps the last), e.g. "num.io.threads=4;replica.fetch.wait.max.ms=50".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
var="${KD_VAR:-$repo/.var}"
kvar="$var/kafka"
logdir="$var/logs"
libs="${KD_CACHE:-$repo/.cache}/kafka/libs"
log4j="$here/log4j.properties"
port_base="${KD_KAFKA_PORT_BASE:-9092}"
ctl_base="${KD_KAFKA_CONTROLLER_PORT_BASE:-19092}"
start_timeout="${KD_KAFKA_START_TIMEOUT:-90}"
ids=(0 1 2)
# Half a GiB each: three brokers with room to spare on a small machine. G1 with a 20 ms pause goal is what
# Kafka's own start script uses.
read -r -a jvm_opts <<<"${KD_KAFKA_JVM_OPTS:--Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20}"
IFS=',' read -r -a hosts <<<"${KD_KAFKA_HOSTS:-127.0.0.1,127.0.0.1,127.0.0.1}"
IFS=',' read -r -a netns <<<"${KD_KAFKA_NETNS:-}"
tls="$kvar/tls"
scram_user=shop

die() { echo "cluster: $*" >&2; exit 1; }

port_of() { echo $((port_base + $1)); }
host_of() { echo "${hosts[$1]:?KD_KAFKA_HOSTS names no address for broker $1}"; }
sasl_port_of() { echo $((port_base + 50 + $1)); }
mtls_port_of() { echo $((port_base + 60 + $1)); }
bdir() { echo "$kvar/broker-$1"; }
pidfile() { echo "$(bdir "$1")/kafka.pid"; }
logfile() { echo "$logdir/kafka-$1.log"; }

# Pid of broker N if it is alive, else nothing. Checks the command line too,
# so a stale pid file whose pid got reused is not mistaken for a broker.
broker_pid() {
  local f pid
  f="$(pidfile "$1")"
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  if kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$(bdir "$1")/server.properties"; then
    echo "$pid"
  fi
}

check_id() { [[ "${1:-}" =~ ^[0-2]$ ]] || die "broker id must be 0, 1 or 2 (got '${1:-}')"; }

ensure_kcat() {
  command -v kcat >/dev/null && return 0
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  echo "cluster: installing kafkacat" >&2
  "${sudo[@]}" apt-get install -y -q kafkacat >/dev/null ||
    { "${sudo[@]}" apt-get update -q >/dev/null && "${sudo[@]}" apt-get install -y -q kafkacat >/dev/null; }
}

# Serialise start/stop/kill/restart: parallel test jobs may call us at once.
# fd 9 is closed for the JVMs (see launch) so they don't hold the lock.
take_lock() {
  mkdir -p "$kvar"
  exec 9>"$kvar/.lock"
  flock 9
}

# Broker N's plaintext port accepts connections.
port_open() { (exec 3<>"/dev/tcp/$(host_of "$1")/$(port_of "$1")") 2>/dev/null; }

# Broker ids listed in the metadata returned by broker N.
metadata_ids() {
  kcat -b "$(host_of "$1"):$(port_of "$1")" -L -m 3 2>/dev/null | sed -n 's/^ *broker \([0-9]*\) at .*/\1/p' | sort -n | tr '\n' ' ' || true
}

write_config() {
  local n=$1 d voters="" i
  d="$(bdir "$n")"
  local h
  h="$(host_of "$n")"
  for i in "${ids[@]}"; do voters+="${voters:+,}$i@$(host_of "$i"):$((ctl_base + i))"; done
  mkdir -p "$d/data"
  # Regenerated every start so port/env changes take effect; data is kept.
  cat >"$d/server.properties" <<EOF
# Generated by scripts/kafka/cluster.sh -- edits are overwritten.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://$h:$(port_of "$n"),CONTROLLER://$h:$((ctl_base + n)),SASL_SSL://$h:$(sasl_port_of "$n"),SSL://$h:$(mtls_port_of "$n")
advertised.listeners=PLAINTEXT://$h:$(port_of "$n"),SASL_SSL://$h:$(sasl_port_of "$n"),SSL://$h:$(mtls_port_of "$n")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL

# The secured listeners: PEM files made by this script (make_tls), no Java keystore needed. The brokers'
# certificate names 127.0.0.1 only, so a client that verifies host names must connect to that address.
ssl.keystore.type=PEM
ssl.keystore.location=$tls/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.ssl.ssl.client.auth=required
log.dirs=$d/data

# Few threads: three brokers share two cores. By turns against 2/4 and Kafka's 3/8 (bench/results/
# ab-broker-threads.md, medians of 3): 6,524 against 5,230 and 5,181 orders/s at 64 connections, p50 6.2
# against 8.3 and 11.8 ms at 2000/s; the same within noise at 500 and 1000/s.
num.network.threads=1
num.io.threads=2
# Small machine, 3 nodes: RF 2 so one broker can be killed in fault tests.
num.partitions=3
default.replication.factor=2
min.insync.replicas=1
offsets.topic.replication.factor=2
transaction.state.log.replication.factor=2
transaction.state.log.min.isr=1
# Fewer internal partitions than the default 50: quicker first group/txn use.
offsets.topic.num.partitions=12
transaction.state.log.num.partitions=12
# Tests create their topics explicitly (our admin tool sets per-topic RF/ISR).
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
unclean.leader.election.enable=false
# Combined nodes: once two have stopped, the last one has no controller quorum
# to approve a controlled shutdown and would hang for 5 min on SIGTERM. Logs
# are still closed cleanly; a stopped node is fenced after the session timeout.
controlled.shutdown.enable=false
# Without controlled shutdown, a re-started node can only re-register once its
# old session has expired; a shorter session (default 9 s) makes start-after-
# stop and fencing of a killed node quicker. Heartbeats are local, so cheap.
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1500
EOF
  if [[ -n "${KD_KAFKA_CONFIG:-}" ]]; then
    echo "# From KD_KAFKA_CONFIG: these override the above." >>"$d/server.properties"
    tr ';' '\n' <<<"$KD_KAFKA_CONFIG" >>"$d/server.properties"
  fi
}

# The CA, the brokers' certificate (127.0.0.1) and a client certificate for mutual TLS, made once. Keys are
# unencrypted PKCS#8 PEM, readable by the owner only: this is a local test cluster, not a place for secrets.
make_tls() {
  [[ -s "$tls/ca.pem" && -s "$tls/broker.pem" && -s "$tls/client.pem" && -s "$tls/$scram_user.password" ]] && return 0
  command -v openssl >/dev/null || die "openssl is needed for the secured listeners (scripts/install-deps.sh installs it)"
  rm -rf "$tls"
  mkdir -p "$tls"
  chmod 700 "$tls"
  (
    cd "$tls"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
      -subj "/CN=kafka-demo local CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    issue() { # name subject extensions
      openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
      printf '%s\n' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -extfile "$1.ext" \
        -out "$1.crt" 2>/dev/null
      rm -f "$1.csr" "$1.ext"
    }
    issue broker "/CN=kafka-demo broker" \
      "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth"
    issue client "/CN=$scram_user" "extendedKeyUsage=clientAuth"
    cat broker.key broker.crt >broker.pem
    mv client.crt client.pem
    rm -f broker.crt ca.srl
    openssl rand -hex 24 >"$scram_user.password"
  ) || die "making the TLS files in $tls failed"
  echo "cluster: made a CA, broker and client certificates and a SCRAM password in $tls"
}

# The SCRAM user the SASL_SSL listener accepts (both mechanisms, one request each: Kafka refuses two changes
# of one user in a request), set once per cluster through the plaintext listener. The password goes in a
# file, not on the command line, where ps would show it.
add_scram_user() {
  local request="$tls/scram.properties" mechanism out done="$tls/scram-user.cluster"
  # Once per cluster (its id): the metadata log keeps the user across restarts.
  [[ -s "$done" && "$(cat "$done")" == "$(cluster_id)" ]] && return 0
  for mechanism in SCRAM-SHA-512 SCRAM-SHA-256; do
    # A properties file takes the credential without the brackets --add-config wants.
    (umask 077 && printf '%s=password=%s\n' "$mechanism" "$(cat "$tls/$scram_user.password")" >"$request")
    if ! out="$(java -cp "$libs/*" -Dlog4j.configuration="file:$log4j" kafka.admin.ConfigCommand \
      --bootstrap-server "$(host_of 0):$(port_of 0)" --alter --entity-type users --entity-name "$scram_user" \
      --add-config-file "$request" 2>&1)"; then
      rm -f "$request"
      printf '%s\n' "$out" | grep -v password >&2
      die "could not set the $mechanism credential of user $scram_user"
    fi
  done
  rm -f "$request"
  cluster_id >"$done"
  echo "cluster: SCRAM user $scram_user (password in $tls/$scram_user.password)"
}

# One cluster id for all three nodes, made once and kept in the var dir
# (recovered from an existing meta.properties if the file went missing).
cluster_id() {
  local f="$kvar/cluster.id" id="" i
  if [[ -s "$f" ]]; then cat "$f"; return; fi
  for i in "${ids[@]}"; do
    [[ -f "$(bdir "$i")/data/meta.properties" ]] &&
      id="$(sed -n 's/^cluster.id=//p' "$(bdir "$i")/data/meta.properties")" && [[ -n "$id" ]] && break
  done
  if [[ -z "$id" ]]; then
    # No log4j config here: log4j's complaints go to stderr, stdout is the id.
    id="$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tr -d '[:space:]')"
  fi
  [[ -n "$id" ]] || die "could not generate a cluster id"
  echo "$id" >"$f"
  echo "$id"
}

format_if_needed() {
  local n=$1 d out
  d="$(bdir "$n")"
  [[ -f "$d/data/meta.properties" ]] && return 0
  # kafka-storage.sh format == kafka.tools.StorageTool (in kafka_2.13 for 3.9).
  if ! out="$(java -cp "$libs/*" -Dlog4j.configuration="file:$log4j" \
    kafka.tools.StorageTool format -t "$(cluster_id)" -c "$d/server.properties" 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "formatting storage of broker $n failed"
  fi
  echo "cluster: formatted storage of broker $n"
}

launch() {
  local n=$1 d log
  d="$(bdir "$n")"
  log="$(logfile "$n")"
  mkdir -p "$logdir"
  # Keep the previous run's log for post-mortems, but don't grow forever.
  [[ -f "$log" ]] && mv -f "$log" "$log.1"
  rm -f "$(pidfile "$n")"
  local -a inside=()
  if [[ -n "${netns[$n]:-}" ]]; then inside=(ip netns exec "${netns[$n]}"); fi
  # The GC log (every pause, with its wall time) lets make bench put the latency tail beside the pauses.
  # setsid + nohup: the JVM survives this script and its terminal; the inner
  # shell writes its own pid then execs java, so the pid file is the JVM's.
  # shellcheck disable=SC2016 # $$ and $1 are for the inner shell
  setsid nohup "${inside[@]}" bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$(pidfile "$n")" \
    java "${jvm_opts[@]}" -Djava.awt.headless=true \
    "-Xlog:gc:file=$logdir/kafka-$n-gc.log:time,uptime:filecount=2,filesize=10m" \
    -cp "$libs/*" -Dlog4j.configuration="file:$log4j" \
    kafka.Kafka "$d/server.properties" </dev/null >>"$log" 2>&1 9>&- &
  local i
  for i in $(seq 50); do [[ -s "$(pidfile "$n")" ]] && break; sleep 0.1; done
}

fail_with_log() {
  local n=$1
  local log
  log="$(logfile "$n")"
  # The cause is often well before the tail (shutdown noise follows a fatal error).
  if grep -qE '^\[[^]]*\] (ERROR|FATAL) ' "$log" 2>/dev/null; then
    echo "cluster: first errors in $log:" >&2
    grep -m 5 -A 2 -E '^\[[^]]*\] (ERROR|FATAL) ' "$log" >&2 || true
  fi
  echo "cluster: broker $n not ready; last 30 lines of $log:" >&2
  tail -n 30 "$log" >&2 || true
  echo "cluster: other brokers left running; use '$0 stop' to clean up" >&2
  exit 1
}

# Wait until every broker in $1 (space-separated ids) answers on its own port
# with metadata listing all brokers in $2.
wait_ready() {
  local want_up="$1" want_meta="$2" t0=$SECONDS last=0 n ok pending
  while :; do
    pending=""
    for n in $want_up; do
      [[ -n "$(broker_pid "$n")" ]] || { echo "cluster: broker $n exited during start-up" >&2; fail_with_log "$n"; }
      ok=0
      if port_open "$n" && [[ "$(metadata_ids "$n")" == "$want_meta" ]]; then ok=1; fi
      ((ok)) || pending+="$n "
    done
    [[ -z "$pending" ]] && { echo "cluster: ready after $((SECONDS - t0)) s"; return 0; }
    if ((SECONDS - t0 >= start_timeout)); then
      fail_with_log "${pending%% *}"
    fi
    if ((SECONDS - last >= 5)); then
      echo "cluster: waiting for broker(s) ${pending% } ... $((SECONDS - t0)) s"
      last=$SECONDS
    fi
    sleep 1
  done
}

cmd_start() {
  "$here/fetch.sh"
  ensure_kcat
  take_lock
  make_tls
  local n started="" running=0
  for n in "${ids[@]}"; do
    if [[ -n "$(broker_pid "$n")" ]]; then running=$((running + 1)); continue; fi
    write_config "$n"
    format_if_needed "$n"
  done
  if ((running == ${#ids[@]})); then
    echo "cluster: already running (pids $(for n in "${ids[@]}"; do broker_pid "$n"; done | paste -sd' '))"
    return 0
  fi
  for n in "${ids[@]}"; do
    [[ -n "$(broker_pid "$n")" ]] && continue
    launch "$n"
    started+="$n "
  done
  echo "cluster: launched broker(s) ${started% } (logs in $logdir)"
  wait_ready "${ids[*]}" "${ids[*]} "
  add_scram_user
}

stop_pids() {
  # $@: broker ids. SIGTERM all at once (controlled shutdown in parallel),
  # then wait up to 30 s before SIGKILL.
  local n pid t0=$SECONDS alive
  declare -A pids=()
  for n in "$@"; do
    pid="$(broker_pid "$n")"
    if [[ -n "$pid" ]]; then pids[$n]=$pid; kill -TERM "$pid" 2>/dev/null || true; fi
  done
  while :; do
    alive=""
    for n in "${!pids[@]}"; do kill -0 "${pids[$n]}" 2>/dev/null && alive+="$n "; done
    [[ -z "$alive" ]] && break
    if ((SECONDS - t0 >= 30)); then
      for n in $alive; do
        echo "cluster: broker $n did not stop in 30 s, killing" >&2
        kill -KILL "${pids[$n]}" 2>/dev/null || true
      done
      sleep 1
      break
    fi
    sleep 0.5
  done
  for n in "$@"; do rm -f "$(pidfile "$n")"; done
  if ((${#pids[@]})); then echo "cluster: stopped broker(s) $(printf '%s\n' "${!pids[@]}" | sort -n | paste -sd' ')"; fi
}

cmd_stop() {
  local purge="${KD_PURGE:-0}"
  [[ "${1:-}" == "--purge" ]] && purge=1
  [[ -d "$kvar" ]] || { echo "cluster: not running (nothing in $kvar)"; return 0; }
  take_lock
  local n any=0
  for n in "${ids[@]}"; do [[ -n "$(broker_pid "$n")" ]] && any=1; done
  if ((any)); then stop_pids "${ids[@]}"; else
    echo "cluster: not running"
    for n in "${ids[@]}"; do rm -f "$(pidfile "$n")"; done
  fi
  if [[ "$purge" == 1 ]]; then
    for n in "${ids[@]}"; do rm -rf "$(bdir "$n")"; done
    rm -f "$kvar/cluster.id"
    rm -rf "$tls"
    echo "cluster: purged data in $kvar"
  fi
}

cmd_status() {
  local n pid
  for n in "${ids[@]}"; do
    pid="$(broker_pid "$n")"
    if [[ -n "$pid" ]]; then
      echo "broker $n: running pid $pid ($(host_of "$n"):$(port_of "$n"), SASL_SSL :$(sasl_port_of "$n"), mTLS :$(mtls_port_of "$n"))"
    else
      echo "broker $n: stopped"
    fi
  done
}

cmd_kill() {
  check_id "${1:-}"
  take_lock
  local n=$1 pid
  pid="$(broker_pid "$n")"
  [[ -n "$pid" ]] || { echo "cluster: broker $n is not running"; return 0; }
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$(pidfile "$n")"
  echo "cluster: killed broker $n (pid $pid)"
}

cmd_restart() {
  check_id "${1:-}"
  local n=$1 pid
  "$here/fetch.sh" >/dev/null
  ensure_kcat
  take_lock
  pid="$(broker_pid "$n")"
  if [[ -n "$pid" ]]; then echo "cluster: broker $n already running (pid $pid)"; return 0; fi
  [[ -f "$(bdir "$n")/data/meta.properties" ]] || die "broker $n has no formatted storage; use 'start'"
  make_tls
  write_config "$n"
  launch "$n"
  echo "cluster: launched broker $n"
  # Ready when its own port serves metadata that includes itself.
  local t0=$SECONDS last=0
  while :; do
    [[ -n "$(broker_pid "$n")" ]] || { echo "cluster: broker $n exited during start-up" >&2; fail_with_log "$n"; }
    if port_open "$n" && [[ " $(metadata_ids "$n")" == *" $n "* ]]; then
      echo "cluster: broker $n ready after $((SECONDS - t0)) s"
      return 0
    fi
    ((SECONDS - t0 >= start_timeout)) && fail_with_log "$n"
    if ((SECONDS - last >= 5)); then echo "cluster: waiting for broker $n ... $((SECONDS - t0)) s"; last=$SECONDS; fi
    sleep 1
  done
}

case "${1:-}" in
  start) cmd_start ;;
  stop) shift; cmd_stop "$@" ;;
  status) cmd_status ;;
  kill) cmd_kill "${2:-}" ;;
  restart) cmd_restart "${2:-}" ;;
  *)
    echo "usage: $0 {start|stop [--purge]|status|kill N|restart N}" >&2
    exit 2
    ;;
esac
