"""A collector that goes away, or is slow, during a LIVE run (issue 15 §3),
with a TCP listener of the test's own on 127.0.0.1 and a file output of the
same run (a second --out) as the reference:

- the collector stops for a while and comes back: with a disk spool big
  enough, it gets every record the file got, each once, in order, also
  when flowscore is restarted during the outage; with a spool too small,
  what it misses is exactly what the summary counts dropped;
- a collector that reads about 1,000 lines a second: flowscore's memory
  does not grow with the backlog, the workers and the writer keep up (no
  record dropped between them, packets still counted), and what the
  collector got plus what was counted dropped or left in the spool is
  every record of the file.

The traffic: a capture of FLOWS UDP flows, one packet each, replayed
without end by net_pcap (infinite_rx=1); every flow stays active, so with
flow.active_timeout 1 s each one gives a record about every second: a
steady stream whose pace is set by the flow count, not by the CPU.

usage: /usr/bin/python3 test_outage.py SOURCE_DIR BUILD_DIR
"""
import glob
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SRC, BUILD = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
from script_tests import free_port, run_tests, telemetry  # noqa: E402
FLOWSCORE = os.path.join(BUILD, "src/cli/flowscore")
TMP = tempfile.mkdtemp(prefix="flowscore-outage-")
THREE_LCORES = "0@0,1@1,2@1"  # the main lcore and two workers on this 2-CPU machine
# The outage is 30 s. 2.5 s keeps the same logic (the collector
# refuses several reconnects: flowscore's backoff tries after 0.1, 0.3, 0.7
# and 1.5 s; it is back for the one at 3.1 s; the spool takes the stream
# meanwhile, ~2,500 records), in a tenth of the CI time.
# FLOWSCORE_OUTAGE_S=30 runs the full outage.
OUTAGE_S = float(os.environ.get("FLOWSCORE_OUTAGE_S", "2.5"))


def udp_capture(flows):
    """FLOWS UDP packets, each of its own flow (10.1.x.y:port -> 10.2.0.1:53)."""
    path = os.path.join(TMP, f"udp-{flows}.pcap")
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(flows):
            payload = b"q" * 32
            udp = struct.pack("!HHHH", 10000 + i % 50000, 53, 8 + len(payload), 0) + payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17, 0,
                             bytes([10, 1, (i >> 8) & 0xff, i & 0xff]), bytes([10, 2, 0, 1]))
            frame = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + udp
            f.write(struct.pack("<IIII", 1700000000, i, len(frame), len(frame)) + frame)
    return path


class Collector:
    """A TCP collector on 127.0.0.1:port: keeps the lines it receives, in
    order, over however many connections; `lines_per_second` paces its
    reading. stop() is an orderly shutdown: no new connections, the open
    one read to its end (until it is quiet at a line boundary), then closed."""

    def __init__(self, port, lines_per_second=None):
        self.port, self.rate = port, lines_per_second
        self.data = bytearray()
        self.lock = threading.Lock()
        self.stopping = False
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", port))
        self.server.listen(4)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conns = []
        while True:
            listening = [self.server] if self.server.fileno() >= 0 else []
            ready, _, _ = select.select(listening + conns, [], [], 0.3)
            if not ready and self.stopping and (not self.data or self.data.endswith(b"\n")):
                break  # quiet for 0.3 s at a line boundary
            for s in ready:
                if s is self.server:
                    conns.append(self.server.accept()[0])
                    continue
                chunk = s.recv(4096 if self.rate else 1 << 16)
                if not chunk:
                    conns.remove(s)
                    s.close()
                    continue
                with self.lock:
                    self.data += chunk
                if self.rate:
                    time.sleep(chunk.count(b"\n") / self.rate)
            if self.stopping and self.server.fileno() >= 0:
                self.server.close()
        for s in conns:
            s.close()
        if self.server.fileno() >= 0:
            self.server.close()

    def line_count(self):
        with self.lock:
            return self.data.count(b"\n")

    def last_line(self):
        with self.lock:
            end = self.data.rfind(b"\n")
            return self.data[self.data.rfind(b"\n", 0, end) + 1:end].decode() if end >= 0 else None

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the collector did not stop"
        text = self.data.decode()
        return text[:text.rfind("\n") + 1].splitlines()


class LiveRun:
    """flowscore live on an endless replay of `flows` UDP flows, writing to
    the collector at `port` and to a file."""

    def __init__(self, name, port, flows, *args):
        self.file = os.path.join(TMP, f"{name}.json")
        if os.path.exists(self.file):
            os.remove(self.file)
        self.prefix = f"flowscore-outage-{name}-{os.getpid()}"
        self.proc = subprocess.Popen(
            [FLOWSCORE, "run", "--lcores", THREE_LCORES, "--no-pci", "--no-huge", "-m", "512", "--log-level=error",
             f"--file-prefix={self.prefix}", f"--vdev=net_pcap0,rx_pcap={udp_capture(flows)},infinite_rx=1", "--",
             "--out", f"tcp://127.0.0.1:{port}", "--out", self.file, "--model", "none", "--active-timeout", "1",
             "--idle-timeout", "60", "--set", "output.stats_interval=1", *args],
            stderr=subprocess.PIPE, text=True)
        self.err = []
        self.reader = threading.Thread(target=lambda: self.err.extend(self.proc.stderr), daemon=True)
        self.reader.start()

    def wait_for(self, what, ready, timeout=60):
        deadline = time.time() + timeout
        while not ready():
            assert time.time() < deadline and self.proc.poll() is None, f"waiting for {what}:\n" + "".join(self.err)
            time.sleep(0.1)

    def file_bytes(self):
        return os.path.getsize(self.file) if os.path.exists(self.file) else 0

    def file_lines(self):
        if not os.path.exists(self.file):
            return []
        with open(self.file) as f:
            text = f.read()
        return text[:text.rfind("\n") + 1].splitlines()

    def stats(self):
        try:
            return telemetry(self.prefix, "/flowscore/stats") or {}
        except (OSError, ValueError):
            return {}

    def memory_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            fields = dict(l.split(":", 1) for l in f)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])

    def stop(self, expect=0):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=120)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        self.reader.join(timeout=10)
        err = "".join(self.err)
        assert self.proc.returncode == expect, f"exit {self.proc.returncode} (wanted {expect}):\n{err}"
        return err


def spool_numbers(err):
    m = re.search(r"spool \S+: (\d+) records from an earlier run, (\d+) spooled, (\d+) handed on, (\d+) dropped "
                  r"\(output.spool_bytes, \w+\), (\d+) left for the next start", err)
    assert m, err
    return [int(x) for x in m.groups()]


def last_stats(lines):
    return json.loads(next(l for l in reversed(lines) if '"event_type":"stats"' in l))["stats"]


def tcp_lost_records(stats, port):
    (out,) = [o for o in stats["flowscore"]["outputs"] if o["name"].endswith(f"127.0.0.1:{port}")]
    return out["lost_records"]


def is_subsequence(got, want):
    it = iter(want)
    return all(any(line == w for w in it) for line in got)


def outage(name, spool_bytes=None, expect=0):
    """A live run whose collector is up, stops for OUTAGE_S, and comes back;
    returns (the collector's lines, the file's lines, stderr)."""
    port = free_port()
    spool = os.path.join(TMP, f"spool-{name}")
    extra = ["--set", f"output.spool_dir={spool}", "--set", "output.drain_timeout=30"]
    if spool_bytes:
        extra += ["--set", f"output.spool_bytes={spool_bytes}"]
    first = Collector(port)
    started = time.time()
    run = LiveRun(name, port, 1000, *extra)
    try:
        run.wait_for("records at the collector", lambda: first.line_count() >= 500)  # the first active timeouts
        before = first.stop()  # the outage
        down = time.time()
        lines_at_outage = len(run.file_lines())
        time.sleep(OUTAGE_S)
        written = len(run.file_lines())
        assert written >= lines_at_outage + 1500, (lines_at_outage, written)  # the stream went on meanwhile
        second = Collector(port)
        # Back: the records of the outage arrive (those the bound kept), then
        # new ones, until the collector has one the file got 500 lines later.
        run.wait_for("the collector to catch up", lambda: second.last_line() in run.file_lines()[written + 500:])
        print(f"  {name}: collector down at {down - started:.1f} s, caught up {time.time() - down:.1f} s later")
        err = run.stop(expect)
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    after = second.stop()
    return before, after, run.file_lines(), err


def test_an_outage_with_a_spool_big_enough_loses_nothing():
    before, after, want, err = outage("big")
    recovered, spooled, handed_on, dropped, left = spool_numbers(err)
    assert dropped == 0 and left == 0 and spooled > 1000 and handed_on == spooled, err
    assert not re.search(r"\d+ records.*lost|: lost$", err, re.M), err
    got = before + after
    missing = [i for i, l in enumerate(want) if l not in set(got)]
    assert got == want, (len(before), len(after), len(want), missing[:5], len(missing))  # every record, each once, in order


def test_an_outage_with_a_spool_too_small_loses_exactly_what_it_counts():
    # 64 KiB (the least output.spool_bytes takes) holds about 110 of the
    # ~3,000 records of the outage: drop_oldest keeps the newest.
    before, after, want, err = outage("small", spool_bytes=65536, expect=1)
    recovered, spooled, handed_on, dropped, left = spool_numbers(err)
    got = before + after
    assert dropped > 1000 and left == 0, err
    missing = [i for i, l in enumerate(want) if l not in set(got)]
    assert len(want) - len(got) == dropped, (len(want), len(got), dropped, len(before), missing[:3], missing[-40:])
    assert is_subsequence(got, want) and len(set(got)) == len(got), "records out of order or twice"
    assert got[:len(before)] == want[:len(before)]


def test_an_outage_across_a_restart_loses_nothing():
    # The collector stops during a live run, which ends before it is back:
    # what it had not taken stays in the spool (the TCP queue's lines put
    # back before the spooled ones); the next live run, the collector back,
    # hands that on first, then its own records. (test_spool.py has the
    # offline case of a collector down for a whole run.)
    port, spool = free_port(), os.path.join(TMP, "spool-restart")
    extra = ["--set", f"output.spool_dir={spool}", "--set", "output.drain_timeout=1"]
    first = Collector(port)
    run = LiveRun("restart-1", port, 1000, *extra)
    try:
        run.wait_for("records at the collector", lambda: first.line_count() >= 500)
        before = first.stop()
        written = len(run.file_lines())
        run.wait_for("records while the collector is down", lambda: len(run.file_lines()) >= written + 1000)
        err = run.stop()
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    want1 = run.file_lines()
    recovered, spooled, handed_on, dropped, left = spool_numbers(err)
    assert dropped == 0 and len(before) + left == len(want1), (err, len(before), len(want1))
    second = Collector(port)
    run = LiveRun("restart-2", port, 1000, *extra)
    try:
        run.wait_for("the spool handed on, and new records", lambda: second.line_count() >= left + 500)
        err = run.stop()
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    after = second.stop()
    want2 = run.file_lines()
    recovered, spooled, handed_on, dropped, left_now = spool_numbers(err)
    assert recovered == left and dropped == 0 and left_now == 0, err
    assert before + after == want1 + want2, (len(before), len(after), len(want1), len(want2))


def test_a_slow_collector_leaves_memory_bounded_and_counts_every_drop():
    # 3,000 flows with their features: about 3,000 records (~6 MB) a second
    # against a collector that reads 1,000 lines a second, behind a 64 KiB
    # spool (drop_oldest). The backlog grows by tens of MB; flowscore's
    # memory may grow only by what its configured buffers hold.
    port = free_port()
    spool = os.path.join(TMP, "spool-slow")
    collector = Collector(port, lines_per_second=1000)
    run = LiveRun("slow", port, 3000, "--set", f"output.spool_dir={spool}", "--set", "output.spool_bytes=65536",
                  "--set", "output.include_features=true", "--set", "output.drain_timeout=1",
                  # A worker->writer queue above a worker's burst (the flows'
                  # active timeouts fall together: ~1,500 records a worker),
                  # small enough that its slots are all touched before the baseline.
                  "--set", "output.queue_records=2048")
    try:
        run.wait_for("a backlog", lambda: len(run.file_lines()) >= 2 * 2048 * 2)  # each slot used twice over
        base_rss, _ = run.memory_kib()
        base_backlog = run.file_bytes() - len(collector.data)
        base_packets = run.stats().get("packets", 0)
        # What may grow from here: the TCP queue (TcpSink buffer_bytes,
        # 4 MiB), the writer's text (1 MiB), the spool's hand-on chunk
        # (256 KiB, twice: peek and copy), and 8 MiB for the allocator and
        # the stats/telemetry strings. The spool itself is on disk.
        allowance_kib = 4096 + 1024 + 512 + 8192
        run.wait_for("the backlog to outgrow the allowance twice over",
                     lambda: run.file_bytes() - len(collector.data) - base_backlog > 2 * allowance_kib * 1024)
        rss, hwm = run.memory_kib()
        packets = run.stats().get("packets", 0)
        err = run.stop(expect=1)  # the spool's bound dropped records
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    collector.rate = None  # the run is over: what is still in the sockets is read at once
    got = collector.stop()
    want = run.file_lines()
    print(f"  VmRSS {base_rss} -> {rss} KiB, VmHWM {hwm} KiB; {len(want)} records, {len(got)} at the collector")
    assert hwm - base_rss <= allowance_kib, (base_rss, rss, hwm, allowance_kib)
    # The workers kept polling and the writer kept up with them: packets
    # went on being parsed, and no record was dropped between them.
    assert packets > base_packets > 0, (base_packets, packets)
    stats = last_stats(want)
    assert stats["flowscore"]["records_dropped"] == 0, stats["flowscore"]
    # Every record of the file: at the collector, dropped by the spool's
    # bound (counted), or left in the spool for the next start; each once.
    recovered, spooled, handed_on, dropped, left = spool_numbers(err)
    kept = []
    for seg in sorted(glob.glob(os.path.join(spool, "*", "*.seg"))):
        with open(seg) as f:
            kept += f.read().splitlines()
    assert dropped > 0 and len(kept) == left, (err, len(kept))
    assert len(got) + dropped + left == len(want), (len(got), dropped, left, len(want))
    assert is_subsequence(got, want) and is_subsequence(kept, want), "records out of order"
    assert not set(got) & set(kept) and len(set(got)) == len(got), "a record twice"


def main():
    run_tests(globals())


if __name__ == "__main__":
    main()
