#!/usr/bin/env python3
"""Fault tests on the real three-broker cluster, each ending in a reconciliation.

Every scenario gets a fresh topic and fresh state, starts the eight services, drives an open-loop load
through the gateway (kafka-demo-load, one JSON line per answer), injects its fault, lets the system settle
and then compares four independent accounts of the same orders:

  acked     the orders the gateway answered 200, from the load generator's record
  in_kafka  the orders in the topic, read back with kcat (not our code)
  shipped   the order ids in each warehouse's saved state (its durable record of shipments)
  counted   the figures statistics serves at GET /stats

A scenario fails on any order lost or counted twice, on any stored order nobody was told about
(a "phantom": every order in Kafka is either acknowledged or was answered "outcome unknown", naming it),
on any order answered "not written" that was written, and on its own expectations (a bounded answer while
Kafka is down, no 200 then, quick 502s for a dead order instance, ...).

  chaos.py [--short] [--only NAME ...] [--skip NAME ...] [--where loopback|hosts|all] [--keep] [--reuse-cluster]
           [--soak-minutes 30] [--soak-every 120] [--soak-seed N] [--soak-rate N] [--soak-faults a,b]

The scenarios that kill processes run on a loopback cluster. Quieter faults need a network that can be cut
or degraded for one host while the others keep theirs, so `partition`, `lossy_link`, `order_cut_off`,
`disk_full` and `clock_step` run on test hosts of their own (hosts.py: a network namespace per broker and per
service on a bridge; root, iproute2, nftables, iptables, ping), each reporting p50/p99 and the 503/504 counts
while its fault lasted. `--where` picks one kind (make test runs them as chaos_short and chaos_hosts_short).

Each fault is an inject/heal pair (the Fault classes), used by its own scenario and by the `soak`: on test
hosts, half of a capacity measured first (a closed loop; at most SOAK_MAX_RATE) for --soak-minutes, a fault
drawn at random (seeded, the seed printed) from all of them every --soak-every seconds, each healed and
recovered before the next, then one reconciliation of the whole run, each fault's window figures, every
service's memory and the brokers' disks, and a flat-memory check (SOAK_RSS_GROWTH_MIB). It runs in the long
form only (`make chaos`), never with --short unless named.

`grow` is not a fault but an operation under load, run only when named (`--only grow`; `make test` runs it
as e2e_grow_regions): the shop grows from three regions to five (the topic's partitions, then new order and
repository instances), and the gateway and statistics take up the new partitions without a restart. `--reuse-cluster` runs scenarios that leave the brokers alone on the cluster
at KD_BROKERS (the test fixture's) instead of starting one.

Env: KD_BIN (built binaries, default build/release/bin), KD_VAR (default build/chaos-var), KD_BROKERS (with
--reuse-cluster).
"""

import argparse
import collections
import datetime
import functools
import json
import os
import pathlib
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import random
import urllib.error
import urllib.parse
import urllib.request

import hosts as hosts_module

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
CLUSTER = REPO / "scripts/kafka/cluster.sh"
SERVICES = REPO / "scripts/local/services.sh"
REGIONS = "陕北,关中,陕南"
GROWN_REGIONS = "陕北,关中,陕南,西安,宝鸡"

# Ports of their own, so a chaos run never meets `make up`, the test fixture or a benchmark; all below
# the ephemeral range (32768+), where an outgoing connection could hold one at the wrong moment.
# KD_CHAOS_PORT_OFFSET moves them all, for another build tree testing at the same time.
PORT_OFFSET = int(os.environ.get("KD_CHAOS_PORT_OFFSET", "0"))
PORTS = {
    name: str(port + PORT_OFFSET)
    for name, port in {
        "KD_KAFKA_PORT_BASE": 9292,
        "KD_KAFKA_CONTROLLER_PORT_BASE": 19292,
        "KD_GATEWAY_PORT": 21080,
        "KD_ORDER_PORT_BASE": 21100,
        "KD_REPOSITORY_PORT_BASE": 21110,
        "KD_STATISTICS_PORT": 21090,
    }.items()
}
BROKERS = ",".join(f"127.0.0.1:{int(PORTS['KD_KAFKA_PORT_BASE']) + n}" for n in range(3))  # or KD_BROKERS
# The order service's delivery timeout (its default), and how late past it an answer may come.
DELIVERY_TIMEOUT_S = 5.0
ANSWER_BOUND_S = DELIVERY_TIMEOUT_S + 1.5


def log(message):
    print(f"chaos: {message}", flush=True)


class Topology:
    """The local cluster and services (the same scripts as `make up`), on the chaos ports."""

    def __init__(self, var, bin_dir):
        self.var = pathlib.Path(var)
        self.bin = pathlib.Path(bin_dir)
        self.topic = None
        self.regions = REGIONS
        self.brokers = BROKERS
        self.env = dict(os.environ, KD_VAR=str(self.var), KD_BIN=str(self.bin), KD_BROKERS=BROKERS, **PORTS)

    @property
    def partitions(self):
        return len(self.regions.split(","))

    def run(self, script, *args, check=True, regions=None, env=None):
        env = dict(self.env, KD_TOPIC=self.topic or "order", REGIONS=regions or self.regions, **(env or {}))
        done = subprocess.run([str(script), *args], env=env, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"{script.name} {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout if check else done

    def admin(self, *args):
        """kafka-demo-admin on the scenario's topic; the finished process, whatever its exit status."""
        return subprocess.run([str(self.bin / "kafka-demo-admin"), "--brokers", self.brokers, "--topic", self.topic, *args],
                              capture_output=True, text=True, timeout=60)

    def pid(self, service):
        path = self.var / "run" / f"{service}.pid"
        return path.read_text().strip() if path.exists() else None

    def cluster(self, *args):
        return self.run(CLUSTER, *args)

    def services(self, *args):
        return self.run(SERVICES, *args)

    def state_dir(self):
        return pathlib.Path(self.env.get("KD_STATE_DIR") or self.var / "state")

    def warehouse_db(self, partition):
        return self.state_dir() / f"repository-{self.topic}-{partition}.db"

    def url(self, service, path):
        port = {
            "gateway": PORTS["KD_GATEWAY_PORT"],
            "statistics": PORTS["KD_STATISTICS_PORT"],
        }.get(service)
        if port is None:
            kind, n = service.rsplit("-", 1)
            base = PORTS["KD_ORDER_PORT_BASE"] if kind == "order" else PORTS["KD_REPOSITORY_PORT_BASE"]
            port = str(int(base) + int(n))
        return f"http://127.0.0.1:{port}{path}"

    def wait_replicated(self):
        """Until every partition of the scenario's topic has all its replicas in sync again."""
        wait_for(lambda: fully_replicated(self.topic, self.brokers), 90, "the topic fully replicated again")

    def get_json(self, service, path):
        with urllib.request.urlopen(self.url(service, path), timeout=5) as answer:
            return json.loads(answer.read())


class Load:
    """kafka-demo-load in open loop: requests start on a fixed schedule whatever the answers do, so a
    stall shows as latency instead of as fewer requests."""

    def __init__(self, topology, name, rate, duration_s, timeout_ms=15000, partitions=None):
        self.rate = rate
        self.record = topology.var / f"{name}.load.jsonl"
        command = [
            str(topology.bin / "kafka-demo-load"),
            "--url", topology.url("gateway", "/submit-order"),
            "--partitions", str(partitions or topology.partitions),
            "--rate", str(rate),
            "--duration", f"{duration_s}s",
            "--warmup", "0s",  # every request is accounted for: warm-up requests would be phantoms
            "--timeout-ms", str(timeout_ms),
            "--record", str(self.record),
            "--record-start",  # each line's intended start on the wall clock: where the tool's t0 lies
        ]
        self.began = time.monotonic()
        self.began_wall = time.time()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def elapsed(self):
        return time.monotonic() - self.began

    def sleep_until(self, second):
        time.sleep(max(0.0, second - self.elapsed()))

    def stop(self):
        self.process.send_signal(signal.SIGINT)

    def finish(self):
        out, err = self.process.communicate(timeout=120)
        if self.process.returncode != 0:
            raise RuntimeError(f"kafka-demo-load failed ({self.process.returncode}): {err}")
        summary = json.loads(out.strip().splitlines()[-1])
        answers = [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]
        # The tool's schedule starts when the tool does, later than began (33 ms in a soak on a busy machine,
        # enough for order_kill's 502s to seem answered before the kill): on our clock, request i starts at
        # that delay + i/rate. The wall clock gives the delay only, read at both starts.
        delay_s = max(0.0, answers[0]["start_us"] / 1e6 - answers[0]["seq"] / self.rate - self.began_wall) \
            if answers else 0.0
        for answer in answers:
            answer["start_s"] = delay_s + answer["seq"] / self.rate  # the intended start, open loop
        return summary, answers


def read_topic(topic, brokers=None):
    """Every record of the topic, through kcat: an account of what Kafka holds that owes nothing to our code."""
    done = subprocess.run(
        ["kcat", "-C", "-b", brokers or BROKERS, "-t", topic, "-o", "beginning", "-e", "-q", "-J"],
        capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"kcat failed: {done.stderr}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def decode_order(payload):
    """An order as the consumers accept it (string ids, whole-number money and time), else None."""
    try:
        order = json.loads(payload)
    except (TypeError, ValueError):
        return None
    def whole(value):
        return isinstance(value, int) and not isinstance(value, bool)
    if (isinstance(order, dict) and isinstance(order.get("order_id"), str) and order["order_id"]
            and isinstance(order.get("user_id"), str) and whole(order.get("money")) and whole(order.get("time"))):
        return order
    return None


def read_warehouse_state(path):
    """What a warehouse's saved state holds (SQLite, src/common/consumer/state_store.hpp): the order ids of
    its dedupe window, every order it shipped while its partition holds fewer records than DEDUPE_WINDOW,
    and how many orders it shipped in all. Read-only, beside the running warehouse (WAL allows it)."""
    if not path.exists():
        return [], 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        ids = []
        for (blob,) in db.execute("SELECT entries FROM window_chunks ORDER BY partition, first_offset"):
            for offset, key, _digest in struct.iter_unpack("<qQQ", blob):
                ids.append(str(key))
        row = db.execute("SELECT value FROM meta WHERE key = 'handler'").fetchone()
        shipped = json.loads(row[0])["shipped"] if row else 0
        return ids, shipped
    finally:
        db.close()


def settle(topology, topic, deadline_s=90):
    """Waits until every warehouse and statistics have handled every record in the topic."""
    records = read_topic(topic, topology.brokers)
    ends = collections.Counter(r["partition"] for r in records)
    # Statistics counts each order once, however many copies Kafka holds, and rejects what is not an order.
    orders = [decode_order(r.get("payload")) for r in records]
    to_handle = len({o["order_id"] for o in orders if o}) + sum(1 for o in orders if not o)
    stop_at = time.monotonic() + deadline_s
    while True:
        try:
            behind = []
            for p in range(topology.partitions):
                shipments = topology.get_json(f"repository-{p}", "/shipments")
                if (shipments.get("next_offset") or 0) < ends[p]:
                    behind.append(f"repository-{p}")
            stats = topology.get_json("statistics", "/stats")
            seen = sum(r["orders"] + r["rejected"] for r in stats["regions"])
            if seen < to_handle:
                behind.append("statistics")
        except OSError as error:
            behind = [f"unreachable ({error})"]
        if not behind:
            time.sleep(1.0)  # anything handled twice would show by now
            return records
        if time.monotonic() > stop_at:
            raise RuntimeError(f"not settled after {deadline_s} s: {', '.join(behind)}")
        time.sleep(0.5)


def reconcile(name, topology, answers, records, poison=0):
    """Compares the four accounts; returns (line, problems)."""
    problems = []
    acked, unknown_ids, unknown_users, not_written_users = {}, set(), set(), set()
    unanswered = 0
    for answer in answers:
        body = answer.get("body") if isinstance(answer.get("body"), dict) else {}
        if answer["status"] == 200:
            acked[body["order_id"]] = (answer["partition"], body)
        elif answer["status"] == 0:
            unanswered += 1
        elif body.get("outcome") == "unknown":
            unknown_ids.add(body.get("order_id"))
            unknown_users.add(body.get("user_id"))
        elif answer["status"] >= 500:
            not_written_users.add(body.get("user_id"))

    stored = collections.defaultdict(list)  # order_id -> [(partition, order)]
    users = collections.defaultdict(set)     # user_id -> order_ids
    bad_records = 0
    for record in records:
        order = decode_order(record.get("payload"))
        if order is None:
            bad_records += 1
            continue
        stored[order["order_id"]].append((record["partition"], order))
        users[order["user_id"]].add(order["order_id"])

    # Kafka may hold an order twice (a producer retry it could not recognise); the consumers must act on
    # it once, so copies are reported, not failed. One request stored under two order ids is a duplicate.
    kafka_copies = sum(len(v) - 1 for v in stored.values())
    resubmitted = sum(len(ids) - 1 for ids in users.values() if len(ids) > 1)
    lost_in_kafka = [i for i in acked if i not in stored]
    misplaced = [i for i, (p, _) in acked.items() if i in stored and stored[i][0][0] != p]
    phantoms = [i for i, copies in stored.items()
                if i not in acked and i not in unknown_ids and copies[0][1]["user_id"] not in unknown_users]
    written_errors = [u for u in not_written_users if u in users]
    stored_unknown = sum(1 for i, copies in stored.items()
                         if i not in acked and (i in unknown_ids or copies[0][1]["user_id"] in unknown_users))

    states = {p: read_warehouse_state(topology.warehouse_db(p))
              for p in range(topology.partitions)}
    shipped_by = {p: ids for p, (ids, _) in states.items()}
    shipped_in = {p: set(ids) for p, ids in shipped_by.items()}  # not the lists: 1.8M orders would take hours
    shipped_all = collections.Counter(i for ids in shipped_by.values() for i in ids)
    # Shipped twice: an id twice in the windows, or more shipments counted than distinct orders held.
    ship_duplicates = (sum(n - 1 for n in shipped_all.values() if n > 1) +
                       sum(max(0, count - len(shipped_in[p])) for p, (_, count) in states.items()))
    not_shipped = [i for i, copies in stored.items() if i not in shipped_in[copies[0][0]]]

    stats = topology.get_json("statistics", "/stats")
    counted = stats["total"]["orders"]
    count_lost = count_duplicated = 0
    shown = sorted(region["partition"] for region in stats["regions"])
    if shown != list(range(topology.partitions)):
        problems.append(f"statistics shows partitions {shown}, the topic has {topology.partitions}")
    for region in stats["regions"]:
        p = region["partition"]
        orders = [copies[0][1] for copies in stored.values() if copies[0][0] == p]
        expected, revenue = len(orders), sum(o["money"] for o in orders)
        count_lost += max(0, expected - region["orders"])
        count_duplicated += max(0, region["orders"] - expected)
        if region["revenue"] != revenue:
            problems.append(f"statistics revenue of partition {p} is {region['revenue']}, Kafka holds {revenue}")
    if stats["total"]["rejected"] != bad_records or bad_records != poison:
        problems.append(f"statistics rejected {stats['total']['rejected']} records; "
                        f"the topic holds {bad_records} that are not orders, {poison} were written")

    lost = len(lost_in_kafka) + len(not_shipped) + count_lost
    duplicated = resubmitted + ship_duplicates + count_duplicated
    if lost_in_kafka:
        problems.append(f"{len(lost_in_kafka)} acknowledged orders are not in Kafka, e.g. {lost_in_kafka[:3]}")
    if not_shipped:
        problems.append(f"{len(not_shipped)} stored orders were not shipped, e.g. {not_shipped[:3]}")
    if misplaced:
        problems.append(f"{len(misplaced)} orders are in another partition than asked, e.g. {misplaced[:3]}")
    if duplicated:
        problems.append(f"duplicates: {resubmitted} requests stored as two orders, {ship_duplicates} shipped twice, "
                        f"{count_duplicated} counted twice")
    if count_lost:
        problems.append(f"statistics counts {count_lost} orders fewer than Kafka holds")
    if phantoms:
        problems.append(f"{len(phantoms)} orders are in Kafka that nobody was told about, e.g. {phantoms[:3]}")
    if written_errors:
        problems.append(f"{len(written_errors)} orders answered 'not written' are in Kafka")
    # Kafka's copies of one order are the same bytes; two different orders under one id mean an id handed out
    # twice (an order instance's clock stepped back), which the consumers must never take for a copy.
    reused = [i for i, copies in stored.items() if len({json.dumps(o, sort_keys=True) for _, o in copies}) > 1]
    if reused:
        problems.append(f"{len(reused)} order ids each name two different orders in Kafka, e.g. {reused[:3]}")

    line = (f"chaos {name}: acked={len(acked)} in_kafka={len(stored)} shipped={len(shipped_all)} "
            f"counted={counted} lost={lost} duplicated={duplicated} "
            f"unknown={len(unknown_ids | unknown_users)} (stored {stored_unknown}) "
            f"not_written={len(not_written_users)} unanswered={unanswered} phantom={len(phantoms)} "
            f"kafka_copies={kafka_copies}"
            + (f" dead_letters={poison}" if poison else ""))
    return line, problems


def window(answers, begin_s, end_s, partitions=None):
    return [a for a in answers if begin_s <= a["start_s"] < end_s and
            (partitions is None or a["partition"] in partitions)]


def describe(answers):
    return dict(collections.Counter(a["status"] for a in answers))


# --- the scenarios -------------------------------------------------------------------------------------
# Each returns (answers, records, extra problems, poison count). `scale` shortens them for `make test`.

def fully_replicated(topic, brokers=None):
    """True when every partition of the topic has all its replicas in sync again."""
    done = subprocess.run(["kcat", "-L", "-b", brokers or BROKERS, "-t", topic, "-J"], capture_output=True, text=True,
                          timeout=30)
    if done.returncode != 0:
        return False
    try:
        partitions = json.loads(done.stdout)["topics"][0]["partitions"]
    except (ValueError, KeyError, IndexError):
        return False
    return bool(partitions) and all(len(p.get("isrs", [])) == len(p.get("replicas", [])) for p in partitions)


def wait_for(probe, limit_s, what):
    stop_at = time.monotonic() + limit_s
    while not probe():
        if time.monotonic() > stop_at:
            raise RuntimeError(f"{what} not within {limit_s} s")
        time.sleep(0.25)


def broker_kill(topology, scale, rate):
    fault = BrokerKill(topology)
    # Open-ended load: stopped once the broker is back in sync and a tail of normal load has run.
    load = Load(topology, "broker_kill", rate, duration_s=600)
    try:
        load.sleep_until(6 * scale)
        killed_at = load.elapsed()
        fault.inject()
        load.sleep_until(14 * scale)
        restart_at = load.elapsed()
        fault.heal()
        fault.recover()
        in_sync_at = load.elapsed()
        load.sleep_until(in_sync_at + 4)
    finally:
        load.stop()
    _, answers = load.finish()
    problems = fault.problems
    # Requests begun once replication is whole again meet a healthy cluster; earlier ones may still be
    # queued behind the outage.
    tail = window(answers, in_sync_at + 0.5, in_sync_at + 4)
    if not tail or any(a["status"] != 200 for a in tail):
        problems.append(f"after the broker was back in sync, not all 200: {describe(tail)}")
    outage = window(answers, killed_at, in_sync_at)
    log(f"broker_kill: broker 1 down for {restart_at - killed_at:.1f} s, in sync again {in_sync_at - restart_at:.1f} s "
        f"after its restart began; answers meanwhile {describe(outage)}")
    return answers, problems, 0


def consumer_kill(topology, scale, rate):
    fault = ConsumerKill(topology)
    load = Load(topology, "consumer_kill", rate, duration_s=16 * scale)
    load.sleep_until(5 * scale)
    fault.inject()
    load.sleep_until(9 * scale)
    fault.heal()
    _, answers = load.finish()
    problems = fault.problems
    if any(a["status"] != 200 for a in answers):
        problems.append(f"the write path must not notice consumers dying: {describe(answers)}")
    return answers, problems, 0


def order_kill(topology, scale, rate):
    fault = OrderKill(topology)
    duration = 18 * scale
    load = Load(topology, "order_kill", rate, duration_s=duration)
    load.sleep_until(5 * scale)
    killed_at = load.elapsed()
    fault.inject()
    load.sleep_until(11 * scale)
    restarted_at = load.elapsed()
    fault.heal()
    back_at = load.elapsed()
    _, answers = load.finish()
    problems = fault.problems
    # In flight at the kill, answers are "unknown" (504); after that the gateway cannot connect: 502 at once.
    dead = window(answers, killed_at + 0.5, restarted_at, {2})
    if not dead or any(a["status"] not in (502, 503) for a in dead):
        problems.append(f"partition 2 while order-2 was dead: {describe(dead)}, expected only 502/503")
    slow = [a for a in dead if a["latency_us"] > 1_000_000]
    if slow:
        problems.append(f"{len(slow)} answers for the dead partition took over 1 s")
    others = window(answers, 0, duration, {0, 1})
    if any(a["status"] != 200 for a in others):
        problems.append(f"partitions 0 and 1 must not notice: {describe(others)}")
    after = window(answers, back_at + 0.5, duration, {2})
    if any(a["status"] != 200 for a in after):
        problems.append(f"partition 2 after order-2 came back: {describe(after)}")
    if dead:
        worst = max(a["latency_us"] for a in dead) / 1000
        log(f"order_kill: {len(dead)} requests for the dead partition answered {describe(dead)}, "
            f"slowest in {worst:.1f} ms")
    return answers, problems, 0


def brokers_down(topology, scale, rate):
    fault = BrokersDown(topology)
    # Open-ended: the restart of all three brokers takes as long as it takes; stopped after the tail.
    load = Load(topology, "brokers_down", rate, duration_s=600)
    try:
        load.sleep_until(5 * scale)
        fault.inject()
        down_at = load.elapsed()  # from the last kill: until then a broker may still acknowledge
        load.sleep_until(5 * scale + 12)
        up_at = load.elapsed()
        fault.heal()
        ready_at = load.elapsed()
        # Let the services find the cluster again, then give them a tail of normal load to prove it.
        load.sleep_until(max(ready_at + 15, 0))
        tail_from = load.elapsed()
        load.sleep_until(tail_from + 4)
    finally:
        load.stop()
    _, answers = load.finish()
    problems = fault.problems
    outage = window(answers, down_at + 0.2, up_at)
    acked_in_outage = [a for a in outage if a["status"] == 200]
    if acked_in_outage:
        problems.append(f"{len(acked_in_outage)} orders were acknowledged while every broker was down")
    late = [a for a in outage if a["latency_us"] > ANSWER_BOUND_S * 1e6]
    if late:
        problems.append(f"{len(late)} answers took longer than {ANSWER_BOUND_S} s while Kafka was down")
    tail = window(answers, tail_from, tail_from + 4)
    if not tail or any(a["status"] != 200 for a in tail):
        problems.append(f"not recovered {tail_from - ready_at:.0f} s after the brokers were back: {describe(tail)}")
    if outage:
        worst = max(a["latency_us"] for a in outage) / 1e6
        log(f"brokers_down: {len(outage)} requests during the outage answered {describe(outage)}, "
            f"slowest in {worst:.1f} s (bound {ANSWER_BOUND_S} s)")
    return answers, problems, 0


STOP_LINE = re.compile(r"services: stopped (?P<name>\S+): exit status (?P<status>\S+), (?P<took>[0-9.]+) s after SIGTERM")
STOP_GRACE_S = 25  # services.sh's grace period before SIGKILL (Kubernetes gives 30 s)


def last_log_line(path, message):
    """The last JSON log line of a service whose message starts with `message`, or None."""
    found = None
    for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and str(entry.get("message", "")).startswith(message):
            found = entry
    return found


def saved_positions(path):
    """Each partition's next offset in a consumer's saved state (SQLite, read-only)."""
    if not path.exists():
        return None
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return {str(p): n for p, n in db.execute("SELECT partition, next_offset FROM positions")}
    finally:
        db.close()


def clean_stops(topology, stopped):
    """Problems unless every service stopped by itself on SIGTERM: exit status 0 within the grace period (a
    SIGKILL after it shows as 137), and its last act done: statistics' and each warehouse's final save and
    commit (their last positions, as logged, are the positions in their saved state), each order instance's
    producer flushed with nothing pending, and every process's own last line, `stopped` with status 0."""
    problems = []
    names = ["gateway", "statistics"] + [f"{kind}-{p}" for kind in ("order", "repository")
                                         for p in range(topology.partitions)]
    reported = {m["name"]: m for m in STOP_LINE.finditer(stopped.stdout)}
    if stopped.returncode != 0:
        problems.append(f"services.sh stop failed ({stopped.returncode}): {stopped.stderr.strip()}")
    for name in names:
        log_path = topology.var / "logs" / f"{name}.log"
        stop = reported.get(name)
        if stop is None:
            problems.append(f"{name}: no exit reported by services.sh stop")
        elif stop["status"] != "0" or float(stop["took"]) > STOP_GRACE_S:
            problems.append(f"{name}: exit status {stop['status']} {stop['took']} s after SIGTERM, "
                            f"expected 0 within {STOP_GRACE_S} s")
        last = last_log_line(log_path, "stopped")
        if last is None or last.get("message") != "stopped" or last.get("exit_status") != 0:
            problems.append(f"{name}: its last line is not `stopped` with exit_status 0: {last}")
        if name.startswith("order-"):
            flushed = last_log_line(log_path, "producer flushed")
            if flushed is None or flushed.get("pending") != 0:
                problems.append(f"{name}: producer not flushed on stop: {flushed}")
        elif name.startswith("repository-") or name == "statistics":
            final = last_log_line(log_path, "stopped consuming")
            state = topology.state_dir() / (f"repository-{topology.topic}-{name.split('-')[1]}.db"
                                            if name != "statistics" else f"statistics-{topology.topic}.db")
            saved = saved_positions(state)
            if final is None or not final.get("state_saved") or not final.get("offsets_committed"):
                problems.append(f"{name}: no final save and commit on stop: {final}")
            elif saved is None or {**{p: 0 for p in final.get("positions", {})}, **saved} != final.get("positions"):
                problems.append(f"{name}: final positions {final.get('positions')} are not the saved state's {saved}")
    return problems


def sigterm_all(topology, scale, rate):
    fault = SigtermAll(topology)
    load = Load(topology, "sigterm_all", rate, duration_s=16 * scale + 6)
    load.sleep_until(5 * scale)
    stopping_at = load.elapsed()
    fault.inject()
    stopped_at = load.elapsed()
    fault.heal()
    started_at = load.elapsed()
    _, answers = load.finish()
    problems = fault.problems
    # Everything the gateway accepted before SIGTERM is answered by it, not dropped: no request that
    # started before the stop may end without an answer or with a 5xx.
    before = window(answers, 0, stopping_at - 0.05)
    if any(a["status"] != 200 for a in before):
        problems.append(f"requests begun before SIGTERM: {describe(before)}")
    slowest = max((float(m["took"]) for m in STOP_LINE.finditer(fault.stopped.stdout)), default=0.0)
    log(f"sigterm_all: stopped in {stopped_at - stopping_at:.1f} s (each service by itself, exit status 0 and its "
        f"final save, commit or flush checked: {'yes' if not problems else 'NO'}; slowest {slowest:.1f} s after "
        f"its SIGTERM), started again in {started_at - stopped_at:.1f} s; answers while down: "
        f"{describe(window(answers, stopping_at, started_at))}")
    return answers, problems, 0


def poison(topology, scale, rate):
    fault = Poison(topology)
    load = Load(topology, "poison", rate, duration_s=12 * scale)
    load.sleep_until(4 * scale)
    fault.inject()
    _, answers = load.finish()
    return answers, fault.problems, fault.poison


def gateway_range(topology):
    """The gateway's own words on which partitions it takes: partition 99 is never one, and the answer's
    message names the range (nothing is ordered)."""
    request = urllib.request.Request(topology.url("gateway", "/submit-order"), data=b"partition=99")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return f"unexpected {answer.status}"
    except urllib.error.HTTPError as error:
        return json.loads(error.read()).get("message", "")


class ConsoleWatch:
    """The gateway's console event stream (/console/events), read on a thread of its own: how many regions
    each snapshot shows."""

    def __init__(self, topology):
        self.snapshots = []
        self.stream = urllib.request.urlopen(topology.url("gateway", "/console/events"), timeout=30)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        event = None
        try:
            for raw in self.stream:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if line.startswith("event:"):
                    event = line[len("event:"):].strip()
                elif line.startswith("data:") and event == "snapshot":
                    self.snapshots.append(len(json.loads(line[len("data:"):])["status"]["regions"]))
        except (OSError, ValueError):
            pass  # closed

    def close(self):
        self.stream.close()


def grow(topology, scale, rate):
    """Three regions to five under load, as an operator would: `services.sh start` with five REGIONS grows the
    topic (kafka-demo-admin create-topic --grow) and starts order-3/4 and repository-3/4; the gateway and
    statistics must take up partitions 3 and 4 by themselves (PARTITION_REFRESH_MS), without a restart."""
    problems = []
    before = {name: topology.pid(name) for name in ("gateway", "statistics")}
    console = ConsoleWatch(topology)  # someone watching: the console must start over with five regions
    old = Load(topology, "grow-old", rate * 3 // 5, duration_s=600)  # the three old regions, throughout
    try:
        old.sleep_until(4 * scale)
        grow_at = old.elapsed()
        topology.regions = GROWN_REGIONS
        log(topology.services("start").strip().replace("\n", "; "))
        started_at = old.elapsed()
        wait_for(lambda: "from 0 to 4" in gateway_range(topology), 30, "the gateway taking partitions 3 and 4")
        accepted_at = old.elapsed()
        wait_for(lambda: 5 in console.snapshots, 30, "the console showing five regions")
        new = Load(topology, "grow-new", rate * 2 // 5, duration_s=8 * scale, partitions=5)
        _, new_answers = new.finish()
    finally:
        old.stop()  # an open-ended load must never outlive its scenario
        console.close()
    _, old_answers = old.finish()
    log(f"grow: topic grown and order-3/4, repository-3/4 ready {started_at - grow_at:.1f} s after the start, "
        f"the gateway took partitions 3 and 4 {accepted_at - started_at:.1f} s later; console snapshots of "
        f"{console.snapshots} regions")
    if any(a["status"] != 200 for a in old_answers):
        problems.append(f"the three old regions noticed the growth: {describe(old_answers)}")
    if not new_answers or any(a["status"] != 200 for a in new_answers):
        problems.append(f"orders for all five regions once grown: {describe(new_answers)}")
    after = {name: topology.pid(name) for name in before}
    if after != before:
        problems.append(f"gateway or statistics restarted: pids {before} -> {after}")

    # Growing again is nothing to do; shrinking is refused, by the admin tool and by the scripts, saying why.
    again = topology.admin("grow-topic", "--partitions", "5")
    if again.returncode != 0 or "found existing topic" not in again.stdout:
        problems.append(f"grow-topic to the same count: exit {again.returncode}, {again.stdout}{again.stderr}")
    shrink = topology.admin("grow-topic", "--partitions", "3")
    if shrink.returncode != 2 or "refusing to shrink" not in shrink.stderr:
        problems.append(f"grow-topic --partitions 3: exit {shrink.returncode}, {shrink.stdout}{shrink.stderr}")
    scripts = topology.run(SERVICES, "start", check=False, regions=REGIONS)
    if scripts.returncode == 0 or "refusing to shrink" not in scripts.stderr:
        problems.append(f"services.sh start with three REGIONS on five partitions: exit {scripts.returncode}")
    log(f"grow: shrinking refused: {shrink.stderr.strip()}")
    return old_answers + new_answers, problems, 0


FLOOD_CONNECTIONS = 10_000


def process_rss_mib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class GatewayConnections:
    """The gateway's connection counters, read over one kept-alive connection. During a flood a new
    connection may rightly get 503 (no held one has idled a second yet), as a monitoring scrape on a fresh
    connection would; one that has served a request is spared (README, "Connection limit")."""

    names = ("http_connections_open", "http_connections_refused_total", "http_connections_evicted_total",
             "http_accept_failures_total")

    def __init__(self, topology):
        self.address = urllib.parse.urlsplit(topology.url("gateway", ""))
        self.connection = None

    def read(self):
        import http.client
        for attempt in (1, 2):  # once more on a new connection if the kept one was closed meanwhile
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.address.hostname, self.address.port, timeout=10)
            try:
                self.connection.request("GET", "/metrics")
                answer = self.connection.getresponse()
                text = answer.read().decode()
                if answer.status == 200:
                    return {name.replace("http_", ""): int(float(line.split()[1])) for line in text.splitlines()
                            for name in self.names if line.startswith(name + " ")}
                error = f"GET /metrics answered {answer.status}"
            except (OSError, http.client.HTTPException) as e:
                error = f"GET /metrics: {e!r}"
            self.close()
        raise RuntimeError(f"the gateway's connection counters: {error}")

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def fresh_connection_order(topology, partition):
    """One order on a connection of its own, as curl places it: a new client arriving during the flood."""
    import http.client
    gateway = urllib.parse.urlsplit(topology.url("gateway", ""))
    began = time.monotonic()
    connection = http.client.HTTPConnection(gateway.hostname, gateway.port, timeout=15)
    try:
        connection.request("POST", "/submit-order", body=f"partition={partition}",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        answer = connection.getresponse()
        raw = answer.read()
        status = answer.status
    except OSError:
        status, raw = 0, b""
    finally:
        connection.close()
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    return {"status": status, "body": body, "partition": partition,
            "latency_us": int((time.monotonic() - began) * 1e6)}


class Flood:
    """Connections that connect and send nothing, opened as fast as one thread can, each watched for what
    the gateway does with it: holds it (silence), refuses it (a 503 and a close), or closes it to make room
    for a newer one (a close without an answer)."""

    def __init__(self, host, port, count):
        import selectors
        import socket
        self.selector = selectors.DefaultSelector()
        self.outcome = {}  # socket -> ("503", seconds to the answer) or ("closed", seconds) or ("reset", s)
        self.began = {}
        self.sockets = []
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex((host, port))
            self.began[sock] = time.monotonic()
            self.selector.register(sock, selectors.EVENT_READ)
            self.sockets.append(sock)
            if len(self.sockets) % 500 == 0:
                self.pump(0)

    def pump(self, seconds):
        stop_at = time.monotonic() + seconds
        while True:
            for key, _ in self.selector.select(timeout=max(0.0, min(0.1, stop_at - time.monotonic()))):
                sock = key.fileobj
                try:
                    data = sock.recv(4096)
                    kind = "503" if data.startswith(b"HTTP/1.1 503") else ("closed" if not data else "other")
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    kind = "reset"
                except OSError:
                    kind = "failed"  # never connected (the backlog was full and the retries ran out)
                self.outcome[sock] = (kind, time.monotonic() - self.began[sock])
                self.selector.unregister(sock)
            if time.monotonic() >= stop_at:
                return

    def counts(self):
        counted = collections.Counter(kind for kind, _ in self.outcome.values())
        counted["held"] = len(self.sockets) - len(self.outcome)
        return dict(counted)

    def refusal_ms(self):
        times = sorted(seconds * 1000 for kind, seconds in self.outcome.values() if kind == "503")
        if not times:
            return {}
        return {"p50": round(times[len(times) // 2], 1), "p99": round(times[int(len(times) * 0.99)], 1),
                "max": round(times[-1], 1)}

    def close(self):
        for sock in self.sockets:
            sock.close()
        self.selector.close()


def flood(topology, scale, rate):
    """10,000 idle connections to the gateway under load: the gateway holds HTTP_MAX_CONNECTIONS of them,
    answers the excess 503 at once, closes the longest-idle to make room for newer clients, and real
    orders (the load's kept-alive connections, and new clients with a connection each) get 200."""
    fault = ConnectionFlood(topology)
    pid = topology.pid("gateway")
    load = Load(topology, "flood", rate, duration_s=600)  # open-ended: stopped after the tail
    fresh = []
    try:
        load.sleep_until(3 * scale)
        rss = {"before": process_rss_mib(pid)}
        flood_at = load.elapsed()
        fault.inject()
        hold_from = load.elapsed()
        during = fault.watch.read()
        rss["during"] = process_rss_mib(pid)
        for n in range(int(30 * scale)):
            entry = fresh_connection_order(topology, n % topology.partitions)
            entry["start_s"] = load.elapsed()
            fresh.append(entry)
            fault.crowd.pump(0.15)
        fault.heal()
        hold_to = load.elapsed()
        closed_at = load.elapsed()
        load.sleep_until(closed_at + 4)
        rss["after"] = process_rss_mib(pid)
        after = fault.watch.read()  # heal closed its connection: a new one, the flood gone
    finally:
        load.stop()
        if fault.crowd:
            fault.crowd.close()
        if fault.watch:
            fault.watch.close()
    _, answers = load.finish()
    problems = fault.problems
    log(f"flood: {fault.count} idle connections opened in {fault.opened_s:.1f} s, at the gateway in "
        f"{fault.arrived_s:.1f} s: {fault.outcomes}; 503 answered in "
        f"{fault.refusal} ms; gateway during {during}, after {after}; gateway RSS MiB {rss}")
    held = window(answers, hold_from, hold_to)
    log(f"flood: load while held {describe(held)}, new clients while held {describe(fresh)}, "
        f"load while opening {describe(window(answers, flood_at, hold_from))}")
    if not held or any(a["status"] != 200 for a in held):
        problems.append(f"orders on the load's connections while the flood was held: {describe(held)}")
    if not fresh or any(a["status"] != 200 for a in fresh):
        problems.append(f"new clients while the flood was held: {describe(fresh)}")
    if topology.pid("gateway") != pid:
        problems.append("the gateway restarted")
    return answers + fresh, problems, 0


# --- the faults, each an inject/heal pair -------------------------------------------------------------
# A scenario injects its fault, holds it, heals it and checks its own expectations around it; the soak draws
# faults at random and does the same with each. So each fault is written once, here, and both use it.

class Fault:
    """One fault on a running topology. `inject` does it, `heal` undoes it, `recover` waits until the system
    is whole again (replication, readiness) where that takes a while; `prepare` runs once before the load,
    for a fault that needs the topology set up for it (a small disk). `hold_s` is how long the soak holds it
    (its scenario's length at full scale); `poison` counts the records that are not orders it wrote; what
    it finds wrong on the way (a service that did not stop cleanly) goes into `problems`."""

    name = ""
    hold_s = 10
    on_hosts = False  # needs test hosts of their own (HostTopology)

    def __init__(self, topology):
        self.topology = topology
        self.problems = []
        self.poison = 0

    def prepare(self):
        pass

    def inject(self):
        raise NotImplementedError

    def heal(self):
        pass

    def recover(self):
        pass


class BrokerKill(Fault):
    """kill -9 one broker; healed by restarting it on its data, recovered once every replica is in sync."""
    name, hold_s = "broker_kill", 8

    def __init__(self, topology, broker="1"):
        super().__init__(topology)
        self.broker = broker

    def inject(self):
        log(self.topology.cluster("kill", self.broker).strip())

    def heal(self):
        log(self.topology.cluster("restart", self.broker).strip().splitlines()[-1])

    def recover(self):
        self.topology.wait_replicated()


class ConsumerKill(Fault):
    """kill -9 a warehouse and statistics; healed by starting them again on their saved state."""
    name, hold_s = "consumer_kill", 4
    victims = ("repository-1", "statistics")

    def inject(self):
        log(self.topology.services("kill", *self.victims).strip().replace("\n", "; "))

    def heal(self):
        log(self.topology.services("start", *self.victims).strip().splitlines()[-1])


class OrderKill(Fault):
    """kill -9 an order instance; healed by starting it again."""
    name, hold_s = "order_kill", 6

    def __init__(self, topology, victim="order-2"):
        super().__init__(topology)
        self.victim = victim

    def inject(self):
        log(self.topology.services("kill", self.victim).strip())

    def heal(self):
        log(self.topology.services("start", self.victim).strip().splitlines()[-1])


class BrokersDown(Fault):
    """kill -9 all three brokers; healed by starting the cluster again. Recovery is the services finding the
    cluster again by themselves, which the scenario and the soak each give time."""
    name, hold_s = "brokers_down", 12

    def inject(self):
        for n in ("0", "1", "2"):
            self.topology.cluster("kill", n)
        log("killed all three brokers")

    def heal(self):
        log(self.topology.cluster("start").strip().splitlines()[-1])


class SigtermAll(Fault):
    """`services.sh stop` (SIGTERM, gateway first), each service checked to stop cleanly (clean_stops);
    healed by starting them all again."""
    name, hold_s = "sigterm_all", 0
    stopped = None

    def inject(self):
        self.stopped = self.topology.run(SERVICES, "stop", check=False)
        for line in self.stopped.stdout.strip().splitlines():
            log(line)
        # Before the restart appends to the logs and moves the saved state on.
        self.problems += clean_stops(self.topology, self.stopped)

    def heal(self):
        log(self.topology.services("start").strip().splitlines()[-1])


class Poison(Fault):
    """Three records that are not orders, written straight to the topic with kcat; nothing to heal."""
    name, hold_s = "poison", 0
    records = ["this is not an order", '{"money":5}', '{"time":1,"user_id":"1","money":"lots","order_id":"7"}']

    def inject(self):
        for n, value in enumerate(self.records):
            subprocess.run(["kcat", "-P", "-b", self.topology.brokers, "-t", self.topology.topic, "-p",
                            str(n % self.topology.partitions)], input=value, text=True, check=True, timeout=30)
        self.poison += len(self.records)
        log(f"wrote {len(self.records)} poison records straight to the topic")


class ConnectionFlood(Fault):
    """FLOOD_CONNECTIONS connections to the gateway that send nothing (Flood), held until healed."""
    name, hold_s = "flood", 8
    crowd = watch = None

    def inject(self):
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = FLOOD_CONNECTIONS + 512
        if soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
        self.count = min(FLOOD_CONNECTIONS, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 512)
        if self.count < FLOOD_CONNECTIONS:
            log(f"flood: this process may open {self.count + 512} files (hard limit {hard}): {self.count} connections")
        self.watch = GatewayConnections(self.topology)
        open_before = self.watch.read()["connections_open"]  # the load's kept-alive ones, and the watch's own
        began = time.monotonic()
        self.crowd = Flood(self.watch.address.hostname, self.watch.address.port, self.count)
        self.opened_s = time.monotonic() - began
        # Connections the gateway could not take at once (its accept queue full) come back with the kernel's
        # SYN retries, 1, 3, 7 s later; a burst of thousands takes every place and for a second spares them
        # all, so a new client meanwhile gets 503. The flood counts as held once every connection is answered
        # or held by the gateway (give or take the load's own, which a flood may close).
        settle_by = time.monotonic() + 30
        while True:
            self.crowd.pump(0.2)
            arrived = len(self.crowd.outcome) + self.watch.read()["connections_open"] - open_before
            if arrived + open_before >= self.count or time.monotonic() > settle_by:
                break
        self.arrived_s = time.monotonic() - began
        if arrived + open_before < self.count:
            log(f"flood: after {self.arrived_s:.1f} s only {arrived} of {self.count} connections had reached the "
                f"gateway; going on")
        self.crowd.pump(1.5)  # every place held for a second and a half: from now on idle ones make room

    def heal(self):
        self.crowd.pump(1.0)
        self.outcomes, self.refusal = self.crowd.counts(), self.crowd.refusal_ms()
        self.crowd.close()
        self.crowd = None
        self.watch.close()
        if self.outcomes.get("503", 0) == 0 or self.outcomes.get("other", 0):
            self.problems.append(f"the flood's connections: {self.outcomes}, expected 503s and no other answer")


class NetworkPartition(Fault):
    """One broker's every packet in or out dropped (not refused); healed, then recovered once in sync."""
    name, hold_s, on_hosts = "partition", 20, True

    def __init__(self, topology, victim="broker-1"):
        super().__init__(topology)
        self.victim = victim

    def inject(self):
        self.topology.hosts.isolate(self.victim)
        log(f"partition: {self.victim} ({self.topology.hosts.address(self.victim)}) isolated: its packets dropped")

    def heal(self):
        self.topology.hosts.heal(self.victim)

    def recover(self):
        self.topology.wait_replicated()


class LossyLink(Fault):
    """5% of the packets lost each way and every packet sent held 50 ms, on the leader of partition 0."""
    name, hold_s, on_hosts = "lossy_link", 30, True
    delayer = ""

    def inject(self):
        hosts = self.topology.hosts
        self.victim = self.topology.leader(0)
        self.rtt_before = hosts.rtt_ms(self.victim)
        hosts.degrade(self.victim, loss_percent=5, delay_ms=50)
        self.rtt_during = hosts.rtt_ms(self.victim, count=20)
        log(f"lossy_link: {self.victim} (leader of partition 0) loses 5% each way, holds what it sends 50 ms: "
            f"ping {self.rtt_before} ms before, {self.rtt_during} ms now")
        if self.rtt_during is None or self.rtt_during < 50:
            self.problems.append(f"the link was not slowed: ping {self.rtt_during} ms while degraded")

    def heal(self):
        self.delayer = self.topology.hosts.heal(self.victim)

    def recover(self):
        self.topology.wait_replicated()


class OrderCutOff(Fault):
    """order-1's packets to and from every broker dropped; the gateway still reaches it."""
    name, hold_s, on_hosts = "order_cut_off", 15, True

    def __init__(self, topology, victim="order-1"):
        super().__init__(topology)
        self.victim = victim

    def inject(self):
        self.topology.hosts.cut(self.victim, BROKER_HOSTS)
        log(f"order_cut_off: {self.victim} cut off from the three brokers")

    def heal(self):
        self.topology.hosts.heal(self.victim)
        log(f"order_cut_off: {self.victim} reaches the brokers again")


class DiskFull(Fault):
    """The disk holding some consumers' state (a tmpfs of its own, made by `prepare`) filled until ENOSPC:
    each victim must go not ready, a warehouse ship nothing more and stay up; healed by removing the filler,
    recovered once every victim is ready again. The scenario puts repository-1 alone on a 16 MiB disk; the
    soak (victim None) puts every consumer's STATE_DIR on one, so that any restart a fault makes keeps it."""
    name, hold_s, on_hosts = "disk_full", 15, True

    def __init__(self, topology, victim=None, size="16M"):
        super().__init__(topology)
        self.victim, self.size = victim, size
        self.victims = [victim] if victim else ["statistics"] + [f"repository-{p}" for p in range(topology.partitions)]
        self.disk = None

    def prepare(self):
        """Restarts the victims, which have no state yet, with their STATE_DIR on the small disk: one victim
        by an environment of its own, every consumer by the topology's (so any later start keeps it)."""
        topology = self.topology
        topology.services("stop", *self.victims)
        self.disk = topology.hosts.small_disk(topology.var / f"disk-{self.victim or 'state'}", self.size)
        if self.victim:
            partition = int(self.victim.split("-")[1])
            topology.warehouse_dbs[partition] = self.disk / f"repository-{topology.topic}-{partition}.db"
            topology.run(SERVICES, "start", self.victim, env={"KD_STATE_DIR": str(self.disk)})
        else:
            topology.env["KD_STATE_DIR"] = str(self.disk)
            topology.services("start", *self.victims)

    def inject(self):
        topology = self.topology
        self.filler = self.disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={self.filler}", "bs=64K"], capture_output=True)  # until ENOSPC
        log(f"disk_full: the state disk of {', '.join(self.victims)} filled "
            f"({shutil.disk_usage(self.disk).free} bytes free)")
        filled = time.monotonic()
        for name in self.victims:
            wait_for(lambda: not ready(topology, name), 30, f"{name} reporting not ready on a full disk")
        self.not_ready_s = time.monotonic() - filled
        self.reason = readiness(topology, self.victims[0])
        self.held = self.shipped_to()

    def shipped_to(self):
        return {name: self.topology.get_json(name, "/shipments").get("next_offset")
                for name in self.victims if name.startswith("repository-")}

    def heal(self):
        self.still = self.shipped_to()
        if self.still != self.held:
            self.problems.append(f"a warehouse went on shipping on a full disk: next_offset {self.held} -> {self.still}")
        for name in self.victims:
            pid = self.topology.pid(name)
            if pid is None or not os.path.exists(f"/proc/{pid}"):
                self.problems.append(f"{name} died on a full disk")
        self.filler.unlink()

    def recover(self):
        for name in self.victims:
            wait_for(lambda: ready(self.topology, name), 60, f"{name} ready again once the disk had room")


class ClockStep(Fault):
    """order-2 restarted with its wall clock 30 s behind (libfaketime); healed by restarting it on the real
    clock (a step forward, which must not matter either)."""
    name, hold_s, on_hosts = "clock_step", 20, True

    def __init__(self, topology, victim="order-2", seconds=30):
        super().__init__(topology)
        self.victim, self.seconds = victim, seconds

    def prepare(self):
        self.clock = clock_behind(self.topology, self.seconds)

    def inject(self):
        topology = self.topology
        topology.services("stop", self.victim)
        behind = {"KD_EXEC_WRAPPER": "env " + " ".join(f"{k}={v}" for k, v in self.clock.items())}
        topology.run(SERVICES, "start", self.victim, env=behind)
        self.started = time.monotonic()
        # The victim's own clock, as its log tells it: its newest line (flushed within a second) against real time.
        time.sleep(1.5)
        newest = json.loads((topology.var / "logs" / f"{self.victim}.log").read_text().splitlines()[-1])["time"]
        self.skew = round(datetime.datetime.fromisoformat(newest.replace("Z", "+00:00")).timestamp() - time.time())
        if not -self.seconds - 3 <= self.skew <= -self.seconds + 3:
            self.problems.append(f"the faked clock is {self.skew} s off, not {self.seconds} s behind")

    def heal(self):
        self.topology.services("stop", self.victim)
        self.topology.services("start", self.victim)


FAULTS = [BrokerKill, ConsumerKill, OrderKill, BrokersDown, SigtermAll, Poison, ConnectionFlood,
          NetworkPartition, LossyLink, OrderCutOff, DiskFull, ClockStep]


def check_dead_letters(topology, expected):
    """Each poison record is dead-lettered by both consumers that met it: its warehouse and statistics."""
    letters = read_topic(topology.topic + ".dlq", topology.brokers)
    consumers = collections.Counter()
    for letter in letters:
        headers = dict(zip(letter.get("headers", [])[::2], letter.get("headers", [])[1::2]))
        consumers[headers.get("kd.consumer", "?").split("-")[0]] += 1
    if consumers["repository"] < expected or consumers["statistics"] < expected:
        return [f"dead letters: {dict(consumers)}, expected {expected} from repository and from statistics"]
    return []


# --- faults on test hosts of their own (tests/chaos/hosts.py) -----------------------------------------
# Each broker and service is a network namespace on a bridge, so one host's network can be cut or degraded
# while the others keep theirs. Each scenario reports, besides the reconciliation, how the answers fared
# while the fault lasted: their p50/p99 and how many got 503 and 504.

BROKER_HOSTS = [f"broker-{n}" for n in range(3)]
SERVICE_HOSTS = (["gateway", "statistics"] + [f"order-{n}" for n in range(3)] +
                 [f"repository-{n}" for n in range(3)])
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
# While a broker's packets vanish, a write in flight to it is failed by librdkafka's timeout scan, which runs
# once a second: answers come up to a second past the delivery timeout, and on this 2-core machine with other
# trees building beside it (load average 30) we saw up to 8.05 s. The bound stays below the gateway's own
# ORDER_TIMEOUT_MS (10 s), so an order instance that hangs, answered only by the gateway's timeout, fails it.
NETWORK_BOUND_S = DELIVERY_TIMEOUT_S + 4.5


class HostTopology(Topology):
    """The same scripts as Topology, but brokers and services each on a test host of its own."""

    def __init__(self, var, bin_dir, hosts):
        super().__init__(var, bin_dir)
        self.hosts = hosts
        base = int(PORTS["KD_KAFKA_PORT_BASE"])
        self.brokers = ",".join(f"{hosts.address(name)}:{base + n}" for n, name in enumerate(BROKER_HOSTS))
        self.env.update(KD_BROKERS=self.brokers,
                        KD_KAFKA_HOSTS=",".join(hosts.address(name) for name in BROKER_HOSTS),
                        KD_KAFKA_NETNS=",".join(hosts.netns(name) for name in BROKER_HOSTS),
                        KD_NETNS_PREFIX=f"{hosts.prefix}-")
        self.warehouse_dbs = {}  # partition -> a state file elsewhere than STATE_DIR (disk_full)

    def url(self, service, path):
        local = super().url(service, path)  # http://127.0.0.1:<port><path>
        return local.replace("127.0.0.1", self.hosts.address(service), 1)

    def warehouse_db(self, partition):
        return self.warehouse_dbs.get(partition) or super().warehouse_db(partition)

    def leader(self, partition):
        """The broker host that leads a partition of the scenario's topic."""
        done = subprocess.run(["kcat", "-L", "-b", self.brokers, "-t", self.topic, "-J"], capture_output=True,
                              text=True, timeout=30, check=True)
        for entry in json.loads(done.stdout)["topics"][0]["partitions"]:
            if entry["partition"] == partition:
                return f"broker-{entry['leader']}"
        raise RuntimeError(f"no leader for partition {partition} of {self.topic}")

    def heal_all(self):
        """After a scenario, once its services have stopped: every host's network whole, every small disk gone."""
        for name in self.hosts.names:
            self.hosts.heal(name)
        for path in list(self.hosts.mounts):
            self.hosts.release_disk(path)
        self.warehouse_dbs.clear()
        for setting in ("KD_STATE_DIR", "DEDUPE_WINDOW"):  # the soak's, for every consumer
            self.env.pop(setting, None)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0


def fault_figures(answers):
    """p50/p99 and the 503/504 counts of the answers to requests begun while a fault lasted."""
    latencies = [a["latency_us"] / 1e6 for a in answers if a["status"]]
    statuses = collections.Counter(a["status"] for a in answers)
    return (f"{len(answers)} requests, p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 0.99):.2f} s, max {max(latencies, default=0):.2f} s, "
            f"503: {statuses[503]}, 504: {statuses[504]}, all {dict(statuses)}")


def answered_at(answer):
    """When the answer came, in the load's seconds (its latency is counted from the request's planned start)."""
    return answer["start_s"] + answer["latency_us"] / 1e6


def out_of_bound(answers, bound_s=NETWORK_BOUND_S):
    """Answers slower than the order service's bound, or never answered."""
    return [a for a in answers if a["status"] == 0 or a["latency_us"] > bound_s * 1e6]


def partition(topology, scale, rate):
    """One broker's network cut off (every packet in or out dropped, nothing refused) for 20 s, then healed."""
    fault = NetworkPartition(topology)
    victim = fault.victim
    load = Load(topology, "partition", rate, duration_s=600)
    try:
        load.sleep_until(5 * scale)
        cut_at = load.elapsed()
        fault.inject()
        load.sleep_until(cut_at + 20 * scale)
        healed_at = load.elapsed()
        fault.heal()
        log(f"partition: {victim} healed after {healed_at - cut_at:.1f} s")
        fault.recover()
        in_sync_at = load.elapsed()
        # The clients' connections to the victim come back with TCP's next retransmission, which backs off
        # while packets vanish (0.2 s doubling: up to ~13 s after a 20 s cut); then a tail of normal load.
        tail_from = max(in_sync_at, healed_at + 15)
        load.sleep_until(tail_from + 4)
    finally:
        load.stop()
        fault.heal()
    _, answers = load.finish()
    problems = fault.problems
    tail = window(answers, tail_from, tail_from + 4)
    if not tail or any(a["status"] != 200 for a in tail):
        problems.append(f"{tail_from - healed_at:.0f} s after healing, not all 200: {describe(tail)}")
    during = window(answers, cut_at, healed_at)
    late = out_of_bound(during)
    if late:
        problems.append(f"{len(late)} answers during the partition took over {NETWORK_BOUND_S} s or never came")
    last_failed = max((a["start_s"] for a in window(answers, healed_at, tail_from) if a["status"] != 200),
                      default=healed_at)
    log(f"partition: while {victim} was cut off ({healed_at - cut_at:.0f} s): {fault_figures(during)}; "
        f"in sync again {in_sync_at - healed_at:.1f} s after healing, every request begun "
        f"{last_failed - healed_at:.1f} s after healing or later answered 200")
    return answers, problems, 0


def lossy_link(topology, scale, rate):
    """5% of packets lost each way and every packet sent held 50 ms, on the leader of partition 0, for 30 s."""
    fault = LossyLink(topology)
    load = Load(topology, "lossy_link", rate, duration_s=600)
    delayer = ""
    try:
        load.sleep_until(5 * scale)
        bad_at = load.elapsed()
        fault.inject()
        load.sleep_until(bad_at + 30 * scale)
        healed_at = load.elapsed()
        fault.heal()
        delayer = fault.delayer
        fault.recover()
        in_sync_at = load.elapsed()
        load.sleep_until(in_sync_at + 4)
    finally:
        load.stop()
        if getattr(fault, "victim", None):
            fault.heal()
    _, answers = load.finish()
    problems = fault.problems
    tail = window(answers, in_sync_at + 0.5, in_sync_at + 4)
    if not tail or any(a["status"] != 200 for a in tail):
        problems.append(f"after the link was healed, not all 200: {describe(tail)}")
    during = window(answers, bad_at, healed_at)
    late = out_of_bound(during)
    if late:
        problems.append(f"{len(late)} answers on the lossy, slow link took over {NETWORK_BOUND_S} s or never came")
    log(f"lossy_link: while degraded ({healed_at - bad_at:.0f} s): {fault_figures(during)}; "
        f"partition 0 alone: {fault_figures(window(answers, bad_at, healed_at, {0}))}; {delayer}")
    return answers, problems, 0


def order_cut_off(topology, scale, rate):
    """order-1 cannot reach any broker (its packets to and from them dropped), the gateway still reaches it."""
    fault = OrderCutOff(topology)
    duration = 15 * scale
    load = Load(topology, "order_cut_off", rate, duration_s=600)
    try:
        load.sleep_until(5 * scale)
        cut_at = load.elapsed()
        fault.inject()
        load.sleep_until(cut_at + duration)
        healed_at = load.elapsed()
        fault.heal()
        # TCP retransmits back off while the link is cut: the first may come seconds after healing.
        load.sleep_until(healed_at + 20 * scale)
        tail_from = load.elapsed()
        load.sleep_until(tail_from + 4)
    finally:
        load.stop()
        topology.hosts.heal(fault.victim)
    _, answers = load.finish()
    problems = fault.problems
    # While the cut lasts no request for partition 1 may be told its order was written: nothing can be. (One
    # begun during the cut may be written and answered 200 after healing, within its delivery timeout.)
    during = window(answers, cut_at + 0.2, healed_at, {1})
    acked = [a for a in during if a["status"] == 200 and answered_at(a) < healed_at]
    if acked:
        problems.append(f"{len(acked)} orders of partition 1 answered 200 while order-1 could not reach Kafka")
    late = out_of_bound(during)
    if late:
        problems.append(f"{len(late)} answers for partition 1 took over {NETWORK_BOUND_S} s or never came")
    others = window(answers, 0, tail_from, {0, 2})
    if any(a["status"] != 200 for a in others):
        problems.append(f"partitions 0 and 2 must not notice: {describe(others)}")
    tail = window(answers, tail_from, tail_from + 4)
    if not tail or any(a["status"] != 200 for a in tail):
        problems.append(f"{tail_from - healed_at:.0f} s after healing, not all 200: {describe(tail)}")
    first_ok = min((answered_at(a) for a in window(answers, cut_at, tail_from, {1})
                    if a["status"] == 200 and answered_at(a) >= healed_at), default=None)
    back = f"{first_ok - healed_at:.1f} s" if first_ok is not None else f"not within {tail_from - healed_at:.0f} s"
    log(f"order_cut_off: partition 1 while cut off ({healed_at - cut_at:.0f} s): {fault_figures(during)}; "
        f"first 200 again {back} after healing")
    return answers, problems, 0


def disk_full(topology, scale, rate):
    """repository-1's state on a small tmpfs of its own, filled under load: it must stop, say why, lose nothing,
    and go on once there is room again."""
    fault = DiskFull(topology, "repository-1")
    fault.prepare()
    load = Load(topology, "disk_full", rate, duration_s=600)
    try:
        load.sleep_until(5 * scale)
        full_at = load.elapsed()
        fault.inject()
        not_ready_at = load.elapsed()
        load.sleep_until(not_ready_at + 15 * scale)
        fault.heal()
        freed_at = load.elapsed()
        fault.recover()
        ready_at = load.elapsed()
        load.sleep_until(ready_at + 3)
    finally:
        load.stop()
        if fault.disk and (fault.disk / "filler").exists():
            (fault.disk / "filler").unlink()
    _, answers = load.finish()
    problems = fault.problems
    if any(a["status"] != 200 for a in answers):
        problems.append(f"the write path must not notice a warehouse's full disk: {describe(answers)}")
    log(f"disk_full: not ready {not_ready_at - full_at:.1f} s after the disk filled ({fault.reason}); shipped nothing "
        f"more for {freed_at - not_ready_at:.0f} s (next_offset {fault.held[fault.victim]} -> {fault.still[fault.victim]}); ready again "
        f"{ready_at - freed_at:.1f} s after room returned; answers meanwhile {describe(window(answers, full_at, freed_at))}")
    return answers, problems, 0


def ready(topology, service):
    try:
        with urllib.request.urlopen(topology.url(service, "/readyz"), timeout=5):
            return True
    except (urllib.error.HTTPError, OSError):
        return False


def readiness(topology, service):
    try:
        with urllib.request.urlopen(topology.url(service, "/readyz"), timeout=5) as answer:
            return answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.read().decode()


def clock_behind(topology, seconds):
    """The environment that starts a process with its wall clock `seconds` behind: libfaketime (monotonic clock
    left alone), and before it realtime_waits.c, which keeps librdkafka's timed waits on the real clock."""
    shim = topology.var / "realtime_waits.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(shim), str(HERE / "realtime_waits.c"), "-ldl"],
                   check=True, capture_output=True)
    return {"LD_PRELOAD": f"{shim}:{LIBFAKETIME}", "FAKETIME": f"-{seconds}s", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def clock_step(topology, scale, rate):
    """order-2 restarted with its wall clock 30 s behind (libfaketime): no order id handed out twice, nothing
    lost. (Its heal, a restart on the real clock, is the soak's: here the run ends with the clock behind.)"""
    fault = ClockStep(topology)
    victim = fault.victim
    fault.prepare()
    load = Load(topology, "clock_step", rate, duration_s=18 * scale + 4)
    load.sleep_until(6 * scale)
    stopped_at = load.elapsed()
    fault.inject()
    started_at = load.elapsed() - (time.monotonic() - fault.started)
    skew = fault.skew
    _, answers = load.finish()
    problems = fault.problems
    # What it wrote, in the partition's order: ids must only grow, across the restart too.
    records = sorted((r for r in read_topic(topology.topic, topology.brokers) if r["partition"] == 2),
                     key=lambda r: r["offset"])
    ids = [int(order["order_id"]) for order in map(decode_order, (r.get("payload") for r in records)) if order]
    falls = [(a, b) for a, b in zip(ids, ids[1:]) if b <= a]
    if falls:
        problems.append(f"order ids of partition 2 went back {len(falls)} times, e.g. {falls[:2]}")
    after = window(answers, started_at + 0.5, started_at + 60, {2})
    if not after or any(a["status"] != 200 for a in after):
        problems.append(f"partition 2 after the restart with the clock behind: {describe(after)}")
    # Snowflake ids carry their millisecond above bit 22: the first id after the restart must not lie behind.
    before = [int(a["body"]["order_id"]) for a in window(answers, 0, stopped_at, {2}) if a["status"] == 200]
    after_ids = [int(a["body"]["order_id"]) for a in after if a["status"] == 200]
    gap = ((min(after_ids) >> 22) - (max(before) >> 22)) / 1000 if before and after_ids else float("nan")
    log(f"clock_step: {victim} restarted with its clock {-skew} s behind; its first id after the restart is "
        f"{gap:+.1f} s past its last before; {len(ids)} ids in partition 2, always increasing: {not falls}; answers while it restarted {describe(window(answers, stopped_at, started_at, {2}))}, "
        f"after {describe(after)}")
    return answers, problems, 0


# --- the soak: every fault, at random, for half an hour --------------------------------------------------
# Half of the measured capacity for SOAK minutes on test hosts, a fault drawn (seeded) from FAULTS every
# SOAK_EVERY_S seconds, held, healed and recovered before the next; then the usual settle and reconciliation
# of the whole run, each fault's window figures, every service's memory and the brokers' disks.

# A service's RSS at the end may be at most this much above its first reading after the first fault (or
# after its own latest restart by a fault, if later), plus, for the consumers, SOAK_WINDOW_BYTES for each
# order their dedupe windows took since (the windows fill by design: about 40 bytes a record, and the hash
# index grows by steps). Why 48 MiB: a flood leaves the gateway ~9.5 MiB higher for good (11.7 -> 21.0 MiB,
# the allocator keeps what 1,024 connections' buffers took), and statistics catching up after an outage peaks
# at 46 MB where it runs at 14 (make bench); the short soaks measured +0..+1 MiB. A leak of a few hundred
# bytes an order crosses it within the half hour at the soak's rate (README, "The soak").
SOAK_RSS_GROWTH_MIB = 48
SOAK_WINDOW_BYTES = 64
# A guard, not the usual bound (half the capacity on test hosts is below it): the reconciliation holds every
# answer and every record of the run in this process's memory (about 2 KiB an order, 3.6 GB at 1,000 orders/s
# for 30 min), and every record stays in the consumers' dedupe windows, saved on the state disk below.
SOAK_MAX_RATE = 1000


def service_memory(topology):
    """Each service's pid, RSS and peak RSS (VmHWM), in MiB, from /proc."""
    names = ["gateway", "statistics"] + [f"{kind}-{p}" for kind in ("order", "repository")
                                         for p in range(topology.partitions)]
    memory = {}
    for name in names:
        pid, fields = topology.pid(name), {}
        try:
            for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    fields[key] = int(value.split()[0]) / 1024
        except (OSError, TypeError):
            pass
        memory[name] = {"pid": pid, "rss": fields.get("VmRSS"), "hwm": fields.get("VmHWM")}
    return memory


def broker_disks_mib(topology):
    """Each broker's data directory (scripts/kafka/cluster.sh: $KD_VAR/kafka/broker-N/data), in MiB."""
    sizes = {}
    for n in range(3):
        done = subprocess.run(["du", "-sb", str(topology.var / "kafka" / f"broker-{n}" / "data")],
                              capture_output=True, text=True)
        sizes[f"broker-{n}"] = round(int(done.stdout.split()[0]) / 2**20, 1) if done.returncode == 0 else None
    return sizes


def measure_capacity(topology, seconds=10, connections=16, rounds=3):
    """The pipeline's capacity here and now: the best of `rounds` closed loops of `connections` clients for
    `seconds` each. One is not enough on a fresh cluster: the first soak measured 198 orders/s (p50 49 ms) on
    brokers a minute old, whose JVMs were still compiling, and then answered in 3.7 ms at half of that. Every
    order of every round is recorded and reconciled with the rest (no warm-up: each one is accounted for)."""
    best, answers = None, []
    for n in range(rounds):
        record = topology.var / f"capacity-{n}.load.jsonl"
        done = subprocess.run(
            [str(topology.bin / "kafka-demo-load"), "--url", topology.url("gateway", "/submit-order"),
             "--partitions", str(topology.partitions), "--connections", str(connections), "--duration",
             f"{seconds}s", "--warmup", "0s", "--timeout-ms", "15000", "--record", str(record)],
            capture_output=True, text=True, timeout=seconds + 120)
        if done.returncode != 0:
            raise RuntimeError(f"kafka-demo-load (closed loop) failed ({done.returncode}): {done.stderr}")
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        log(f"soak: capacity round {n + 1}: {summary.get('rps', 0):.0f} orders/s, {summary.get('status', {})}")
        if best is None or summary.get("rps", 0) > best.get("rps", 0):
            best = summary
        for line in record.read_text().splitlines():
            if line.strip():
                answer = json.loads(line)
                answer["start_s"] = -1.0  # before the soak's own load: in no fault's window
                answers.append(answer)
    return best, answers


def memory_verdict(after_first, end, answers, end_s):
    """Problems and one line per service. Each process of a service (one pid) is judged over the readings it
    lived through after the first fault, its last against its first, with the allowance SOAK_RSS_GROWTH_MIB: a
    fault that restarts a service starts a new span, and a restart by the last fault (sigterm_all) leaves the
    spans before it judged. The line shows the longest span."""
    problems, lines = [], []
    readings = list(after_first) + [(end_s, end)]
    for name, last in end.items():
        if last["rss"] is None:
            problems.append(f"{name}: no memory reading at the end ({last})")
            continue
        spans = {}  # pid -> [(at, reading)] in time order
        for at, sample in readings:
            reading = sample.get(name)
            if reading and reading["rss"] is not None:
                spans.setdefault(reading["pid"], []).append((at, reading))
        partitions = ({int(name.split("-")[1])} if name.startswith("repository-") else
                      None if name == "statistics" else set())
        judged = []
        for points in spans.values():
            (begin, first), (until, latest) = points[0], points[-1]
            taken = 0 if partitions == set() else sum(1 for a in window(answers, begin, until, partitions)
                                                      if a["status"] == 200)
            allowed = SOAK_RSS_GROWTH_MIB + taken * SOAK_WINDOW_BYTES / 2**20
            growth = latest["rss"] - first["rss"]
            judged.append((until - begin, first, latest, growth, allowed))
            if growth > allowed:
                problems.append(f"{name}: RSS grew {growth:.1f} MiB in {until - begin:.0f} s under one pid "
                                f"({first['rss']:.1f} -> {latest['rss']:.1f} MiB), over the {allowed:.0f} MiB allowed")
        span, first, latest, growth, allowed = max(judged, key=lambda j: j[0])
        lines.append(f"{name} {first['rss']:.1f} -> {latest['rss']:.1f} MiB over {span:.0f} s ({growth:+.1f}, "
                     f"allowed {allowed:.0f}; peak {latest['hwm']:.1f}; {len(judged)} process"
                     f"{'es' if len(judged) > 1 else ''})")
    return problems, lines


def soak(topology, scale, rate, minutes=30, every_s=120, seed=None, soak_rate=None, names=None):
    seed = seed if seed is not None else random.SystemRandom().randrange(1_000_000)
    draw = random.Random(seed)
    duration = int(minutes * 60)
    log(f"soak: seed {seed} (repeat with --soak-seed {seed}), {minutes} min, a fault every {every_s} s")
    faults = [cls(topology) for cls in FAULTS if not names or cls.name in names]
    # Every consumer's state on a disk of its own (DiskFull fills it when drawn), so any restart keeps it. Every
    # record of the run stays in the consumers' dedupe windows, so that the reconciliation can read each
    # warehouse's shipments from its saved state (what it keeps of the ids is its window).
    disk = next((f for f in faults if isinstance(f, DiskFull)), None) or DiskFull(topology)
    disk.size = "512M"  # statistics saves every record's id: 1.4 million at 1,000 orders/s
    ceiling = soak_rate or SOAK_MAX_RATE
    window_records = max(100_000, int(ceiling * (duration + 300) / topology.partitions))
    topology.env["DEDUPE_WINDOW"] = str(window_records)
    disk.prepare()  # restarts the consumers, which have no state yet, with the window and the disk
    for fault in faults:
        if fault is not disk:
            fault.prepare()
    summary, capacity_answers = measure_capacity(topology)
    capacity = summary.get("rps") or 0
    rate = soak_rate or min(SOAK_MAX_RATE, max(10, int(capacity / 2)))
    log(f"soak: capacity {capacity:.0f} orders/s (closed loop, 16 connections, 10 s: {summary.get('status', {})}); "
        f"{'given: ' if soak_rate else f'half of it, at most {SOAK_MAX_RATE}: '}{rate} orders/s open loop; "
        f"DEDUPE_WINDOW={window_records}")
    disks = {"start": broker_disks_mib(topology)}
    load = Load(topology, "soak", rate, duration_s=duration)
    # Memory is read 2 s before each fault, when the last one is long healed, and at the end.
    events, samples, current, bag = [], [], None, []
    try:
        at = min(20, every_s / 4)
        while at + every_s * 0.5 <= duration:
            load.sleep_until(at - 2)
            samples.append((load.elapsed(), service_memory(topology)))
            load.sleep_until(at)
            if not bag:  # every fault once in a seeded random order, then again: none left out by chance
                bag = draw.sample(faults, len(faults))
            fault = current = bag.pop()
            event = {"fault": fault.name, "at": load.elapsed()}
            fault.inject()
            load.sleep_until(event["at"] + fault.hold_s * scale)
            event["healed"] = load.elapsed()
            fault.heal()
            fault.recover()
            event["recovered"] = load.elapsed()
            current = None
            events.append(event)
            log(f"soak: fault {len(events)} at {event['at']:.0f} s: {fault.name}, held {event['healed'] - event['at']:.0f} s, "
                f"recovered {event['recovered'] - event['healed']:.1f} s after healing")
            at += every_s
    except BaseException:
        load.stop()
        if current:
            current.heal()
        raise
    _, answers = load.finish()
    end_memory = service_memory(topology)
    disks["end"] = broker_disks_mib(topology)

    problems = [p for fault in faults for p in fault.problems]
    for n, event in enumerate(events):
        during = window(answers, event["at"], event["recovered"])
        log(f"soak: fault {n + 1} {event['fault']} at {event['at']:.0f} s: {fault_figures(during)}")
        # Recovered before the next fault: every request begun in the 10 s before it (or the end), and answered
        # before it, answered 200.
        next_at = events[n + 1]["at"] if n + 1 < len(events) else duration
        calm = [a for a in window(answers, next_at - 10, next_at) if answered_at(a) < next_at]
        if not calm or any(a["status"] != 200 for a in calm):
            problems.append(f"fault {n + 1} ({event['fault']}) not recovered 10 s before the next: {describe(calm)}")
    drawn = collections.Counter(event["fault"] for event in events)
    log(f"soak: {len(events)} faults drawn: {dict(drawn)}; whole run {fault_figures(answers)}")
    memory_problems, lines = memory_verdict(samples[1:], end_memory, answers, duration)
    problems += memory_problems
    if samples:
        log("soak: memory before the first fault, RSS (peak) MiB: " + ", ".join(
            f"{name} {m['rss']:.1f} ({m['hwm']:.1f})" for name, m in samples[0][1].items() if m["rss"] is not None))
    log("soak: memory at the end, RSS (peak) MiB: " + ", ".join(
        f"{name} {m['rss']:.1f} ({m['hwm']:.1f})" for name, m in end_memory.items() if m["rss"] is not None))
    log(f"soak: RSS of each process after the first fault, its longest (allowed: {SOAK_RSS_GROWTH_MIB} MiB, consumers "
        f"{SOAK_WINDOW_BYTES} B more an order): "
        + "; ".join(lines))
    log(f"soak: brokers' data dirs MiB at the start {disks['start']}, at the end {disks['end']}; the consumers' "
        f"state disk {round((shutil.disk_usage(disk.disk).used) / 2**20, 1)} MiB used of {disk.size}")
    if not events:
        problems.append(f"no fault in {minutes} min with one every {every_s} s")
    return capacity_answers + answers, problems, sum(fault.poison for fault in faults)


SCENARIOS = {
    "broker_kill": broker_kill,
    "consumer_kill": consumer_kill,
    "order_kill": order_kill,
    "brokers_down": brokers_down,
    "sigterm_all": sigterm_all,
    "poison": poison,
    "grow": grow,
    "partition": partition,
    "lossy_link": lossy_link,
    "order_cut_off": order_cut_off,
    "disk_full": disk_full,
    "clock_step": clock_step,
    "flood": flood,
    "soak": soak,
}
# What --reuse-cluster may run: scenarios that never stop a broker of a cluster others share.
LEAVES_BROKERS_ALONE = {"consumer_kill", "order_kill", "sigterm_all", "poison", "grow", "flood"}
# Scenarios on test hosts of their own (a network namespace each, hosts.py): root, iproute2, nftables.
ON_HOSTS = {"partition", "lossy_link", "order_cut_off", "disk_full", "clock_step", "soak"}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="shorter scenarios, for make test")
    parser.add_argument("--only", nargs="*", choices=list(SCENARIOS), help="run only these scenarios")
    parser.add_argument("--skip", nargs="*", choices=list(SCENARIOS), default=[],
                        help="leave these scenarios out (make test runs flood as a test of its own)")
    parser.add_argument("--where", choices=["loopback", "hosts", "all"], default="all",
                        help="the scenarios on the loopback cluster, those on test hosts of their own, or both")
    parser.add_argument("--rate", type=int, default=None, help="orders per second (default 100, short 60)")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running at the end")
    parser.add_argument("--reuse-cluster", action="store_true",
                        help="use the running cluster at KD_BROKERS (scenarios that leave the brokers alone)")
    parser.add_argument("--soak-minutes", type=float, default=30, help="the soak's length (default 30)")
    parser.add_argument("--soak-every", type=int, default=120, help="seconds between the soak's faults (default 120)")
    parser.add_argument("--soak-seed", type=int, default=None, help="the seed that draws the soak's faults (printed)")
    parser.add_argument("--soak-rate", type=int, default=None,
                        help="the soak's orders per second (default: half of a capacity measured first)")
    parser.add_argument("--soak-faults", default=None, help="draw only these faults, comma-separated (default all)")
    args = parser.parse_args()
    # The soak runs in the long form only (make chaos), or when named.
    names = args.only or [name for name in SCENARIOS if name != "grow" and not (args.short and name == "soak") and
                          args.where in ("all", "hosts" if name in ON_HOSTS else "loopback")]
    names = [name for name in names if name not in args.skip]
    known = {fault.name for fault in FAULTS}
    soak_faults = args.soak_faults.split(",") if args.soak_faults else None
    if soak_faults and set(soak_faults) - known:
        sys.exit(f"chaos: --soak-faults: unknown {sorted(set(soak_faults) - known)}, known {sorted(known)}")
    SCENARIOS["soak"] = functools.partial(soak, minutes=args.soak_minutes, every_s=args.soak_every,
                                          seed=args.soak_seed, soak_rate=args.soak_rate, names=soak_faults)
    if args.reuse_cluster:
        global BROKERS
        BROKERS = os.environ.get("KD_BROKERS") or sys.exit("chaos: --reuse-cluster needs KD_BROKERS")
        if set(names) - LEAVES_BROKERS_ALONE:
            sys.exit(f"chaos: --reuse-cluster cannot run {sorted(set(names) - LEAVES_BROKERS_ALONE)}")
    scale = 0.6 if args.short else 1.0
    rate = args.rate or (60 if args.short else 100)

    # A SIGTERM (ctest's timeout, a Ctrl-C'd make) unwinds like an error, so every cluster, test host and
    # mount is removed on the way out.
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda n, _frame: sys.exit(f"chaos: stopped by signal {n}"))
    var = pathlib.Path(os.environ.get("KD_VAR", REPO / "build/chaos-var"))
    bin_dir = os.environ.get("KD_BIN", REPO / "build/release/bin")
    for tool in ("kafka-demo-load", "gateway", "order", "repository", "statistics", "kafka-demo-admin"):
        if not (pathlib.Path(bin_dir) / tool).exists():
            sys.exit(f"chaos: {pathlib.Path(bin_dir) / tool} is not built (run: make build)")
    lines, failed = [], []
    on_loopback = [name for name in names if name not in ON_HOSTS]
    on_hosts = [name for name in names if name in ON_HOSTS]
    if on_loopback:
        run_all(Topology(var, bin_dir), on_loopback, args, scale, rate, lines, failed)
    if on_hosts:
        hosts_module.require_tools()
        # A subnet and names of this port offset's own, so another build tree's run never meets ours, and a
        # run that crashed is cleaned up by the next one with the same offset.
        subnet = 100 + (PORT_OFFSET // 100) % 100
        hosts = hosts_module.Hosts(f"kdnf{subnet}", subnet, BROKER_HOSTS + SERVICE_HOSTS)
        try:
            hosts.up()
            log(f"test hosts: {len(hosts.names)} network namespaces {hosts.prefix}-* on bridge {hosts.bridge}, "
                f"{hosts.net}.0/24")
            run_all(HostTopology(var / "hosts", bin_dir, hosts), on_hosts, args, scale, rate, lines, failed)
        finally:
            if not args.keep:
                hosts.down()
    print("\n".join(["", "chaos summary:"] + lines), flush=True)
    if failed:
        sys.exit(f"chaos: FAILED {' '.join(failed)} (logs kept in {var})")


def run_all(topology, names, args, scale, rate, lines, failed):
    """Runs the scenarios on one cluster: each on a fresh topic, with fresh state, settled and reconciled."""
    log(f"cluster on {topology.brokers}, gateway on {topology.url('gateway', '')}, state in {topology.var}")
    topology.run(SERVICES, "stop", check=False)
    if not args.reuse_cluster:
        topology.cluster("stop", "--purge")
        topology.cluster("start")
    try:
        for name in names:
            topology.topic = f"chaos-{name}-{int(time.time())}"
            topology.regions = REGIONS
            for sub in ("state", "logs"):
                subprocess.run(["rm", "-rf", str(topology.var / sub)], check=True)
            began = time.monotonic()
            topology.services("start")
            try:
                answers, problems, poisoned = SCENARIOS[name](topology, scale, rate)
                records = settle(topology, topology.topic, deadline_s=600 if name == "soak" else 90)
                line, found = reconcile(name, topology, answers, records, poisoned)
                problems = found + problems
                if poisoned:
                    problems += check_dead_letters(topology, poisoned)
            except Exception as error:  # a scenario that cannot finish is a failed scenario
                line, problems = f"chaos {name}: did not finish", [str(error)]
            finally:
                topology.run(SERVICES, "stop", check=False)
                if isinstance(topology, HostTopology):
                    topology.heal_all()
                if not args.reuse_cluster:
                    topology.cluster("start")  # whatever a scenario left down comes back for the next one
            verdict = "PASS" if not problems else "FAIL"
            line += f" {verdict} ({time.monotonic() - began:.0f} s)"
            lines.append(line)
            print(line, flush=True)
            for problem in problems:
                print(f"  - {problem}", flush=True)
            if problems:
                failed.append(name)
                subprocess.run(["cp", "-r", str(topology.var / "logs"), str(topology.var / f"failed-{name}-logs")])
    finally:
        if not args.keep and not args.reuse_cluster:
            topology.cluster("stop", "--purge")


if __name__ == "__main__":
    main()
