#!/usr/bin/env python3
"""Traces each order of the seed's scenario through what the services logged, and prints the seed's
verification table (section 4.3): for every order, which order instance wrote it, which warehouse shipped
it, whether statistics counted it, and the topic partition it travelled in. Exits 1 on any mismatch.

Every check reads the services' own log lines; nothing is assumed from the request alone."""
import argparse
import json
import sys
import time
import unicodedata
import urllib.request
from collections import defaultdict
from pathlib import Path


def parse_lines(path):
    """Yields the JSON object of each well-formed log line of a file (missing file: nothing)."""
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and {"level", "time", "message"} <= entry.keys():
                yield entry


def embedded(text):
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class Trace:
    """What the logs say about each order id."""

    def __init__(self, logs, partitions):
        self.gateway = defaultdict(int)       # order_id -> lines
        self.written = defaultdict(list)      # order_id -> [order instance]
        self.consumed = defaultdict(list)     # order_id -> [(consumer, partition, offset)]
        self.shipped = defaultdict(list)      # order_id -> [warehouse]
        for entry in parse_lines(logs / "gateway.log"):
            order = embedded(entry["message"])
            if order and "order_id" in order:
                self.gateway[order["order_id"]] += 1
        for n in range(partitions):
            for entry in parse_lines(logs / f"order-{n}.log"):
                order = embedded(entry["message"])
                if order and "order_id" in order:
                    self.written[order["order_id"]].append(f"order-{n}")
        consumers = [f"repository-{n}" for n in range(partitions)] + ["statistics"]
        for consumer in consumers:
            for entry in parse_lines(logs / f"{consumer}.log"):
                if entry["message"] == "shipped" and "order_id" in entry:
                    self.shipped[entry["order_id"]].append(consumer)
                    continue
                record = embedded(entry["message"])
                if not record or "value" not in record:
                    continue
                order = embedded(record["value"])
                if order and "order_id" in order:
                    self.consumed[order["order_id"]].append((consumer, record["partition"], record["offset"]))


def width(text):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def print_table(header, rows):
    widths = [max(width(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    def line(cells):
        return "| " + " | ".join(str(c) + " " * (w - width(str(c))) for c, w in zip(cells, widths)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))


def check(orders, trace):
    """One row per order: (cells, passed)."""
    rows = []
    for partition, status, order in orders:
        order_id = order.get("order_id", "?") if order else "?"
        problems = []
        if status != 200 or not order:
            problems.append(f"HTTP {status}")
        written = trace.written.get(order_id, [])
        consumed = trace.consumed.get(order_id, [])
        warehouses = [c for c, _, _ in consumed if c.startswith("repository-")]
        counted = [c for c, _, _ in consumed if c == "statistics"]
        topic_partitions = sorted({p for _, p, _ in consumed})
        shipped = trace.shipped.get(order_id, [])
        if trace.gateway.get(order_id, 0) != 1:
            problems.append(f"gateway logged it {trace.gateway.get(order_id, 0)} times")
        if written != [f"order-{partition}"]:
            problems.append(f"written by {written or 'nobody'}")
        if warehouses != [f"repository-{partition}"]:
            problems.append(f"consumed by {warehouses or 'no warehouse'}")
        if shipped != [f"repository-{partition}"]:
            problems.append(f"shipped by {shipped or 'nobody'}")
        if counted != ["statistics"]:
            problems.append(f"counted {len(counted)} times")
        if topic_partitions != [partition]:
            problems.append(f"in partitions {topic_partitions}")
        cells = [
            order_id,
            ",".join(written) or "-",
            ",".join(warehouses) or "-",
            ",".join(counted) or "-",
            ",".join(map(str, topic_partitions)) or "-",
            "✅ 通过" if not problems else "❌ " + "; ".join(problems),
        ]
        rows.append((cells, not problems))
    return rows


def fetch_stats(url):
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--responses", required=True, type=Path, help="scenario.sh output")
    parser.add_argument("--logs", required=True, type=Path, help="directory of <service>.log files")
    parser.add_argument("--stats-url", required=True, help="statistics' GET /stats, e.g. http://127.0.0.1:8090/stats")
    parser.add_argument("--partitions", type=int, default=3, help="regions: order-N, repository-N for N below it")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for consumers to log")
    parser.add_argument("--exact-stats", action="store_true",
                        help="the topic held only these orders: /stats must equal their sums exactly")
    args = parser.parse_args()

    orders = []
    for line in args.responses.read_text(encoding="utf-8").splitlines():
        partition, status, body = line.split("\t", 2)
        orders.append((int(partition), int(status), embedded(body)))

    # Consumers log asynchronously (flushed every second): wait until every order is traced or time is up.
    deadline = time.monotonic() + args.timeout
    while True:
        rows = check(orders, Trace(args.logs, args.partitions))
        if all(ok for _, ok in rows) or time.monotonic() >= deadline:
            break
        time.sleep(0.5)

    print()
    print_table(["订单号", "期望订单", "期望仓储", "期望统计", "Topic分区", "测试结果"], [cells for cells, _ in rows])
    failed = sum(1 for _, ok in rows if not ok)

    stats_ok = True
    try:
        stats = fetch_stats(args.stats_url)
        print()
        print("统计 /stats: " + ", ".join(
            f"{r['region']}(分区{r['partition']}) {r['orders']} 单 {r['revenue']} 元" for r in stats["regions"]))
        if args.exact_stats:
            shown = sorted(r["partition"] for r in stats["regions"])
            if shown != list(range(args.partitions)):
                stats_ok = False
                print(f"❌ statistics shows partitions {shown}, expected 0 to {args.partitions - 1}")
            for region in stats["regions"]:
                mine = [o for p, s, o in orders if p == region["partition"] and s == 200 and o]
                want = (len(mine), sum(o["money"] for o in mine))
                if (region["orders"], region["revenue"]) != want:
                    stats_ok = False
                    print(f"❌ statistics for partition {region['partition']}: {region['orders']} orders "
                          f"{region['revenue']} yuan, expected {want[0]} orders {want[1]} yuan")
    except (OSError, ValueError, KeyError) as error:
        stats_ok = False
        print(f"❌ cannot read statistics at {args.stats_url}: {error}")

    print()
    print(f"verify: {len(rows) - failed} passed, {failed} failed" + ("" if stats_ok else " (statistics mismatch)"))
    return 0 if failed == 0 and stats_ok else 1


if __name__ == "__main__":
    sys.exit(main())
