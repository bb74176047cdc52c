#!/usr/bin/env python3
"""Tiny MPTCP traffic generator used by testdata/capture.sh.

Python 3.11, stdlib only.

Both directions carry data at the same time: each side runs a sender thread
(paced chunks) while its main thread reads everything the peer sends until EOF.
When a side has sent everything it calls shutdown(SHUT_WR) (-> DATA_FIN), then
keeps reading until the peer's EOF, then closes.

Payload generator (deterministic, documented for the Rust tests):
    stream(seed) = sha256(seed_utf8 || be64(0)) || sha256(seed_utf8 || be64(1)) || ...
i.e. SHA-256 in counter mode, 32 bytes per block, counter is an 8-byte
big-endian integer starting at 0; the first N bytes are sent.

Each run writes a JSON result file (--out) with, per connection, what this
side sent (bytes + sha256 of the generated stream) and what it received
(bytes + sha256 of the bytes actually read), plus MPTCP_INFO snapshots.
"""
import argparse
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

IPPROTO_MPTCP = 262
SOL_MPTCP = 284
MPTCP_INFO = 1

# struct mptcp_info (include/uapi/linux/mptcp.h), native alignment, prefix only
_MPTCP_INFO_FMT = "@BBBBBBIIQQQBBBIQQQQB"
_MPTCP_INFO_NAMES = [
    "subflows", "add_addr_signal", "add_addr_accepted", "subflows_max",
    "add_addr_signal_max", "add_addr_accepted_max", "flags", "token",
    "write_seq", "snd_una", "rcv_nxt", "local_addr_used", "local_addr_max",
    "csum_enabled", "retransmits", "bytes_retrans", "bytes_sent",
    "bytes_received", "bytes_acked", "subflows_total",
]


def gen_stream(seed: str, n: int) -> bytes:
    out = bytearray()
    s = seed.encode()
    ctr = 0
    while len(out) < n:
        out += hashlib.sha256(s + struct.pack(">Q", ctr)).digest()
        ctr += 1
    return bytes(out[:n])


def mptcp_info(sock):
    try:
        raw = sock.getsockopt(SOL_MPTCP, MPTCP_INFO, 256)
    except OSError as e:
        return {"error": str(e)}
    size = struct.calcsize(_MPTCP_INFO_FMT)
    if len(raw) < size:
        return {"raw_len": len(raw)}
    vals = struct.unpack(_MPTCP_INFO_FMT, raw[:size])
    d = dict(zip(_MPTCP_INFO_NAMES, vals))
    d["token"] = "%08x" % d["token"]
    return d


def log(*a):
    print("[%s %.3f]" % (ROLE, time.monotonic() - T0), *a, file=sys.stderr, flush=True)


ROLE = "app"
T0 = time.monotonic()
LIVE = []      # per-connection state of running run_conn() calls (--dump-on-term)
RESULTS = []   # finished connections


def run_conn(sock, args, seed, label, pre_sent=0):
    """Send args.send bytes (seeded) while receiving until EOF.

    pre_sent: bytes of the stream already written (client --fastopen: sendto
    with MSG_FASTOPEN); the sender continues after them."""
    data = gen_stream(seed, args.send)
    res = {
        "label": label,
        "local": "%s:%d" % sock.getsockname()[:2],
        "peer": "%s:%d" % sock.getpeername()[:2],
        "proto": sock.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL),
        "seed": seed,
        "sent_planned": args.send,
        "sent_sha256_planned": hashlib.sha256(data).hexdigest(),
    }
    sent = [pre_sent]
    if pre_sent:
        res["fastopen_sent"] = pre_sent
    send_err = [None]
    got_first = threading.Event()
    rx = hashlib.sha256()
    received = 0
    live = {"res": res, "rx": rx, "received": 0, "sent": sent, "data": data}
    LIVE.append(live)
    res["info_start"] = mptcp_info(sock)

    def sender():
        try:
            if args.wait_rx_before_send:
                got_first.wait()
                res["send_started_after_rx"] = True
            off = pre_sent
            while off < len(data):
                chunk = data[off:off + args.chunk]
                sock.sendall(chunk)
                off += len(chunk)
                sent[0] = off
                if args.pause_after and off >= args.pause_after and not res.get("paused_at"):
                    res["paused_at"] = off
                    res["pause_start_epoch"] = round(time.time(), 6)
                    res["pause_start_t"] = round(time.monotonic() - T0, 3)
                    log(label, "pausing at", off, "for", args.pause)
                    time.sleep(args.pause)
                    res["pause_end_epoch"] = round(time.time(), 6)
                    res["pause_end_t"] = round(time.monotonic() - T0, 3)
                    log(label, "resuming")
                if args.interval:
                    time.sleep(args.interval)
            if not args.abort_after_rx:
                sock.shutdown(socket.SHUT_WR)
            log(label, "sender done", off)
        except OSError as e:
            send_err[0] = str(e)
            log(label, "sender error", e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    aborted = False
    mid_info = None
    try:
        while True:
            want = args.read_size or 65536
            if args.abort_after_rx:
                want = min(want, args.abort_after_rx - received)
                if want <= 0:
                    aborted = True
                    break
            buf = sock.recv(want)
            if not buf:
                break
            rx.update(buf)
            received += len(buf)
            live["received"] = received
            got_first.set()
            if args.read_pause:
                time.sleep(args.read_pause)
            if mid_info is None and received >= 32768:
                mid_info = mptcp_info(sock)
    except OSError as e:
        res["recv_error"] = str(e)
        log(label, "recv error", e)
    got_first.set()  # never leave the sender waiting
    res["info_mid"] = mid_info
    if aborted:
        # leave unread data in the receive queue and close abortively
        log(label, "aborting after rx", received)
        time.sleep(args.abort_wait)
        res["info_end"] = mptcp_info(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    else:
        t.join()
        res["info_end"] = mptcp_info(sock)
        if args.linger0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    t.join(timeout=5)
    res.update({
        "sent_bytes": sent[0],
        "sent_sha256": hashlib.sha256(data[:sent[0]]).hexdigest(),
        "send_error": send_err[0],
        "recv_bytes": received,
        "recv_sha256": rx.hexdigest(),
        "aborted": aborted,
        "t_end": round(time.monotonic() - T0, 3),
    })
    log(label, "done sent=%d recv=%d" % (sent[0], received))
    LIVE.remove(live)
    return res


def dump_on_term(path):
    """SIGTERM: write what every connection sent and read so far, then exit 143."""
    def handler(signum, frame):
        out = list(RESULTS)
        for st in list(LIVE):
            r = dict(st["res"])
            n = st["sent"][0]
            r.update({"sent_bytes": n, "sent_sha256": hashlib.sha256(st["data"][:n]).hexdigest(),
                      "recv_bytes": st["received"], "recv_sha256": st["rx"].copy().hexdigest(),
                      "terminated": "SIGTERM before the peer's EOF (partial read)",
                      "t_end": round(time.monotonic() - T0, 3)})
            out.append(r)
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
        log("SIGTERM: wrote partial results of %d connection(s)" % len(out))
        os._exit(143)
    signal.signal(signal.SIGTERM, handler)


def main():
    global ROLE
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["server", "client"])
    p.add_argument("--addr", required=True, help="bind (server) / connect (client) address")
    p.add_argument("--port", type=int, default=5201)
    p.add_argument("--family", choices=["4", "6"], default="4")
    p.add_argument("--tcp", action="store_true", help="plain TCP socket (protocol 0)")
    p.add_argument("--send", type=int, default=0, help="bytes to send")
    p.add_argument("--seed", default="seed")
    p.add_argument("--chunk", type=int, default=8192)
    p.add_argument("--interval", type=float, default=0.02, help="sleep between chunks")
    p.add_argument("--conns", type=int, default=1,
                   help="server: connections to accept; client: parallel connections")
    p.add_argument("--abort-after-rx", type=int, default=0,
                   help="stop reading after N bytes and close with SO_LINGER{1,0}")
    p.add_argument("--abort-wait", type=float, default=0.3)
    p.add_argument("--linger0", action="store_true")
    p.add_argument("--wait-rx-before-send", action="store_true",
                   help="start sending only after the first bytes from the peer arrived")
    p.add_argument("--read-size", type=int, default=0, help="max bytes per recv() (0: 65536)")
    p.add_argument("--read-pause", type=float, default=0.0, help="sleep after each recv()")
    p.add_argument("--rcvbuf", type=int, default=0, help="SO_RCVBUF (server: on the listener)")
    p.add_argument("--pause-after", type=int, default=0,
                   help="sender: once N bytes are written, sleep --pause seconds (once)")
    p.add_argument("--pause", type=float, default=0.0)
    p.add_argument("--bind", help="client: bind to ADDR:PORT before connect (sets SO_REUSEADDR)")
    p.add_argument("--fastopen", type=int, default=0,
                   help="server: setsockopt TCP_FASTOPEN (queue length N) on the listener; "
                        "client: connect with sendto(first N bytes, MSG_FASTOPEN)")
    p.add_argument("--dump-on-term", action="store_true",
                   help="on SIGTERM write the results so far (partial reads marked 'terminated')")
    p.add_argument("--out", required=True)
    p.add_argument("--ready", help="server: file touched once listening")
    args = p.parse_args()
    ROLE = args.mode
    fam = socket.AF_INET if args.family == "4" else socket.AF_INET6
    proto = 0 if args.tcp else IPPROTO_MPTCP
    results = RESULTS
    if args.dump_on_term:
        dump_on_term(args.out)
    if args.mode == "server":
        ls = socket.socket(fam, socket.SOCK_STREAM, proto)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if args.rcvbuf:
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
        if args.fastopen:
            ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, args.fastopen)
        ls.bind((args.addr, args.port))
        ls.listen(64)
        log("listening", args.addr, args.port, "proto", proto)
        if args.ready:
            open(args.ready, "w").close()
        threads = []
        lock = threading.Lock()
        for i in range(args.conns):
            c, peer = ls.accept()
            log("accepted", peer)
            seed = args.seed if args.conns == 1 else "%s-%d" % (args.seed, i)

            def work(c=c, seed=seed, i=i):
                r = run_conn(c, args, seed, "conn%d" % i)
                with lock:
                    results.append(r)

            th = threading.Thread(target=work)
            th.start()
            threads.append(th)
        for th in threads:
            th.join()
        ls.close()
    else:
        def one(seed, label):
            s = socket.socket(fam, socket.SOCK_STREAM, proto)
            if args.rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
            if args.bind:
                a, pt = args.bind.rsplit(":", 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((a.strip("[]"), int(pt)))
            pre = 0
            if args.fastopen:
                first = gen_stream(seed, min(args.fastopen, args.send))
                pre = s.sendto(first, socket.MSG_FASTOPEN, (args.addr, args.port))
                log("sendto MSG_FASTOPEN wrote", pre, "of", len(first))
            else:
                s.connect((args.addr, args.port))
            log("connected", s.getsockname(), "->", s.getpeername())
            return run_conn(s, args, seed, label, pre_sent=pre)

        if args.conns == 1:
            results.append(one(args.seed, "client"))
        else:
            # N parallel connections, seeds "<seed>-<i>"
            lock = threading.Lock()
            threads = []
            for i in range(args.conns):
                def work(i=i):
                    r = one("%s-%d" % (args.seed, i), "client%d" % i)
                    with lock:
                        results.append(r)
                th = threading.Thread(target=work)
                th.start()
                threads.append(th)
            for th in threads:
                th.join()
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
