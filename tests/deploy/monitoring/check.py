#!/usr/bin/env python3
"""Checks the monitoring of deploy/ offline: alerts, their unit tests, the dashboard and the monitors.

    check.py --promtool FILE --render FILE --dashboard FILE --tests DIR --bin DIR --src DIR

  monitors   every service workload of the render (gateway, order, repository, statistics) is scraped by
             exactly one PodMonitor or ServiceMonitor of its namespace, on a port its pods have, at the path of
             their prometheus.io annotations, and gets `job` = its name (the rules and the dashboard select on it)
  namespace  the monitoring objects sit in the rendered namespace (crosscheck.py's rule)
  dashboard  the ConfigMap labelled grafana_dashboard "1" holds deploy/grafana/kafka-demo.json byte for byte
  rules      the PrometheusRule's groups pass `promtool check rules`; every alert is KafkaDemo…, has severity
             critical or warning and non-empty summary, description and runbook annotations
  unit tests `promtool test rules` on tests/deploy/monitoring/*.test.yaml; every alert fires in some test
             case and is expected quiet in a test named "healthy…" (series of a shop that works)
  panels     the dashboard JSON parses; each panel's and variable's PromQL (Grafana's variables replaced by
             sample values) passes `promtool check rules` as a recording rule
  metrics    every metric name the rules and the dashboard use is one a service exports, for the job the
             expression selects: names read from GET /metrics of each binary started without Kafka (as
             crosscheck.py starts them), plus names registered on first use (a counter that exists only once
             incremented, a consumer's series before it has a partition): names src/ registers
             (`counter("…"` and the like) whose string is compiled into that service's binary. Those are
             reported as such. `up` is Prometheus' own. A self-test first proves a made-up name and a real name
             under the wrong job are refused.

Prints one line per check ("ok   …" or "FAIL …"); exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from crosscheck import Rendering, check_namespace, free_port, http_get, label_match, load_docs  # noqa: E402

SERVICES = ("gateway", "order", "repository", "statistics")
MONITOR_KINDS = ("PodMonitor", "ServiceMonitor", "PrometheusRule")
RULES_FILE = "kafka-demo.rules.yaml"  # the name the *.test.yaml files load
# Grafana's variables, by sample values that parse like the real ones.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h", "$namespace": "kafka-demo",
                     "${namespace}": "kafka-demo"}
PROMETHEUS_OWN = {"up"}  # written by Prometheus for every target, not by a service


class Report:
    def __init__(self) -> None:
        self.failed = 0

    def check(self, name: str, problems: list[str], summary: str) -> None:
        if problems:
            self.failed += 1
            print(f"FAIL {name}: " + "; ".join(problems[:8]) + (f" (+{len(problems) - 8} more)" if len(problems) > 8 else ""))
        else:
            print(f"ok   {name}: {summary}")


def promtool(binary: str, *args: str) -> tuple[int, str]:
    proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=120)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


# ------------------------------------------------------------------------------------------------- PromQL
# Enough of PromQL's lexer to find the metric names and their label matchers; anything it cannot place shows up
# as an unknown metric name, so a mistake here fails the check instead of hiding a name.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "inf", "nan", "atan2", "start", "end"}
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _skip_string(expr: str, i: int) -> int:
    quote = expr[i]
    i += 1
    while i < len(expr) and expr[i] != quote:
        i += 2 if expr[i] == "\\" else 1
    return i + 1


def _closing(expr: str, i: int, open_: str, close: str) -> int:
    depth = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            i = _skip_string(expr, i)
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced {open_} in {expr!r}")


def selectors(expr: str) -> list[tuple[str, dict[str, tuple[str, str]]]]:
    """(metric name, {label: (operator, value)}) for every vector selector of a PromQL expression."""
    out = []
    i = 0
    skip_next_parens = False
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            i = _skip_string(expr, i)
        elif c == "[":
            i = _closing(expr, i, "[", "]") + 1
        elif c == "(" and skip_next_parens:
            i = _closing(expr, i, "(", ")") + 1
            skip_next_parens = False
        elif c == "{":  # a selector without a name: {__name__="…"} is not used here
            raise ValueError(f"selector without a metric name in {expr!r}")
        elif c.isdigit() or (c == "." and i + 1 < len(expr) and expr[i + 1].isdigit()):
            m = re.compile(r"[0-9.eE+]+[a-zA-Z0-9]*").match(expr, i)  # numbers and durations (offset 10m)
            i = m.end()
        elif m := IDENT.match(expr, i):
            word = m.group(0)
            i = m.end()
            rest = expr[i:].lstrip()
            if word.lower() in KEYWORDS:
                skip_next_parens = word.lower() in LABEL_LISTS
                continue
            if rest.startswith("("):  # a function or an aggregation
                continue
            if rest.startswith("by") or rest.startswith("without"):  # sum by (…) (…)
                continue
            labels: dict[str, tuple[str, str]] = {}
            if rest.startswith("{"):
                start = expr.index("{", i)
                end = _closing(expr, start, "{", "}")
                body = expr[start + 1:end]
                pos = 0
                while pos < len(body.strip()) and (mm := MATCHER.match(body, pos)):
                    labels[mm.group(1)] = (mm.group(2), mm.group(3))
                    pos = mm.end()
                if body[pos:].strip():
                    raise ValueError(f"cannot read the matchers {body!r}")
                i = end + 1
            out.append((word, labels))
        else:
            i += 1
    return out


def jobs_selected(labels: dict[str, tuple[str, str]]) -> list[str]:
    op, value = labels.get("job", ("", ""))
    if op == "=":
        return [value]
    if op == "=~":
        return [s for s in SERVICES if re.fullmatch(value, s)]
    return list(SERVICES)


# ------------------------------------------------------------------------------------------------ exports
def scrape_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] == "#" and parts[1] == "TYPE":
            names.add(parts[2])
            if parts[3] == "histogram":
                names.update(parts[2] + suffix for suffix in ("_bucket", "_sum", "_count"))
    return names


def run_and_scrape(container, bin_dir: str) -> tuple[set[str], str]:
    """Starts a service's binary as crosscheck.py does (manifest environment, loopback, dead broker), scrapes it."""
    with tempfile.TemporaryDirectory(prefix="kd-monitoring-") as scratch:
        env = {"PATH": "/usr/bin:/bin"}
        env.update(container.env)
        if "KAFKA_BROKERS" in env:
            env["KAFKA_BROKERS"] = f"127.0.0.1:{free_port()}"  # nothing listens: no Kafka is contacted
        if "STATE_DIR" in env:
            env["STATE_DIR"] = scratch
        port = free_port()
        env["LISTEN"] = f"127.0.0.1:{port}"
        command = [os.path.join(bin_dir, container.program)] + container.spec.get("command", [])[1:] + container.spec.get("args", [])
        with open(os.path.join(scratch, "log"), "w+", encoding="utf-8", errors="replace") as log:
            proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and proc.poll() is None and http_get(port, "/healthz", 0.5) != 200:
                    time.sleep(0.1)
                if http_get(port, "/healthz") != 200:
                    log.seek(0)
                    return set(), f"{container.program} did not serve /healthz: {log.read()[-300:]!r}"
                http_get(port, "/readyz")
                time.sleep(1.5)  # consumers and producers publish their first statistics within a second
                # The second scrape sees the first one's http_requests_total and http_request_duration_seconds.
                urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
                return scrape_names(text), ""
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()


REGISTERED = re.compile(r'\.\s*(counter|gauge|histogram)\s*\(\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"')


def registered_names(src: str, bin_dir: str) -> dict[str, set[str]]:
    """Per service, the metric names src/ registers whose name string is compiled into that service's binary.

    kd_common is a static library: a binary holds only the code it uses, so a name from src/common counts for the
    services that link its registration, and a name only in sources not yet built counts for none."""
    names: dict[str, str] = {}  # name -> kind
    for path in glob.glob(os.path.join(src, "**", "*.cpp"), recursive=True):
        with open(path, encoding="utf-8", errors="replace") as f:
            for kind, name in REGISTERED.findall(f.read()):
                names[name] = kind
    out = {}
    for service in SERVICES:
        try:
            with open(os.path.join(bin_dir, service), "rb") as f:
                binary = f.read()
        except OSError:
            binary = b""
        out[service] = set()
        for name, kind in names.items():
            if name.encode() in binary:
                out[service].add(name)
                if kind == "histogram":
                    out[service].update(name + suffix for suffix in ("_bucket", "_sum", "_count"))
    return out


def unknown_names(used: list[tuple[str, str, list[str]]], exported: dict[str, set[str]],
                  registered: dict[str, set[str]]) -> tuple[list[str], set[str]]:
    """Uses of a name no selected job exports; and the names known only from registration (not yet scraped)."""
    unknown, lazy = [], set()
    for where, metric, jobs in used:
        if metric in PROMETHEUS_OWN:
            continue
        if not jobs or not any(metric in exported.get(j, set()) | registered.get(j, set()) for j in jobs):
            unknown.append(f"{where}: {metric} is exported by none of {', '.join(jobs) or 'the selected jobs'}")
        elif not any(metric in exported.get(j, set()) for j in jobs):
            lazy.add(metric)
    return unknown, lazy


# -------------------------------------------------------------------------------------------------- checks
def check_monitors(r: Rendering, docs: list[dict]) -> tuple[list[str], str]:
    problems = []
    monitors = [d for d in docs if d["kind"] in ("PodMonitor", "ServiceMonitor")]
    covered = []
    for name in SERVICES:
        workload = next((w for w in r.workloads if w["kind"] in ("Deployment", "StatefulSet") and w["metadata"]["name"] == name), None)
        if workload is None:
            problems.append(f"no workload {name} rendered")
            continue
        pod = workload["spec"]["template"]
        labels = pod["metadata"].get("labels", {})
        namespace = workload["metadata"].get("namespace")
        ports = {p["name"]: p["containerPort"] for c in pod["spec"]["containers"] for p in c.get("ports", []) if "name" in p}
        path = pod["metadata"].get("annotations", {}).get("prometheus.io/path", "/metrics")
        matching = []
        for m in monitors:
            if m["metadata"].get("namespace") != namespace:
                continue
            if m["kind"] == "PodMonitor" and label_match(m["spec"]["selector"], labels):
                matching.append(m)
            elif m["kind"] == "ServiceMonitor":
                for svc in r.services:
                    if label_match(m["spec"]["selector"], svc["metadata"].get("labels", {})) and \
                            label_match(svc["spec"].get("selector"), labels):
                        matching.append(m)
                        break
        if len(matching) != 1:
            problems.append(f"{name}: {len(matching)} monitors scrape its pods, want 1")
            continue
        m = matching[0]
        endpoints = m["spec"].get("podMetricsEndpoints") or m["spec"].get("endpoints") or []
        for e in endpoints:
            if m["kind"] == "PodMonitor" and e.get("port") not in ports:
                problems.append(f"{m['kind']}/{m['metadata']['name']}: port {e.get('port')!r} is not a port of {name}'s pods ({', '.join(ports)})")
            if e.get("path", "/metrics") != path:
                problems.append(f"{m['kind']}/{m['metadata']['name']}: path {e.get('path')} but the pods serve {path}")
        job_label = m["spec"].get("jobLabel")
        if m["kind"] == "PodMonitor" and labels.get(job_label) != name:
            problems.append(f"PodMonitor/{m['metadata']['name']}: jobLabel {job_label!r} gives job={labels.get(job_label)!r}, the rules want {name!r}")
        covered.append(f"{name} ({m['kind']}/{m['metadata']['name']})")
    return problems, f"{len(covered)} services each scraped by one monitor with job=<service>: {', '.join(covered)}"


def check_dashboard_configmap(docs: list[dict], dashboard_path: str) -> tuple[list[str], str]:
    with open(dashboard_path, encoding="utf-8") as f:
        wanted = f.read()
    maps = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    if len(maps) != 1:
        return [f"{len(maps)} ConfigMaps labelled grafana_dashboard=\"1\", want 1"], ""
    data = maps[0].get("data", {})
    name = os.path.basename(dashboard_path)
    if data.get(name) != wanted:
        return [f"ConfigMap {maps[0]['metadata']['name']} does not hold {name} as it is in deploy/grafana"], ""
    return [], f"ConfigMap {maps[0]['metadata']['name']} holds {name} ({len(wanted)} bytes) unchanged"


def rule_groups(docs: list[dict]) -> list[dict]:
    rules = [d for d in docs if d["kind"] == "PrometheusRule"]
    return [g for d in rules for g in d["spec"].get("groups", [])]


def check_alert_conventions(groups: list[dict]) -> tuple[list[str], str]:
    problems = []
    alerts = [rule for g in groups for rule in g["rules"] if "alert" in rule]
    for rule in alerts:
        name = rule["alert"]
        if not name.startswith("KafkaDemo"):
            problems.append(f"{name}: alert names start with KafkaDemo")
        if rule.get("labels", {}).get("severity") not in ("critical", "warning"):
            problems.append(f"{name}: severity must be critical or warning")
        for key in ("summary", "description", "runbook"):
            if not str(rule.get("annotations", {}).get(key, "")).strip():
                problems.append(f"{name}: no {key} annotation")
    return problems, f"{len(alerts)} alerts, each KafkaDemo…, severity critical|warning, summary + description + runbook"


def test_coverage(tests_dir: str, alerts: set[str]) -> tuple[list[str], str]:
    fires: dict[str, int] = {}
    quiet: dict[str, int] = {}
    named: set[str] = set()
    for path in sorted(glob.glob(os.path.join(tests_dir, "*.test.yaml"))):
        with open(path, encoding="utf-8") as f:
            suite = yaml.safe_load(f)
        for test in suite.get("tests", []):
            healthy = str(test.get("name", "")).startswith("healthy")
            for case in test.get("alert_rule_test", []):
                name = case["alertname"]
                if case.get("exp_alerts"):
                    fires[name] = fires.get(name, 0) + 1
                elif healthy:
                    quiet[name] = quiet.get(name, 0) + 1
                named.add(name)
    problems = [f"{a} never fires in a test" for a in sorted(alerts - set(fires))]
    problems += [f"{a} is never expected quiet in a test named healthy…" for a in sorted(alerts - set(quiet))]
    problems += [f"tests expect {a}, which no rule defines" for a in sorted(named - alerts)]
    return problems, (f"each of {len(alerts)} alerts fires in a test ({sum(fires.values())} firing cases) and is "
                      f"expected quiet on healthy series ({sum(quiet.values())} cases)")


def dashboard_exprs(path: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(where, PromQL) of every panel target and query variable; problems reading them."""
    with open(path, encoding="utf-8") as f:
        board = json.load(f)
    out, problems = [], []

    def panels(items):
        for p in items:
            yield p
            yield from panels(p.get("panels", []))

    for p in panels(board.get("panels", [])):
        if p.get("type") == "row":
            continue
        targets = p.get("targets", [])
        if not targets:
            problems.append(f"panel {p.get('title')!r} has no query")
        for t in targets:
            if not str(t.get("expr", "")).strip():
                problems.append(f"panel {p.get('title')!r} target {t.get('refId')} has no expr")
            else:
                out.append((f"panel {p.get('title')!r} {t.get('refId')}", t["expr"]))
    for v in board.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        query = v["query"]["query"] if isinstance(v.get("query"), dict) else v.get("query", "")
        m = re.fullmatch(r"\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*", query)
        out.append((f"variable ${v['name']}", m.group(1) if m else query))
    return out, problems


def substitute(expr: str) -> str:
    for var in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        expr = expr.replace(var, GRAFANA_VARIABLES[var])
    return expr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--promtool", required=True)
    ap.add_argument("--render", required=True, help="kustomize output with the monitoring component")
    ap.add_argument("--dashboard", required=True)
    ap.add_argument("--tests", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--src", required=True)
    args = ap.parse_args()
    report = Report()
    docs = load_docs(args.render)
    rendering = Rendering("monitoring", docs)
    work = tempfile.mkdtemp(prefix="kd-monitoring-check-")
    try:
        report.check("monitors", *check_monitors(rendering, docs))
        problems, summary = check_namespace(rendering)
        report.check("namespace", problems, summary)
        report.check("dashboard configmap", *check_dashboard_configmap(docs, args.dashboard))

        # Rules: the PrometheusRule's groups are a Prometheus rule file as they stand.
        groups = rule_groups(docs)
        rules_path = os.path.join(work, RULES_FILE)
        with open(rules_path, "w", encoding="utf-8") as f:
            yaml.safe_dump({"groups": groups}, f, allow_unicode=True, sort_keys=False, width=1000)
        code, out = promtool(args.promtool, "check", "rules", rules_path)
        count = sum(len(g["rules"]) for g in groups)
        report.check("promtool check rules", [out.replace("\n", " | ")] if code else [],
                     f"{len(groups)} groups, {count} rules of PrometheusRule kafka-demo")
        report.check("alert annotations", *check_alert_conventions(groups))

        # Unit tests, next to a copy of the rules under the name they load, with `summary` as the only annotation:
        # promtool compares all annotations, and a case should state the line a person reads first, not repeat
        # the paragraphs (whose templates `promtool check rules` has parsed above).
        summary_only = [dict(g, rules=[dict(r, annotations={"summary": r["annotations"]["summary"]})
                                       if "summary" in r.get("annotations", {}) else r for r in g["rules"]])
                        for g in groups]
        with open(os.path.join(work, RULES_FILE), "w", encoding="utf-8") as f:
            yaml.safe_dump({"groups": summary_only}, f, allow_unicode=True, sort_keys=False, width=1000)
        tests = sorted(glob.glob(os.path.join(args.tests, "*.test.yaml")))
        for t in tests:
            shutil.copy(t, work)
        code, out = promtool(args.promtool, "test", "rules", *[os.path.join(work, os.path.basename(t)) for t in tests])
        cases = sum(len(test.get("alert_rule_test", [])) for t in tests for test in yaml.safe_load(open(t, encoding="utf-8")).get("tests", []))
        report.check("promtool test rules", [out[-1500:].replace("\n", " | ")] if code or not tests else [],
                     f"{len(tests)} files, {cases} alert cases: {', '.join(os.path.basename(t) for t in tests)}")
        alerts = {r["alert"] for g in groups for r in g["rules"] if "alert" in r}
        report.check("test coverage", *test_coverage(args.tests, alerts))

        # The dashboard's queries, each a recording rule for promtool to parse.
        exprs, problems = dashboard_exprs(args.dashboard)
        leftover = [f"{where}: unknown variable in {e!r}" for where, e in exprs if "$" in substitute(e)]
        panel_rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:query_{i}", "expr": substitute(e)} for i, (_, e) in enumerate(exprs)]}]}
        panel_path = os.path.join(work, "dashboard.rules.yaml")
        with open(panel_path, "w", encoding="utf-8") as f:
            yaml.safe_dump(panel_rules, f, allow_unicode=True, sort_keys=False, width=1000)
        code, out = promtool(args.promtool, "check", "rules", panel_path)
        if code:
            problems.append(out.replace("\n", " | "))
        report.check("dashboard queries", problems + leftover,
                     f"{os.path.basename(args.dashboard)} parses; {len(exprs)} queries pass promtool check rules")

        # Metric names, against what the services export.
        exported: dict[str, set[str]] = {}
        run_problems = []
        for name in SERVICES:
            c = rendering.container_running(name)
            if c is None:
                run_problems.append(f"no container runs {name}")
                continue
            names, problem = run_and_scrape(c, args.bin)
            exported[name] = names
            if problem:
                run_problems.append(problem)
        registered = registered_names(args.src, args.bin)
        # The check must refuse what it exists to refuse: a name nobody exports, a real one under the wrong job.
        probe = [("self-test", m, jobs_selected(l)) for m, l in selectors(
            'sum(rate(orders_revenue_total{job="statistics"}[5m])) + max(orders_shipped_total{job="gateway"})'
            ' + sum(rate(http_requests_total{job="order"}[5m]))')]
        refused, _ = unknown_names(probe, exported, registered)
        if len(refused) != 2:
            run_problems.append(f"self-test: refused {len(refused)} of 3 probe names, want exactly the 2 wrong ones: {refused}")
        used: list[tuple[str, str, list[str]]] = []  # (where, metric, jobs)
        for where, expr in [(f"alert {r.get('alert') or r.get('record')}", r["expr"]) for g in groups for r in g["rules"]] + \
                [(w, substitute(e)) for w, e in exprs]:
            try:
                for metric, labels in selectors(expr):
                    used.append((where, metric, jobs_selected(labels)))
            except ValueError as e:
                run_problems.append(f"{where}: {e}")
        unknown, lazy = unknown_names(used, exported, registered)
        names = sorted({m for _, m, _ in used})
        report.check("metric names", run_problems + sorted(set(unknown)),
                     f"{len(names)} names in rules and dashboard, each exported by the job it selects: "
                     f"{len(names) - len(lazy) - len(PROMETHEUS_OWN & set(names))} seen on GET /metrics of the "
                     f"binaries started without Kafka, {len(lazy)} registered on first use (in src/ and compiled "
                     f"into the binaries: {', '.join(sorted(lazy)) or 'none'}), plus Prometheus' up; "
                     f"self-test refuses a made-up name and a name under the wrong job")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
