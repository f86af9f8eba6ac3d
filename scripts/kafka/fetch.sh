#!/usr/bin/env bash
# Fetch the Kafka broker jars (version pinned in pom.xml beside this script)
# from Maven Central into <repo>/.cache/kafka/libs. Idempotent: a stamp file
# holding the pom's hash makes repeat runs exit at once.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pom="$here/pom.xml"
cache="${KD_CACHE:-$repo/.cache}/kafka"
libs="$cache/libs"
stamp="$libs/.stamp"

version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
want="$(sha256sum "$pom" | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "fetch: kafka $version jars already in $libs"
  exit 0
fi

# Install packages as root (or via sudo); refresh apt lists only if needed.
apt_install() {
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q "$@" >/dev/null ||
    { "${sudo[@]}" apt-get update -q >/dev/null && "${sudo[@]}" apt-get install -y -q "$@" >/dev/null; }
}

need=()
command -v mvn >/dev/null || need+=(maven)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
if ((${#need[@]})); then
  echo "fetch: installing ${need[*]}" >&2
  apt_install "${need[@]}"
fi

mkdir -p "$cache"
# Serialise concurrent fetches (e.g. parallel test jobs) on the same cache.
exec 9>"$cache/.fetch.lock"
flock 9
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "fetch: kafka $version jars already in $libs (fetched concurrently)"
  exit 0
fi

# Download into a scratch dir and swap it in, so a failed or interrupted
# fetch never leaves a half-filled (or mixed-version) classpath behind.
tmp="$cache/libs.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
# mvn -q still emits stray ANSI codes on stdout: keep its output for errors only.
if ! out="$(mvn -B -q -f "$pom" dependency:copy-dependencies \
  -DoutputDirectory="$tmp" -DincludeScope=runtime 2>&1)"; then
  printf '%s\n' "$out" >&2
  echo "fetch: mvn dependency:copy-dependencies failed" >&2
  exit 1
fi
echo "$want" >"$tmp/.stamp"
rm -rf "$libs"
mv "$tmp" "$libs"
trap - EXIT
echo "fetch: downloaded kafka $version ($(find "$libs" -name '*.jar' | wc -l) jars) into $libs"
