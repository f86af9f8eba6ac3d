#!/usr/bin/env bash
# The console in a real browser (CTest label `browser`): starts the eight services on a topic of its own
# against the test cluster (ports moved by the build tree's offset), then drives Debian's chromium with
# playwright-core (console.test.mjs): an order placed in each region through the form, each seen in the
# feed with its partition, warehouse and "counted" mark, one looked up by id, the figures moved by the
# orders' money. Screenshots go to $KD_ARTIFACTS. Stops what it started, also on failure.
#
# Env: KD_BIN, KD_VAR (its own: wiped at start), KD_BROKERS, KD_PORT_OFFSET, KD_ARTIFACTS; CHROMIUM
# [/usr/bin/chromium]. Exits 77 (skipped, named) when chromium or the console's node_modules are missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
offset="${KD_PORT_OFFSET:-0}"
export KD_VAR="${KD_VAR:?}" KD_BIN="${KD_BIN:?}" KD_BROKERS="${KD_BROKERS:?}"
export KD_GATEWAY_PORT=$((18130 + offset)) KD_STATISTICS_PORT=$((18140 + offset))
export KD_ORDER_PORT_BASE=$((18150 + offset)) KD_REPOSITORY_PORT_BASE=$((18160 + offset))
export KD_TOPIC="console-$(date +%s)-$$"
artifacts="${KD_ARTIFACTS:?}"
chromium="${CHROMIUM:-/usr/bin/chromium}"

if [[ ! -x "$chromium" ]]; then
  echo "browser test skipped: no chromium at $chromium (scripts/install-deps.sh installs Debian's)"
  exit 77
fi
if [[ ! -d "$repo/web/console/node_modules/playwright-core" ]]; then
  echo "browser test skipped: web/console/node_modules has no playwright-core (the build runs npm ci)"
  exit 77
fi

rm -rf "$KD_VAR"
mkdir -p "$KD_VAR" "$artifacts"
cleanup() {
  "$repo/scripts/local/services.sh" stop >/dev/null || true
}
trap cleanup EXIT

"$repo/scripts/local/services.sh" start
status=0
CHROMIUM="$chromium" KD_CONSOLE_URL="http://127.0.0.1:$KD_GATEWAY_PORT" KD_ARTIFACTS="$artifacts" \
  KD_PROFILE="$KD_VAR/chromium-profile" node "$here/console.test.mjs" || status=$?
if ((status != 0)); then
  echo "--- gateway log (last 30 lines)"
  tail -n 30 "$KD_VAR/logs/gateway.log" || true
fi
exit "$status"
