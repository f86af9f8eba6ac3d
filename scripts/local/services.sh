#!/usr/bin/env bash
# Runs the whole topology on this machine as the seed runs it in Kubernetes: gateway, order-N and
# repository-N for each region N, and statistics, each a process whose POD_NAME gives its partition.
#
#   services.sh start [NAME…]  create the topics (idempotently; an existing topic with fewer partitions than
#                              regions is grown, one with more is refused), start every service (or those
#                              named) not yet running, wait until each is ready
#   services.sh stop [NAME…]   SIGTERM in front-to-back order (gateway first), SIGKILL after the grace period;
#                              one line per service with its exit status and how long it took; exit status 1
#                              unless each stopped by itself with status 0
#   services.sh kill NAME…     SIGKILL, no grace (fault tests); `start NAME` brings it back
#   services.sh status         one line per service
#
# Growing a running shop: `REGIONS=<more names> services.sh start` adds the topic's partitions and starts the
# new order and repository instances; the gateway and statistics take up the new partitions by themselves.
#
# Env (defaults in brackets): REGIONS [陕北,关中,陕南], the regions' names in partition order: their number is
# the number of partitions and of order and repository instances (1 to 10 here: order-N listens on
# KD_ORDER_PORT_BASE + N); KD_VAR [<repo>/.var] for logs/, state/, run/; KD_BIN [<repo>/build/release/bin];
# KD_BROKERS [127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094]; KD_TOPIC [order]; KD_GATEWAY_PORT,
# KD_ORDER_PORT_BASE, KD_REPOSITORY_PORT_BASE, KD_STATISTICS_PORT [scripts/local/ports.env];
# KD_KAFKA_SECURITY [plaintext], or sasl_ssl or mtls to use the cluster's secured listeners (security.sh);
# KD_STATE_DIR [$KD_VAR/state], the consumers' STATE_DIR.
# For the fault tests' test hosts (tests/chaos/hosts.py): KD_NETNS_PREFIX [none] runs each service NAME inside
# network namespace <prefix>NAME, listening on all its addresses, the gateway finding the others by host name
# (order-N, repository-N, statistics: the namespaces' /etc/netns hosts files); KD_EXEC_WRAPPER [none], a
# command the services named are started under (`env LD_PRELOAD=… FAKETIME=…` for a clock step).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
source "$here/ports.sh"
var="${KD_VAR:-$repo/.var}"
bin="${KD_BIN:-$repo/build/release/bin}"
brokers="${KD_BROKERS:-127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094}"
topic="${KD_TOPIC:-order}"
gateway_port="$KD_GATEWAY_PORT"
order_base="$KD_ORDER_PORT_BASE"
repository_base="$KD_REPOSITORY_PORT_BASE"
statistics_port="$KD_STATISTICS_PORT"
regions="${REGIONS:-陕北,关中,陕南}"
logs="$var/logs"
run="$var/run"
state="${KD_STATE_DIR:-$var/state}"
netns_prefix="${KD_NETNS_PREFIX:-}"
read -r -a wrapper <<<"${KD_EXEC_WRAPPER:-}"
source "$here/security.sh"

die() { echo "services: $*" >&2; exit 1; }
[[ "$order_base" == *0 ]] || die "KD_ORDER_PORT_BASE must end in 0 (order-N listens on base + N)"
[[ "$repository_base" == *0 ]] || die "KD_REPOSITORY_PORT_BASE must end in 0 (repository-N listens on base + N)"
IFS=',' read -r -a region_names <<<"$regions"
partitions=${#region_names[@]}
((partitions >= 1 && partitions <= 10)) ||
  die "REGIONS names $partitions regions; here 1 to 10 (order-N listens on KD_ORDER_PORT_BASE + N)"

port_of() {
  case "$1" in
    gateway) echo "$gateway_port" ;;
    statistics) echo "$statistics_port" ;;
    order-*) echo $((order_base + ${1#order-})) ;;
    repository-*) echo $((repository_base + ${1#repository-})) ;;
  esac
}

pid_of() {
  local file="$run/$1.pid" pid
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

# Every instance of a kind: one per region, and any other still running (started with more regions).
instances() {
  local kind="$1" n file
  {
    for ((n = 0; n < partitions; n++)); do echo "$kind-$n"; done
    for file in "$run/$kind"-*.pid; do
      if [[ -e "$file" && -n "$(pid_of "$(basename "$file" .pid)")" ]]; then basename "$file" .pid; fi
    done
  } | sort -t- -k2,2n -u
}

# Start order matters: consumers first (they wait for records), then the writers, then the front door.
mapfile -t services < <(echo statistics; instances repository; instances order; echo gateway)

launch() {
  local name="$1" port binary
  port="$(port_of "$name")"
  binary="${name%-[0-9]*}"
  [[ -x "$bin/$binary" ]] || die "$bin/$binary is not built (run: make build)"
  if [[ -n "$(pid_of "$name")" ]]; then
    echo "services: $name is already running"
    return
  fi
  local -a extra=() inside=()
  local listen=127.0.0.1 order_host=127.0.0.1 repository_host=127.0.0.1 statistics_host=127.0.0.1
  if [[ -n "$netns_prefix" ]]; then
    inside=(ip netns exec "$netns_prefix$name")
    listen=0.0.0.0 order_host="order-{partition}" repository_host="repository-{partition}" statistics_host=statistics
  fi
  if [[ "$binary" == gateway ]]; then
    # Kubernetes gives each order pod its own DNS name; here each gets its own port, 8100 + partition,
    # which the template spells as "810{partition}".
    extra=(--order-url "http://$order_host:${order_base%0}{partition}/submit-order")
    # The order tracking and the console ask the warehouses and statistics how far they have got.
    extra+=(--repository-url "http://$repository_host:${repository_base%0}{partition}")
    extra+=(--statistics-url "http://$statistics_host:$statistics_port")
  fi
  # POD_NAME plays the downward API's part; the rest is the environment a ConfigMap gives. A small shell
  # waits for the service, as a kubelet would, to keep its exit status ($run/NAME.exit): `stop` reports it,
  # so a service killed, or ending with a failure, is seen. The pid file names the service itself.
  rm -f "$run/$name.pid" "$run/$name.exit"
  # shellcheck disable=SC2016  # expanded by the waiting shell
  setsid nohup "${inside[@]}" env "${kafka_security_env[@]}" POD_NAME="$name" LISTEN="$listen:$port" KAFKA_BROKERS="$brokers" \
    KAFKA_TOPIC="$topic" KAFKA_PARTITIONS="$partitions" REGIONS="$regions" STATE_DIR="$state" \
    bash -c 'pid_file="$1" exit_file="$2"; shift 2; "$@" & echo $! >"$pid_file.new"; mv "$pid_file.new" "$pid_file"
             wait $!; echo $? >"$exit_file"' waiter "$run/$name.pid" "$run/$name.exit" \
    "${wrapper[@]}" "$bin/$binary" "${extra[@]}" >>"$logs/$name.log" 2>&1 </dev/null &
  local waited=0
  until [[ -s "$run/$name.pid" ]]; do
    ((waited++ < 100)) || die "$name: no pid after 10 s (log: $logs/$name.log)"
    sleep 0.1
  done
}

wait_ready() {
  local name="$1" port deadline
  port="$(port_of "$name")"
  deadline=$((SECONDS + 30))
  local -a inside=()
  if [[ -n "$netns_prefix" ]]; then inside=(ip netns exec "$netns_prefix$name"); fi
  until "${inside[@]}" curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; do
    if [[ -z "$(pid_of "$name")" ]]; then
      tail -n 20 "$logs/$name.log" >&2 || true
      die "$name exited during start-up (log: $logs/$name.log)"
    fi
    ((SECONDS < deadline)) || die "$name not ready after 30 s (log: $logs/$name.log)"
    sleep 0.2
  done
}

known() { [[ " ${services[*]} " == *" $1 "* ]] || die "no service '$1' (one of: ${services[*]})"; }

start() {
  local -a names=("$@")
  ((${#names[@]})) || names=("${services[@]}")
  for name in "${names[@]}"; do known "$name"; done
  mkdir -p "$logs" "$run" "$state"
  # REGIONS is the shop's wish: a topic with fewer partitions gets the missing ones (Kafka can add
  # partitions, never remove them, so one with more is refused, and nothing starts).
  env "${kafka_security_env[@]}" "$bin/kafka-demo-admin" --brokers "$brokers" --topic "$topic" --partitions "$partitions" \
    create-topic --grow
  for name in "${names[@]}"; do launch "$name"; done
  for name in "${names[@]}"; do wait_ready "$name"; done
  if (($# == 0)); then
    echo "services: all ${#services[@]} running; gateway on http://127.0.0.1:$gateway_port, logs in $logs"
    echo "services: Kafka at $brokers ($security)"
    echo "services: the live console is http://127.0.0.1:$gateway_port/console/"
  else
    echo "services: started ${names[*]}"
  fi
}

# What became of a service that was running and now is not, from its waiting shell's record: one line, and
# false unless it exited with status 0. `signalled` is when SIGTERM was sent ($EPOCHREALTIME), or empty.
exit_report() {
  local name="$1" signalled="$2" status="" waited=0
  # The waiting shell writes the status a moment after the process is gone.
  until [[ -s "$run/$name.exit" ]] || ((waited++ >= 50)); do sleep 0.1; done
  [[ -s "$run/$name.exit" ]] && status="$(cat "$run/$name.exit")"
  if [[ -z "$signalled" ]]; then
    echo "services: $name had already exited, with status ${status:-unknown}"
    return 1
  fi
  local took
  took="$(awk -v a="$signalled" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')"
  echo "services: stopped $name: exit status ${status:-unknown}, $took s after SIGTERM"
  [[ "$status" == 0 ]]
}

stop() {
  local -a order names=()
  local -A signalled=()
  local failed=0
  mapfile -t order < <(echo gateway; instances order; instances repository; echo statistics)
  for name in "${order[@]}"; do
    if (($# == 0)) || [[ " $* " == *" $name "* ]]; then names+=("$name"); fi
  done
  for name in "$@"; do known "$name"; done
  for name in "${names[@]}"; do
    local pid
    pid="$(pid_of "$name")"
    if [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null; then signalled[$name]="$EPOCHREALTIME"; fi
    # The gateway drains before the order instances stop, so no request meets a closed order service.
    if [[ "$name" == gateway ]]; then wait_gone "$name"; fi
  done
  for name in "${names[@]}"; do
    wait_gone "$name"
    # Started by us and gone: report how it ended (a pid file without a process is a service that died).
    if [[ -f "$run/$name.pid" ]]; then exit_report "$name" "${signalled[$name]:-}" || failed=1; fi
    rm -f "$run/$name.pid"
  done
  echo "services: stopped${1:+ $*}"
  if ((failed)); then
    echo "services: not every service stopped by itself with exit status 0 within the $stop_grace_s s grace period (logs in $logs)" >&2
    return 1
  fi
}

kill_now() {
  (($#)) || die "kill needs service names"
  for name in "$@"; do
    known "$name"
    local pid
    pid="$(pid_of "$name")"
    [[ -n "$pid" ]] || { echo "services: $name is not running"; continue; }
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    rm -f "$run/$name.pid"
    echo "services: killed $name (pid $pid)"
  done
}

# Kubernetes' grace period is 30 s; the services drain within SHUTDOWN_TIMEOUT_MS (20 s) of SIGTERM.
stop_grace_s=25
wait_gone() {
  local name="$1" pid deadline
  pid="$(pid_of "$name")"
  [[ -n "$pid" ]] || return 0
  deadline=$((SECONDS + stop_grace_s))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "services: $name did not stop within $stop_grace_s s of SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
}

status() {
  for name in "${services[@]}"; do
    local pid
    pid="$(pid_of "$name")"
    if [[ -n "$pid" ]]; then
      printf '%-13s running (pid %s, port %s)\n' "$name" "$pid" "$(port_of "$name")"
    else
      printf '%-13s stopped\n' "$name"
    fi
  done
}

command="${1:-}"
shift || true
case "$command" in
  start) start "$@" ;;
  stop) stop "$@" ;;
  kill) kill_now "$@" ;;
  status) status ;;
  *) die "usage: services.sh start [NAME…] | stop [NAME…] | kill NAME… | status" ;;
esac
