#!/usr/bin/env bash
# The StatefulSet identity without Kubernetes: order and repository run under their real pod host names
# (a UTS namespace of their own, `hostname order-1`), without POD_NAME, against the test cluster, and the
# host name alone must put each on its partition. Needs root (unshare) and the cluster of the CTest fixture.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="${KD_BIN:-$repo/build/release/bin}"
brokers="${KD_TEST_BROKERS:-127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094}"
topic="topology-$$-$(date +%s)"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "topology: FAIL: $*" >&2; for f in "$work"/*.log; do echo "--- $f"; tail -n 5 "$f"; done >&2; exit 1; }

# Runs a binary as pod NAME: its own UTS namespace with that host name, and POD_NAME unset.
as_pod() {
  local name="$1"; shift
  env -u POD_NAME unshare --uts sh -c 'hostname "$0" && exec "$@"' "$name" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
}

order_port=$((28201 + ${KD_TEST_PORT_OFFSET:-0}))
repository_port=$((28211 + ${KD_TEST_PORT_OFFSET:-0}))
"$bin/kafka-demo-admin" --brokers "$brokers" --topic "$topic" create-topic >/dev/null
as_pod order-1 "$bin/order" --brokers "$brokers" --topic "$topic" --listen "127.0.0.1:$order_port"
as_pod repository-1 "$bin/repository" --brokers "$brokers" --topic "$topic" --listen "127.0.0.1:$repository_port" --state-dir "$work/state"
for port in "$order_port" "$repository_port"; do
  for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break; sleep 0.2; done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || fail "service on port $port not ready"
done

answer="$(curl -fsS -H 'Content-Type: application/json' -d '{"money":81,"time":1638865975,"user_id":"1"}' \
  "http://127.0.0.1:$order_port/submit-order")" || fail "order-1 refused the order"
order_id="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["order_id"])' "$answer")"
echo "topology: order-1 (host name only) answered $answer"

# Independently of our code: kcat reads partition 1 and must find the order there, and nothing elsewhere.
found="$(kcat -b "$brokers" -C -t "$topic" -p 1 -o beginning -e -q -c 1)"
[[ "$found" == "$answer" ]] || fail "partition 1 holds '$found', not the answer"
for other in 0 2; do
  [[ -z "$(kcat -b "$brokers" -C -t "$topic" -p "$other" -o beginning -e -q)" ]] || fail "partition $other is not empty"
done
echo "topology: kcat finds it in partition 1 only"

for _ in $(seq 100); do grep -q "\"message\":\"shipped\",\"order_id\":\"$order_id\",\"partition\":1" "$work/repository-1.log" && break; sleep 0.2; done
grep -q "\"message\":\"shipped\",\"order_id\":\"$order_id\",\"partition\":1" "$work/repository-1.log" ||
  fail "repository-1 (host name only) did not ship $order_id from partition 1"
echo "topology: repository-1 (host name only) shipped it from partition 1"

# Each stops by itself on SIGTERM, with exit status 0.
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for pid in "${pids[@]}"; do
  status=0
  wait "$pid" || status=$?
  ((status == 0)) || fail "a service (pid $pid) exited with status $status after SIGTERM"
done
pids=()
echo "topology: both stopped on SIGTERM with exit status 0"
echo "topology: 4 passed, 0 failed"
