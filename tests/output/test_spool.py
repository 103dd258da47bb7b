"""The disk spool in front of a collector (issue 15, output.spool_dir),
end to end, with a TCP listener of the test's own on 127.0.0.1:

- a collector that is down for the whole run: every record waits in the
  spool (exit 0, nothing lost), exactly the lines the file output gets;
- the next start, collector up: the spooled records arrive first, then the
  new run's, each once, in order;
- a spool too small: what the bound dropped plus what is left is every
  record, exactly; drop_oldest keeps the newest, drop_newest the oldest;
  the exit status says records were lost.

usage: /usr/bin/python3 test_spool.py SOURCE_DIR BUILD_DIR
"""
import glob
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

SRC, BUILD = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(SRC, "tests", "common"))
from script_tests import free_port, run_tests  # noqa: E402
FLOWSCORE = os.path.join(BUILD, "src/cli/flowscore")
TMP = tempfile.mkdtemp(prefix="flowscore-spool-")


def capture(packets=4000):
    path = os.path.join(TMP, f"spool-{packets}.pcap")
    if not os.path.exists(path):
        subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", "bench", "--packets", str(packets),
                        "--seed", "10", "--out", path, "--quiet"], check=True)
    return path



class Listener:
    """Accepts connections on 127.0.0.1:port and keeps every byte received;
    `lines_per_second`: reads about that many KiB a second (a slow collector)."""

    def __init__(self, port, lines_per_second=None):
        self.rate = lines_per_second
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", port))
        self.server.listen(4)
        self.data = bytearray()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            while True:
                conn, _ = self.server.accept()
                with conn:
                    while chunk := conn.recv(1 << 16):
                        self.data += chunk
                        if self.rate:  # `rate` KiB a second
                            time.sleep(len(chunk) / (self.rate * 1024))
        except OSError:
            pass

    def lines(self):
        """The whole lines received, once nothing more arrives for a second
        (a slow reader still empties its socket after the sender has gone)."""
        seen = -1
        while len(self.data) != seen:
            seen = len(self.data)
            time.sleep(1)
        self.server.close()
        text = self.data.decode()
        return text[:text.rfind("\n") + 1].splitlines()


def flowscore(spool, target, *extra, expect=0, packets=4000):
    p = subprocess.run([FLOWSCORE, "run", "--pcap", capture(packets), "--out", target, "--set", f"output.spool_dir={spool}",
                        "--set", "output.drain_timeout=1", *extra], capture_output=True, text=True, timeout=300)
    assert p.returncode == expect, f"exit {p.returncode} (wanted {expect}):\n{p.stderr}"
    return p.stderr


def reference():
    path = os.path.join(TMP, "reference.json")
    subprocess.run([FLOWSCORE, "run", "--pcap", capture(), "--out", path], check=True, capture_output=True)
    with open(path) as f:
        return f.read().splitlines()


def spooled(spool):
    lines = []
    for seg in sorted(glob.glob(os.path.join(spool, "*", "*.seg"))):
        with open(seg) as f:
            lines += f.read().splitlines()
    return lines


def spool_numbers(err):
    m = re.search(r"spool \S+: (\d+) records from an earlier run, (\d+) spooled, (\d+) handed on, (\d+) dropped "
                  r"\(output.spool_bytes, \w+\), (\d+) left for the next start", err)
    assert m, err
    return [int(x) for x in m.groups()]


def test_a_collector_down_for_the_whole_run_loses_nothing_and_gets_it_all_at_the_next_start():
    want = reference()
    spool, port = os.path.join(TMP, "restart"), free_port()
    err = flowscore(spool, f"tcp://127.0.0.1:{port}")  # nobody listens
    assert spool_numbers(err) == [0, len(want), 0, 0, len(want)], err
    assert "lost" not in err, err
    assert spooled(spool) == want
    listener = Listener(port)
    err = flowscore(spool, f"tcp://127.0.0.1:{port}", "--set", "output.drain_timeout=60")
    got = listener.lines()
    recovered, new, handed_on, dropped, left = spool_numbers(err)
    assert recovered == len(want) and dropped == 0 and left == 0, err
    assert got == want + want, (len(got), 2 * len(want))  # the earlier run's first, each once, in order
    assert spooled(spool) == []


def test_a_slow_collector_gets_a_prefix_in_order_and_the_rest_waits_in_the_spool():
    # A collector that reads about 1 MB a second, and more records than the
    # sensor's queue and the kernel's socket buffers hold (features included):
    # the run does not wait for it past the drain timeout (the writer never
    # blocks), nothing is dropped, what it took is the records' beginning,
    # in order, whole lines, and the rest is spooled.
    path = os.path.join(TMP, "slow.json")
    subprocess.run([FLOWSCORE, "run", "--pcap", capture(30000), "--out", path, "--set", "output.include_features=true"],
                   check=True, capture_output=True)
    want = open(path).read().splitlines()
    assert sum(len(l) for l in want) > 8e6, "more than the queue and the socket buffers"
    spool, port = os.path.join(TMP, "slow"), free_port()
    listener = Listener(port, lines_per_second=1000)
    start = time.time()
    err = flowscore(spool, f"tcp://127.0.0.1:{port}", "--set", "output.include_features=true",
                    packets=30000)  # drain_timeout 1 s
    took = time.time() - start
    got = listener.lines()
    print(f"  run {took:.1f} s, collector done {time.time() - start:.1f} s")
    recovered, new, handed_on, dropped, left = spool_numbers(err)
    assert dropped == 0 and left > 0, err
    assert got == want[:len(got)], len(got)
    kept = spooled(spool)
    assert len(got) + left == len(want), (len(got), left, len(want))
    first_wrong = next((i for i, (a, b) in enumerate(zip(kept, want[len(got):])) if a != b), None)
    assert kept == want[len(got):], (len(kept), first_wrong, kept[first_wrong][:80] if first_wrong is not None else "",
                                      [i for i, l in enumerate(want) if first_wrong is not None and l == kept[first_wrong]])
    assert took < 60, took  # bounded by the drain timeout, not by the collector's pace


def test_a_spool_too_small_counts_exactly_what_its_bound_dropped():
    want = reference()
    size = sum(len(l) + 1 for l in want)
    for policy in ("drop_oldest", "drop_newest"):
        spool, port = os.path.join(TMP, policy), free_port()
        err = flowscore(spool, f"tcp://127.0.0.1:{port}", "--set", f"output.spool_bytes={size // 3}",
                        "--set", f"output.spool_full={policy}", expect=1)
        recovered, new, handed_on, dropped, left = spool_numbers(err)
        kept = spooled(spool)
        assert recovered == 0 and new + dropped >= len(want), err
        assert dropped + left == len(want) and len(kept) == left > 0, (err, len(kept))
        assert kept == (want[-left:] if policy == "drop_oldest" else want[:left]), policy


def main():
    run_tests(globals())

if __name__ == "__main__":
    main()
