#!/usr/bin/python3
"""Replay a capture with dpdk-testpmd into a live receiver, the way users
benchmark flowscore: testpmd reads the pcap (net_pcap) and forwards it in io
mode over a memif link; the receiver is the memif server on the other end.

Two receivers, interleaved, --rounds rounds each (the order alternates):
  flowscore   `flowscore run` live on the memif port (features, scoring, EVE)
  rxonly      a second dpdk-testpmd in rxonly mode: the bare receive floor
              of the same link, the baseline

The receiver starts first; the sender starts once the receiver polls its
port and stops last (memif zeroes a port's counters when its peer leaves).
Each run replays the capture once, as fast as testpmd can send it. The
sender's pcap port counts what was offered; the receiver's memif port counts
what arrived (DPDK telemetry, /ethdev/stats); the difference was dropped
because the receiver fell behind (memif's ring was full). The receive time
runs from the first packet to the last, polled every 20 ms.

    /usr/bin/python3 bench/replay_testpmd.py [--build build] [--pcap FILE] [--rounds 5]
        [--flowscore-lcores 0,1] [--testpmd-lcores 0,1 --testpmd-main-lcore 1] [--huge]
        [--json FILE] [--keep DIR] [-- flowscore options]

On this project's 2-core test machine both processes share the two CPUs,
so the numbers say little about a real sensor: give each its own cores
(--flowscore-lcores 2-3 --testpmd-lcores 4-5) where there are some. The
machine is shared and noisy: read the medians and the ratio.
"""
import argparse
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)


def telemetry(prefix, command, timeout=1.0):
    """One command on a DPDK process's telemetry socket; None if it did not answer."""
    path = f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.settimeout(timeout)
            s.connect(path)
            s.recv(16384)
            s.send(command.encode())
            return json.loads(s.recv(65536))[command.split(",")[0]]  # the reply names the command without its parameters
    except (OSError, ValueError, KeyError):
        return None


def eal(lcores, prefix, huge, vdevs, main_lcore=None):
    memory = [] if huge else ["--no-huge", "-m", "512"]
    main = [f"--main-lcore={main_lcore}"] if main_lcore is not None else []
    # "0,1" or "0-3" is a CPU list (-l); "0@0,1@1,2@1" maps lcores to CPUs
    # (--lcores), for more lcores than the machine has CPUs.
    cores = ["--lcores" if "@" in lcores else "-l", lcores]
    return [*cores, *main, "--no-pci", "--log-level=error", f"--file-prefix={prefix}", *memory,
            *[f"--vdev={v}" for v in vdevs]]


class Child:
    """A DPDK process: its output kept (testpmd prints stats every second, so
    the pipe is drained), killed with the harness (PR_SET_PDEATHSIG) so a
    failed run leaves nothing polling the CPUs."""

    def __init__(self, cmd):
        def die_with_parent():
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        self.lines = []
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, preexec_fn=die_with_parent)
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()

    def alive(self):
        return self.proc.poll() is None

    def said(self, text):
        return any(text in line for line in self.lines)

    def stop(self):
        """SIGINT, then its exit status (SIGKILL after 60 s: returns None)."""
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        self.reader.join(timeout=10)
        return self.proc.returncode

    def tail(self):
        return "".join(self.lines[-30:])


def wait_until(what, predicate, timeout, *children):
    deadline = time.time() + timeout
    while not predicate():
        for c in children:
            if not c.alive():
                raise RuntimeError(f"{what}: a process exited ({c.proc.returncode}):\n{c.tail()}")
        if time.time() > deadline:
            raise RuntimeError(f"{what}: timed out")
        time.sleep(0.05)


def counters(prefix, port, tries=5):
    """A port's ipackets; a busy machine may leave one telemetry call unanswered."""
    for _ in range(tries):
        stats = telemetry(prefix, f"/ethdev/stats,{port}")
        if stats:
            return stats["ipackets"]
    return None


def run_once(args, receiver, tag, out_dir):
    """One replay into `receiver` ("flowscore" or "rxonly"); returns its numbers."""
    token = f"{os.getpid()}-{secrets.token_hex(3)}-{tag}"
    sock = f"flowscore-replay-{token}"  # abstract socket (memif's default)
    rx_prefix, tx_prefix = f"replay-rx-{token}", f"replay-tx-{token}"
    server = f"net_memif0,role=server,socket={sock}"
    eve = os.path.join(out_dir, f"{tag}.eve.json")
    if receiver == "flowscore":
        cmd = [os.path.join(args.build, "src/cli/flowscore"), "run",
               *eal(args.flowscore_lcores, rx_prefix, args.huge, [server]), "--",
               "--config", os.path.join(SRC, "conf/flowscore.json"), "--out", eve,
               "--set", "output.file_mode=replace", *args.flowscore_args]
        # Polling: its workers have answered the stats mailbox once.
        ready = lambda: "age_ms" in (telemetry(rx_prefix, "/flowscore/stats") or {})
    else:
        cmd = ["dpdk-testpmd", *eal(args.flowscore_lcores, rx_prefix, args.huge, [server]), "--",
               "--forward-mode=rxonly", "--auto-start", "--stats-period", "1", "--total-num-mbufs=16384",
               "--no-lsc-interrupt", "--disable-link-check"]
        ready = lambda: rx.said("packet forwarding - ports")
    rx = Child(cmd)
    tx = None
    result = {"receiver": receiver}
    try:
        wait_until(f"{receiver} start", ready, 60, rx)
        # The sender: its pcap port 0 forwards to memif port 1. --no-flush-rx:
        # testpmd would otherwise drain the capture into the void at start.
        tx = Child(["dpdk-testpmd", *eal(args.testpmd_lcores, tx_prefix, args.huge,
                                         [f"net_pcap0,rx_pcap={args.pcap}",
                                          f"net_memif1,role=client,socket={sock},rsize=14"],
                                         args.testpmd_main_lcore), "--",
                    "--forward-mode=io", "--auto-start", "--stats-period", "1", "--no-flush-rx",
                    "--total-num-mbufs=16384", "--no-lsc-interrupt"])
        wait_until("memif link up", lambda: (telemetry(tx_prefix, "/ethdev/link_status,1") or {}).get("status") == "UP",
                   30, rx, tx)
        # Receive time: first packet to last. The run is over when neither
        # side has moved for a second.
        first = last = None
        received = offered = 0
        quiet_since = time.time()
        deadline = time.time() + args.timeout
        while True:
            now = time.time()
            if now > deadline:
                raise RuntimeError(f"{receiver}: the replay did not finish in {args.timeout} s")
            if not rx.alive() or not tx.alive():
                raise RuntimeError(f"{receiver}: a process exited:\n{rx.tail()}\n{tx.tail()}")
            r, o = counters(rx_prefix, 0), counters(tx_prefix, 0)
            if r is None or o is None:
                time.sleep(0.02)
                continue
            if r > received or o > offered:
                if r > received:
                    first = first or now
                    last = now
                received, offered = r, o
                quiet_since = now
            elif now - quiet_since > 1.0 and (received or now - quiet_since > 5.0):
                break  # done, or nothing arrives at all
            time.sleep(0.02)
    finally:
        # The receiver first: memif zeroes its counters when the peer leaves,
        # and flowscore's last stats event should see them.
        result["returncode"] = rx.stop()
        if tx:
            tx.stop()
        for prefix in (rx_prefix, tx_prefix):
            shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
    seconds = (last - first) if first else 0.0
    result.update({"offered": offered, "received": received, "dropped": offered - received, "seconds": seconds,
                   "mpps": received / seconds / 1e6 if seconds else 0.0})
    if seconds < 1.0:
        print(f"warning: {receiver} received for {seconds:.3f} s, too short to time against 20 ms polls: "
              "give a larger capture", file=sys.stderr)
    if receiver == "flowscore":
        result["eve"] = eve
        result["log"] = rx.tail()
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--pcap", help="default: /dev/shm/flowscore-bench-5m.pcap (as bench/offline_throughput.sh), "
                                   "generated when missing")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--receivers", default="rxonly,flowscore", help="comma-separated, run in this order each round")
    ap.add_argument("--flowscore-lcores", default="0,1",
                    help="the receiver's lcores (main + workers): a CPU list, or an --lcores map such as 0@0,1@1,2@1")
    ap.add_argument("--testpmd-lcores", default="0,1", help="the sender's lcores (main + forwarding)")
    # On two CPUs the sender forwards on CPU 0, beside the receiver's main
    # lcore, and leaves CPU 1 to the receiver's worker (or rxonly core).
    ap.add_argument("--testpmd-main-lcore", default="1", help="the sender's main lcore (idle: it prints stats)")
    ap.add_argument("--huge", action="store_true", help="use hugepages (else --no-huge)")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--json", help="write every run's numbers here")
    ap.add_argument("--keep", help="keep flowscore's EVE output in this directory")
    ap.add_argument("flowscore_args", nargs="*", help="after --: extra flowscore options (e.g. --model none)")
    args = ap.parse_args()

    if not args.pcap:
        args.pcap = "/dev/shm/flowscore-bench-5m.pcap"
        if not os.path.exists(args.pcap):
            print(f"generating {args.pcap} (5M packets, seed 1)", file=sys.stderr)
            subprocess.run([os.path.join(args.build, "src/gen/flowscore-gen"), "--profile", "bench", "--packets",
                            "5000000", "--seed", "1", "--out", args.pcap, "--quiet"], check=True)
    if "," in args.pcap:
        sys.exit("a --pcap path cannot contain ',' (it goes into a --vdev argument)")
    out_dir = args.keep or tempfile.mkdtemp(prefix="flowscore-replay-")
    os.makedirs(out_dir, exist_ok=True)
    runs = []
    receivers = args.receivers.split(",")
    for r in range(args.rounds):
        for receiver in receivers if r % 2 == 0 else receivers[::-1]:  # neither always goes first
            runs.append(run_once(args, receiver, f"{receiver}-{r}", out_dir))
            run = runs[-1]
            print(f"round {r + 1} {receiver}: {run['received']} of {run['offered']} packets "
                  f"in {run['seconds']:.3f} s; exit status {run['returncode']}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f, indent=1)

    print(f"capture: {args.pcap}; {args.rounds} interleaved rounds; medians")
    print("| receiver | offered | received | dropped | receive s | Mpkt/s | vs rxonly |")
    print("|---|---|---|---|---|---|---|")
    by = {n: [x for x in runs if x["receiver"] == n] for n in args.receivers.split(",")}
    med = {n: {k: statistics.median(x[k] for x in v) for k in ("offered", "received", "dropped", "seconds", "mpps")}
           for n, v in by.items() if v}
    for n, m in med.items():
        vs = f"{m['mpps'] / med['rxonly']['mpps']:.2f}×" if "rxonly" in med and med["rxonly"]["mpps"] else "-"
        print(f"| {n} | {m['offered']:.0f} | {m['received']:.0f} | {m['dropped']:.0f} | {m['seconds']:.3f} "
              f"| {m['mpps']:.3f} | {vs} |")
    if "rxonly" in by and "flowscore" in by:
        ratios = [f["mpps"] / b["mpps"] for f, b in zip(by["flowscore"], by["rxonly"]) if b["mpps"]]
        if ratios:
            print(f"flowscore / rxonly receive rate, per round: {' '.join(f'{x:.2f}' for x in ratios)}; "
                  f"median {statistics.median(ratios):.2f}×")


if __name__ == "__main__":
    main()
