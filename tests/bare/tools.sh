#!/usr/bin/env bash
# The cheap half of the bare-Debian proof (issue 14), in make test: every tool the build, the tests and the
# scripts call comes from a package scripts/install-deps.sh installs, or from Debian's base system (present
# after debootstrap --variant=minbase). tests/bare/run.sh is the long half (make bare-debian).
#
#   tests/bare/tools.sh
#
# The table below says which package gives each tool ("base": Debian's base system; "own": installed by the
# script that needs it; "optional": used when present) and one file that calls it, as the word in the last
# column if not by name (so a tool nobody calls any more is noticed). Every `command -v X` and `shutil.which("X")` in scripts/, tests/ and bench/ must name a
# tool of the table, so a new one is not forgotten. Exit 1 with what is missing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# tool            package                   a file that calls it      (as)
table=$(cat <<'EOF'
cmake             cmake                     Makefile
ninja             ninja-build               CMakePresets.json         Ninja
g++               build-essential           CMakeLists.txt
cc                build-essential           tests/chaos/chaos.py
pkg-config        pkg-config                CMakeLists.txt            pkg_check_modules
clang             clang                     scripts/fuzz.sh
clang++           clang                     scripts/fuzz.sh
clang-format      clang-format              tests/lint/format.sh
java              openjdk-17-jre-headless   scripts/kafka/fetch.sh
mvn               maven                     scripts/kafka/fetch.sh
kcat              kafkacat                  tests/chaos/chaos.py
openssl           openssl                   scripts/kafka/cluster.sh
faketime          faketime                  tests/secured/secured.py  libfaketime
ip                iproute2                  tests/chaos/hosts.py
nft               nftables                  tests/chaos/hosts.py
iptables          iptables                  tests/chaos/hosts.py
ping              iputils-ping              tests/chaos/hosts.py
curl              curl                      scripts/local/scenario.sh
wrk               wrk                       bench/run.py
python3           python3                   scripts/local/verify.py
go                golang-go                 tests/deploy/check.sh
pip               python3-pip               tests/deploy/check.sh
yaml              python3-yaml              tests/deploy/crosscheck.py
shellcheck        shellcheck                tests/deploy/check.sh
node              nodejs                    tests/browser/run.sh
npm               npm                       src/gateway/CMakeLists.txt
chromium          chromium                  tests/browser/run.sh
kubectl           optional                  tests/deploy/check.sh
flock             base                      scripts/kafka/fetch.sh
timeout           base                      tests/deploy/check.sh
setsid            base                      scripts/kafka/cluster.sh
unshare           base                      tests/deploy/topology.sh
ldd               base                      tests/deploy/crosscheck.py
apt-cache         base                      tests/deploy/check.sh
debootstrap       own                       tests/bare/run.sh
EOF
)

array=$(sed -n '/^packages=(/,/^)/p' "$repo/scripts/install-deps.sh")
# shellcheck disable=SC2001 # a multi-line value: sed per line
packages=$(sed 's/#.*//' <<<"$array" | tr -s ' \t\n' '\n' | grep -vE '^(packages=\(|\))?$')
problems=()
# tests/deploy/crosscheck.py reads the list up to the first ")": one in a comment hides the packages after it.
sed '$d' <<<"$array" | grep -q ')' && problems+=("scripts/install-deps.sh: a ')' inside packages=( ... ) ends the list early for tests/deploy/crosscheck.py")
tools=()
while read -r tool package file as; do
  tools+=("$tool")
  case $package in
    base | optional | own) ;;
    *) grep -qxF "$package" <<<"$packages" || problems+=("$tool: package $package is not in scripts/install-deps.sh") ;;
  esac
  grep -qwF -- "${as:-$tool}" "$repo/$file" 2>/dev/null || problems+=("$tool: not called in $file any more (update the table)")
done <<<"$table"

called=$(cd "$repo" && grep -rhoE --exclude=tools.sh "command -v [A-Za-z0-9_.+-]+|shutil\.which\([\"'][^\"']+" scripts tests bench 2>/dev/null |
  sed -E "s/^command -v //; s/^shutil\.which\([\"']//" | sort -u)
for tool in $called; do
  [[ " ${tools[*]} " == *" $tool "* ]] || problems+=("$tool: called (command -v / shutil.which) but not in the table of tests/bare/tools.sh")
done

if ((${#problems[@]})); then
  printf 'FAIL %s\n' "${problems[@]}"
  exit 1
fi
echo "ok   ${#tools[@]} tools: $(grep -cvE ' (base|optional|own) ' <<<"$table") from scripts/install-deps.sh ($(wc -w <<<"$packages") packages), the rest from Debian's base system, optional or installed by their script; $(wc -w <<<"$called") tools looked up in scripts/, tests/, bench/"
