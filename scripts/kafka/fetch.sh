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
# Maven's output goes to a log, shown only when it fails. A repository Maven cannot reach then shows only
# "No plugin found for prefix 'dependency'"; the cause (a TLS or network error) is printed only by -X, so a
# failed fetch is retried once with -X -U (-U: Maven caches the failure otherwise) and its "Caused by" lines shown.
log="$cache/fetch.log"
copy=(dependency:copy-dependencies -DoutputDirectory="$tmp" -DincludeScope=runtime)
if ! mvn -B -f "$pom" "${copy[@]}" >"$log" 2>&1; then
  grep -E '^\[ERROR\] [^ ]' "$log" | grep -vE '^\[ERROR\] \[Help|more information|Re-run Maven|-e switch|-X switch' | cut -c1-400 >&2 || true
  if ! mvn -B -X -U -f "$pom" "${copy[@]}" >"$log.debug" 2>&1; then
    # The innermost causes; Maven's own wrappers only repeat the URL.
    grep -E '^Caused by: ' "$log.debug" | grep -vE '(Transfer|Resolution|Descriptor)(Failed)?Exception' |
      awk '!seen[$0]++' | tail -n 3 | cut -c1-400 >&2 || true
    if grep -qE '^Caused by: .*(PKIX|SSLHandshake|CertificateException)' "$log.debug"; then
      echo "fetch: TLS: Java does not trust the certificate Maven Central's address presented. If a proxy" \
        "intercepts TLS here, add its CA (Debian: a .crt in /usr/local/share/ca-certificates, then" \
        "update-ca-certificates, which also updates Java's trust store)." >&2
    elif grep -qE '^Caused by: .*(UnknownHost|ConnectException|NoRouteToHost|SocketTimeout|Network is unreachable)' "$log.debug"; then
      echo "fetch: cannot reach Maven Central (network or DNS; behind a proxy, set it in ~/.m2/settings.xml)." >&2
    fi
  fi
  echo "fetch: mvn dependency:copy-dependencies failed; logs: $log, $log.debug" >&2
  exit 1
fi
echo "$want" >"$tmp/.stamp"
rm -rf "$libs"
mv "$tmp" "$libs"
trap - EXIT
echo "fetch: downloaded kafka $version ($(find "$libs" -name '*.jar' | wc -l) jars) into $libs"
