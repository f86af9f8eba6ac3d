#!/usr/bin/env bash
# make demo: on a fresh machine, install what is missing, build, start a fresh three-broker Kafka and all
# the services (gateway, order-N and repository-N per region, statistics), run the seed's scenario, print
# the seed's verification table from what the services logged, and stop everything it started. Exit status
# 0 only if every order checks out.
#
# Env: REGIONS [陕北,关中,陕南], the regions' names (1 to 10): one partition, order and repository instance
# and three orders each, e.g. REGIONS=陕北,关中,陕南,西安,宝鸡 make demo (15 orders); KD_VAR [<repo>/.var/demo] (the demo's own: wiped at start); KD_SKIP_BUILD=1 to use the
# binaries in KD_BIN as they are; KD_REUSE_CLUSTER=1 to use an already running cluster (KD_BROKERS) and a
# fresh topic instead of starting one (the end-to-end test does this). Ports as in services.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export KD_VAR="${KD_VAR:-$repo/.var/demo}"
export KD_BIN="${KD_BIN:-$repo/build/release/bin}"
source "$here/ports.sh"
statistics_port="$KD_STATISTICS_PORT"
export REGIONS="${REGIONS:-陕北,关中,陕南}"
IFS=',' read -r -a region_names <<<"$REGIONS"
last=$((${#region_names[@]} - 1))

step() { printf '\n==> %s\n' "$*"; }

if [[ "${KD_SKIP_BUILD:-0}" != 1 ]]; then
  step "Installing what is missing"
  "$repo/scripts/install-deps.sh"
  step "Building (release)"
  cmake --preset release -S "$repo" >/dev/null
  cmake --build --preset release
fi

rm -rf "$KD_VAR"
started_cluster=0
cleanup() {
  local status=$?
  step "Stopping everything the demo started"
  # Each service must stop by itself with exit status 0 (a final save, commit or flush that failed, or a
  # drain that needed SIGKILL, fails the demo): services.sh says which.
  if ! "$here/services.sh" stop; then
    echo "demo: a service did not stop cleanly on SIGTERM (see above)" >&2
    ((status)) || status=1
  fi
  if ((started_cluster)); then "$repo/scripts/kafka/cluster.sh" stop || true; fi
  exit "$status"
}
trap cleanup EXIT

if [[ "${KD_REUSE_CLUSTER:-0}" == 1 ]]; then
  export KD_TOPIC="${KD_TOPIC:-order-demo-$(date +%s)-$$}"
else
  for port in 9092 9093 9094 "$KD_GATEWAY_PORT" "$statistics_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "demo: port $port is in use: is a cluster from 'make up' running? Run 'make down' first." >&2
      trap - EXIT
      exit 1
    fi
  done
  step "Starting three Kafka brokers (KRaft) on 127.0.0.1:9092-9094"
  started_cluster=1
  "$repo/scripts/kafka/cluster.sh" start
fi

step "Creating topic ${KD_TOPIC:-order} (${#region_names[@]} partitions: $REGIONS) and starting gateway, order-0..$last, repository-0..$last, statistics"
"$here/services.sh" start

echo "demo: the live console is at http://127.0.0.1:$KD_GATEWAY_PORT/console/ while the demo runs (make up keeps it"
echo "      running); an order's story: curl http://127.0.0.1:$KD_GATEWAY_PORT/orders/<order_id>"

step "The seed's scenario: 3 orders for each of the ${#region_names[@]} regions through the gateway"
"$here/scenario.sh" "$KD_VAR/responses.tsv"

step "Tracing every order through the services' logs"
"$here/verify.py" --responses "$KD_VAR/responses.tsv" --logs "$KD_VAR/logs" --partitions "${#region_names[@]}" \
  --stats-url "http://127.0.0.1:$statistics_port/stats" --exact-stats
echo
echo "demo: to watch the shop live, run 'make up' and open http://127.0.0.1:$KD_GATEWAY_PORT/console/ ('make down' stops it)"
