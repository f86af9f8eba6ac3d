#!/usr/bin/env python3
"""Compares service settings by turns on one cluster: make bench-ab, or

  bench/ab.py [--rounds 3] [--seconds 15] [--rates 200,500,1000] [--closed-seconds 10] [--warmup 30]
              [--services order] [--name NAME] VARIANT VARIANT...

  VARIANT  LABEL:KEY=VALUE[,KEY=VALUE...]   environment of the restarted services, e.g.
           linger5:PRODUCER_LINGER_MS=5  linger0:PRODUCER_LINGER_MS=0
           LABEL alone keeps the services' defaults. Keys KD_KAFKA_JVM_OPTS and KD_KAFKA_CONFIG are the
           brokers' (scripts/kafka/cluster.sh), e.g. heap1g:"KD_KAFKA_JVM_OPTS=-Xms1g -Xmx1g -XX:+UseG1GC"
           or fetch50:KD_KAFKA_CONFIG=replica.fetch.wait.max.ms=50 (several: separated by ';').

This machine's speed drifts (CPU per order doubled within minutes for every process alike), so two settings
measured one after the other compare the machine, not the settings. Here the cluster and the services start once,
warm up, and then every round restarts the named services (order-0..2 by default) with each variant in turn, the
order reversed every other round (A B, B A, A B: a linear drift weighs on both alike), and measures:
(When a variant sets the brokers, every run restarts the brokers and all the services instead, and warms them
up for --broker-warmup seconds: a fresh JVM is slow for its first minute, see make bench's warm-up slices.)

  - open loop at each of --rates (kafka-demo-load, latency from the intended start): p50, p99, p999;
  - end to end at the middle rate: the load tool's intended start to the repository's "shipped" line;
  - closed loop, wrk -c64 (--closed-seconds, 0 to skip): orders per second;
  - CPU seconds per 1000 orders of the restarted services and of the brokers in each open-loop phase;
  - at the middle rate, the brokers' GC pauses (count, longest) and the answers over 10 ms during one.

Every run is kept (pairs), and each figure's median per variant is reported. Env as bench/run.py (KD_VAR
[.var/bench-ab], KD_BIN, ports). Output: bench/results/ab-NAME.{json,md}.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KD_VAR", str(Path(__file__).resolve().parent.parent / ".var" / "bench-ab"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (reads KD_VAR and the ports at import)


def parse_variant(text):
    label, _, settings = text.partition(":")
    env = {}
    for item in filter(None, settings.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            sys.exit(f"ab: variant {text!r}: expected LABEL:KEY=VALUE[,KEY=VALUE...]")
        env[key] = value
    if not label:
        sys.exit(f"ab: variant {text!r} has no label")
    return label, env


BROKER_KEYS = ("KD_KAFKA_JVM_OPTS", "KD_KAFKA_CONFIG")
SERVICES = str(bench.REPO / "scripts" / "local" / "services.sh")
CLUSTER = str(bench.REPO / "scripts" / "kafka" / "cluster.sh")
SUBMIT_URL = f"http://127.0.0.1:{bench.GATEWAY_PORT}/submit-order"


def restart(services, env):
    bench.run([SERVICES, "stop", *services], stdout=subprocess.DEVNULL)
    bench.run([SERVICES, "start", *services], env=dict(bench.SCRIPT_ENV, **env), stdout=subprocess.DEVNULL)
    return {name: bench.pid_of(name) for name in services}


def restart_all(services, env, warmup_s, top_rate):
    """The brokers with the variant's settings, then every service, then a warm-up as at the start."""
    bench.run([SERVICES, "stop"], stdout=subprocess.DEVNULL)
    bench.run([CLUSTER, "stop"], stdout=subprocess.DEVNULL)
    bench.run([CLUSTER, "start"], env=dict(bench.SCRIPT_ENV, **env), stdout=subprocess.DEVNULL)
    bench.run([SERVICES, "start"], env=dict(bench.SCRIPT_ENV, **env), stdout=subprocess.DEVNULL)
    warm_up(warmup_s, top_rate)
    return {name: bench.pid_of(name) for name in services}


def warm_up(seconds, rate):
    open_loop(rate, seconds, "ab-warmup")
    bench.wrk(SUBMIT_URL, 5, "ab-warmup-wrk")
    bench.wait_for(bench.consumers_caught_up, 120, "the consumers to catch up with the warm-up")


def open_loop(rate, seconds, log_name, record=None):
    args = ["--url", SUBMIT_URL, "--rate", str(rate),
            "--duration", f"{seconds}s", "--warmup", "2s"]
    if record:
        args += ["--record", str(record), "--record-start"]
    return bench.load_tool(args, log_name)


def measure(variant, services, rates, seconds, closed_seconds, run_index, broker_warmup=None):
    label, env = variant
    if broker_warmup is not None:
        pids = restart_all(services, env, broker_warmup, max(rates))
    else:
        pids = restart(services, env)
    # A restarted consumer may resume behind (another variant's state, a group offset): not in the figures.
    bench.wait_for(bench.consumers_caught_up, 120, "the restarted consumers to catch up")
    brokers = bench.broker_pids()
    watched = {**pids, **brokers}
    figures = {"variant": label, "run": run_index}
    middle = rates[len(rates) // 2]
    for rate in rates:
        record = bench.VAR / f"ab-{run_index}-{label}-{rate}.jsonl" if rate == middle else None
        cpu0 = bench.snapshot(watched)
        o = open_loop(rate, seconds, f"ab-{run_index}-{label}-{rate}", record)
        bench.wait_for(bench.consumers_caught_up, 120, "the consumers to catch up")
        cpu1 = bench.snapshot(watched)
        orders = max(o["ok"], 1)
        ours = sum(cpu1[n] - cpu0[n] for n in pids)
        theirs = sum(cpu1[n] - cpu0[n] for n in brokers)
        figures[f"r{rate}"] = {"p50_ms": o["p50_ms"], "p99_ms": o["p99_ms"], "p999_ms": o["p999_ms"],
                               "ok": o["ok"], "requests": o["requests"],
                               "services_cpu_s_per_1000": round(ours * 1000 / orders, 3),
                               "brokers_cpu_s_per_1000": round(theirs * 1000 / orders, 3)}
        if record:
            time.sleep(1)  # the repositories' last "shipped" lines
            e2e = bench.end_to_end(record, bench.ENV.get("KD_TOPIC", "order"))
            figures[f"r{rate}"]["e2e_p50_ms"] = e2e["e2e_p50_ms"]
            figures[f"r{rate}"]["e2e_p99_ms"] = e2e["e2e_p99_ms"]
            gc = bench.tail_beside_gc(record)
            figures[f"r{rate}"].update({"gc_pauses": gc.get("gc_pauses"), "gc_pause_max_ms": gc.get("gc_pause_max_ms"),
                                        "slow_10ms": gc.get("slow"), "slow_beside_gc": gc.get("slow_beside_gc_pause")})
    if closed_seconds > 0:
        w = bench.wrk(SUBMIT_URL, closed_seconds, f"ab-{run_index}-{label}-wrk")
        bench.wait_for(bench.consumers_caught_up, 120, "the consumers to catch up")
        figures["closed64"] = {"rps": w["rps"], "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"], "errors": w["errors"]}
    print(json.dumps(figures), flush=True)
    return figures


def medians(runs, labels):
    """variant -> phase -> figure -> median over that variant's runs."""
    out = {}
    for label in labels:
        mine = [r for r in runs if r["variant"] == label]
        phases = {}
        for phase in (k for k in mine[0] if k not in ("variant", "run")):
            keys = mine[0][phase].keys()
            phases[phase] = {k: statistics.median(r[phase][k] for r in mine if r[phase][k] is not None)
                             for k in keys if any(r[phase][k] is not None for r in mine)}
        out[label] = phases
    return out


def report(result):
    labels = [v["label"] for v in result["variants"]]
    lines = [f"# A/B: {' vs '.join(labels)}", "",
             f"{result['machine_line']}", "",
             "Variants: " + "; ".join(f"`{v['label']}` = {v['env'] or 'defaults'}" for v in result["variants"]),
             f" (applied to {', '.join(result['services'])}). {result['rounds']} rounds of {result['seconds']} s "
             "phases, the order reversed every other round. Medians, then every run.", "",
             "| phase | figure | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    first = result["medians"][labels[0]]
    for phase, figures in first.items():
        for figure in figures:
            cells = [str(result["medians"][label].get(phase, {}).get(figure, "")) for label in labels]
            lines.append(f"| {phase} | {figure} | " + " | ".join(cells) + " |")
    lines += ["", "Every run, in the order measured (p50 / p99 / p999 ms at each rate; closed-loop rps):", ""]
    for r in result["runs"]:
        cells = [f"{p[1:]}/s {r[p]['p50_ms']} / {r[p]['p99_ms']} / {r[p]['p999_ms']}" for p in r if p.startswith("r")
                 and p[1:].isdigit()]
        if "closed64" in r:
            cells.append(f"c64 {r['closed64']['rps']} rps")
        lines.append(f"- run {r['run']} `{r['variant']}`: " + "; ".join(cells))
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", metavar="VARIANT")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rates", default="200,500,1000")
    parser.add_argument("--closed-seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=30, help="seconds of load before the first round")
    parser.add_argument("--services", default="order", help="order, repository, or a comma list of names")
    parser.add_argument("--broker-warmup", type=int, default=45,
                        help="seconds of load after each restart of the brokers (variants that set them)")
    parser.add_argument("--name", default=None, help="report name (default: the labels)")
    args = parser.parse_args()
    variants = [parse_variant(v) for v in args.variants]
    labels = [label for label, _ in variants]
    if len(set(labels)) != len(labels):
        sys.exit("ab: variant labels must differ")
    # Brokers compared: each run starts them afresh (all variants alike, so none meets warmer JVMs).
    broker_warmup = args.broker_warmup if any(set(env) & set(BROKER_KEYS) for _, env in variants) else None
    rates = [int(r) for r in args.rates.split(",")]
    groups = {"order": [f"order-{p}" for p in range(bench.PARTITIONS)],
              "repository": [f"repository-{p}" for p in range(bench.PARTITIONS)]}
    services = groups.get(args.services, args.services.split(","))
    busy = [p for p in [bench.PORT_BASE + i for i in range(3)] + [bench.GATEWAY_PORT] if bench.port_open(p)]
    if busy:
        sys.exit(f"ab: port(s) {busy} in use: is a cluster from 'make up' running? Run 'make down' first.")

    shutil.rmtree(bench.VAR, ignore_errors=True)
    (bench.VAR / "logs").mkdir(parents=True)
    runs = []
    machine = bench.machine()
    try:
        bench.step("Starting three Kafka brokers and the services")
        bench.run([CLUSTER, "start"])
        bench.run([SERVICES, "start"])
        bench.step(f"Warm-up: {args.warmup} s of open-loop load at {max(rates)}/s, then 5 s closed loop")
        warm_up(args.warmup, max(rates))
        run_index = 0
        for round_index in range(args.rounds):
            order = variants if round_index % 2 == 0 else list(reversed(variants))
            for variant in order:
                run_index += 1
                bench.step(f"Round {round_index + 1}/{args.rounds}: {variant[0]}")
                runs.append(measure(variant, services, rates, args.seconds, args.closed_seconds, run_index,
                                    broker_warmup))
    finally:
        bench.step("Stopping everything")
        subprocess.run([SERVICES, "stop"], env=bench.SCRIPT_ENV)
        subprocess.run([CLUSTER, "stop"], env=bench.SCRIPT_ENV)

    machine["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    if broker_warmup is not None:
        services = ["brokers and every service (restarted each run, then warmed up "
                    f"{broker_warmup} s at {max(rates)}/s)"]
    result = {"variants": [{"label": label, "env": env} for label, env in variants], "services": services,
              "rounds": args.rounds, "seconds": args.seconds, "rates": rates, "machine": machine,
              "machine_line": (f"Machine: {machine['nproc']} cores, {machine['cpu_model']}, Linux {machine['kernel']}; "
                               f"load average at start {' '.join(machine['loadavg_at_start'])}, at end "
                               f"{' '.join(machine['loadavg_at_end'])}."),
              "runs": runs, "medians": medians(runs, labels)}
    name = args.name or "-".join(labels)
    bench.OUT.mkdir(parents=True, exist_ok=True)
    (bench.OUT / f"ab-{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    (bench.OUT / f"ab-{name}.md").write_text(report(result))
    print(report(result))


if __name__ == "__main__":
    main()
