#!/usr/bin/env python3
"""kafka-demo-produce-bench --rate against the test cluster: make bench's "Kafka alone" at a light rate.

An open loop must not write faster than its rate: the last of N writes is planned at (N-1)/rate, so the run
cannot end before it, however fast the brokers answer. Every write is acknowledged (errors 0) and lands in
Kafka: the topic's end offsets add up to N. The latency percentiles are ordered and the rate is reported.
The closed loop (no --rate) still reports no rate.

  produce_open_loop.py --bin DIR --brokers HOST:PORT,...
"""

import argparse
import json
import subprocess
import sys
import time


def produce_bench(args, *extra):
    out = subprocess.run([f"{args.bin}/kafka-demo-produce-bench", "--brokers", args.brokers, "--topic", args.topic,
                          "--partitions", "3", *extra], check=True, capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def end_offsets(args):
    """The sum of the topic's partitions' high watermarks, read with kcat."""
    out = subprocess.run(["kcat", "-b", args.brokers, "-Q", *sum((["-t", f"{args.topic}:{p}:-1"]
                                                                   for p in range(3)), [])],
                         check=True, capture_output=True, text=True, timeout=60)
    return sum(int(line.rsplit(" ", 1)[1]) for line in out.stdout.splitlines() if line.strip())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--topic", default=f"produce-open-loop-{int(time.time())}")
    args = parser.parse_args()
    subprocess.run([f"{args.bin}/kafka-demo-admin", "--brokers", args.brokers, "--topic", args.topic,
                    "--partitions", "3", "create-topic"], check=True, stdout=subprocess.DEVNULL, timeout=120)
    failures = []

    rate, messages = 400, 200
    open_loop = produce_bench(args, "--rate", str(rate), "--messages", str(messages))
    print(json.dumps(open_loop))
    if open_loop["messages"] != messages or open_loop["errors"] != 0:
        failures.append(f"open loop: {open_loop['messages']} acknowledged, {open_loop['errors']} errors")
    if open_loop["seconds"] < (messages - 1) / rate:
        failures.append(f"open loop: {messages} writes at {rate}/s took {open_loop['seconds']} s, "
                        f"less than the last one's planned start {(messages - 1) / rate} s")
    if open_loop.get("rate") != rate:
        failures.append(f"open loop: rate reported {open_loop.get('rate')}")
    if not 0 < open_loop["ack_p50_ms"] <= open_loop["ack_p99_ms"] <= open_loop["ack_p999_ms"]:
        failures.append("open loop: percentiles not ordered")

    closed = produce_bench(args, "--messages", "100", "--window", "10")
    print(json.dumps(closed))
    if closed["messages"] != 100 or closed["errors"] != 0 or "rate" in closed:
        failures.append(f"closed loop: {closed}")

    written = end_offsets(args)
    if written != messages + 100:
        failures.append(f"the topic holds {written} records, {messages + 100} were acknowledged")

    for failure in failures:
        print("FAIL:", failure)
    print("PASS" if not failures else "FAIL")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
