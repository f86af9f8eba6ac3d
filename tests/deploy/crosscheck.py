#!/usr/bin/env python3
"""Cross-checks the deployment files against the programs they run.

    crosscheck.py --bin DIR --render NAME=FILE [--render NAME=FILE ...] [--compose FILE.json]
                  [--dockerfile FILE --install-deps FILE] [--max-seconds N]
                  [--partitions NAME=N ...] [--grown FROM=TO]

For each rendered set of Kubernetes manifests (output of `kubectl kustomize`):
  namespace  every namespaced object is in the one rendered Namespace
  env        every variable a container sets is one its binary reads (`--help` lists `(Env:NAME)`), every
             configMapKeyRef names a key of a rendered ConfigMap, no envFrom (it cannot be checked)
  ports      one container port `http` = LISTEN's port, LISTEN on 0.0.0.0, probes and the Prometheus
             annotations on that port
  partitions order and repository replicas = KAFKA_PARTITIONS; one topic and partition count everywhere
             (the create-topic Job's included); as many REGIONS as partitions; N of them if --partitions
             NAME=N is given
  services   every Service selects a workload's pods and targets a port they have; StatefulSets are governed
             by a headless Service
  order-url  ORDER_URL_TEMPLATE names the order StatefulSet's pods through its headless Service and port
  ingress    IngressRoute / Ingress backends are existing Services and ports
  shutdown   preStop + SHUTDOWN_TIMEOUT_MS fit inside terminationGracePeriodSeconds; ORDER_TIMEOUT_MS is
             above DELIVERY_TIMEOUT_MS
  state      STATE_DIR is a mounted persistent volume; a Deployment with a ReadWriteOnce claim has one
             replica and the Recreate strategy
  security   non-root 65532, read-only root, no privilege escalation, no capabilities, RuntimeDefault
             seccomp, no service account token, requests and limits
  pdb        a PodDisruptionBudget for every Deployment and StatefulSet
  network    NetworkPolicies let in every Service port, let Kafka clients reach the brokers' ports, the
             gateway reach order, and everyone reach DNS
  lint-notes every kube-score/ignore annotation carries a kafka-demo/kube-score-reason
  images     bare image names with a tag, no imagePullSecrets, programs from /usr/local/bin
  secrets    every *_FILE setting (KAFKA_CA_FILE, KAFKA_SASL_PASSWORD_FILE, ...) names a file of a read-only
             Secret or ConfigMap volume that provides it, readable by the pod's user (defaultMode and fsGroup); no
             variable holds a password itself (issue 15: passwords come from files only)
  run        each container's binary started with exactly the container's environment (ConfigMap values,
             downward API), but on a free loopback port, a dead Kafka address, a scratch STATE_DIR and stand-ins
             for the files of mounted Secrets (a fresh certificate, key and password): it
             must accept the configuration, serve every endpoint the manifests and the README name, stay
             under its memory limit, and exit 0 on SIGTERM within its grace period. The Job's admin tool must
             accept its configuration (exit 1 for the missing broker, not 2 for a bad setting).
             No Kafka cluster is contacted: the broker address is a closed port on 127.0.0.1.
For --grown FROM=TO (the same deployment with more regions): only the replicas of order and repository, the
create-topic Job and statistics change; the pod templates of gateway, order and repository stay the same, so
growing restarts none of them (a restarted order-N is region N's downtime).
For compose (output of `docker compose config --format json`): env, and LISTEN vs published ports.
For the Dockerfile: the build stage installs a subset of scripts/install-deps.sh, the run stage's packages
provide every shared library the binaries load, and every program the manifests run is installed.

Prints one line per check and rendering; exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import yaml

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")
# What each program serves (README, "HTTP"); status codes that prove the route exists. POST-only routes are
# asked with GET and must answer 405, so nothing is ever submitted.
ENDPOINTS = {
    "gateway": {"/": {200}, "/healthz": {200}, "/readyz": {200}, "/metrics": {200}, "/submit-order": {405}},
    "order": {"/": {200}, "/healthz": {200}, "/readyz": {200, 503}, "/metrics": {200}, "/submit-order": {405}},
    "repository": {"/": {200}, "/healthz": {200}, "/readyz": {200, 503}, "/metrics": {200}, "/shipments": {200}},
    "statistics": {"/": {200}, "/healthz": {200}, "/readyz": {200, 503}, "/metrics": {200}, "/stats": {200, 503}},
}
RUN_AS = 65532


# ---------------------------------------------------------------------------------------------------- output
class Report:
    def __init__(self) -> None:
        self.failed = 0
        self.passed = 0

    def line(self, ok: bool, name: str, detail: str) -> None:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)

    def check(self, name: str, problems: list[str], summary: str) -> None:
        if problems:
            shown = "; ".join(problems[:6]) + (f"; … {len(problems) - 6} more" if len(problems) > 6 else "")
            self.line(False, name, shown)
        else:
            self.line(True, name, summary)


# ----------------------------------------------------------------------------------------------- binaries
_help_cache: dict[tuple[str, ...], set[str]] = {}


def binary_env(bin_dir: str, command: list[str]) -> set[str]:
    """The environment variables a program reads: `(Env:NAME)` in its --help, and its subcommand's."""
    program = os.path.join(bin_dir, os.path.basename(command[0]))
    calls = [[program, "--help"]]
    if len(command) > 1 and not command[1].startswith("-"):
        calls.append([program, command[1], "--help"])
    names: set[str] = set()
    for call in calls:
        key = tuple(call)
        if key not in _help_cache:
            out = subprocess.run(call, capture_output=True, text=True, timeout=10, env={"PATH": "/usr/bin:/bin"})
            _help_cache[key] = set(re.findall(r"\(Env:([A-Za-z_][A-Za-z0-9_]*)\)", out.stdout + out.stderr))
        names |= _help_cache[key]
    return names


# ---------------------------------------------------------------------------------------------- manifests
def load_docs(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def pod_template(obj: dict) -> dict | None:
    if obj.get("kind") in WORKLOAD_KINDS:
        return obj["spec"]["template"]
    return None


def label_match(selector: dict | None, labels: dict) -> bool:
    """matchLabels + matchExpressions (a Service's plain map counts as matchLabels)."""
    if selector is None:
        return False
    match_labels = selector.get("matchLabels", {}) if ("matchLabels" in selector or "matchExpressions" in selector) else selector
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expr in selector.get("matchExpressions", []) if "matchExpressions" in selector else []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@dataclass
class Container:
    workload: dict
    pod: dict  # pod template
    spec: dict  # container
    env: dict[str, str] = field(default_factory=dict)  # resolved values
    env_problems: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.workload["kind"]

    @property
    def name(self) -> str:
        return f"{self.workload['kind']}/{self.workload['metadata']['name']}"

    @property
    def program(self) -> str:
        return os.path.basename(self.spec.get("command", ["?"])[0])

    def port(self, name: str) -> int | None:
        for p in self.spec.get("ports", []):
            if p.get("name") == name:
                return p["containerPort"]
        return None

    def pod_name(self) -> str:
        """The name the downward API would give: the last ordinal of a StatefulSet (the highest partition)."""
        meta = self.workload["metadata"]["name"]
        if self.kind == "StatefulSet":
            return f"{meta}-{self.workload['spec'].get('replicas', 1) - 1}"
        if self.kind == "Deployment":
            return f"{meta}-6d5f8c9b7d-x2x9z"
        return f"{meta}-7kq2p"


class Rendering:
    def __init__(self, name: str, docs: list[dict]) -> None:
        self.name = name
        self.docs = docs
        self.configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in self.docs if d["kind"] == "ConfigMap"}
        self.workloads = [d for d in self.docs if d["kind"] in WORKLOAD_KINDS]
        self.services = [d for d in self.docs if d["kind"] == "Service"]
        self.containers: list[Container] = []
        for w in self.workloads:
            for c in pod_template(w)["spec"].get("containers", []):
                self.containers.append(self._resolve(Container(w, pod_template(w), c)))

    def _resolve(self, c: Container) -> Container:
        for e in c.spec.get("env", []):
            name = e["name"]
            if "value" in e:
                c.env[name] = str(e["value"])
                continue
            source = e.get("valueFrom", {})
            if "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                data = self.configmaps.get(ref["name"])
                if data is None:
                    c.env_problems.append(f"{c.name}: {name} refers to a ConfigMap {ref['name']} that is not rendered")
                elif ref["key"] in data:
                    c.env[name] = str(data[ref["key"]])
                elif not ref.get("optional", False):
                    c.env_problems.append(f"{c.name}: {name} refers to a missing key {ref['key']}")
            elif source.get("fieldRef", {}).get("fieldPath") == "metadata.name":
                c.env[name] = c.pod_name()
            elif "fieldRef" in source:
                c.env[name] = "downward-api"
            else:
                c.env_problems.append(f"{c.name}: {name} comes from {list(source)} which this check cannot resolve")
        return c

    def service_containers(self) -> list[Container]:
        return [c for c in self.containers if c.kind in ("Deployment", "StatefulSet")]

    def container_running(self, program: str) -> Container | None:
        return next((c for c in self.containers if c.program == program), None)


# ------------------------------------------------------------------------------------------------- checks
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass", "IngressClass"}


def check_namespace(r: Rendering) -> tuple[list[str], str]:
    namespaces = [d["metadata"]["name"] for d in r.docs if d["kind"] == "Namespace"]
    if len(namespaces) != 1:
        return [f"want exactly one Namespace, got {namespaces}"], ""
    problems = [f"{d['kind']}/{d['metadata']['name']} is in namespace {d['metadata'].get('namespace', '(none: kubectl default)')}"
                for d in r.docs if d["kind"] not in CLUSTER_SCOPED and d["metadata"].get("namespace") != namespaces[0]]
    return problems, f"{len(r.docs) - 1} objects in namespace {namespaces[0]}"


def check_env(r: Rendering, bin_dir: str) -> tuple[list[str], str]:
    problems, count = [], 0
    for c in r.containers:
        problems += c.env_problems
        if c.spec.get("envFrom"):
            problems.append(f"{c.name}: envFrom sets variables no one can check; use env with configMapKeyRef")
        command = c.spec.get("command")
        if not command:
            problems.append(f"{c.name}: no command: the image has no entrypoint")
            continue
        if not os.access(os.path.join(bin_dir, c.program), os.X_OK):
            problems.append(f"{c.name}: no binary {c.program} in {bin_dir}")
            continue
        known = binary_env(bin_dir, command)
        for e in c.spec.get("env", []):
            count += 1
            if e["name"] not in known:
                problems.append(f"{c.name}: {e['name']} is not read by {c.program}")
    return problems, f"{count} variables in {len(r.containers)} containers, each read by its binary"


def check_ports(r: Rendering) -> tuple[list[str], str]:
    problems = []
    for c in r.service_containers():
        http = c.port("http")
        ports = c.spec.get("ports", [])
        if http is None or len(ports) != 1:
            problems.append(f"{c.name}: wants exactly one container port, named http")
            continue
        listen = c.env.get("LISTEN", "")
        host, _, port = listen.rpartition(":")
        if host != "0.0.0.0" or port != str(http):
            problems.append(f"{c.name}: LISTEN={listen!r} but the container port http is {http} (want 0.0.0.0:{http})")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            get = c.spec.get(probe, {}).get("httpGet")
            if get and get.get("port") not in ("http", http):
                problems.append(f"{c.name}: {probe} on port {get.get('port')}, not http")
        if not c.spec.get("readinessProbe") or not c.spec.get("livenessProbe"):
            problems.append(f"{c.name}: readiness and liveness probes are required")
        ann = c.pod.get("metadata", {}).get("annotations", {})
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != str(http):
            problems.append(f"{c.name}: prometheus.io/scrape must be \"true\" and prometheus.io/port {http}")
        if ann.get("prometheus.io/path") != "/metrics":
            problems.append(f"{c.name}: prometheus.io/path must be /metrics")
    return problems, f"{len(r.service_containers())} containers on 0.0.0.0:<http>, probes and scrape on http"


def check_partitions(r: Rendering, expected: int | None = None) -> tuple[list[str], str]:
    problems = []
    values = {(c.env.get("KAFKA_PARTITIONS"), c.env.get("KAFKA_TOPIC")) for c in r.containers if "KAFKA_PARTITIONS" in c.env}
    partition_values = {v[0] for v in values}
    topics = {v[1] for v in values if v[1] is not None}
    if len(partition_values) != 1 or len(topics) != 1:
        return [f"containers disagree: KAFKA_PARTITIONS {sorted(map(str, partition_values))}, KAFKA_TOPIC {sorted(topics)}"], ""
    partitions = int(next(iter(partition_values)))
    for program in ("order", "repository"):
        c = r.container_running(program)
        if c is None:
            problems.append(f"no workload runs {program}")
            continue
        if c.kind != "StatefulSet":
            problems.append(f"{c.name}: {program} must be a StatefulSet (partition from the pod ordinal)")
        replicas = c.workload["spec"].get("replicas", 1)
        if replicas != partitions:
            problems.append(f"{c.name}: replicas {replicas} != KAFKA_PARTITIONS {partitions}")
    stats = r.container_running("statistics")
    if stats and "REGIONS" in stats.env and len(stats.env["REGIONS"].split(",")) != partitions:
        problems.append(f"REGIONS names {len(stats.env['REGIONS'].split(','))} regions for {partitions} partitions")
    job = r.container_running("kafka-demo-admin")
    if job is None or job.env.get("KAFKA_PARTITIONS") is None:
        problems.append("no create-topic Job with KAFKA_PARTITIONS")
    if expected is not None and partitions != expected:
        problems.append(f"{partitions} partitions, expected {expected}")
    return problems, (f"order and repository replicas = KAFKA_PARTITIONS = {partitions} = regions = the "
                      f"create-topic Job's; one topic")


def check_grown(before: Rendering, after: Rendering) -> tuple[list[str], str]:
    """More regions change the replicas, the Job and statistics' names, and restart no running instance."""
    problems = []
    def workloads(r: Rendering) -> dict[str, dict]:
        return {f"{w['kind']}/{w['metadata']['name']}": w for w in r.workloads}
    old, new = workloads(before), workloads(after)
    for name in sorted(set(old) & set(new)):
        program = os.path.basename(pod_template(old[name])["spec"]["containers"][0].get("command", ["?"])[0])
        same = pod_template(old[name]) == pod_template(new[name])
        if program in ("gateway", "order", "repository") and not same:
            problems.append(f"{name}: its pod template changes with the regions, so growing restarts every pod of it")
        if program == "kafka-demo-admin" and same:
            problems.append(f"{name}: unchanged with the regions, so applying would not run it again to grow the topic")
    counts = []
    for r in (before, after):
        c = r.container_running("order")
        counts.append(c.workload["spec"].get("replicas", 1) if c else None)
    if counts[0] is None or counts[1] is None or counts[1] <= counts[0]:
        problems.append(f"order replicas {counts[0]} -> {counts[1]}: not more regions")
    return problems, (f"{before.name} ({counts[0]} regions) -> {after.name} ({counts[1]}): replicas, the create-topic "
                      "Job and statistics change; gateway, order and repository pods are not restarted")


def service_port_target(r: Rendering, svc: dict, port_ref) -> tuple[list[Container], int | None]:
    """The pods a Service selects and the container port its port `port_ref` (number or name) reaches."""
    pods = [c for c in r.service_containers() if label_match(svc["spec"].get("selector"), c.pod["metadata"].get("labels", {}))]
    for p in svc["spec"].get("ports", []):
        if port_ref in (p.get("port"), p.get("name")):
            target = p.get("targetPort", p["port"])
            for c in pods:
                if isinstance(target, str):
                    return pods, c.port(target)
                return pods, target
    return pods, None


def check_services(r: Rendering) -> tuple[list[str], str]:
    problems = []
    for svc in r.services:
        name = svc["metadata"]["name"]
        pods = [c for c in r.service_containers() if label_match(svc["spec"].get("selector"), c.pod["metadata"].get("labels", {}))]
        if not svc["spec"].get("selector") or not pods:
            problems.append(f"Service {name} selects no workload's pods")
            continue
        for p in svc["spec"].get("ports", []):
            target = p.get("targetPort", p["port"])
            for c in pods:
                if (isinstance(target, str) and c.port(target) is None) or (isinstance(target, int) and target not in [x["containerPort"] for x in c.spec.get("ports", [])]):
                    problems.append(f"Service {name} port {p['port']} targets {target!r}, which {c.name} does not expose")
    for w in r.workloads:
        if w["kind"] != "StatefulSet":
            continue
        governing = next((s for s in r.services if s["metadata"]["name"] == w["spec"].get("serviceName")), None)
        if governing is None:
            problems.append(f"StatefulSet {w['metadata']['name']}: no Service {w['spec'].get('serviceName')}")
        elif governing["spec"].get("clusterIP") != "None":
            problems.append(f"StatefulSet {w['metadata']['name']}: Service {governing['metadata']['name']} is not headless: no per-pod DNS")
        elif not label_match(governing["spec"]["selector"], w["spec"]["template"]["metadata"]["labels"]):
            problems.append(f"StatefulSet {w['metadata']['name']}: its Service does not select its pods")
        elif governing["spec"].get("publishNotReadyAddresses", False):
            problems.append(f"Service {governing['metadata']['name']}: publishNotReadyAddresses must be false")
    return problems, f"{len(r.services)} Services select pods and target their ports; StatefulSets headless-governed"


def check_order_url(r: Rendering) -> tuple[list[str], str]:
    gateway, order = r.container_running("gateway"), r.container_running("order")
    if not gateway or not order:
        return ["gateway or order is not deployed"], ""
    template = gateway.env.get("ORDER_URL_TEMPLATE", "")
    m = re.fullmatch(r"http://([a-z0-9-]+)-\{partition\}\.([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local(?::(\d+))?(/[^?#]*)", template)
    if not m:
        return [f"ORDER_URL_TEMPLATE {template!r} is not http://<statefulset>-{{partition}}.<service>.<namespace>.svc.cluster.local:<port>/<path>"], ""
    sts, svc_name, namespace, port, path = m.group(1), m.group(2), m.group(3), int(m.group(4) or 80), m.group(5)
    problems = []
    if sts != order.workload["metadata"]["name"]:
        problems.append(f"host prefix {sts} is not the order StatefulSet {order.workload['metadata']['name']}")
    if svc_name != order.workload["spec"].get("serviceName"):
        problems.append(f"service {svc_name} is not the order StatefulSet's serviceName")
    if namespace != order.workload["metadata"].get("namespace"):
        problems.append(f"namespace {namespace} is not the order StatefulSet's ({order.workload['metadata'].get('namespace')})")
    svc = next((s for s in r.services if s["metadata"]["name"] == svc_name), None)
    if svc is None:
        problems.append(f"no Service {svc_name}")
    else:
        # Per-pod DNS of a headless Service answers pod IPs: the URL's port must be the container's port.
        if port != order.port("http"):
            problems.append(f"port {port} is not order's container port {order.port('http')} (pod DNS bypasses Service ports)")
    if path != "/submit-order":
        problems.append(f"path {path} is not /submit-order")
    return problems, f"{template} -> {sts}-N via headless {svc_name}, port {port}"


def check_ingress(r: Rendering) -> tuple[list[str], str]:
    problems, backends = [], []
    for d in r.docs:
        if d["kind"] == "IngressRoute":
            for route in d["spec"].get("routes", []):
                for s in route.get("services", []):
                    backends.append((f"IngressRoute {d['metadata']['name']}", s["name"], s.get("port")))
        elif d["kind"] == "Ingress":
            for rule in d["spec"].get("rules", []):
                for p in rule.get("http", {}).get("paths", []):
                    svc = p["backend"]["service"]
                    backends.append((f"Ingress {d['metadata']['name']}", svc["name"], svc["port"].get("number", svc["port"].get("name"))))
    for owner, name, port in backends:
        svc = next((s for s in r.services if s["metadata"]["name"] == name), None)
        if svc is None:
            problems.append(f"{owner}: no Service {name}")
            continue
        pods, target = service_port_target(r, svc, port)
        if target is None or not pods:
            problems.append(f"{owner}: Service {name} has no port {port!r} reaching a pod")
        elif any(c.program != "gateway" for c in pods):
            problems.append(f"{owner}: Service {name} does not lead to the gateway")
    if not backends:
        problems.append("no IngressRoute or Ingress")
    return problems, f"{len(backends)} route(s) -> Service gateway -> gateway pods"


def check_shutdown(r: Rendering) -> tuple[list[str], str]:
    problems = []
    for c in r.service_containers():
        grace = c.pod["spec"].get("terminationGracePeriodSeconds", 30)
        drain = int(c.env.get("SHUTDOWN_TIMEOUT_MS", "20000"))
        pre_stop = c.spec.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        if pre_stop * 1000 + drain + 2000 > grace * 1000:
            problems.append(f"{c.name}: preStop {pre_stop}s + SHUTDOWN_TIMEOUT_MS {drain} + 2s margin > grace {grace}s")
    gateway, order = r.container_running("gateway"), r.container_running("order")
    if gateway and order:
        if int(gateway.env.get("ORDER_TIMEOUT_MS", "10000")) <= int(order.env.get("DELIVERY_TIMEOUT_MS", "5000")):
            problems.append("ORDER_TIMEOUT_MS must exceed DELIVERY_TIMEOUT_MS, or order's 503 becomes a gateway 502")
    return problems, "preStop + drain + 2 s <= terminationGracePeriodSeconds; ORDER_TIMEOUT_MS > DELIVERY_TIMEOUT_MS"


def check_state(r: Rendering) -> tuple[list[str], str]:
    problems, count = [], 0
    claims = {d["metadata"]["name"]: d for d in r.docs if d["kind"] == "PersistentVolumeClaim"}
    for c in r.containers:
        if "STATE_DIR" not in c.env:
            continue
        count += 1
        mount = next((m for m in c.spec.get("volumeMounts", []) if m["mountPath"].rstrip("/") == c.env["STATE_DIR"].rstrip("/")), None)
        if mount is None:
            problems.append(f"{c.name}: STATE_DIR {c.env['STATE_DIR']} is not a volume mount (the root is read-only)")
            continue
        templates = {t["metadata"]["name"]: t for t in c.workload["spec"].get("volumeClaimTemplates", [])}
        volume = next((v for v in c.pod["spec"].get("volumes", []) if v["name"] == mount["name"]), None)
        if mount["name"] in templates:
            claim_spec = templates[mount["name"]]["spec"]
        elif volume and "persistentVolumeClaim" in volume:
            claim = claims.get(volume["persistentVolumeClaim"]["claimName"])
            if claim is None:
                problems.append(f"{c.name}: claim {volume['persistentVolumeClaim']['claimName']} is not rendered")
                continue
            claim_spec = claim["spec"]
        else:
            problems.append(f"{c.name}: STATE_DIR is on {list((volume or {}).keys())}, not a persistent volume")
            continue
        if c.kind == "Deployment" and "ReadWriteOnce" in claim_spec.get("accessModes", []) or c.kind == "Deployment" and "ReadWriteOncePod" in claim_spec.get("accessModes", []):
            spec = c.workload["spec"]
            if spec.get("replicas", 1) > 1 or spec.get("strategy", {}).get("type") != "Recreate":
                problems.append(f"{c.name}: one writer of STATE_DIR needs replicas 1 and strategy Recreate")
    return problems, f"{count} STATE_DIRs on persistent volumes; single-writer Deployment uses Recreate"


def check_security(r: Rendering) -> tuple[list[str], str]:
    problems = []
    for c in r.containers:
        pod = c.pod["spec"]
        psc, sc = pod.get("securityContext", {}), c.spec.get("securityContext", {})
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{c.name}: automountServiceAccountToken must be false")
        if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault" and sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{c.name}: seccompProfile RuntimeDefault missing")
        for key, want in (("runAsNonRoot", True), ("runAsUser", RUN_AS)):
            if sc.get(key, psc.get(key)) != want:
                problems.append(f"{c.name}: {key} must be {want}")
        for key, want in (("readOnlyRootFilesystem", True), ("allowPrivilegeEscalation", False)):
            if sc.get(key) is not want:
                problems.append(f"{c.name}: {key} must be {want}")
        if sc.get("capabilities", {}).get("drop") != ["ALL"] or sc.get("capabilities", {}).get("add"):
            problems.append(f"{c.name}: capabilities must drop ALL and add none")
        res = c.spec.get("resources", {})
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in res.get(kind, {}):
                    problems.append(f"{c.name}: resources.{kind}.{resource} missing")
    return problems, f"{len(r.containers)} containers: uid {RUN_AS} non-root, read-only root, no escalation, caps dropped, RuntimeDefault, no token, requests+limits"


def mounted_file(c: Container, path: str) -> tuple[dict | None, str]:
    """The volume of `c`'s pod that provides file `path`, and the file's path inside it; (None, why) if none."""
    for mount in c.spec.get("volumeMounts", []):
        root = mount["mountPath"].rstrip("/") + "/"
        if not path.startswith(root):
            continue
        volume = next((v for v in c.pod["spec"].get("volumes", []) if v["name"] == mount["name"]), None)
        if volume is None:
            return None, f"its mount {mount['name']} has no volume"
        if not mount.get("readOnly"):
            return None, f"its mount {mount['name']} is not readOnly"
        return volume, path[len(root):]
    return None, "no volume is mounted there"


def check_secrets(r: Rendering) -> tuple[list[str], str]:
    problems, files = [], 0
    for c in r.containers:
        for name, value in c.env.items():
            if name.endswith("_FILE"):
                files += 1
                volume, inner = mounted_file(c, value)
                if volume is None:
                    problems.append(f"{c.name}: {name}={value}: {inner}")
                    continue
                source = volume.get("secret") or volume.get("configMap")
                if source is None:
                    problems.append(f"{c.name}: {name}={value} is on volume {volume['name']}, not a Secret or ConfigMap")
                    continue
                items = source.get("items")
                if items is not None and inner not in {i["path"] for i in items}:
                    problems.append(f"{c.name}: {name}={value}: volume {volume['name']} does not provide {inner}")
                mode = source.get("defaultMode", 0o644)
                group_readable = mode & 0o040 and c.pod["spec"].get("securityContext", {}).get("fsGroup") is not None
                if not (mode & 0o004 or group_readable):
                    problems.append(f"{c.name}: {name}: mode {oct(mode)} without fsGroup: the service's user cannot read it")
            elif "PASSWORD" in name or "SECRET" in name:
                problems.append(f"{c.name}: {name} holds a secret in a variable (kubectl describe shows it); use a *_FILE setting")
        if re.search(r"(password|secret)\s*=", c.env.get("KAFKA_PROPERTIES", ""), re.IGNORECASE):
            problems.append(f"{c.name}: KAFKA_PROPERTIES carries a password; use KAFKA_SASL_PASSWORD_FILE")
    return problems, f"{files} file settings, each a file of a read-only Secret or ConfigMap volume; no secret in a variable"


def check_pdb(r: Rendering) -> tuple[list[str], str]:
    pdbs = [d for d in r.docs if d["kind"] == "PodDisruptionBudget"]
    problems = []
    for w in r.workloads:
        if w["kind"] == "Job":
            continue
        labels = w["spec"]["template"]["metadata"]["labels"]
        if not any(label_match(p["spec"].get("selector"), labels) for p in pdbs):
            problems.append(f"{w['kind']}/{w['metadata']['name']}: no PodDisruptionBudget")
        for p in pdbs:
            if label_match(p["spec"].get("selector"), labels) and p["spec"].get("minAvailable") == w["spec"].get("replicas", 1):
                problems.append(f"PDB {p['metadata']['name']}: minAvailable = replicas blocks every drain")
    return problems, f"{len(pdbs)} PodDisruptionBudgets cover every Deployment and StatefulSet"


def _policies_for(r: Rendering, labels: dict, direction: str) -> list[dict]:
    return [d for d in r.docs if d["kind"] == "NetworkPolicy" and label_match(d["spec"].get("podSelector", {}), labels)
            and direction in d["spec"].get("policyTypes", ["Ingress"])]


def _port_allowed(rule: dict, port: int, named: str | None, protocol: str = "TCP") -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    return any(p.get("protocol", "TCP") == protocol and (p.get("port") is None or p.get("port") in (port, named)) for p in ports)


def _peer_allowed(rule: dict, key: str, dest_labels: dict | None) -> bool:
    peers = rule.get(key)
    if not peers:
        return True
    for peer in peers:
        if "ipBlock" in peer or ("namespaceSelector" in peer and "podSelector" not in peer):
            return True  # may include any destination outside the namespace
        if dest_labels is not None and "podSelector" in peer and "namespaceSelector" not in peer and label_match(peer["podSelector"], dest_labels):
            return True
    return False


def egress_allowed(r: Rendering, labels: dict, port: int, dest_labels: dict | None, protocol: str = "TCP") -> bool:
    policies = _policies_for(r, labels, "Egress")
    if not policies:
        return True
    return any(_port_allowed(rule, port, None, protocol) and _peer_allowed(rule, "to", dest_labels)
               for p in policies for rule in p["spec"].get("egress", []))


def ingress_allowed(r: Rendering, labels: dict, port: int, named: str | None) -> bool:
    policies = _policies_for(r, labels, "Ingress")
    if not policies:
        return True
    return any(_port_allowed(rule, port, named) and _peer_allowed(rule, "from", None) for p in policies for rule in p["spec"].get("ingress", []))


def check_network(r: Rendering) -> tuple[list[str], str]:
    problems = []
    for c in r.containers:
        labels = c.pod["metadata"].get("labels", {})
        if not egress_allowed(r, labels, 53, None, "UDP"):
            problems.append(f"{c.name}: DNS (UDP 53) is blocked")
        for broker in filter(None, c.env.get("KAFKA_BROKERS", "").split(",")):
            port = int(broker.rsplit(":", 1)[1])
            if not egress_allowed(r, labels, port, None):
                problems.append(f"{c.name}: egress to Kafka {broker} (port {port}) is blocked")
    for svc in r.services:
        pods = [c for c in r.service_containers() if label_match(svc["spec"].get("selector"), c.pod["metadata"].get("labels", {}))]
        for p in svc["spec"].get("ports", []):
            target = p.get("targetPort", p["port"])
            for c in pods:
                number = c.port(target) if isinstance(target, str) else target
                named = target if isinstance(target, str) else next((x.get("name") for x in c.spec.get("ports", []) if x["containerPort"] == target), None)
                if not ingress_allowed(r, c.pod["metadata"].get("labels", {}), number, named):
                    problems.append(f"{c.name}: ingress to Service {svc['metadata']['name']} port {target} is blocked")
    gateway, order = r.container_running("gateway"), r.container_running("order")
    if gateway and order:
        if not egress_allowed(r, gateway.pod["metadata"]["labels"], order.port("http"), order.pod["metadata"]["labels"]):
            problems.append("gateway cannot reach order's port")
        if not ingress_allowed(r, order.pod["metadata"]["labels"], order.port("http"), "http"):
            problems.append("order does not let the gateway in")
    return problems, "Service ports in, DNS and Kafka broker ports out, gateway -> order allowed"


def check_lint_notes(r: Rendering) -> tuple[list[str], str]:
    problems, count = [], 0
    for d in r.docs:
        ann = d.get("metadata", {}).get("annotations", {}) or {}
        if "kube-score/ignore" in ann:
            count += 1
            if not str(ann.get("kafka-demo/kube-score-reason", "")).strip():
                problems.append(f"{d['kind']}/{d['metadata']['name']}: kube-score/ignore without kafka-demo/kube-score-reason")
    return problems, f"{count} per-object kube-score exclusion(s), each with a written reason"


def check_images(r: Rendering) -> tuple[list[str], str]:
    problems, images = [], set()
    for c in r.containers:
        image = c.spec.get("image", "")
        images.add(image)
        name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
        if not tag or tag == "latest":
            problems.append(f"{c.name}: image {image} needs an explicit tag other than latest")
        if c.pod["spec"].get("imagePullSecrets"):
            problems.append(f"{c.name}: imagePullSecrets belong in an overlay, not the base")
        command = c.spec.get("command", [""])
        if not command[0].startswith("/usr/local/bin/"):
            problems.append(f"{c.name}: command {command[0]} is not a program of the image (/usr/local/bin)")
    return problems, f"images {sorted(images)}; programs from /usr/local/bin; no pull secrets"


# ------------------------------------------------------------------------------------------- running them
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return 0


def memory_limit_bytes(c: Container) -> int | None:
    value = str(c.spec.get("resources", {}).get("limits", {}).get("memory", ""))
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", value)
    if not m:
        return None
    return int(m.group(1)) * {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}[m.group(2)]


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def stand_in(scratch: str, setting: str) -> str:
    """A file for a setting that names a mounted Secret's file: a fresh self-signed certificate for a CA or
    client certificate, its key, any one-line password."""
    path = os.path.join(scratch, setting.lower())
    if setting.endswith(("CA_FILE", "CERT_FILE", "KEY_FILE")):
        if not os.path.exists(os.path.join(scratch, "stand-in.crt")):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=stand-in",
                            "-keyout", os.path.join(scratch, "stand-in.key"), "-out", os.path.join(scratch, "stand-in.crt")],
                           check=True, capture_output=True, timeout=30)
        return os.path.join(scratch, "stand-in.key" if setting.endswith("KEY_FILE") else "stand-in.crt")
    with open(path, "w", encoding="utf-8") as out:
        out.write("stand-in-password\n")
    return path


def run_container(c: Container, bin_dir: str, deadline: float) -> tuple[list[str], str]:
    """Starts one container's program as the manifest configures it, on loopback, and probes it."""
    problems: list[str] = []
    dead_broker = f"127.0.0.1:{free_port()}"  # nothing listens there: no Kafka is ever contacted
    with tempfile.TemporaryDirectory(prefix="kd-crosscheck-") as scratch:
        env = {"PATH": "/usr/bin:/bin"}
        env.update(c.env)
        if "KAFKA_BROKERS" in env:
            env["KAFKA_BROKERS"] = dead_broker
        if "STATE_DIR" in env:
            env["STATE_DIR"] = scratch
        for name, value in c.env.items():
            if name.endswith("_FILE") and mounted_file(c, value)[0] is not None:
                env[name] = stand_in(scratch, name)
        program = os.path.join(bin_dir, c.program)
        command = [program] + c.spec.get("command", [])[1:] + c.spec.get("args", [])
        log = open(os.path.join(scratch, "log"), "w+", encoding="utf-8", errors="replace")
        if c.kind == "Job":
            env["ADMIN_TIMEOUT_MS"] = "500"
            proc = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=20)
            log.seek(0)
            tail = log.read()[-300:].strip().replace("\n", " | ")
            if proc.returncode != 1:
                problems.append(f"{c.name}: {c.program} exited {proc.returncode} without a broker (want 1; 2 = bad setting): {tail}")
            return problems, f"{c.name}: configuration accepted (exit 1: no broker)"
        host = c.env.get("LISTEN", "0.0.0.0:8080").rpartition(":")[0]
        port = free_port()
        env["LISTEN"] = f"{host}:{port}"
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            up_by = min(deadline, time.monotonic() + 10)
            while time.monotonic() < up_by and proc.poll() is None and http_get(port, "/healthz", 0.5) != 200:
                time.sleep(0.1)
            if proc.poll() is not None or http_get(port, "/healthz") != 200:
                log.seek(0)
                tail = log.read()[-400:].strip().replace("\n", " | ")
                return [f"{c.name}: {c.program} did not serve /healthz (exit {proc.poll()}): {tail}"], ""
            expected = dict(ENDPOINTS.get(c.program, {}))
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                path = c.spec.get(probe, {}).get("httpGet", {}).get("path")
                if path:
                    expected.setdefault(path, {200, 503} if probe == "readinessProbe" else {200})
            scrape = c.pod.get("metadata", {}).get("annotations", {}).get("prometheus.io/path")
            if scrape:
                expected.setdefault(scrape, {200})
            answers = {}
            for path, wanted in sorted(expected.items()):
                status = http_get(port, path)
                answers[path] = status
                if status not in wanted:
                    problems.append(f"{c.name}: GET {path} -> {status or 'no answer'}, want {'/'.join(map(str, sorted(wanted)))}")
            rss = rss_bytes(proc.pid)
            limit = memory_limit_bytes(c)
            if limit and rss > limit:
                problems.append(f"{c.name}: idle RSS {rss >> 20} MiB is above its memory limit {limit >> 20} MiB")
            grace = c.pod["spec"].get("terminationGracePeriodSeconds", 30)
            stopping = time.monotonic()
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                code = proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                problems.append(f"{c.name}: still running {grace}s after SIGTERM")
                code = None
            took = time.monotonic() - stopping
            if code not in (0, None):
                problems.append(f"{c.name}: exit {code} after SIGTERM, want 0")
            return problems, (f"{c.name}: {len(answers)} endpoints answer as expected, idle RSS {rss / 2**20:.1f} MiB, "
                              f"SIGTERM exit in {took:.2f}s")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()


_run_cache: dict[str, tuple[list[str], str, str]] = {}


def check_run(r: Rendering, bin_dir: str, deadline: float, report: Report) -> None:
    todo = {}
    for c in r.containers:
        key = json.dumps([c.program, c.spec.get("command"), c.env, c.kind, c.spec.get("resources")], sort_keys=True)
        todo[key] = c
    fresh = {k: c for k, c in todo.items() if k not in _run_cache}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(fresh))) as pool:
        futures = {k: pool.submit(run_container, c, bin_dir, deadline) for k, c in fresh.items()}
        for k, f in futures.items():
            try:
                _run_cache[k] = (*f.result(), r.name)
            except Exception as e:  # a crash of the check itself is a failure, not a pass
                _run_cache[k] = ([f"{fresh[k].name}: {type(e).__name__}: {e}"], "", r.name)
    firsts = {_run_cache[k][2] for k in todo}
    if len(firsts) == 1 and r.name not in firsts:
        first = next(iter(firsts))
        bad = [c.program for k, c in todo.items() if _run_cache[k][0]]
        report.check(f"{r.name}: run", [f"as in {first}: {', '.join(bad)} failed"] if bad else [],
                     f"the same {len(todo)} programs with the same environments as in {first}")
        return
    for k, c in todo.items():
        problems, summary, first = _run_cache[k]
        if first != r.name:
            summary = f"same program and environment as in {first}"
            problems = [f"as in {first}"] if problems else []
        report.check(f"{r.name}: run {c.program}", problems, summary)


# ------------------------------------------------------------------------------------------------ self-test
def _find(docs: list[dict], kind: str, name: str) -> dict:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def _container(docs: list[dict], kind: str, name: str) -> dict:
    return _find(docs, kind, name)["spec"]["template"]["spec"]["containers"][0]


def _set_env(container: dict, name: str, value: str) -> None:
    container["env"] = [e for e in container.get("env", []) if e["name"] != name] + [{"name": name, "value": value}]


def _configmap(docs: list[dict]) -> dict:
    """The services' settings (not kafka-demo-regions)."""
    return next(d for d in docs if d["kind"] == "ConfigMap" and "KAFKA_BROKERS" in d.get("data", {}))["data"]


def _drop_reason(docs: list[dict]) -> None:
    for d in docs:
        (d["metadata"].get("annotations") or {}).pop("kafka-demo/kube-score-reason", None)


# Faults seeded into a copy of a rendering; each must make the named check fail. Seed = the original article.
MUTATIONS: list[tuple[str, str, str, object]] = [
    # (fault, check that must fail, text its report must contain, how to seed it)
    ("an object outside the namespace", "namespace", "(none: kubectl default)",
     lambda d: _find(d, "Service", "statistics")["metadata"].pop("namespace")),
    ("a variable no binary reads", "env", "ORDER_URL is not read by gateway",
     lambda d: _set_env(_container(d, "Deployment", "gateway"), "ORDER_URL", "x")),
    ("a SASL password in a variable", "secrets", "KAFKA_SASL_PASSWORD holds a secret in a variable",
     lambda d: _set_env(_container(d, "StatefulSet", "order"), "KAFKA_SASL_PASSWORD", "hunter2")),
    ("a password file on no volume", "secrets", "KAFKA_SASL_PASSWORD_FILE=/etc/kafka-demo/user/password: no volume is mounted there",
     lambda d: _set_env(_container(d, "StatefulSet", "order"), "KAFKA_SASL_PASSWORD_FILE", "/etc/kafka-demo/user/password")),
    ("the seed's ClusterIP order Service", "services", "is not headless",
     lambda d: _find(d, "Service", "order")["spec"].pop("clusterIP")),
    ("order replicas 2 with 3 partitions", "partitions", "replicas 2 != KAFKA_PARTITIONS 3",
     lambda d: _find(d, "StatefulSet", "order")["spec"].update(replicas=2)),
    ("LISTEN on the seed's port 80", "ports", "LISTEN='0.0.0.0:80'",
     lambda d: _set_env(_container(d, "StatefulSet", "order"), "LISTEN", "0.0.0.0:80")),
    ("order URL without port (the binary's default)", "order-url", "port 80 is not order's container port",
     lambda d: _configmap(d).update(ORDER_URL_TEMPLATE="http://order-{partition}.order.kafka-demo.svc.cluster.local/submit-order")),
    ("the seed's rolling update of statistics", "state", "needs replicas 1 and strategy Recreate",
     lambda d: _find(d, "Deployment", "statistics")["spec"].update(strategy={"type": "RollingUpdate"})),
    ("brokers on a port the egress policy blocks", "network", "(port 9093) is blocked",
     lambda d: _configmap(d).update(KAFKA_BROKERS="kafka.devops.svc.cluster.local:9093")),
    ("no PodDisruptionBudget for order", "pdb", "StatefulSet/order: no PodDisruptionBudget",
     lambda d: d.remove(_find(d, "PodDisruptionBudget", "order"))),
    ("running as root", "security", "runAsUser must be 65532",
     lambda d: _container(d, "StatefulSet", "repository")["securityContext"].update(runAsUser=0)),
    ("grace period shorter than the drain", "shutdown", "> grace 20s",
     lambda d: _find(d, "StatefulSet", "order")["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=20)),
    ("a kube-score exclusion without a reason", "lint-notes", "without kafka-demo/kube-score-reason", _drop_reason),
    ("the seed's :latest image", "images", "explicit tag other than latest",
     lambda d: _container(d, "Deployment", "gateway").update(image="kafka-demo:latest")),
    ("a readiness path the service does not serve", "run:order", "GET /ready -> 404",
     lambda d: _container(d, "StatefulSet", "order")["readinessProbe"]["httpGet"].update(path="/ready")),
    ("a value the binary refuses", "run:statistics", "(exit 2)",
     lambda d: _configmap(d).update(CHECKPOINT_INTERVAL_MS="fast")),
    ("pod order-3 while the topic has 3 partitions", "run:order", "did not serve /healthz",
     lambda d: _find(d, "StatefulSet", "order")["spec"].update(replicas=4)),
]


def self_test(docs: list[dict], checks: dict, bin_dir: str, deadline: float, report: Report) -> None:
    """Each seeded fault must be caught by its check; a fault that passes means the check has gone blind."""
    import copy
    missed = []
    for description, target, expect, mutate in MUTATIONS:
        mutated = copy.deepcopy(docs)
        mutate(mutated)
        r = Rendering("self-test", mutated)
        if target.startswith("run:"):
            c = r.container_running(target[4:])
            problems, _ = run_container(c, bin_dir, deadline)
        else:
            try:
                problems, _ = checks[target](r)
            except Exception as e:
                problems = [f"{type(e).__name__}: {e}"]
        if not any(expect in p for p in problems):
            missed.append(f"{description}: {target} did not report '{expect}' ({'; '.join(problems)[:200] or 'passed'})")
    report.check("self-test", missed, f"{len(MUTATIONS)} seeded faults, each caught by its check")


# ------------------------------------------------------------------------------------------- compose, docker
def check_compose(path: str, bin_dir: str, report: Report) -> None:
    with open(path, encoding="utf-8") as f:
        services = json.load(f)["services"]
    problems, count = [], 0
    for name, s in services.items():
        command = s.get("command")
        if not command or not str(command[0]).startswith("/usr/local/bin/"):
            continue  # Kafka itself
        count += 1
        known = binary_env(bin_dir, command)
        for var in s.get("environment", {}):
            if var not in known:
                problems.append(f"{name}: {var} is not read by {os.path.basename(command[0])}")
        listen = s.get("environment", {}).get("LISTEN")
        for p in s.get("ports", []):
            if listen and str(p.get("target")) != listen.rpartition(":")[2]:
                problems.append(f"{name}: publishes container port {p.get('target')} but LISTEN is {listen}")
    report.check("compose: env", problems, f"{count} kafka-demo services, each variable read by its binary, ports = LISTEN")


def dockerfile_stages(path: str) -> list[list[str]]:
    """apt-get install package lists per FROM stage (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", open(path, encoding="utf-8").read())
    stages: list[list[str]] = []
    for line in text.splitlines():
        if re.match(r"\s*FROM\s", line):
            stages.append([])
        m = re.search(r"apt-get install ([^&]*)", line)
        if m and stages:
            stages[-1] += [w for w in m.group(1).split() if not w.startswith("-")]
    return stages


def check_dockerfile(path: str, install_deps: str, bin_dir: str, programs: set[str], report: Report) -> None:
    stages = dockerfile_stages(path)
    problems = []
    if len(stages) < 2:
        report.check("docker: stages", ["want a build stage and a run stage"], "")
        return
    script = open(install_deps, encoding="utf-8").read()
    m = re.search(r"packages=\(([^)]*)\)", script, re.S)
    project = set(m.group(1).split()) if m else set()
    extra = [p for p in stages[0] if p not in project]
    report.check("docker: build packages", [f"{', '.join(extra)} not in scripts/install-deps.sh"] if extra else [],
                 f"{len(stages[0])} build packages, all from scripts/install-deps.sh")
    # Run stage: which Debian package provides each shared library the binaries load, on this machine.
    runtime = stages[-1]
    closure = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                              "--no-breaks", "--no-replaces", "--no-enhances", *runtime],
                             capture_output=True, text=True, timeout=60).stdout
    provided = {re.sub(r":\w+$", "", line.strip()) for line in closure.splitlines() if line and not line.startswith(" ")}
    needed: dict[str, str] = {}
    for program in sorted(programs):
        out = subprocess.run(["ldd", os.path.join(bin_dir, program)], capture_output=True, text=True, timeout=10).stdout
        for lib in re.findall(r"=>\s*(\S+)", out):
            # dpkg records a library under one of its names: /lib/… or /usr/lib/… (merged /usr), link or target.
            real = os.path.realpath(lib)
            candidates = dict.fromkeys([lib, real, re.sub(r"^/usr/lib/", "/lib/", real), re.sub(r"^/lib/", "/usr/lib/", lib)])
            owner = ""
            for candidate in candidates:
                owner = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, timeout=10).stdout
                if owner:
                    break
            pkg = owner.split(":", 1)[0].strip() if owner else f"? ({lib})"
            needed[pkg] = os.path.basename(lib)
    missing = [f"{lib} ({pkg})" for pkg, lib in sorted(needed.items()) if pkg not in provided]
    if not provided:
        missing = ["apt-cache knows none of the run stage's packages (run apt-get update)"]
    report.check("docker: run libraries", missing,
                 f"{len(needed)} shared libraries of {len(programs)} programs come with {' '.join(runtime)}")
    text = open(path, encoding="utf-8").read()
    absent = [p for p in sorted(programs) if p not in text]
    report.check("docker: programs", [f"{', '.join(absent)} not installed by the Dockerfile"] if absent else [],
                 f"{', '.join(sorted(programs))} installed to /usr/local/bin")


# ---------------------------------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--render", action="append", default=[], metavar="NAME=FILE")
    parser.add_argument("--compose")
    parser.add_argument("--dockerfile")
    parser.add_argument("--install-deps")
    parser.add_argument("--self-test", metavar="NAME", help="seed faults into the rendering NAME and expect each caught")
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--partitions", action="append", default=[], metavar="NAME=N",
                        help="the rendering NAME must have N partitions (regions)")
    parser.add_argument("--grown", metavar="FROM=TO", help="TO is FROM with more regions")
    args = parser.parse_args()
    expected = {name: int(n) for name, _, n in (spec.partition("=") for spec in args.partitions)}
    deadline = time.monotonic() + args.max_seconds
    report = Report()
    programs: set[str] = set()
    checks = [("namespace", check_namespace), ("env", lambda r: check_env(r, args.bin)), ("ports", check_ports), ("partitions", check_partitions),
              ("services", check_services), ("order-url", check_order_url), ("ingress", check_ingress),
              ("shutdown", check_shutdown), ("state", check_state), ("security", check_security), ("secrets", check_secrets), ("pdb", check_pdb),
              ("network", check_network), ("lint-notes", check_lint_notes), ("images", check_images)]
    renderings = {}
    for spec in args.render:
        name, _, path = spec.partition("=")
        r = renderings[name] = Rendering(name, load_docs(path))
        programs |= {c.program for c in r.containers}
        for check_name, fn in checks:
            if check_name == "partitions":
                fn = lambda r: check_partitions(r, expected.get(r.name))
            try:
                problems, summary = fn(r)
            except Exception as e:  # a manifest shape the check did not expect is a failure
                problems, summary = [f"{type(e).__name__}: {e}"], ""
            report.check(f"{name}: {check_name}", problems, summary)
        check_run(r, args.bin, deadline, report)
    if args.grown:
        before, _, after = args.grown.partition("=")
        problems, summary = check_grown(renderings[before], renderings[after])
        report.check(f"{before} -> {after}: growing", problems, summary)
        # Not blind: the regions in a ConfigMap with a content hash (as every other setting) would change order's
        # pod template, and with it restart every order instance.
        import copy
        hashed = copy.deepcopy(renderings[after].docs)
        for e in _container(hashed, "StatefulSet", "order")["env"]:
            if "configMapKeyRef" in e.get("valueFrom", {}) and e["name"] == "KAFKA_PARTITIONS":
                e["valueFrom"]["configMapKeyRef"]["name"] += "-5hk2m8t7cb"
        caught, _ = check_grown(renderings[before], Rendering("self-test", hashed))
        report.check("self-test: growing", [] if any("StatefulSet/order" in p for p in caught) else
                     ["a hashed regions ConfigMap was not caught restarting the order instances"],
                     "the regions in a hashed ConfigMap are caught restarting every order instance")
    if args.self_test:
        self_test(renderings[args.self_test].docs, dict(checks), args.bin, deadline, report)
    if args.compose:
        check_compose(args.compose, args.bin, report)
    if args.dockerfile and args.install_deps:
        check_dockerfile(args.dockerfile, args.install_deps, args.bin, programs, report)
    print(f"crosscheck: {report.passed} passed, {report.failed} failed", flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
