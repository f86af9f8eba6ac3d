"""Test hosts of their own for the fault tests: network namespaces on a bridge, and the faults one can do to them.

Each host is a network namespace `<prefix>-<name>` with one veth (`eth0` inside) on a bridge `<prefix>br` in a
private range the test picks (10.231.<subnet>.0/24; the bridge itself is .1, so this machine's own processes,
the load generator and kcat, reach every host through it). A host sees the others by name: `ip netns exec`
lays /etc/netns/<ns>/hosts over /etc/hosts, so order-1 is `order-1` to the gateway, as in Kubernetes. Nothing
here sends a packet anywhere but to these hosts.

Faults (this kernel has no `tc netem`; nftables, iptables' NFQUEUE target and nfnetlink_queue it has):
  isolate(name)            every packet in or out of the host's eth0 dropped (not refused: no RST, no ICMP)
  cut(name, others)        packets between the host and those hosts dropped, the rest of its network intact
  degrade(name, loss, ms)  loss% of its packets dropped each way (nftables numgen) and every packet it sends
                           held `ms` by nfqdelay.py (an NFQUEUE verdict after a fixed time: netem's delay)
  heal(name)               all of it undone
and small_disk(path, size) mounts a tmpfs of its own for a host's state.

Everything made is named with the prefix, so `down()` (and `up()`, for what a crashed run left) removes all of
it: the processes still in the namespaces (by pid, `ip netns pids`), the namespaces, the bridge, the hosts
files and the tmpfs mounts.
"""

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
FAULT_TABLE = "kd_fault"


def sh(*args, check=True, input=None):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, input=input, timeout=60)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(str(a) for a in args)}: exit {done.returncode}: {done.stderr.strip()}")
    return done


def require_tools():
    """CI runs as root with the tools installed (scripts/install-deps.sh): a missing one is a failure, loudly."""
    if os.geteuid() != 0:
        sys.exit("hosts: the fault tests on test hosts need root (network namespaces, nftables, tmpfs)")
    missing = [tool for tool in ("ip", "nft", "iptables", "ping") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"hosts: missing {', '.join(missing)} (scripts/install-deps.sh installs iproute2, nftables, "
                 f"iptables, iputils-ping)")
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        sys.exit(f"hosts: `ip netns` does not work here: {probe.stderr.strip()}")


class Hosts:
    def __init__(self, prefix, subnet, names):
        self.prefix = prefix
        self.net = f"10.231.{subnet}"
        self.names = list(names)
        self.addresses = {name: f"{self.net}.{10 + i}" for i, name in enumerate(self.names)}
        self.bridge = f"{prefix}br"
        self.delayers = {}
        self.mounts = []

    # --- naming -------------------------------------------------------------------------------------------
    def netns(self, name):
        return f"{self.prefix}-{name}"

    def address(self, name):
        return self.addresses[name]

    def exec_prefix(self, name):
        return ["ip", "netns", "exec", self.netns(name)]

    def run(self, name, *args, check=True, input=None):
        return sh(*self.exec_prefix(name), *args, check=check, input=input)

    # --- life ---------------------------------------------------------------------------------------------
    def up(self):
        self.down()  # whatever a crashed run with this prefix left
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.net}.1/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        hosts_file = pathlib.Path("/etc/hosts").read_text() + "\n# kafka-demo fault tests\n" + "".join(
            f"{address} {name}\n" for name, address in self.addresses.items())
        for i, name in enumerate(self.names):
            ns, veth = self.netns(name), f"{self.prefix}v{i}"
            sh("ip", "netns", "add", ns)
            etc = pathlib.Path("/etc/netns") / ns
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "hosts").write_text(hosts_file)
            sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", veth, "master", self.bridge, "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.address(name)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
        # The bridge forwards once its ports are up; prove each host answers before anyone relies on it.
        for name in self.names:
            deadline = time.monotonic() + 10
            while sh("ping", "-c", "1", "-W", "1", self.address(name), check=False).returncode != 0:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"test host {name} ({self.address(name)}) does not answer")
                time.sleep(0.2)

    def down(self):
        for process in self.delayers.values():
            process.kill()
        self.delayers.clear()
        for path in reversed(self.mounts + leftover_mounts(self.prefix)):
            sh("umount", "-l", path, check=False)
        self.mounts.clear()
        spaces = [line.split()[0] for line in sh("ip", "netns", "list").stdout.splitlines() if line.strip()]
        mine = [ns for ns in spaces if ns.startswith(f"{self.prefix}-")]
        for ns in mine:
            # Only processes this test started live there: brokers, services, delayers.
            for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for ns in mine:
            for _ in range(50):  # a process just killed may hold the namespace a moment longer
                if not sh("ip", "netns", "pids", ns, check=False).stdout.split():
                    break
                time.sleep(0.1)
            sh("ip", "netns", "del", ns, check=False)  # removes its veth, and so the peer on the bridge
        for etc in pathlib.Path("/etc/netns").glob(f"{self.prefix}-*"):
            shutil.rmtree(etc, ignore_errors=True)
        sh("ip", "link", "del", self.bridge, check=False)
        if sh("ip", "link", "show", self.bridge, check=False).returncode == 0:
            raise RuntimeError(f"bridge {self.bridge} could not be removed")

    # --- faults -------------------------------------------------------------------------------------------
    def nft(self, name, rules):
        self.run(name, "nft", "-f", "-", input=f"table inet {FAULT_TABLE} {{\n{rules}\n}}\n")

    def isolate(self, name):
        self.nft(name, """
  chain in { type filter hook input priority -10; policy drop; iifname "lo" accept; }
  chain out { type filter hook output priority -10; policy drop; oifname "lo" accept; }""")

    def cut(self, name, others):
        peers = ", ".join(self.address(other) for other in others)
        self.nft(name, f"""
  chain in {{ type filter hook input priority -10; ip saddr {{ {peers} }} drop; }}
  chain out {{ type filter hook output priority -10; ip daddr {{ {peers} }} drop; }}""")

    def degrade(self, name, loss_percent, delay_ms, queue=7):
        self.nft(name, f"""
  chain in {{ type filter hook input priority -10; iifname "eth0" numgen random mod 100 < {loss_percent} drop; }}
  chain out {{ type filter hook output priority -10; oifname "eth0" numgen random mod 100 < {loss_percent} drop; }}""")
        if delay_ms:
            process = subprocess.Popen(
                [*self.exec_prefix(name), sys.executable, str(HERE / "nfqdelay.py"), "--queue", str(queue),
                 "--delay-ms", str(delay_ms)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            first = process.stdout.readline()  # bound to the queue: from now on no packet slips past
            if not first.startswith("nfqdelay: queue"):
                process.kill()
                raise RuntimeError(f"nfqdelay did not start: {first}{process.stdout.read()}")
            self.delayers[name] = process
            # nftables here lacks its own `queue` statement; iptables' NFQUEUE target (xtables) does the same.
            self.run(name, "iptables", "-A", "OUTPUT", "-o", "eth0", "-j", "NFQUEUE", "--queue-num", str(queue),
                     "--queue-bypass")

    def heal(self, name):
        """Undoes every fault on the host; returns what the delayer said, if one ran."""
        self.run(name, "nft", "delete", "table", "inet", FAULT_TABLE, check=False)
        self.run(name, "iptables", "-F", "OUTPUT", check=False)
        process = self.delayers.pop(name, None)
        if process is None:
            return ""
        process.terminate()
        out, _ = process.communicate(timeout=10)
        return out.strip().splitlines()[-1] if out.strip() else ""

    def rtt_ms(self, name, count=10):
        """Mean round trip from this machine to the host (ping through the bridge), or None if none came back."""
        done = sh("ping", "-c", str(count), "-i", "0.1", "-W", "1", "-q", self.address(name), check=False)
        for line in done.stdout.splitlines():
            if line.startswith("rtt") or line.startswith("round-trip"):
                return float(line.split("=")[1].split("/")[1])
        return None

    # --- disks --------------------------------------------------------------------------------------------
    def small_disk(self, path, size):
        """A tmpfs of `size` (mount's syntax, 8M) at path: a disk the test can fill."""
        path = pathlib.Path(path)
        path.mkdir(parents=True, exist_ok=True)
        sh("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", f"{self.prefix}-disk", path)
        self.mounts.append(str(path))
        return path

    def release_disk(self, path):
        sh("umount", "-l", str(path), check=False)
        if str(path) in self.mounts:
            self.mounts.remove(str(path))


def leftover_mounts(prefix):
    """tmpfs mounts a crashed run with this prefix left (their source is named after it)."""
    return [line.split()[1] for line in pathlib.Path("/proc/mounts").read_text().splitlines()
            if line.split()[0] == f"{prefix}-disk"]
