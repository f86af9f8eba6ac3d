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
# As in tests/deploy/check.sh: every tool comes from a registry (Debian, the Go module proxy); one that cannot be
# had is named and the check is skipped (exit 77, the test's SKIP_RETURN_CODE), never passed without it.
unavailable=()
cannot_have() { unavailable+=("$1"); }
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
apt_updated=0
apt_install() {
  if ((apt_updated == 0)); then
    "${sudo_cmd[@]}" apt-get update -qq >/dev/null 2>&1 || true
    apt_updated=1
  fi
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}

python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import yaml' 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [[ -z $python ]]; then
  apt_install python3-yaml && /usr/bin/python3 -c 'import yaml' 2>/dev/null && python=/usr/bin/python3
fi
[[ -n $python ]] || cannot_have "PyYAML (no python3 that imports yaml; apt-get install python3-yaml failed)"

# Go: the toolchain tests/deploy/check.sh pins (GO_TOOLCHAIN there, read from it: one number), fetched the same way
# from the Go module proxy when the go found is older than the validator's go.mod asks (Debian bookworm's 1.19).
# promtool v0.316.0 itself needs go 1.26.7.
GO_TOOLCHAIN=$(sed -n 's/^GO_TOOLCHAIN=//p' "$repo/tests/deploy/check.sh")
go=""
for candidate in go /usr/local/go/bin/go /usr/lib/go/bin/go; do
  if command -v "$candidate" >/dev/null; then
    go=$(command -v "$candidate")
    break
  fi
done
if [[ -z $go ]] && apt_install golang-go && command -v go >/dev/null; then go=$(command -v go); fi
if [[ -z $go ]]; then
  cannot_have "go (none in PATH, /usr/local/go or /usr/lib/go; apt-get install golang-go failed)"
else
  go_needed=$(sed -n 's/^go //p' "$repo/tests/deploy/validate/go.mod")
  go_have=$(GOTOOLCHAIN=local "$go" env GOVERSION 2>/dev/null)
  go_have=${go_have#go}
  if [[ $(printf '%s\n' "$go_needed" "$go_have" | sort -V | head -n1) != "$go_needed" ]]; then
    toolchain="golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.$("$go" env GOHOSTOS)-$("$go" env GOHOSTARCH)"
    dir="$GOMODCACHE/$toolchain"
    if [[ ! -x $dir/bin/go ]]; then
      if (cd "$work" && GOTOOLCHAIN=local timeout "$(left)" "$go" mod download "$toolchain") >"$work/toolchain.log" 2>&1 &&
        chmod -R u+w "$dir" && chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/*; then
        :
      else
        cannot_have "go $GO_TOOLCHAIN (go ${go_have:-?} is older than $go_needed; $go mod download $toolchain: $(tail_of "$work/toolchain.log"))"
      fi
    fi
    go="$dir/bin/go"
  fi
  if [[ -x $go ]]; then
    PATH="$(dirname "$go"):$PATH"
    export GOTOOLCHAIN=local
  fi
fi
have_go() { [[ -x $go ]] && ((${#unavailable[@]} == 0)); }

if have_go; then
  stamp="$cache/stamps/promtool-$PROMETHEUS_MODULE_VERSION-remove_all_sd"
  if [[ ! -f $stamp || ! -x $cache/bin/promtool ]]; then
    if timeout "$(left)" go install -tags remove_all_sd "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION" >"$work/promtool.log" 2>&1; then
      touch "$stamp"
    else
      cannot_have "promtool (go install github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION: $(tail_of "$work/promtool.log"))"
    fi
  fi
fi

if command -v kubectl >/dev/null; then
  kustomize=(kubectl kustomize)
elif have_go; then
  stamp="$cache/stamps/kustomize-$KUSTOMIZE_VERSION"
  if [[ ! -f $stamp || ! -x $cache/bin/kustomize ]]; then
    if timeout "$(left)" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >"$work/kustomize.log" 2>&1; then
      touch "$stamp"
    else
      cannot_have "kustomize $KUSTOMIZE_VERSION (no kubectl; go install: $(tail_of "$work/kustomize.log"))"
    fi
  fi
  kustomize=("$cache/bin/kustomize" build)
fi

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
