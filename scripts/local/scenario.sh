#!/usr/bin/env bash
# The seed's test script (section 4): three orders for each region through the gateway, one region after
# another, for as many regions as REGIONS names (default the seed's three).
# Writes "partition<TAB>http-status<TAB>body" per order to $1 (default: stdout only) and echoes the bodies
# as the seed's curl loop does.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"
gateway="${KD_GATEWAY_URL:-http://127.0.0.1:$KD_GATEWAY_PORT}"
IFS=',' read -r -a regions <<<"${REGIONS:-陕北,关中,陕南}"
out="${1:-/dev/null}"
: >"$out"
for partition in $(for ((n = 0; n < ${#regions[@]}; n++)); do echo "$n $n $n"; done); do
  answer="$(curl -sS --max-time 15 -w '\t%{http_code}' "$gateway/submit-order" -d "partition=$partition")"
  body="${answer%$'\t'*}"
  status="${answer##*$'\t'}"
  echo "$body"
  printf '%s\t%s\t%s\n' "$partition" "$status" "$body" >>"$out"
done
