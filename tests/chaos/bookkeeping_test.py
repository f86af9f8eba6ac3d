#!/usr/bin/env python3
"""Unit tests of the fault tests' own bookkeeping, no cluster:
- the reconciliation, on the four accounts built by hand (the load's answers, the topic's records, each
  warehouse's saved state, statistics' figures): each fault it must name is put into one account, and the line
  or the problems must say so;
- the load's timeline: when each request started, on the clock the faults are injected by;
- the soak's flat-memory verdict."""

import json
import sqlite3
import struct
import sys
import tempfile
import unittest
from unittest import mock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chaos  # noqa: E402

PARTITIONS = 3


def order(n, partition, money=10):
    return {"order_id": str(1000 + n), "user_id": f"user-{n}", "money": money, "time": 1700000000 + n,
            "partition": partition}


class FakeTopology:
    """What reconcile() reads of a running topology: each warehouse's SQLite state and GET /stats."""

    def __init__(self, directory, shipped, stats, extra_shipments=None):
        self.partitions = PARTITIONS
        self.directory = Path(directory)
        self.stats = stats
        for partition, ids in shipped.items():
            db = sqlite3.connect(self.warehouse_db(partition))
            db.execute("CREATE TABLE window_chunks (partition INTEGER, first_offset INTEGER, entries BLOB)")
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            blob = b"".join(struct.pack("<qQQ", offset, int(i), 0) for offset, i in enumerate(ids))
            db.execute("INSERT INTO window_chunks VALUES (?, 0, ?)", (partition, blob))
            count = len(ids) + (extra_shipments or {}).get(partition, 0)
            db.execute("INSERT INTO meta VALUES ('handler', ?)", (json.dumps({"shipped": count}),))
            db.commit()
            db.close()

    def warehouse_db(self, partition):
        return self.directory / f"repository-{partition}.db"

    def get_json(self, name, path):
        assert (name, path) == ("statistics", "/stats")
        return self.stats


def accounts(orders):
    """Every order answered 200, stored once, shipped by its partition's warehouse and counted."""
    answers = [{"status": 200, "partition": o["partition"], "body": {"order_id": o["order_id"]}} for o in orders]
    records = [{"partition": o["partition"], "payload": json.dumps({k: v for k, v in o.items() if k != "partition"})}
               for o in orders]
    shipped = {p: [o["order_id"] for o in orders if o["partition"] == p] for p in range(PARTITIONS)}
    return answers, records, shipped


def figures(orders):
    regions = [{"partition": p, "orders": sum(1 for o in orders if o["partition"] == p),
                "revenue": sum(o["money"] for o in orders if o["partition"] == p), "rejected": 0}
               for p in range(PARTITIONS)]
    return {"total": {"orders": len(orders), "rejected": 0}, "regions": regions}


class Reconcile(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.orders = [order(n, n % PARTITIONS) for n in range(30)]

    def tearDown(self):
        self.directory.cleanup()

    def reconcile(self, answers, records, shipped, stats, extra_shipments=None):
        topology = FakeTopology(self.directory.name, shipped, stats, extra_shipments)
        return chaos.reconcile("unit", topology, answers, records)

    def test_agreeing_accounts_pass(self):
        answers, records, shipped = accounts(self.orders)
        line, problems = self.reconcile(answers, records, shipped, figures(self.orders))
        self.assertEqual(problems, [])
        self.assertIn("acked=30 in_kafka=30 shipped=30 counted=30 lost=0 duplicated=0", line)

    def test_an_order_its_warehouse_did_not_ship_is_lost(self):
        answers, records, shipped = accounts(self.orders)
        shipped[1].remove(self.orders[4]["order_id"])
        line, problems = self.reconcile(answers, records, shipped, figures(self.orders))
        self.assertIn("lost=1 ", line)
        self.assertTrue(any("1 stored orders were not shipped" in p for p in problems), problems)

    def test_an_order_shipped_by_another_warehouse_is_not_shipped(self):
        answers, records, shipped = accounts(self.orders)
        shipped[1].remove(self.orders[4]["order_id"])
        shipped[2].append(self.orders[4]["order_id"])
        line, problems = self.reconcile(answers, records, shipped, figures(self.orders))
        self.assertIn("lost=1 ", line)

    def test_an_order_shipped_twice_is_duplicated(self):
        # Its window holds the id once; the warehouse counted one shipment more than the orders it holds.
        answers, records, shipped = accounts(self.orders)
        line, problems = self.reconcile(answers, records, shipped, figures(self.orders), extra_shipments={0: 1})
        self.assertIn("duplicated=1 ", line)
        self.assertTrue(any("1 shipped twice" in p for p in problems), problems)

    def test_an_id_in_two_warehouses_windows_is_duplicated(self):
        answers, records, shipped = accounts(self.orders)
        shipped[2].append(self.orders[0]["order_id"])
        line, problems = self.reconcile(answers, records, shipped, figures(self.orders), extra_shipments={2: -1})
        self.assertIn("duplicated=1 ", line)

    def test_an_acknowledged_order_missing_from_kafka_is_lost(self):
        answers, records, shipped = accounts(self.orders)
        missing = self.orders[7]
        records = [r for r in records if json.loads(r["payload"])["order_id"] != missing["order_id"]]
        shipped[missing["partition"]].remove(missing["order_id"])
        kept = [o for o in self.orders if o is not missing]
        line, problems = self.reconcile(answers, records, shipped, figures(kept))
        self.assertIn("lost=1 ", line)
        self.assertTrue(any("not in Kafka" in p for p in problems), problems)

    def test_a_stored_order_nobody_was_told_about_is_a_phantom(self):
        answers, records, shipped = accounts(self.orders)
        answers = answers[1:]
        line, problems = self.reconcile(answers, records, shipped, figures(self.orders))
        self.assertIn("phantom=1", line)

    def test_kafka_copies_acted_on_once_pass(self):
        answers, records, shipped = accounts(self.orders)
        records.append(dict(records[5]))
        line, problems = self.reconcile(answers, records, shipped, figures(self.orders))
        self.assertEqual(problems, [])
        self.assertIn("kafka_copies=1", line)

    def test_a_count_short_of_kafka_is_lost(self):
        answers, records, shipped = accounts(self.orders)
        stats = figures(self.orders)
        stats["regions"][2]["orders"] -= 1
        line, problems = self.reconcile(answers, records, shipped, stats)
        self.assertIn("lost=1 ", line)
        self.assertTrue(any("statistics counts 1 orders fewer" in p for p in problems), problems)

    def test_many_orders_check_each_shipment_once(self):
        # The 30-minute soak's reconciliation held 1.78 million orders: looking each up in a list of its
        # partition's shipments did not end in an hour. A list that counts comparisons pins the lookup down.
        orders = [order(n, n % PARTITIONS) for n in range(3000)]
        answers, records, shipped = accounts(orders)
        compared = 0
        original_read = chaos.read_warehouse_state

        class CountingList(list):
            def __contains__(self, item):
                nonlocal compared
                compared += len(self)
                return list.__contains__(self, item)

        def read(path):
            ids, count = original_read(path)
            return CountingList(ids), count

        with mock.patch.object(chaos, "read_warehouse_state", read):
            line, problems = self.reconcile(answers, records, shipped, figures(orders))
        self.assertEqual(problems, [])
        self.assertEqual(compared, 0, "a stored order was looked up in a list of shipments")


def reading(pid, rss):
    return {"pid": pid, "rss": rss, "hwm": rss}


class SoakMemory(unittest.TestCase):
    # Readings 2 s before each fault after the first, then at the end; the gateway's pid changes when a fault
    # restarts it.
    def test_growth_before_a_restart_by_the_last_fault_is_judged(self):
        # The 30-minute soak of 2026-12-02 drew sigterm_all last: every service was judged over its new process
        # only (+0.0 MiB everywhere), whatever the half hour before had done.
        after_first = [(118, {"gateway": reading(10, 12.0)}), (238, {"gateway": reading(10, 40.0)}),
                       (1698, {"gateway": reading(10, 75.0)})]
        end = {"gateway": reading(11, 11.5)}
        problems, lines = chaos.memory_verdict(after_first, end, [], 1800)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("gateway: RSS grew 63.0 MiB in 1580 s under one pid", problems[0])
        self.assertIn("gateway 12.0 -> 75.0 MiB over 1580 s", lines[0])

    def test_flat_processes_pass_across_restarts(self):
        after_first = [(118, {"statistics": reading(20, 14.0)}), (238, {"statistics": reading(21, 30.0)}),
                       (1698, {"statistics": reading(21, 33.0)})]
        end = {"statistics": reading(21, 34.0)}
        problems, lines = chaos.memory_verdict(after_first, end, [], 1800)
        self.assertEqual(problems, [])
        self.assertIn("statistics 30.0 -> 34.0 MiB over 1562 s (+4.0", lines[0])
        self.assertIn("2 processes", lines[0])

    def test_a_consumer_is_allowed_its_window_growth(self):
        # 64 B for each order its partition took in the span: 800,000 orders allow 48.8 MiB more.
        answers = [{"status": 200, "partition": 1, "start_s": 100 + n * 0.002} for n in range(800_000)]
        after_first = [(100, {"repository-1": reading(30, 14.0)})]
        end = {"repository-1": reading(30, 14.0 + 90.0)}
        problems, _ = chaos.memory_verdict(after_first, end, answers, 1800)
        self.assertEqual(problems, [])
        end = {"repository-1": reading(30, 14.0 + 100.0)}
        problems, _ = chaos.memory_verdict(after_first, end, answers, 1800)
        self.assertEqual(len(problems), 1, problems)


class LoadTimeline(unittest.TestCase):
    def test_requests_start_on_the_test_clock_after_the_tool_started(self):
        # The tool's t0 came 33 ms after the test's: its first request started at 0.033 s on the test's clock.
        # (A soak counted order_kill's first 502s, 33 ms after the kill, as answered before it.)
        rate, delay = 245, 0.033
        with tempfile.TemporaryDirectory() as directory:
            load = object.__new__(chaos.Load)
            load.rate, load.began_wall = rate, 1_800_000_000.25
            load.record = Path(directory) / "load.jsonl"
            lines = [{"seq": seq, "partition": seq % PARTITIONS, "status": 200, "latency_us": 900,
                      "start_us": round((load.began_wall + delay + seq / rate) * 1e6)} for seq in range(50)]
            load.record.write_text("".join(json.dumps(line) + "\n" for line in lines))

            class Finished:
                returncode = 0

                def communicate(self, timeout):
                    return '{"requests": 50}\n', ""

            load.process = Finished()
            _, answers = load.finish()
        for answer in answers:
            self.assertAlmostEqual(answer["start_s"], delay + answer["seq"] / rate, delta=2e-6)
            self.assertAlmostEqual(chaos.answered_at(answer), delay + answer["seq"] / rate + 0.0009, delta=2e-6)


if __name__ == "__main__":
    unittest.main()
