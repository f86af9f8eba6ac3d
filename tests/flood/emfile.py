#!/usr/bin/env python3
"""The accept loop out of file descriptors must pause, not spin.

Starts the gateway with a low open-files limit (soft and hard, so it cannot raise it) and no Kafka, then
opens more idle connections than it has descriptors for and holds them: its accepts fail with EMFILE while
the rest wait in the listen backlog. Measured over the hold: the gateway's CPU time (from /proc) and its log
lines about failed accepts. A loop that retries at once burns a core and writes a line per try; ours pauses
(10 ms, doubling to 1 s, or until a connection closes) and writes one line per cause.

  emfile.py --bin BUILD/bin --port PORT [--files 64] [--connections 300] [--seconds 4]

Prints `emfile: cpu_s=… wall_s=… accept_log_lines=… …` and exits 1 if the loop spun (CPU over a third of
the wall time) or logged other than one line about it, or if the gateway did not serve again once the flood was gone.
"""

import argparse
import os
import pathlib
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def healthy(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def wait_for(probe, seconds):
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        if probe():
            return True
        time.sleep(0.1)
    return probe()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="directory of the built binaries")
    parser.add_argument("--port", type=int, required=True, help="a free port for the gateway")
    parser.add_argument("--files", type=int, default=64, help="the gateway's open-files limit")
    parser.add_argument("--connections", type=int, default=300, help="idle connections to open")
    parser.add_argument("--seconds", type=float, default=4.0, help="how long to hold them")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.connections + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.connections + 64), hard))

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.files, args.files))

    log_path = pathlib.Path(tempfile.mkdtemp(prefix="kd-emfile-")) / "gateway.log"
    env = dict(os.environ, LISTEN=f"127.0.0.1:{args.port}", KAFKA_BROKERS="127.0.0.1:1", POD_NAME="gateway-0")
    with open(log_path, "w") as log:
        gateway = subprocess.Popen([str(pathlib.Path(args.bin) / "gateway")], env=env, stdout=log,
                                   stderr=subprocess.STDOUT, preexec_fn=low_limit)
    problems = []
    crowd = []
    try:
        if not wait_for(lambda: healthy(args.port), 20):
            sys.exit(f"emfile: the gateway did not serve within 20 s; its log: {log_path.read_text()[-2000:]}")
        files_at_rest = len(os.listdir(f"/proc/{gateway.pid}/fd"))
        cpu_before, wall_before = cpu_seconds(gateway.pid), time.monotonic()
        for _ in range(args.connections):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", args.port))
            crowd.append(sock)
        time.sleep(args.seconds)
        cpu_used, wall = cpu_seconds(gateway.pid) - cpu_before, time.monotonic() - wall_before
        files_held = len(os.listdir(f"/proc/{gateway.pid}/fd"))
        for sock in crowd:
            sock.close()
        crowd = []
        served_again = wait_for(lambda: healthy(args.port), 20)
    finally:
        for sock in crowd:
            sock.close()
        gateway.terminate()
        gateway.wait(timeout=30)
    # Ours, and the line the code before this change wrote for each try.
    lines = [line for line in log_path.read_text().splitlines()
             if "cannot accept connections" in line or '"message":"accept failed"' in line]
    print(f"emfile: files_limit={args.files} files_at_rest={files_at_rest} files_held={files_held} "
          f"connections={args.connections} cpu_s={cpu_used:.2f} wall_s={wall:.1f} "
          f"accept_log_lines={len(lines)} served_again={served_again}", flush=True)
    for line in lines[:3]:
        print(f"  {line}")
    if cpu_used > wall / 3:
        problems.append(f"the gateway used {cpu_used:.2f} s of CPU in {wall:.1f} s: its accept loop spins")
    if len(lines) != 1:
        problems.append(f"{len(lines)} log lines about failed accepts, expected one (one cause)")
    if not served_again:
        problems.append("the gateway did not serve again once the connections were closed")
    if problems:
        sys.exit("emfile: FAIL: " + "; ".join(problems) + f" (log: {log_path})")
    print("emfile: PASS")


if __name__ == "__main__":
    main()
