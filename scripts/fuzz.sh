#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan + UBSan, in build/fuzz) and runs each for a
# bounded time, then prints one line per target:
#   fuzz <target>: inputs=<inputs executed> crashes=<n> seconds=<s>
# Exit status 1 if any target crashed (a sanitizer report, a broken property, a timeout or running out of
# memory); its inputs are kept in build/fuzz/artifacts/<target>/ and their paths printed.
#
#   scripts/fuzz.sh [--seconds N] [target...]    N defaults to $FUZZ_SECONDS, else 20; targets to all
#
# Each target starts from its seeds (tests/fuzz/corpus/<target>) copied into build/fuzz/work/<target>,
# where what it finds accumulates from run to run; the seeds in git are never written to.
# Reproduce a crash: build/fuzz/bin/<target>_fuzzer <artifact>
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

targets=(order_request order_record partition_request figures dedupe_window)
declare -A dictionary=(
  [order_request]=order [order_record]=order [partition_request]=partition_request
  [figures]=figures [dedupe_window]=none
)

seconds=${FUZZ_SECONDS:-20}
chosen=()
while (($#)); do
  case $1 in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --seconds=*) seconds=${1#--seconds=}; shift ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) [[ -v "dictionary[$1]" ]] || { echo "fuzz: no target '$1' (${targets[*]})" >&2; exit 2; }
       chosen+=("$1"); shift ;;
  esac
done
if [[ ! $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz: --seconds wants a whole number of seconds, got '$seconds'" >&2
  exit 2
fi
((${#chosen[@]})) && targets=("${chosen[@]}")

command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing; run scripts/install-deps.sh" >&2; exit 1; }
build=build/fuzz
# Configure once; later builds re-run CMake by themselves when a CMakeLists.txt changes.
[[ -f $build/build.ninja ]] || cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --parallel "$(nproc)" >"$build/build.log" 2>&1 || {
  tail -n 40 "$build/build.log" >&2
  echo "fuzz: building the fuzz targets failed (log: $build/build.log)" >&2
  exit 1
}

failed=0
for target in "${targets[@]}"; do
  work=$build/work/$target
  artifacts=$build/artifacts/$target
  log=$build/logs/$target.log
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  cp -R "tests/fuzz/corpus/$target/." "$work/"
  before=$(find "$artifacts" -type f | sort)
  args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts/"
        -timeout=10 -rss_limit_mb=2048 -max_len=4096)
  dict=tests/fuzz/${dictionary[$target]}.dict
  [[ -f $dict ]] && args+=(-dict="$dict")
  start=$SECONDS
  status=0
  # A crash ends the run at once; the artifacts say which input did it, the log what happened.
  "$build/bin/${target}_fuzzer" "${args[@]}" "$work" >"$log" 2>&1 || status=$?
  took=$((SECONDS - start))
  inputs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  new=$(comm -13 <(echo "$before") <(find "$artifacts" -type f | sort) | sed '/^$/d')
  crashes=$(grep -c . <<<"$new" || true)
  # A run that ended badly without saving an input (the fuzzer itself failing) is still a failure.
  if ((status != 0 && crashes == 0)); then crashes=1; fi
  echo "fuzz $target: inputs=${inputs:-unknown} crashes=$crashes seconds=$took"
  if ((crashes)); then
    failed=1
    grep -m 3 -E '^SUMMARY|property does not hold|ERROR: (libFuzzer|AddressSanitizer)' "$log" | sed 's/^/  /' || true
    while read -r artifact; do [[ -n $artifact ]] && echo "  input: $artifact"; done <<<"$new"
    echo "  log: $log"
  fi
done
exit $failed
