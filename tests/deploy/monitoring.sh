#!/usr/bin/env bash
# Offline proof of the monitoring (deploy/k8s/components/monitoring, deploy/grafana): no cluster, no Prometheus
# server, no Kafka.
#
#   tests/deploy/monitoring.sh
#
# Renders the dev overlay with the monitoring component (tests/deploy/monitoring/render), decodes every object
# strictly (tests/deploy/validate, which knows the Prometheus operator's types), then tests/deploy/monitoring/check.py:
# monitors cover every service, `promtool check rules` and `promtool test rules` (tests/deploy/monitoring/*.test.yaml),
# every alert fires in a test and stays quiet on healthy series, the dashboard's queries parse, and every metric
# name used is one the services export. One line per check, then "monitoring-check: N passed, M failed"; exit 1 if
# any failed, 77 (CTest: skipped) with a "SKIP tools: cannot get …" line for each tool that could not be had.
#
# Tools go to .cache/deploy-tools/ (git-ignored), shared with tests/deploy/check.sh: promtool from the Go module
# proxy, pinned below, built without service discovery (-tags remove_all_sd: the cloud providers' SDKs are not
# compiled, and the rule commands do not use them); the validator; the Go toolchain and kustomize as check.sh gets
# them.
# Environment: KD_BIN (default build/release/bin); KD_MONITORING_CHECK_BUDGET (default 1400 seconds: the first run on
# a fresh machine downloads about 1 GB of Go modules for promtool and builds it, 8.5 minutes measured on two busy
# cores; later runs take about 20 s).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache="$repo/.cache/deploy-tools"
bin_dir=${KD_BIN:-$repo/build/release/bin}
budget=${KD_MONITORING_CHECK_BUDGET:-1400}
started=$SECONDS

# github.com/prometheus/prometheus v0.316.0 is Prometheus 3.16 (the module's v0.3xx.y numbering).
PROMETHEUS_MODULE_VERSION=v0.316.0

mkdir -p "$cache/bin" "$cache/stamps"
work=$(mktemp -d "${TMPDIR:-/tmp}/monitoring-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

# shellcheck source=tools.sh
source "$repo/tests/deploy/tools.sh"
finish() {
  echo "monitoring-check: $passed passed, $failed failed ($((SECONDS - started))s)"
  ((failed == 0))
  exit
}

if have_go; then
  go_install_once promtool "promtool-$PROMETHEUS_MODULE_VERSION-remove_all_sd" -tags remove_all_sd \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION"
fi
find_kustomize

if have_go; then
  # Its own binary name: tests/deploy/check.sh rebuilds `validate` each run, perhaps at this moment (ctest -j).
  # Modules that cannot be downloaded are a missing tool; a build error is a failure.
  if ! (cd "$repo/tests/deploy/validate" && timeout "$(left)" go mod download) >"$work/validate-mod.log" 2>&1; then
    cannot_have "the Go modules of tests/deploy/validate (go mod download: $(tail_of "$work/validate-mod.log"))"
  elif ! (cd "$repo/tests/deploy/validate" && timeout "$(left)" go build -o "$cache/bin/validate-monitoring" .) >"$work/validate.log" 2>&1; then
    fail tools "building tests/deploy/validate: $(tail_of "$work/validate.log" 5)"
    finish
  fi
fi

if ((${#unavailable[@]})); then
  for tool in "${unavailable[@]}"; do echo "SKIP tools: cannot get $tool"; done
  echo "monitoring-check: skipped: ${#unavailable[@]} tool(s) could not be had ($((SECONDS - started))s)"
  exit 77
fi
ok tools "promtool (github.com/prometheus/prometheus $PROMETHEUS_MODULE_VERSION, -tags remove_all_sd), $(go env GOVERSION), ${kustomize[*]}, validate"

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
