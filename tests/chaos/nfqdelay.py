#!/usr/bin/env python3
"""Holds every packet the kernel queues to it (nftables `queue num N`) for a fixed time, then lets it go.

This kernel has no `tc netem`, the usual way to add a fixed delay to a link; it has nfnetlink_queue. So the
fault tests queue the victim's outgoing packets to this process, inside the victim's network namespace, and
it gives each its verdict (accept) `--delay-ms` after it arrived: every packet waits the same time, in order,
as under `netem delay 50ms`, whatever the load (tbf's queueing delay would depend on the traffic instead).

Plain netlink, no library: bind queue N with metadata only (the payload is not needed for a verdict), keep
the packet ids in arrival order, answer each when its time has come. Runs until SIGTERM, then accepts
whatever it still holds and prints how many packets it delayed; packets queued while nobody listens pass
(`queue ... bypass`), so a dead delayer never cuts the link.

  nfqdelay.py --queue N --delay-ms MS
"""

import argparse
import collections
import errno
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NF_ACCEPT = 1


def attribute(kind, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def message(kind, queue, attributes, flags=NLM_F_REQUEST):
    # nfgenmsg: family, version 0, the queue number (big-endian) as resource id.
    body = struct.pack("=BB", socket.AF_UNSPEC, 0) + struct.pack(">H", queue) + b"".join(attributes)
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, 0, 0) + body


def messages(data):
    """(type, payload after the nfgenmsg) of each netlink message in one datagram."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, offset)
        if length < 16:
            break
        yield kind, data[offset + 16:offset + length]
        offset += (length + 3) & ~3


def attributes(payload):
    offset = 4  # past the nfgenmsg
    while offset + 4 <= len(payload):
        length, kind = struct.unpack_from("=HH", payload, offset)
        if length < 4:
            break
        yield kind & 0x3FFF, payload[offset + 4:offset + length]
        offset += (length + 3) & ~3


def configure(sock, queue, *config):
    sock.send(message(NFQNL_MSG_CONFIG, queue, config, NLM_F_REQUEST | NLM_F_ACK))
    for kind, payload in messages(sock.recv(65536)):
        if kind == NLMSG_ERROR:
            (code,) = struct.unpack_from("=i", payload, 0)  # here the payload starts with the error itself
            if code != 0:
                raise OSError(-code, f"nfqueue config of queue {queue}: {errno.errorcode.get(-code, code)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queue", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, required=True)
    args = parser.parse_args()
    delay = args.delay_ms / 1000.0

    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE (root): room for a burst
    sock.bind((0, 0))
    configure(sock, args.queue, attribute(NFQA_CFG_CMD, struct.pack(">BxH", NFQNL_CFG_CMD_BIND, socket.AF_INET)))
    configure(sock, args.queue, attribute(NFQA_CFG_PARAMS, struct.pack(">IB", 0, NFQNL_COPY_META)),
              attribute(NFQA_CFG_QUEUE_MAXLEN, struct.pack(">I", 65536)))

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    print(f"nfqdelay: queue {args.queue}, every packet held {args.delay_ms:g} ms", flush=True)

    held = collections.deque()  # (due, packet id): one delay for all, so arrival order is due order
    delayed = lost_notices = 0

    def release(until):
        nonlocal delayed
        while held and held[0][0] <= until:
            _, packet = held.popleft()
            verdict = attribute(NFQA_VERDICT_HDR, struct.pack(">II", NF_ACCEPT, packet))
            sock.send(message(NFQNL_MSG_VERDICT, args.queue, [verdict]))
            delayed += 1

    while not stopping:
        wait = max(0.0, held[0][0] - time.monotonic()) if held else 0.5
        try:
            ready, _, _ = select.select([sock], [], [], wait)
        except InterruptedError:
            continue
        if ready:
            try:
                data = sock.recv(1 << 20)
            except OSError as error:
                if error.errno != errno.ENOBUFS:
                    raise
                lost_notices += 1  # the kernel dropped packets it could not hand us: loss, counted
                data = b""
            arrived = time.monotonic()
            for kind, payload in messages(data):
                if kind != (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                    continue
                for attr_kind, value in attributes(payload):
                    if attr_kind == NFQA_PACKET_HDR:
                        held.append((arrived + delay, struct.unpack_from(">I", value, 0)[0]))
        release(time.monotonic())
    release(float("inf"))
    print(f"nfqdelay: delayed {delayed} packets; {lost_notices} overflows", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
