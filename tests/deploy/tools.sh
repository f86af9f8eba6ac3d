# Sourced by tests/deploy/check.sh and tests/deploy/monitoring.sh: their result lines, the time budget, Debian
# packages when missing, and the tools both need, found or fetched the same way (PyYAML's python, Go). The caller
# sets repo, cache (.cache/deploy-tools), work (a scratch directory), budget and started first.
# shellcheck shell=bash disable=SC2154,SC2034  # repo, cache, work, budget, started are the caller's; kustomize is for it
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
# The seconds left of the budget, at least 1 (each tool runs under `timeout` with it).
left() {
  local rest=$((budget - (SECONDS - started)))
  ((rest > 0)) && echo "$rest" || echo 1
}
# Last lines of a log, on one line.
tail_of() { tail -n "${2:-3}" "$1" | tr '\n' ' ' | cut -c1-400; }

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

# ------------------------------------------------------------------------------------------------ tools
# Every tool comes from a registry: Debian (scripts/install-deps.sh installs them; here they are installed when
# missing), the Go module proxy, PyPI. One that cannot be had is named and the check is skipped (exit 77, the
# test's SKIP_RETURN_CODE): never passed without it.
tool_versions=()
unavailable=()
cannot_have() { unavailable+=("$1"); }

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

# Go: the validator's go.mod needs GO_TOOLCHAIN's minor version; Debian bookworm's golang-go is 1.19, which
# predates GOTOOLCHAIN. Any older go downloads the toolchain module from the Go module proxy (golang.org/toolchain,
# checked against sum.golang.org) as go 1.21+ itself would; a zip keeps no file modes, so bin/ and pkg/tool/
# are made executable, as go does. (promtool v0.316.0, built by monitoring.sh, needs go 1.26.7.)
GO_TOOLCHAIN=go1.26.8
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
        cannot_have "go $GO_TOOLCHAIN (go ${go_have:-?} is older than the $go_needed tests/deploy/validate needs; $go mod download $toolchain: $(tail_of "$work/toolchain.log"))"
      fi
    fi
    go="$dir/bin/go"
  fi
  if [[ -x $go ]]; then
    PATH="$(dirname "$go"):$PATH"
    export GOTOOLCHAIN=local # the go just chosen, never a switch
    tool_versions+=("$(go env GOVERSION)")
  fi
fi
have_go() { [[ -x $go ]] && ((${#unavailable[@]} == 0)); }

# Installs a Go program into $cache/bin once per version (a stamp file names it); one that cannot be had is named.
#   go_install_once NAME STAMP GO_INSTALL_ARGUMENTS...
go_install_once() {
  local name=$1 stamp="$cache/stamps/$2"
  shift 2
  [[ -f $stamp && -x $cache/bin/$name ]] && return 0
  if timeout "$(left)" go install "$@" >"$work/$name.log" 2>&1; then
    touch "$stamp"
  else
    cannot_have "$name (go install $*: $(tail_of "$work/$name.log"))"
  fi
}

# kustomize: kubectl's when there is one, else built from the Go module proxy. Sets the array `kustomize`.
KUSTOMIZE_VERSION=v5.5.0
find_kustomize() {
  if command -v kubectl >/dev/null; then
    kustomize=(kubectl kustomize)
    tool_versions+=("kubectl $(kubectl version --client 2>/dev/null | sed -n 's/^Client Version: //p')")
  elif have_go; then
    go_install_once kustomize "kustomize-$KUSTOMIZE_VERSION" "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
    kustomize=("$cache/bin/kustomize" build)
    tool_versions+=("kustomize $KUSTOMIZE_VERSION")
  fi
}
