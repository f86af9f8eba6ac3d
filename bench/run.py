#!/usr/bin/env python3
"""make bench: one run, one report.

Starts a fresh three-broker Kafka and the eight services (the scripts `make demo` uses), measures the
limits and the pipeline in the same run on the same machine, stops everything it started, and writes
bench/results/latest.json and latest.md. See bench/README.md for what each figure means and how it is
measured.

Environment (defaults in brackets), as scripts/local/demo.sh:
  KD_VAR [<repo>/.var/bench]   wiped at start; logs, broker data, records of the run
  KD_BIN [<repo>/build/release/bin]     KD_SKIP_BUILD=1 uses the binaries there as they are
  KD_BROKERS, KD_KAFKA_PORT_BASE [9092], KD_KAFKA_CONTROLLER_PORT_BASE [19092]
  KD_GATEWAY_PORT, KD_ORDER_PORT_BASE, KD_REPOSITORY_PORT_BASE, KD_STATISTICS_PORT [scripts/local/ports.env]
  KD_HELLO_PORT [8070] (the HTTP ceiling's server), KD_CATCHUP_PORT [KD_STATISTICS_PORT + 1],
  KD_LOOKUP_PORT [KD_GATEWAY_PORT + 1] (a gateway on the backlog, for order lookups)
  KD_LOOKUPS [300] orders looked up in the backlog; KD_CONSOLES [100] consoles open while measuring their cost,
  KD_CONSOLE_ROUNDS [4] runs with and as many without them
  KD_BENCH_SECONDS [20]  length of each measured load phase; KD_BACKLOG [1000000] orders for the catch-up
  KD_BENCH_OUT [<repo>/bench/results]  where latest.json and latest.md go
"""

import json
import math
import os
import platform
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV = os.environ
VAR = Path(ENV.get("KD_VAR", REPO / ".var" / "bench"))
BIN = Path(ENV.get("KD_BIN", REPO / "build" / "release" / "bin"))
PORT_BASE = int(ENV.get("KD_KAFKA_PORT_BASE", "9092"))
BROKERS = ENV.get("KD_BROKERS", ",".join(f"127.0.0.1:{PORT_BASE + i}" for i in range(3)))
# The services' local ports: scripts/local/ports.env, the one place they are declared.
LOCAL_PORTS = dict(line.split("=", 1) for line in (REPO / "scripts" / "local" / "ports.env").read_text().splitlines()
                   if line.startswith("KD_"))
GATEWAY_PORT = int(ENV.get("KD_GATEWAY_PORT", LOCAL_PORTS["KD_GATEWAY_PORT"]))
ORDER_BASE = int(ENV.get("KD_ORDER_PORT_BASE", LOCAL_PORTS["KD_ORDER_PORT_BASE"]))
REPOSITORY_BASE = int(ENV.get("KD_REPOSITORY_PORT_BASE", LOCAL_PORTS["KD_REPOSITORY_PORT_BASE"]))
STATISTICS_PORT = int(ENV.get("KD_STATISTICS_PORT", LOCAL_PORTS["KD_STATISTICS_PORT"]))
HELLO_PORT = int(ENV.get("KD_HELLO_PORT", "8070"))
CATCHUP_PORT = int(ENV.get("KD_CATCHUP_PORT", str(STATISTICS_PORT + 1)))
LOOKUP_PORT = int(ENV.get("KD_LOOKUP_PORT", str(GATEWAY_PORT + 1)))
LOOKUPS = int(ENV.get("KD_LOOKUPS", "300"))
CONSOLES = int(ENV.get("KD_CONSOLES", "100"))
CONSOLE_ROUNDS = int(ENV.get("KD_CONSOLE_ROUNDS", "4"))
SECONDS = int(ENV.get("KD_BENCH_SECONDS", "20"))
BACKLOG = int(ENV.get("KD_BACKLOG", "1000000"))
OUT = Path(ENV.get("KD_BENCH_OUT", REPO / "bench" / "results"))
REPEATS = int(ENV.get("KD_BENCH_REPEATS", "3"))
LIGHT_RATES = [int(x) for x in ENV.get("KD_LIGHT_RATES", "200,500,1000").split(",")]
WARMUP_SLICES = int(ENV.get("KD_WARMUP_SLICES", "6"))  # a fresh cluster was still speeding up after 30 s
CONCURRENCY = 64
PARTITIONS = 3
SERVICES = ["gateway", "order-0", "order-1", "order-2", "repository-0", "repository-1", "repository-2", "statistics"]
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The scripts read these; KD_VAR and KD_BIN are made explicit so both see the same values as we do.
SCRIPT_ENV = dict(ENV, KD_VAR=str(VAR), KD_BIN=str(BIN), KD_BROKERS=BROKERS)


def step(text):
    print(f"\n==> {text}", flush=True)


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, env=kwargs.pop("env", SCRIPT_ENV), **kwargs)


def output(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=SCRIPT_ENV, **kwargs).stdout


def run_with_rusage(cmd, stdout_path):
    """Runs cmd with stdout to a file; returns (stdout text, CPU seconds it used)."""
    with open(stdout_path, "w") as out:
        process = subprocess.Popen(cmd, stdout=out, env=SCRIPT_ENV)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited with {process.returncode}")
    return Path(stdout_path).read_text(), usage.ru_utime + usage.ru_stime


def http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.loads(answer.read())


def port_open(port):
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def nearest_rank(sorted_values, q):
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else round((values[middle - 1] + values[middle]) / 2, 2)


def median_run(runs, key):
    """The run whose `key` is the median (the lower middle for an even count): its other figures go with it."""
    return sorted(runs, key=lambda r: r[key])[(len(runs) - 1) // 2]


# ---------------------------------------------------------------------------------------------- processes


def pid_of(name):
    try:
        return int((VAR / "run" / f"{name}.pid").read_text())
    except (OSError, ValueError):
        return None


def broker_pids():
    pids = {}
    for n in range(3):
        try:
            pids[f"broker-{n}"] = int((VAR / "kafka" / f"broker-{n}" / "kafka.pid").read_text())
        except (OSError, ValueError):
            pass
    return pids


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def status_kb(pid, key):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def machine_cpu_jiffies():
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields[:8]), idle


def snapshot(pids):
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def machine():
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = status_like("/proc/meminfo", "MemTotal")
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1) if mem_kb else None,
        "kernel": platform.release(),
        "os": distro(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def status_like(path, key):
    for line in Path(path).read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def distro():
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


BROKER_KEYS = ("num.network.threads", "num.io.threads", "num.replica.fetchers", "replica.fetch.wait.max.ms",
               "replica.fetch.min.bytes", "min.insync.replicas", "default.replication.factor")


def order_default(flag):
    """The order service's own default for a flag, as its --help prints it ("--linger-ms INT:INT in
    [0 - 1000]=1", "--linger-when TEXT:{always,busy}=busy")."""
    match = re.search(rf"--{flag}\b[^\n]*=(\w+)", output([str(BIN / "order"), "--help"]))
    return match.group(1) if match else None


def settings_in_force(brokers):
    """The settings the figures depend on: the producer's and consumers' (from the environment the services
    inherit, else their defaults), and broker-0's properties and JVM flags (the three brokers share them)."""
    settings = {"producer": {"acks": "all", "enable.idempotence": True,
                             "linger.ms": int(ENV.get("PRODUCER_LINGER_MS") or order_default("linger-ms")),
                             # busy: an order begun when the shop is quiet goes by a second handle that
                             # does not linger (src/common/kafka/producer.hpp)
                             "linger when": ENV.get("PRODUCER_LINGER_WHEN") or order_default("linger-when")},
                "environment": {k: v for k, v in ENV.items()
                                if k.startswith(("PRODUCER_", "DELIVERY_", "KAFKA_PROPERTIES", "COMMIT_"))}}
    properties = VAR / "kafka" / "broker-0" / "server.properties"
    if properties.exists():
        values = dict(line.split("=", 1) for line in properties.read_text().splitlines()
                      if "=" in line and not line.startswith("#"))
        settings["broker"] = {k: values.get(k, "(Kafka's default)") for k in BROKER_KEYS}
    pid = brokers.get("broker-0")
    if pid:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        settings["broker_jvm"] = [a.decode() for a in argv if a.startswith((b"-X", b"-XX"))]
    return settings


# ---------------------------------------------------------------------------------------------- measurements


def wrk(url, seconds, log_name):
    """Closed loop, 64 connections, 2 threads, the Lua script posting partition=0|1|2 in turn."""
    text, cpu = run_with_rusage(
        ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{seconds}s", "--timeout", "15s", "--latency",
         "-s", str(REPO / "bench" / "pipeline.lua"), url],
        VAR / f"{log_name}.txt")
    match = re.search(r"^WRKJSON (.*)$", text, re.M)
    if not match:
        raise RuntimeError(f"wrk printed no summary:\n{text}")
    result = json.loads(match.group(1))
    result["errors"] = sum(result[k] for k in ("non2xx", "connect_errors", "read_errors", "write_errors", "timeouts"))
    result["cpu_s"] = round(cpu, 2)
    return result


def load_tool(args, log_name):
    text, cpu = run_with_rusage([str(BIN / "kafka-demo-load"), *args], VAR / f"{log_name}.json")
    result = json.loads(text.strip().splitlines()[-1])
    result["cpu_s"] = round(cpu, 2)
    return result


def produce_bench(topic, messages, window):
    text = output([str(BIN / "kafka-demo-produce-bench"), "--brokers", BROKERS, "--topic", topic,
                   "--partitions", str(PARTITIONS), "--messages", str(messages), "--window", str(window)])
    return json.loads(text.strip().splitlines()[-1])


def kafka_alone_open(rate, seconds):
    """Kafka alone at the pipeline's rate: the order service's producer, open loop (latency from each write's
    planned start, as the load tool counts), to a topic nobody reads. What the brokers take on their own at
    that rate on this machine, beside what the pipeline adds to it."""
    text = output([str(BIN / "kafka-demo-produce-bench"), "--brokers", BROKERS, "--topic", "bench-produce",
                   "--partitions", str(PARTITIONS), "--rate", str(rate), "--messages", str(round(rate * seconds))])
    k = json.loads(text.strip().splitlines()[-1])
    return {"p50_ms": k["ack_p50_ms"], "p99_ms": k["ack_p99_ms"], "p999_ms": k["ack_p999_ms"],
            "errors": k["errors"]}


def create_topic(topic):
    run([str(BIN / "kafka-demo-admin"), "--brokers", BROKERS, "--topic", topic, "--partitions", str(PARTITIONS),
         "create-topic"], stdout=subprocess.DEVNULL)


def stats_total():
    return http_json(f"http://127.0.0.1:{STATISTICS_PORT}/stats")["total"]["orders"]


def consumers_caught_up():
    """True when statistics and the three repositories report no lag on any partition they read."""
    urls = [f"http://127.0.0.1:{STATISTICS_PORT}/metrics"] + [
        f"http://127.0.0.1:{REPOSITORY_BASE + p}/metrics" for p in range(PARTITIONS)]
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                text = answer.read().decode()
        except OSError:
            return False
        lags = re.findall(r'^kafka_consumer_lag\{partition="\d+"\} (\S+)$', text, re.M)
        if not lags or any(float(x) != 0 for x in lags):
            return False
    return True


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def read_topic(topic):
    """order_id -> (partition, offset, create_time_ms) for every record of the topic."""
    text = output(["kcat", "-C", "-b", BROKERS, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %o %T %s\n"])
    records = {}
    for line in text.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4:
            continue
        try:
            order_id = json.loads(parts[3])["order_id"]
        except (ValueError, KeyError, TypeError):
            continue
        records[order_id] = (int(parts[0]), int(parts[1]), int(parts[2]))
    return records


def repository_commits(topic, group="repository"):
    """partition -> [(commit time ms, committed next offset)] from __consumer_offsets, in log order.

    Only counted (commits per 1,000 orders): the repository commits at most every COMMIT_INTERVAL_MS.
    """
    raw = subprocess.run(["kcat", "-C", "-b", BROKERS, "-t", "__consumer_offsets", "-o", "beginning", "-e", "-q",
                          "-f", "%T %K %S\n%k%s"], check=True, capture_output=True, env=SCRIPT_ENV).stdout
    commits = {}
    i = 0
    while i < len(raw):
        j = raw.index(b"\n", i)
        ts, key_len, value_len = (int(x) for x in raw[i:j].split())
        i = j + 1
        key = raw[i:i + max(key_len, 0)]
        i += max(key_len, 0)
        value = raw[i:i + max(value_len, 0)]
        i += max(value_len, 0)
        if len(key) < 2 or struct.unpack(">h", key[:2])[0] not in (0, 1) or len(value) < 10:
            continue  # group metadata, or a tombstone
        at = 2
        (n,) = struct.unpack(">h", key[at:at + 2])
        key_group = key[at + 2:at + 2 + n].decode()
        at += 2 + n
        (n,) = struct.unpack(">h", key[at:at + 2])
        key_topic = key[at + 2:at + 2 + n].decode()
        at += 2 + n
        (partition,) = struct.unpack(">i", key[at:at + 4])
        if key_group != group or key_topic != topic:
            continue
        (offset,) = struct.unpack(">q", value[2:10])
        commits.setdefault(partition, []).append((ts, offset))
    for partition in commits:
        commits[partition].sort()
    return commits


def shipped_times():
    """order_id -> when a repository shipped it (µs since the epoch), from the "shipped" lines of their logs:
    logged right after the ledger holding the order is synced, with "at_us"."""
    shipped = {}
    for log in sorted((VAR / "logs").glob("repository-*.log")):
        with open(log, errors="replace") as lines:
            for line in lines:
                if '"shipped"' not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("message") == "shipped" and "at_us" in entry:
                    shipped.setdefault(entry["order_id"], entry["at_us"])
    return shipped


def cpu_pressure_us():
    """Microseconds during which some runnable task waited for a CPU, since boot (/proc/pressure/cpu, "some"):
    on two cores shared by three brokers and eight services, the scheduler's share of a latency."""
    try:
        for line in Path("/proc/pressure/cpu").read_text().splitlines():
            if line.startswith("some "):
                return int(line.rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def pressure_pct(before_us, after_us, seconds):
    if before_us is None or after_us is None or seconds <= 0:
        return None
    return round((after_us - before_us) / (seconds * 1e4), 1)


# A unified-logging GC line from the brokers (scripts/kafka/cluster.sh):
# [2026-12-02T08:10:01.123+0000][12.345s] GC(3) Pause Young (Normal) (G1 Evacuation Pause) 24M->5M(256M) 3.123ms
GC_PAUSE = re.compile(r"^\[([0-9T:.+-]+)\].*\bPause\b.*\s([0-9.]+)ms$")


def broker_gc_pauses():
    """Every stop-the-world pause the brokers logged: (start, end) in epoch seconds, broker."""
    pauses = []
    for n in range(3):
        for path in sorted((VAR / "logs").glob(f"kafka-{n}-gc.log*")):
            for line in path.read_text(errors="replace").splitlines():
                match = GC_PAUSE.match(line)
                if match:
                    end = datetime.fromisoformat(match.group(1)).timestamp()
                    pauses.append((end - float(match.group(2)) / 1000, end, n))
    return sorted(pauses)


def tail_beside_gc(record_path, slow_ms=10):
    """Puts an open-loop run's slow answers beside the brokers' GC pauses: how many answers over slow_ms were
    in flight while some broker was paused, and the pauses in the run's span (count, longest, share of time)."""
    rows = [json.loads(line) for line in Path(record_path).read_text().splitlines() if line.strip()]
    spans = [(r["start_us"] / 1e6, (r["start_us"] + r["latency_us"]) / 1e6) for r in rows
             if "start_us" in r and r.get("status") == 200]
    if not spans:
        return {}
    begin, end = min(a for a, _ in spans), max(b for _, b in spans)
    pauses = [p for p in broker_gc_pauses() if p[1] >= begin and p[0] <= end]
    slow = [(a, b) for a, b in spans if (b - a) * 1000 > slow_ms]
    beside = sum(1 for a, b in slow if any(p0 <= b and p1 >= a for p0, p1, _ in pauses))
    total_ms = sum((p1 - p0) * 1000 for p0, p1, _ in pauses)
    return {"answers": len(spans), "slow_ms": slow_ms, "slow": len(slow), "slow_beside_gc_pause": beside,
            "gc_pauses": len(pauses), "gc_pause_max_ms": round(max(((p1 - p0) * 1000 for p0, p1, _ in pauses),
                                                                    default=0), 1),
            "gc_pause_total_ms": round(total_ms, 1),
            "gc_paused_pct_of_time": round(total_ms / ((end - begin) * 10), 2)}


def end_to_end(record_path, topic):
    """e2e latency of every 200 of the open-loop run: intended start at the load tool to the repository's
    "shipped" line (both µs, one clock); and to the record's CreateTime (ms), the order service's produce."""
    records = read_topic(topic)
    commits = repository_commits(topic)
    shipped = shipped_times()
    e2e, to_kafka, missing = [], [], 0
    with open(record_path) as lines:
        for line in lines:
            r = json.loads(line)
            if r.get("status") != 200 or not isinstance(r.get("body"), dict):
                continue
            order_id = r["body"].get("order_id")
            if order_id not in shipped:
                missing += 1
                continue
            e2e.append(shipped[order_id] - r["start_us"])
            if order_id in records:
                to_kafka.append(records[order_id][2] * 1000 - r["start_us"])
    e2e.sort()
    to_kafka.sort()
    ms = lambda v: None if v is None else round(v / 1000, 1)
    return {
        "e2e_orders": len(e2e),
        "e2e_unmatched": missing,
        "e2e_p50_ms": ms(nearest_rank(e2e, 0.5)),
        "e2e_p99_ms": ms(nearest_rank(e2e, 0.99)),
        "e2e_max_ms": ms(e2e[-1] if e2e else None),
        "gateway_to_produce_p50_ms": ms(nearest_rank(to_kafka, 0.5)),
        "gateway_to_produce_p99_ms": ms(nearest_rank(to_kafka, 0.99)),
        # Each commit is an OffsetCommit the brokers write to __consumer_offsets and replicate (throttled
        # by COMMIT_INTERVAL_MS).
        "repository_commits_per_1000_orders": round(sum(len(v) for v in commits.values()) * 1000 / max(len(records), 1), 1),
    }


def kcat_consume(topic, expected):
    """Wall seconds and CPU seconds of kcat reading the topic from the beginning to its end."""
    t0 = time.monotonic()
    text, cpu = run_with_rusage(["kcat", "-C", "-b", BROKERS, "-t", topic, "-o", "beginning", "-e", "-q",
                                 "-f", "%o\n"], VAR / "kcat-backlog.txt")
    seconds = time.monotonic() - t0
    count = text.count("\n")
    (VAR / "kcat-backlog.txt").unlink()
    if count != expected:
        raise RuntimeError(f"kcat read {count} records of {topic}, expected {expected}")
    return seconds, cpu


def stop_process(process):
    """SIGTERM, as Kubernetes stops a pod; SIGKILL if it has not drained within 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def stats_catchup(topic, expected):
    """A fresh statistics process (empty STATE_DIR, new group) on the backlog: spawn to /stats == expected."""
    state = Path(tempfile.mkdtemp(prefix="catchup-", dir=VAR))
    log = VAR / "logs" / "statistics-catchup.log"
    env = dict(ENV, POD_NAME="statistics", LISTEN=f"127.0.0.1:{CATCHUP_PORT}", KAFKA_BROKERS=BROKERS,
               KAFKA_TOPIC=topic, KAFKA_PARTITIONS=str(PARTITIONS), STATE_DIR=str(state),
               CONSUMER_GROUP=f"bench-catchup-{topic}")
    with open(log, "w") as out:
        t0 = time.monotonic()
        process = subprocess.Popen([str(BIN / "statistics")], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        counted = 0
        deadline = t0 + 600
        while counted < expected:
            if process.poll() is not None:
                raise RuntimeError(f"statistics exited during catch-up (log: {log})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"statistics counted {counted} of {expected} in 600 s")
            try:
                counted = http_json(f"http://127.0.0.1:{CATCHUP_PORT}/stats", timeout=2)["total"]["orders"]
            except OSError:
                pass
            if counted < expected:
                time.sleep(0.05)
        seconds = time.monotonic() - t0
        rss_mb = round(status_kb(process.pid, "VmHWM") / 1024, 1)
        cpu = cpu_seconds(process.pid)
    finally:
        stop_process(process)
        shutil.rmtree(state, ignore_errors=True)
        log_size = log.stat().st_size if log.exists() else 0
        # A million records logged as the seed does: ~150 MB; keep the tail only.
        if log.exists():
            tail = log.read_bytes()[-20000:]
            log.write_bytes(tail)
    return seconds, rss_mb, round(cpu, 2), log_size



class Consoles:
    """`count` viewers of the gateway's console: each holds GET /console/events open and reads everything sent,
    as a browser's EventSource would, from one thread."""

    def __init__(self, count):
        import selectors
        import socket
        import threading
        self.selector = selectors.DefaultSelector()
        self.sockets = []
        self.bytes = 0
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", GATEWAY_PORT), timeout=5)
            sock.sendall(b"GET /console/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ)
            self.sockets.append(sock)
        self.stopping = False
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        while not self.stopping:
            for key, _ in self.selector.select(timeout=0.2):
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.selector.unregister(key.fileobj)
                    continue
                self.bytes += len(data)

    def open_streams(self):
        return len(self.selector.get_map())

    def close(self):
        self.stopping = True
        self.thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


def console_cost(gateway_url, pids, rounds=CONSOLE_ROUNDS, seconds=None):
    """The pipeline with and without CONSOLES consoles open, alternating (none, open, none, open, …): closed-loop
    rps and p99 of each, so a drift of the machine shows in both; and the CPU the gateway and the brokers spent
    per 1,000 requests, which a busy machine disturbs less than rps."""
    seconds = seconds or max(5, SECONDS // 2)
    runs = {"without": [], "with": []}
    viewers_seen = 0
    for i in range(rounds):
        for mode in ("without", "with"):
            consoles = Consoles(CONSOLES) if mode == "with" else None
            try:
                if consoles:
                    time.sleep(2)  # every stream has its snapshot; the tail reader and the polls run
                cpu0 = snapshot(pids)
                w = wrk(gateway_url, seconds, f"wrk-consoles-{mode}-{i}")
                cpu1 = snapshot(pids)
                if consoles:
                    viewers_seen = max(viewers_seen, consoles.open_streams())
                per_1000 = lambda names: round(sum(cpu1[n] - cpu0[n] for n in names) * 1e6 / max(1, w["requests"]), 1)
                runs[mode].append({"rps": w["rps"], "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"], "errors": w["errors"],
                                   "gateway_cpu_ms_per_1000": per_1000(["gateway"]),
                                   "brokers_cpu_ms_per_1000": per_1000([n for n in pids if n.startswith("broker")]),
                                   "console_bytes": consoles.bytes if consoles else 0})
            finally:
                if consoles:
                    consoles.close()
            time.sleep(1)
            wait_for(consumers_caught_up, 120, "the consumers to catch up")
    mean = lambda mode, key: round(sum(run[key] for run in runs[mode]) / len(runs[mode]), 1)
    return {"consoles": CONSOLES, "streams_open_at_end_of_a_run": viewers_seen, "seconds_per_run": seconds,
            "runs": runs, "rps_without": mean("without", "rps"), "rps_with": mean("with", "rps"),
            "p99_ms_without": mean("without", "p99_ms"), "p99_ms_with": mean("with", "p99_ms"),
            "gateway_cpu_ms_per_1000_without": mean("without", "gateway_cpu_ms_per_1000"),
            "gateway_cpu_ms_per_1000_with": mean("with", "gateway_cpu_ms_per_1000"),
            "brokers_cpu_ms_per_1000_without": mean("without", "brokers_cpu_ms_per_1000"),
            "brokers_cpu_ms_per_1000_with": mean("with", "brokers_cpu_ms_per_1000"),
            "rps_with_over_without": round(mean("with", "rps") / mean("without", "rps"), 3)}


def sample_order_ids(topic, count):
    """Order ids spread evenly over each partition of the backlog (read back with kcat at chosen offsets)."""
    ids = []
    per_partition = max(1, count // PARTITIONS)
    for partition in range(PARTITIONS):
        high = (BACKLOG - partition + PARTITIONS - 1) // PARTITIONS  # produce-bench writes round robin
        for i in range(per_partition):
            offset = (high - 1) * i // max(1, per_partition - 1)
            value = output(["kcat", "-C", "-b", BROKERS, "-t", topic, "-p", str(partition), "-o", str(offset),
                            "-c", "1", "-e", "-q", "-f", "%s"])
            ids.append((partition, offset, json.loads(value)["order_id"]))
    return ids


def lookups(topic):
    """A gateway on the backlog topic (its consumers' URLs point at the running warehouses and statistics, which
    read another topic: the answer's shipped/counted say nothing here, the time includes asking them). Each
    GET /orders/{id} is timed by the client on a fresh connection, the gateway's own count of reads kept."""
    ids = sample_order_ids(topic, LOOKUPS)
    log = VAR / "logs" / "gateway-lookup.log"
    env = dict(ENV, POD_NAME="gateway-lookup", LISTEN=f"127.0.0.1:{LOOKUP_PORT}", KAFKA_BROKERS=BROKERS,
               KAFKA_TOPIC=topic, KAFKA_PARTITIONS=str(PARTITIONS),
               ORDER_URL_TEMPLATE=f"http://127.0.0.1:{str(ORDER_BASE)[:-1]}{{partition}}/submit-order",
               REPOSITORY_URL_TEMPLATE=f"http://127.0.0.1:{str(REPOSITORY_BASE)[:-1]}{{partition}}",
               STATISTICS_URL=f"http://127.0.0.1:{STATISTICS_PORT}")
    with open(log, "w") as out:
        process = subprocess.Popen([str(BIN / "gateway")], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(lambda: port_open(LOOKUP_PORT), 10, "the lookup gateway")
        url = f"http://127.0.0.1:{LOOKUP_PORT}/orders/"
        for _, _, order_id in ids[:5]:  # the first lookup creates the reader and fetches metadata
            http_json(url + order_id, timeout=10)
        times, reads, records, wrong = [], [], [], 0
        for partition, offset, order_id in ids:
            t0 = time.perf_counter()
            story = http_json(url + order_id, timeout=10)
            times.append((time.perf_counter() - t0) * 1000)
            reads.append(story["lookup"]["reads"])
            records.append(story["lookup"]["records"])
            if story["placed"]["partition"] != partition or story["placed"]["offset"] != offset:
                wrong += 1
        times.sort()
        rss_mb = round(status_kb(process.pid, "VmHWM") / 1024, 1)
    finally:
        stop_process(process)
    return {"orders_in_topic": BACKLOG, "lookups": len(times), "wrong": wrong,
            "p50_ms": round(nearest_rank(times, 0.5), 2), "p99_ms": round(nearest_rank(times, 0.99), 2),
            "max_ms": round(times[-1], 2), "mean_reads": round(sum(reads) / len(reads), 2), "max_reads": max(reads),
            "mean_records_read": round(sum(records) / len(records), 1), "gateway_rss_mb": rss_mb}

# ---------------------------------------------------------------------------------------------- the run


def main():
    started = time.monotonic()
    if ENV.get("KD_SKIP_BUILD", "0") != "1":
        step("Installing what is missing")
        run([str(REPO / "scripts" / "install-deps.sh")])
        step("Building (release)")
        run(["cmake", "--preset", "release", "-S", str(REPO)], stdout=subprocess.DEVNULL)
        run(["cmake", "--build", "--preset", "release"], cwd=REPO)
    for tool in ("wrk", "kcat"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is not installed (scripts/install-deps.sh installs it)")
    for binary in ("gateway", "order", "repository", "statistics", "kafka-demo-admin", "kafka-demo-load",
                   "kafka-demo-hello", "kafka-demo-produce-bench"):
        if not (BIN / binary).exists():
            sys.exit(f"bench: {BIN / binary} is not built")
    ports = [PORT_BASE + i for i in range(3)] + [GATEWAY_PORT, STATISTICS_PORT, HELLO_PORT, CATCHUP_PORT, LOOKUP_PORT]
    busy = [p for p in ports if port_open(p)]
    if busy:
        sys.exit(f"bench: port(s) {busy} in use: is a cluster from 'make up' running? Run 'make down' first.")

    shutil.rmtree(VAR, ignore_errors=True)
    (VAR / "logs").mkdir(parents=True)
    result = {"machine": machine(), "settings": {"concurrency": CONCURRENCY, "phase_seconds": SECONDS,
                                                 "backlog": BACKLOG, "partitions": PARTITIONS}}
    result["machine"]["shared_note"] = ENV.get("KD_BENCH_NOTE", "")
    cluster_started = services_started = False
    hello = None
    try:
        # 1. HTTP ceiling, before anything else runs: the services' HTTP stack with a do-nothing handler.
        step(f"HTTP ceiling: kafka-demo-hello on :{HELLO_PORT}, wrk -t2 -c{CONCURRENCY} {SECONDS}s")
        with open(VAR / "logs" / "hello.log", "w") as log:
            hello = subprocess.Popen([str(BIN / "kafka-demo-hello"), "--listen", f"127.0.0.1:{HELLO_PORT}"],
                                     stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: port_open(HELLO_PORT), 10, "kafka-demo-hello")
        hello_url = f"http://127.0.0.1:{HELLO_PORT}/submit-order"
        wrk(hello_url, 2, "wrk-hello-warmup")
        hello_cpu0 = cpu_seconds(hello.pid)
        h = wrk(hello_url, SECONDS, "wrk-hello")
        hello_cpu = cpu_seconds(hello.pid) - hello_cpu0
        # The same figure from our own load tool, as a cross-check of the two generators.
        h_load = load_tool(["--url", hello_url, "--connections", str(CONCURRENCY), "--duration", "5s",
                            "--warmup", "1s"], "load-hello")
        hello_rss = status_kb(hello.pid, "VmHWM")
        hello.send_signal(signal.SIGTERM)
        hello.wait(timeout=30)
        hello = None
        result["http_hello"] = {"rps": h["rps"], "p50_ms": h["p50_ms"], "p99_ms": h["p99_ms"], "errors": h["errors"],
                                "server_cpu_s": round(hello_cpu, 2), "wrk_cpu_s": h["cpu_s"],
                                "server_rss_mb": round(hello_rss / 1024, 1),
                                "kafka_demo_load_closed_rps": h_load["rps"],
                                "kafka_demo_load_closed_p50_ms": h_load["p50_ms"],
                                "kafka_demo_load_closed_p99_ms": h_load["p99_ms"]}
        print(json.dumps(result["http_hello"]))

        step("Starting three Kafka brokers")
        cluster_started = True
        run([str(REPO / "scripts" / "kafka" / "cluster.sh"), "start"])

        # 2. Kafka ceiling: the order service's producer, produce-only, to the same cluster.
        step("Kafka ceiling: produce-only with the order service's producer settings")
        create_topic("bench-produce")
        produce_bench("bench-produce", 20_000, 50_000)  # warms the JVMs' produce path
        k = produce_bench("bench-produce", 300_000, 50_000)
        k64 = produce_bench("bench-produce", 30_000, CONCURRENCY)
        result["kafka_produce"] = {"msgs_per_s": k["msgs_per_s"], "errors": k["errors"],
                                   "bytes_per_msg": round(k["bytes_per_msg"], 1), "window": k["window"],
                                   "ack_p50_ms": k["ack_p50_ms"], "ack_p99_ms": k["ack_p99_ms"],
                                   "window64_msgs_per_s": k64["msgs_per_s"], "window64_ack_p50_ms": k64["ack_p50_ms"],
                                   "window64_ack_p99_ms": k64["ack_p99_ms"], "linger_ms": k["linger_ms"],
                                   "linger_when": k.get("linger_when")}
        print(json.dumps(result["kafka_produce"]))

        step("Starting the eight services")
        services_started = True
        run([str(REPO / "scripts" / "local" / "services.sh"), "start"])
        pids = {name: pid_of(name) for name in SERVICES}
        brokers = broker_pids()
        gateway_url = f"http://127.0.0.1:{GATEWAY_PORT}/submit-order"
        result["settings"]["in_force"] = settings_in_force(brokers)

        # 2b. Warm-up: a fresh cluster answers slowly for its first minute (the brokers' JIT); the slices show it.
        step(f"Warm-up: {WARMUP_SLICES} x 10 s open loop at 500/s, then 5 s closed loop")
        result["warmup"] = []
        for index in range(WARMUP_SLICES):
            w = load_tool(["--url", gateway_url, "--rate", "500", "--duration", "10s"], f"load-warmup-{index}")
            result["warmup"].append({"slice": index + 1, "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"],
                                     "errors": w["requests"] - w["ok"]})
            print(json.dumps(result["warmup"][-1]))
        wrk(gateway_url, 5, "wrk-pipeline-warmup")
        time.sleep(1)  # answers in flight when wrk stopped
        wait_for(consumers_caught_up, 120, "the consumers to catch up with the warm-up")

        # 3. Pipeline throughput, closed loop, and the CPU it costs per service.
        step(f"Pipeline: wrk -t2 -c{CONCURRENCY} {SECONDS}s through the gateway, {REPEATS} times")
        orders0 = stats_total()
        cpu0 = snapshot({**pids, **brokers})
        machine0 = machine_cpu_jiffies()
        runs = []
        for index in range(REPEATS):
            runs.append(wrk(gateway_url, SECONDS, f"wrk-pipeline-{index}"))
            print(json.dumps({k: runs[-1][k] for k in ("rps", "p50_ms", "p99_ms", "errors")}))
        machine1 = machine_cpu_jiffies()
        time.sleep(1)  # answers in flight when wrk stopped
        wait_for(consumers_caught_up, 120, "the consumers to catch up with the run")
        time.sleep(0.5)  # the last batch's commit and checkpoint
        cpu1 = snapshot({**pids, **brokers})
        orders = stats_total() - orders0
        busy_s = ((machine1[0] - machine0[0]) - (machine1[1] - machine0[1])) / CLK_TCK
        wrk_cpu = sum(p["cpu_s"] for p in runs)
        ours_s = sum(cpu1[n] - cpu0[n] for n in cpu1) + wrk_cpu
        p = median_run(runs, "rps")
        result["pipeline"] = {"rps": p["rps"], "p50_ms": p["p50_ms"], "p90_ms": p["p90_ms"], "p99_ms": p["p99_ms"],
                              "max_ms": p["max_ms"], "errors": sum(r["errors"] for r in runs),
                              "requests": sum(r["requests"] for r in runs), "orders_counted": orders,
                              "runs": [{k: r[k] for k in ("rps", "p50_ms", "p99_ms", "errors")} for r in runs],
                              "machine_busy_cpu_s": round(busy_s, 1), "our_processes_cpu_s": round(ours_s, 1),
                              "other_processes_cpu_s": round(max(busy_s - ours_s, 0), 1)}
        result["cpu_s_per_1000_orders"] = {n: round((cpu1[n] - cpu0[n]) * 1000 / orders, 3) for n in cpu1}
        result["cpu_s_per_1000_orders"]["wrk"] = round(wrk_cpu * 1000 / orders, 3)
        print(json.dumps({k: v for k, v in result["pipeline"].items() if k != "runs"}))

        # 3b. A quiet shop: open loop at light rates, REPEATS times each, in turn (a drift weighs on all alike).
        step(f"Light load: open loop at {', '.join(map(str, LIGHT_RATES))}/s, {SECONDS}s each, {REPEATS} times")
        light = {rate: [] for rate in LIGHT_RATES}
        light_record = VAR / "light-500.jsonl"
        for index in range(REPEATS):
            for rate in LIGHT_RATES:
                args = ["--url", gateway_url, "--rate", str(rate), "--duration", f"{SECONDS}s", "--warmup", "2s"]
                if rate == 500 and index == 0:
                    args += ["--record", str(light_record), "--record-start"]
                psi0, t0 = cpu_pressure_us(), time.monotonic()
                o = load_tool(args, f"load-light-{rate}-{index}")
                light[rate].append({**{k: o[k] for k in ("p50_ms", "p99_ms", "p999_ms", "requests", "ok")},
                                    "cpu_pressure_pct": pressure_pct(psi0, cpu_pressure_us(), time.monotonic() - t0)})
                light[rate][-1]["kafka_alone"] = kafka_alone_open(rate, SECONDS)
                print(json.dumps({"rate": rate, **light[rate][-1]}))
        wait_for(consumers_caught_up, 120, "the consumers to catch up with the light load")
        time.sleep(1)  # the repositories' last "shipped" lines
        result["light"] = {str(rate): {"runs": runs_, **{k: median([r[k] for r in runs_])
                                                          for k in ("p50_ms", "p99_ms", "p999_ms")},
                                       "kafka_alone": {k: median([r["kafka_alone"][k] for r in runs_])
                                                       for k in ("p50_ms", "p99_ms", "p999_ms")}}
                           for rate, runs_ in light.items()}
        if 500 in LIGHT_RATES:
            result["light_e2e_500"] = end_to_end(light_record, "order")
            result["light_500_tail"] = tail_beside_gc(light_record)
            print(json.dumps({"light_500_tail": result["light_500_tail"]}))

        # 4. Latency at a fixed load: open loop at half the throughput just measured, REPEATS times.
        rate = max(1, round(p["rps"] / 2))
        step(f"Latency: kafka-demo-load open loop at {rate}/s for {SECONDS}s, {REPEATS} times")
        record = VAR / "open-loop.jsonl"
        half = []
        for index in range(REPEATS):
            args = ["--url", gateway_url, "--rate", str(rate), "--duration", f"{SECONDS}s", "--warmup", "3s"]
            if index == 0:
                args += ["--record", str(record), "--record-start"]
            psi0, t0 = cpu_pressure_us(), time.monotonic()
            half.append(load_tool(args, f"load-open-{index}"))
            half[-1]["cpu_pressure_pct"] = pressure_pct(psi0, cpu_pressure_us(), time.monotonic() - t0)
            half[-1]["kafka_alone"] = kafka_alone_open(rate, SECONDS)
            print(json.dumps({k: half[-1][k] for k in ("rps", "p50_ms", "p99_ms", "p999_ms", "ok", "requests",
                                                        "kafka_alone")}))
        wait_for(consumers_caught_up, 120, "the consumers to catch up with the open loop")
        time.sleep(1)  # the repositories' last commits
        o = median_run(half, "p99_ms")
        result["latency"] = {"rate": rate, "achieved_rps": o["rps"], "requests": o["requests"], "ok": o["ok"],
                             "status": o["status"], "transport_errors": o["transport_errors"],
                             "p50_ms": o["p50_ms"], "p90_ms": o["p90_ms"], "p99_ms": o["p99_ms"],
                             "p999_ms": o["p999_ms"], "max_ms": o["max_ms"],
                             "max_connections_used": o["connections"],
                             "runs": [{k: h[k] for k in ("p50_ms", "p99_ms", "p999_ms", "ok", "requests",
                                                         "cpu_pressure_pct", "kafka_alone")} for h in half],
                             "kafka_alone": {k: median([h["kafka_alone"][k] for h in half])
                                             for k in ("p50_ms", "p99_ms", "p999_ms")},
                             "tail": tail_beside_gc(record)}
        print(json.dumps({k: v for k, v in result["latency"].items() if k != "runs"}))

        # 4b. The console's cost: the pipeline with and without CONSOLES viewers, alternating.
        step(f"Consoles: the pipeline with and without {CONSOLES} consoles open, alternating")
        result["consoles"] = console_cost(gateway_url, {**pids, **brokers})
        print(json.dumps({k: v for k, v in result["consoles"].items() if k != "runs"}))

        # 5. End to end, from the same open-loop run.
        step("End to end: open-loop records x topic offsets x repository commits")
        result["e2e"] = end_to_end(record, "order")
        print(json.dumps(result["e2e"]))

        # 7. Footprint: the services' peak RSS, after the closed- and open-loop runs.
        result["rss_mb"] = {n: round(status_kb(pid, "VmHWM") / 1024, 1) for n, pid in pids.items()}

        # 6. Consumer catch-up: a fresh statistics on a backlog, against kcat reading the same backlog.
        step(f"Catch-up: {BACKLOG} orders into a fresh topic, then kcat and a fresh statistics read them")
        backlog_topic = f"bench-backlog-{int(time.time())}"
        create_topic(backlog_topic)
        b = produce_bench(backlog_topic, BACKLOG, 50_000)
        if b["errors"]:
            raise RuntimeError(f"backlog: {b['errors']} writes failed: {b.get('first_error')}")
        kcat_first, kcat_cpu_first = kcat_consume(backlog_topic, BACKLOG)
        stats_seconds, stats_rss, stats_cpu, log_bytes = stats_catchup(backlog_topic, BACKLOG)
        kcat_second, kcat_cpu_second = kcat_consume(backlog_topic, BACKLOG)
        kcat_seconds = min(kcat_first, kcat_second)
        result["catchup"] = {"backlog": BACKLOG, "backlog_produce_msgs_per_s": b["msgs_per_s"],
                             "stats_seconds": round(stats_seconds, 2),
                             "stats_catchup_msgs_per_s": round(BACKLOG / stats_seconds),
                             "kcat_seconds": [round(kcat_first, 2), round(kcat_second, 2)],
                             "kcat_consume_msgs_per_s": round(BACKLOG / kcat_seconds),
                             "stats_rss_mb": stats_rss, "stats_cpu_s": stats_cpu,
                             "kcat_cpu_s": [round(kcat_cpu_first, 2), round(kcat_cpu_second, 2)],
                             "stats_cpu_us_per_msg": round(stats_cpu * 1e6 / BACKLOG, 2),
                             "kcat_cpu_us_per_msg": round(min(kcat_cpu_first, kcat_cpu_second) * 1e6 / BACKLOG, 2),
                             "stats_log_mb": round(log_bytes / 1e6, 1)}
        print(json.dumps(result["catchup"]))

        # 8. Order tracking: orders looked up by id among the backlog's million, through a gateway on it.
        step(f"Lookups: {LOOKUPS} orders by id among the {BACKLOG} of the backlog, GET /orders/{{id}}")
        result["lookup"] = lookups(backlog_topic)
        print(json.dumps(result["lookup"]))
    finally:
        step("Stopping everything the benchmark started")
        if hello is not None:
            hello.kill()
        if services_started:
            subprocess.run([str(REPO / "scripts" / "local" / "services.sh"), "stop"], env=SCRIPT_ENV)
        if cluster_started:
            subprocess.run([str(REPO / "scripts" / "kafka" / "cluster.sh"), "stop"], env=SCRIPT_ENV)

    result["machine"]["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    result["bench_seconds"] = round(time.monotonic() - started)
    summarise(result)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "latest.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    (OUT / "latest.md").write_text(report(result))
    step(f"Report: {OUT / 'latest.md'}")
    print(report(result))


def summarise(r):
    """The figures the issue names, the ratios and the targets, at the top level of latest.json."""
    r["figures"] = {
        "http_hello_rps": r["http_hello"]["rps"],
        "kafka_produce_msgs_per_s": r["kafka_produce"]["msgs_per_s"],
        "pipeline_rps": r["pipeline"]["rps"],
        "pipeline_p50_ms": r["pipeline"]["p50_ms"],
        "pipeline_p99_ms": r["pipeline"]["p99_ms"],
        "pipeline_errors": r["pipeline"]["errors"],
        "latency_p50_ms": r["latency"]["p50_ms"],
        "latency_p99_ms": r["latency"]["p99_ms"],
        "latency_p999_ms": r["latency"]["p999_ms"],
        "e2e_p50_ms": r["e2e"]["e2e_p50_ms"],
        "e2e_p99_ms": r["e2e"]["e2e_p99_ms"],
        "stats_catchup_msgs_per_s": r["catchup"]["stats_catchup_msgs_per_s"],
        "kcat_consume_msgs_per_s": r["catchup"]["kcat_consume_msgs_per_s"],
        "rss_mb": r["rss_mb"],
        "cpu_s_per_1000_orders": {n: v for n, v in r["cpu_s_per_1000_orders"].items() if n in SERVICES},
        "lookup_p50_ms": r["lookup"]["p50_ms"],
        "lookup_p99_ms": r["lookup"]["p99_ms"],
        "pipeline_rps_with_consoles_over_without": r["consoles"]["rps_with_over_without"],
    }
    f = r["figures"]
    r["ratios"] = {
        "pipeline_over_http_hello": round(f["pipeline_rps"] / f["http_hello_rps"], 3),
        "stats_catchup_over_kcat": round(f["stats_catchup_msgs_per_s"] / f["kcat_consume_msgs_per_s"], 3),
        "pipeline_over_kafka_produce": round(f["pipeline_rps"] / f["kafka_produce_msgs_per_s"], 3),
        "pipeline_over_kafka_window64": round(f["pipeline_rps"] / r["kafka_produce"]["window64_msgs_per_s"], 3),
    }
    f["light"] = {rate: {k: v for k, v in figures.items() if k != "runs"} for rate, figures in r["light"].items()}
    f["light_e2e_500_p50_ms"] = r.get("light_e2e_500", {}).get("e2e_p50_ms")
    worst_rss = max(f["rss_mb"].values())
    light_targets = [{"target": f"light load {rate}/s (open loop): p50 <= 3 ms and p99 <= 10 ms (median of "
                                f"{len(figures['runs'])} runs)",
                      "value": f"{figures['p50_ms']} / {figures['p99_ms']}",
                      "met": figures["p50_ms"] <= 3 and figures["p99_ms"] <= 10} for rate, figures in r["light"].items()]
    r["targets"] = light_targets + [
        {"target": "end to end (gateway → shipped) median <= 5 ms at 500/s", "value": f["light_e2e_500_p50_ms"],
         "met": f["light_e2e_500_p50_ms"] is not None and f["light_e2e_500_p50_ms"] <= 5},
        {"target": "pipeline_rps >= 90% of Kafka alone at the same concurrency (window 64)",
         "value": r["ratios"]["pipeline_over_kafka_window64"],
         "met": r["ratios"]["pipeline_over_kafka_window64"] >= 0.9},
        {"target": "latency p99 <= 10 ms at 50% of pipeline_rps (open loop)", "value": f["latency_p99_ms"],
         "met": f["latency_p99_ms"] <= 10},
        {"target": "pipeline_rps >= 25% of http_hello_rps", "value": r["ratios"]["pipeline_over_http_hello"],
         "met": r["ratios"]["pipeline_over_http_hello"] >= 0.25},
        {"target": "stats_catchup >= 70% of kcat_consume", "value": r["ratios"]["stats_catchup_over_kcat"],
         "met": r["ratios"]["stats_catchup_over_kcat"] >= 0.70},
        {"target": "each service <= 30 MB RSS under the pipeline load (largest)", "value": worst_rss,
         "met": worst_rss <= 30},
        {"target": "statistics <= 30 MB RSS while catching up the backlog", "value": r["catchup"]["stats_rss_mb"],
         "met": r["catchup"]["stats_rss_mb"] <= 30},
        {"target": "pipeline errors = 0", "value": f["pipeline_errors"], "met": f["pipeline_errors"] == 0},
        {"target": f"an order looked up among {r['lookup']['orders_in_topic']:,} in Kafka in < 50 ms (p99)",
         "value": f["lookup_p99_ms"], "met": f["lookup_p99_ms"] < 50 and r["lookup"]["wrong"] == 0},
    ]


def alone_cell(x):
    k = x.get("kafka_alone")
    return f"{k['p50_ms']} / {k['p99_ms']} / {k['p999_ms']}" if k else ""


def report(r):
    m, f, t = r["machine"], r["figures"], r["targets"]
    yes = lambda ok: "met" if ok else "**not met**"
    lines = [
        "# Benchmark report (make bench)",
        "",
        f"Machine: {m['nproc']} cores, {m['cpu_model']}, {m['memory_gb']} GB, Linux {m['kernel']}, {m['os']}. "
        f"Load average at start {' '.join(m['loadavg_at_start'])}, at end {' '.join(m['loadavg_at_end'])}"
        + (f". {m['shared_note']}" if m.get("shared_note") else "") + ".",
        f"Everything on this one machine: three Kafka 3.9 brokers (KRaft), eight services, the load generators. "
        f"Run took {r['bench_seconds']} s; each load phase {r['settings']['phase_seconds']} s.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| http_hello_rps (wrk -t2 -c64, kafka-demo-hello) | {f['http_hello_rps']:.0f} |",
        f"| kafka_produce_msgs_per_s (order service's producer, {r['kafka_produce']['bytes_per_msg']:.0f} B, "
        f"window {r['kafka_produce']['window']}) | {f['kafka_produce_msgs_per_s']:.0f} |",
        f"| kafka produce, window 64 (msgs/s, ack p50 / p99 ms) | {r['kafka_produce']['window64_msgs_per_s']:.0f} "
        f"({r['kafka_produce']['window64_ack_p50_ms']} / {r['kafka_produce']['window64_ack_p99_ms']}) |",
        f"| pipeline_rps (wrk -t2 -c64 + Lua, gateway → order → Kafka) | {f['pipeline_rps']:.0f} |",
        f"| pipeline_p50_ms / pipeline_p99_ms | {f['pipeline_p50_ms']} / {f['pipeline_p99_ms']} |",
        f"| pipeline rps of each run (the median above) | "
        f"{' / '.join(str(round(x['rps'])) for x in r['pipeline']['runs'])} |",
        f"| pipeline errors | {f['pipeline_errors']} |",
        f"| open loop at {r['latency']['rate']}/s (50%): latency p50 / p99 / p999 ms | {f['latency_p50_ms']} / "
        f"{f['latency_p99_ms']} / {f['latency_p999_ms']} (p99 of each run: "
        f"{' / '.join(str(x['p99_ms']) for x in r['latency']['runs'])}; CPU pressure % of each run: "
        f"{' / '.join(str(x.get('cpu_pressure_pct')) for x in r['latency']['runs'])}) |",
        f"| e2e_p50_ms / e2e_p99_ms (gateway → repository shipped, {r['e2e']['e2e_orders']} orders) | "
        f"{f['e2e_p50_ms']} / {f['e2e_p99_ms']} |",
        f"| stats_catchup_msgs_per_s ({r['catchup']['backlog']} orders, fresh statistics) | "
        f"{f['stats_catchup_msgs_per_s']} |",
        f"| kcat_consume_msgs_per_s (same backlog, faster of two) | {f['kcat_consume_msgs_per_s']} |",
        f"| CPU µs per record: statistics catching up / kcat | {r['catchup']['stats_cpu_us_per_msg']} / "
        f"{r['catchup']['kcat_cpu_us_per_msg']} |",
        f"| GET /orders/{{id}} among {r['lookup']['orders_in_topic']:,} orders ({r['lookup']['lookups']} lookups): "
        f"p50 / p99 / max ms | {f['lookup_p50_ms']} / {f['lookup_p99_ms']} / {r['lookup']['max_ms']} "
        f"({r['lookup']['mean_reads']} reads, {r['lookup']['mean_records_read']} records on average) |",
        f"| pipeline rps without / with {r['consoles']['consoles']} consoles open (alternating, "
        f"{len(r['consoles']['runs']['with'])} runs each of {r['consoles']['seconds_per_run']} s); p99 ms | "
        f"{r['consoles']['rps_without']:.0f} / {r['consoles']['rps_with']:.0f} "
        f"({r['consoles']['rps_with_over_without']}); {r['consoles']['p99_ms_without']} / {r['consoles']['p99_ms_with']} |",
        f"| CPU ms per 1,000 requests without / with the consoles: gateway; brokers | "
        f"{r['consoles']['gateway_cpu_ms_per_1000_without']} / {r['consoles']['gateway_cpu_ms_per_1000_with']}; "
        f"{r['consoles']['brokers_cpu_ms_per_1000_without']} / {r['consoles']['brokers_cpu_ms_per_1000_with']} |",
        "",
        f"A quiet shop, and half load: open loop at light rates, {len(next(iter(r['light'].values()))['runs'])} "
        "runs of each in turn, then at half the maximum; the median of each figure, then every run's p50 / p99 ms.",
        "",
        "| rate | p50 ms | p99 ms | p999 ms | Kafka alone p50 / p99 / p999 ms | runs (p50 / p99; CPU pressure %; "
        "Kafka alone p99) |",
        "|---|---|---|---|---|---|",
        *[f"| {rate}/s | {x['p50_ms']} | {x['p99_ms']} | {x['p999_ms']} | {alone_cell(x)} | "
          + ", ".join(f"{run['p50_ms']} / {run['p99_ms']}; {run.get('cpu_pressure_pct')} %"
                      + (f"; {run['kafka_alone']['p99_ms']}" if "kafka_alone" in run else "") for run in x["runs"])
          + " |" for rate, x in r["light"].items()],
        f"| {r['latency']['rate']}/s (50 %) | {r['latency']['p50_ms']} | {r['latency']['p99_ms']} | "
        f"{r['latency']['p999_ms']} | {alone_cell(r['latency'])} | "
        + ", ".join(f"{run['p50_ms']} / {run['p99_ms']}; {run.get('cpu_pressure_pct')} %"
                    + (f"; {run['kafka_alone']['p99_ms']}" if "kafka_alone" in run else "")
                    for run in r["latency"]["runs"]) + " |",
        *([f"| end to end at 500/s (gateway → shipped, {r['light_e2e_500']['e2e_orders']} orders of the first run) "
           f"| {r['light_e2e_500']['e2e_p50_ms']} | {r['light_e2e_500']['e2e_p99_ms']} | | | |"]
          if "light_e2e_500" in r else []),
        "",
        "CPU pressure: the share of the phase during which some runnable task waited for a core "
        "(/proc/pressure/cpu). Kafka alone: right after each run, the order service's producer writes at the "
        "same rate, open loop, to a topic nobody reads (kafka-demo-produce-bench --rate): the brokers' own "
        "latency at that rate on this machine, without our hops and consumers.",
        *[f"Tail beside the brokers' GC pauses, {label}: {x['slow']} of {x['answers']} answers over "
          f"{x['slow_ms']} ms, {x['slow_beside_gc_pause']} of them in flight during a pause; "
          f"{x['gc_pauses']} pauses, longest {x['gc_pause_max_ms']} ms, {x['gc_paused_pct_of_time']} % of the time."
          for label, x in (("500/s (first run)", r.get("light_500_tail") or {}),
                           (f"{r['latency']['rate']}/s (first run)", r["latency"].get("tail") or {})) if x],
        "",
        "Warm-up (a fresh cluster, open loop at 500/s, 10 s slices): p50 / p99 ms "
        + ", ".join(f"{w['p50_ms']} / {w['p99_ms']}" for w in r["warmup"]) + ".",
        "",
        "| ratio | value |",
        "|---|---|",
        f"| pipeline_rps / http_hello_rps | {r['ratios']['pipeline_over_http_hello']} |",
        f"| stats_catchup / kcat_consume | {r['ratios']['stats_catchup_over_kcat']} |",
        f"| pipeline_rps / kafka_produce_msgs_per_s | {r['ratios']['pipeline_over_kafka_produce']} |",
        f"| pipeline_rps / Kafka alone with 64 in flight | {r['ratios']['pipeline_over_kafka_window64']} |",
        "",
        "| service | peak RSS MB | CPU s per 1,000 orders |",
        "|---|---|---|",
    ]
    for name in SERVICES:
        lines.append(f"| {name} | {f['rss_mb'][name]} | {f['cpu_s_per_1000_orders'][name]} |")
    cpu = r["cpu_s_per_1000_orders"]
    lines += [
        f"| statistics during catch-up | {r['catchup']['stats_rss_mb']} | "
        f"{round(r['catchup']['stats_cpu_s'] * 1000 / r['catchup']['backlog'], 3)} |",
        f"| brokers 0/1/2 (for reference) | | {cpu.get('broker-0')} / {cpu.get('broker-1')} / {cpu.get('broker-2')} |",
        f"| wrk (load generator) | | {cpu.get('wrk')} |",
        "",
        f"During the pipeline run the machine was busy {r['pipeline']['machine_busy_cpu_s']} CPU-s of "
        f"{m['nproc'] * r['settings']['phase_seconds']}; our processes (services, brokers, wrk) used "
        f"{r['pipeline']['our_processes_cpu_s']}, other processes {r['pipeline']['other_processes_cpu_s']}.",
        "",
        "| target | value | |",
        "|---|---|---|",
    ]
    for target in t:
        lines.append(f"| {target['target']} | {target['value']} | {yes(target['met'])} |")
    settings = r["settings"].get("in_force", {})
    lines += ["", "Settings in force: producer " + ", ".join(f"{k}={v}" for k, v in settings.get("producer", {}).items())
              + "; environment " + (", ".join(f"{k}={v}" for k, v in settings.get("environment", {}).items()) or "none")
              + "; brokers' server.properties (topics may override: order has min.insync.replicas=2) "
              + ", ".join(f"{k}={v}" for k, v in settings.get("broker", {}).items())
              + "; broker JVM " + " ".join(settings.get("broker_jvm", [])) + "."]
    lines += ["", "How each figure is measured, and what bounds the ones that miss their targets: bench/README.md.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
