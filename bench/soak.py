#!/usr/bin/env python3
"""make soak: does a consumer's state stay bounded after millions of orders?

Writes KD_SOAK_ORDERS orders (default 2,000,000) straight to one partition of a fresh topic on a fresh
three-broker cluster, lets each consumer (a warehouse, then statistics) handle all of them, stops it, and
restarts it on the same state. Reports per consumer: catch-up seconds and peak RSS, the state's size on
disk, restart-to-ready seconds, restart-to-resumed seconds (a new order handled), and peak RSS after the
restart. Stops everything it started; writes bench/results/soak.json and soak.md.

Environment (defaults in brackets), as bench/run.py: KD_VAR [<repo>/.var/soak], KD_BIN
[<repo>/build/release/bin] (point it at another build to measure that one), KD_SKIP_BUILD=1,
KD_KAFKA_PORT_BASE [9092], KD_SOAK_ORDERS [2000000], KD_SOAK_PORT [8095], KD_SOAK_LABEL [this build],
KD_BENCH_OUT [<repo>/bench/results].
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("KD_VAR", str(Path(__file__).resolve().parent.parent / ".var" / "soak"))
import run as bench  # noqa: E402  (the cluster, build and /proc helpers of make bench)

ORDERS = int(os.environ.get("KD_SOAK_ORDERS", "2000000"))
PORT = int(os.environ.get("KD_SOAK_PORT", "8095"))
LABEL = os.environ.get("KD_SOAK_LABEL", "this build")
TOPIC = "soak"


def directory_bytes(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def http_status(path):
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class Consumer:
    """One consumer process on the soak topic: `repository` (partition 0) or `statistics`."""

    def __init__(self, kind, state):
        self.kind, self.state, self.process = kind, state, None

    def handled(self):
        try:
            if self.kind == "repository":
                return bench.http_json(f"http://127.0.0.1:{PORT}/shipments", timeout=2)["next_offset"] or 0
            return bench.http_json(f"http://127.0.0.1:{PORT}/stats", timeout=2)["total"]["orders"]
        except (OSError, ValueError, KeyError):
            return 0

    def start(self, log_name, log_level):
        env = dict(os.environ, POD_NAME=f"{self.kind}-0", LISTEN=f"127.0.0.1:{PORT}", KAFKA_BROKERS=bench.BROKERS,
                   KAFKA_TOPIC=TOPIC, KAFKA_PARTITIONS="1", STATE_DIR=str(self.state), LOG_LEVEL=log_level,
                   CONSUMER_GROUP=f"soak-{self.kind}")
        self.log = bench.VAR / "logs" / f"{log_name}.log"
        with open(self.log, "w") as out:
            self.process = subprocess.Popen([str(bench.BIN / self.kind)], stdout=out, stderr=subprocess.STDOUT,
                                            env=env)
        return time.monotonic()

    def wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited while waiting for {what} (log: {self.log})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind}: no {what} after {timeout} s (log: {self.log})")
            time.sleep(0.01)
        return time.monotonic()

    def peak_rss_mb(self):
        return round(bench.status_kb(self.process.pid, "VmHWM") / 1024, 1)

    def stop(self):
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise RuntimeError(f"{self.kind} did not stop within 60 s of SIGTERM")
        self.process = None
        if code != 0:
            raise RuntimeError(f"{self.kind} exited with {code} on SIGTERM (log: {self.log})")


def soak(kind, produced):
    state = bench.VAR / f"state-{kind}"
    consumer = Consumer(kind, state)
    out = {}
    try:
        bench.step(f"{kind}: handling {produced:,} orders from an empty state")
        t0 = consumer.start(f"{kind}-catchup", "warn")  # a million "consumed" lines are not what is measured
        t1 = consumer.wait(lambda: consumer.handled() >= produced, 1800, f"{produced} orders handled")
        out["catchup_s"] = round(t1 - t0, 1)
        out["catchup_peak_rss_mb"] = consumer.peak_rss_mb()
        consumer.stop()
        out["state_bytes"] = directory_bytes(state)

        bench.step(f"{kind}: restart on that state")
        t0 = consumer.start(f"{kind}-restart", "info")
        t1 = consumer.wait(lambda: http_status("/readyz") == 200, 300, "readiness")
        out["restart_to_ready_s"] = round(t1 - t0, 2)
        bench.produce_bench(TOPIC, 1, 1)
        t2 = consumer.wait(lambda: consumer.handled() >= produced + 1, 300, "the new order handled")
        out["restart_to_resumed_s"] = round(t2 - t0, 2)
        time.sleep(1)
        out["restart_peak_rss_mb"] = consumer.peak_rss_mb()
        consumer.stop()
        out["state_bytes_after_restart"] = directory_bytes(state)
        print(json.dumps({kind: out}), flush=True)
        return out
    finally:
        if consumer.process is not None:
            consumer.process.kill()


def report(result):
    rows = ["| consumer | catch-up s | catch-up peak RSS MB | state on disk MB | restart → ready s | "
            "restart → resumed s | peak RSS after restart MB |", "|---|---|---|---|---|---|---|"]
    for kind in ("repository", "statistics"):
        r = result[kind]
        rows.append(f"| {kind} | {r['catchup_s']} | {r['catchup_peak_rss_mb']} | {r['state_bytes'] / 1e6:.1f} | "
                    f"{r['restart_to_ready_s']} | {r['restart_to_resumed_s']} | {r['restart_peak_rss_mb']} |")
    return "\n".join([f"# Soak: {result['orders']:,} orders through one partition ({result['label']})", "",
                      f"Taken {result['taken']} on {result['machine']['nproc']} CPUs; binaries {result['bin']}.",
                      "", *rows, ""])


def main():
    if os.environ.get("KD_SKIP_BUILD", "0") != "1":
        bench.step("Installing what is missing, building (release)")
        bench.run([str(bench.REPO / "scripts" / "install-deps.sh")])
        bench.run(["cmake", "--preset", "release", "-S", str(bench.REPO)], stdout=subprocess.DEVNULL)
        bench.run(["cmake", "--build", "--preset", "release"], cwd=bench.REPO)
    busy = [p for p in [bench.PORT_BASE + i for i in range(3)] + [PORT] if bench.port_open(p)]
    if busy:
        sys.exit(f"soak: port(s) {busy} in use: is a cluster from 'make up' running? Run 'make down' first.")
    shutil.rmtree(bench.VAR, ignore_errors=True)
    (bench.VAR / "logs").mkdir(parents=True)
    result = {"orders": ORDERS, "label": LABEL, "bin": str(bench.BIN), "machine": bench.machine(),
              "taken": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    cluster = [str(bench.REPO / "scripts" / "kafka" / "cluster.sh")]
    try:
        bench.step("Starting three Kafka brokers")
        bench.run(cluster + ["start"])
        bench.run([str(bench.BIN / "kafka-demo-admin"), "--brokers", bench.BROKERS, "--topic", TOPIC,
                   "--partitions", "1", "create-topic"], stdout=subprocess.DEVNULL)
        bench.step(f"Writing {ORDERS:,} orders to partition 0")
        bench.PARTITIONS = 1
        written = bench.produce_bench(TOPIC, ORDERS, 50_000)
        if written.get("errors"):
            raise RuntimeError(f"produce-bench: {written}")
        for kind in ("repository", "statistics"):
            result[kind] = soak(kind, ORDERS)
    finally:
        bench.step("Stopping the cluster")
        subprocess.run(cluster + ["stop", "--purge"], env=bench.SCRIPT_ENV)
    out = Path(os.environ.get("KD_BENCH_OUT", bench.REPO / "bench" / "results"))
    out.mkdir(parents=True, exist_ok=True)
    name = os.environ.get("KD_SOAK_NAME", "soak")
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{name}.md").write_text(report(result))
    print(report(result))


if __name__ == "__main__":
    main()
