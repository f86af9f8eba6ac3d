#!/usr/bin/env bash
# Offline proof of the monitoring (deploy/k8s/components/monitoring, deploy/grafana): no cluster, no Prometheus
# server, no Kafka.
#
#   tests/deploy/monitoring.sh
#
# Renders the dev overlay with the monitoring component (tests/deploy/monitoring/render), decodes every object
# strictly (tests/deploy/validate, which knows the Prometheus operator's types), then tests/deploy/monitoring/check.py:
# monitors cover every service, `promtool check rules` and `promtool test rules` (tests/deploy/monitoring/*.test.yaml),
# every alert fires in a test and stays quiet in another, the dashboard's queries parse, and every metric name used
# is one the services export. One line per check, then "monitoring-check: N passed, M failed"; exit 1 if any failed.
#
# Tools go to .cache/deploy-tools/ (git-ignored), as for tests/deploy/check.sh: promtool from the Go module proxy,
# pinned below, built without service discovery (-tags remove_all_sd: a minute instead of many, and promtool's
# rule commands do not need it); the validator; kustomize when kubectl is missing.
# Environment: KD_BIN (default build/release/bin), KD_MONITORING_CHECK_BUDGET (default 600 seconds).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache="$repo/.cache/deploy-tools"
bin_dir=${KD_BIN:-$repo/build/release/bin}
budget=${KD_MONITORING_CHECK_BUDGET:-600}
started=$SECONDS

# github.com/prometheus/prometheus v0.316.0 is Prometheus 3.16 (the module's v0.3xx.y numbering).
PROMETHEUS_MODULE_VERSION=v0.316.0
KUSTOMIZE_VERSION=v5.5.0

mkdir -p "$cache/bin" "$cache/stamps"
work=$(mktemp -d "${TMPDIR:-/tmp}/monitoring-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

export GOMODCACHE="$cache/gomod" GOCACHE="$cache/gocache" GOFLAGS=-modcacherw GOBIN="$cache/bin"
export DEBIAN_FRONTEND=noninteractive

passed=0
failed=0
ok() {
  echo "ok   $1: $2"
  passed=$((passed + 1))
}
fail() {
  echo "FAIL $1: $2"
  failed=$((failed + 1))
}
left() {
  local rest=$((budget - (SECONDS - started)))
  ((rest > 0)) && echo "$rest" || echo 1
}
tail_of() { tail -n "${2:-3}" "$1" | tr '\n' ' ' | cut -c1-400; }
finish() {
  echo "monitoring-check: $passed passed, $failed failed ($((SECONDS - started))s)"
  ((failed == 0))
  exit
}

# ------------------------------------------------------------------------------------------------ tools
python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import yaml' 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [[ -z $python ]]; then
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq >/dev/null 2>&1 || true
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends python3-yaml >/dev/null 2>&1 &&
    /usr/bin/python3 -c 'import yaml' 2>/dev/null && python=/usr/bin/python3
fi
[[ -n $python ]] || { fail tools "no python3 with PyYAML (apt-get install python3-yaml failed)"; finish; }

if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then PATH="$PATH:/usr/local/go/bin"; fi
command -v go >/dev/null || { fail tools "go is not installed (scripts/install-deps.sh installs it; promtool is built with it)"; finish; }

stamp="$cache/stamps/promtool-$PROMETHEUS_MODULE_VERSION-remove_all_sd"
if [[ ! -f $stamp || ! -x $cache/bin/promtool ]]; then
  if timeout "$(left)" go install -tags remove_all_sd "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION" >"$work/promtool.log" 2>&1; then
    touch "$stamp"
  else
    fail tools "promtool: $(tail_of "$work/promtool.log")"
    finish
  fi
fi

if command -v kubectl >/dev/null; then
  kustomize=(kubectl kustomize)
else
  stamp="$cache/stamps/kustomize-$KUSTOMIZE_VERSION"
  if [[ ! -f $stamp || ! -x $cache/bin/kustomize ]]; then
    if timeout "$(left)" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >"$work/kustomize.log" 2>&1; then
      touch "$stamp"
    else
      fail tools "kustomize: $(tail_of "$work/kustomize.log")"
      finish
    fi
  fi
  kustomize=("$cache/bin/kustomize" build)
fi

# Its own binary name: tests/deploy/check.sh rebuilds `validate` each run, perhaps at this moment (ctest -j).
if ! (cd "$repo/tests/deploy/validate" && timeout "$(left)" go build -o "$cache/bin/validate-monitoring" .) >"$work/validate.log" 2>&1; then
  fail tools "building tests/deploy/validate: $(tail_of "$work/validate.log" 5)"
  finish
fi
promtool_version=$("$cache/bin/promtool" --version 2>&1 | sed -n 's/.*go version: *//p')
ok tools "promtool (github.com/prometheus/prometheus $PROMETHEUS_MODULE_VERSION, $promtool_version, -tags remove_all_sd), ${kustomize[*]}, validate"

# ------------------------------------------------------------------------------------------- render, schema
render_dir="$repo/tests/deploy/monitoring/render"
if timeout "$(left)" "${kustomize[@]}" "$render_dir" >"$work/monitoring.yaml" 2>"$work/render.err"; then
  ok render "${kustomize[*]} ${render_dir#"$repo/"} (dev overlay + components/monitoring): $(grep -c '^kind:' "$work/monitoring.yaml") objects, $(grep -cE '^kind: (PodMonitor|ServiceMonitor|PrometheusRule)$' "$work/monitoring.yaml") of monitoring.coreos.com"
else
  fail render "$(tail_of "$work/render.err")"
  finish
fi

api_version=$(sed -n 's/^\tgithub.com\/prometheus-operator\/prometheus-operator\/pkg\/apis\/monitoring \(v[^ ]*\).*/\1/p' "$repo/tests/deploy/validate/go.mod")
if timeout "$(left)" "$cache/bin/validate-monitoring" "$work/monitoring.yaml" >"$work/validate.out" 2>&1; then
  ok schema "$(tail -n1 "$work/validate.out" | sed 's/^validate: //'), strict decoding (PodMonitor, PrometheusRule: prometheus-operator API types $api_version)"
else
  fail schema "$(grep -v '^ok' "$work/validate.out" | head -n 5 | tr '\n' ' ')"
fi

# ------------------------------------------------------------------------------------------ rules, dashboard
if [[ ! -x $bin_dir/gateway ]]; then
  fail binaries "no binaries in $bin_dir (build them, or set KD_BIN): the metric names cannot be checked"
fi
timeout "$(left)" "$python" "$repo/tests/deploy/monitoring/check.py" --promtool "$cache/bin/promtool" \
  --render "$work/monitoring.yaml" --dashboard "$repo/deploy/grafana/kafka-demo.json" \
  --tests "$repo/tests/deploy/monitoring" --bin "$bin_dir" --src "$repo/src" >"$work/check.log" 2>&1
status=$?
grep -E '^(ok  |FAIL) ' "$work/check.log"
passed=$((passed + $(grep -c '^ok  ' "$work/check.log")))
failed=$((failed + $(grep -c '^FAIL ' "$work/check.log")))
if ((status != 0)) && ! grep -q '^FAIL ' "$work/check.log"; then
  fail check.py "exit $status: $(tail_of "$work/check.log" 5)"
fi
finish
