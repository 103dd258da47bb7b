#!/usr/bin/python3
"""What each output costs an offline run (issue 15 section 5), side by side
in one run, rounds interleaved, on one capture (default: the 5M-packet
benchmark capture), whole-process wall time until every record is taken:

  file      --out FILE on /dev/shm (the baseline)
  tcp       --out tcp://127.0.0.1:P into a reader of this script's own
            that discards what it reads
  syslog    --out syslog+tcp://127.0.0.1:P into a real syslog-ng writing a
            file on /dev/shm
  kafka     --out kafka://.../bench into librdkafka's mock cluster (three
            brokers in one process, tests/output/kafka_mock)
  spool     --out tcp://127.0.0.1:P with nobody listening: every record
            goes into the disk spool (and the run waits its 1 s drain)
  ecs       the file output with --format ecs (the Elastic Common Schema view)
  eve+ecs   the file output with --format eve+ecs (both in one object)
  rotate    the file output rotated every 64 MB, rotated files gzipped
            (output.rotate_bytes, rotate_gzip); the run ends once the last
            rotated file is compressed
  udp       --out syslog+udp://127.0.0.1:P into a socket nobody reads (the
            kernel drops what fills its buffer: lossy by design)

The collectors are given a disk spool on /dev/shm (output.spool_dir), so a
collector slower than the pipeline costs time, not records: every
contender must deliver (or, for `spool`, keep) every record, and a run
that loses one fails the benchmark. The reports give records per second
and the ratio to the file output in the same round.
On this 2-core machine the collectors share the CPUs with flowscore, so
the ratios are an upper bound on what an output costs when its collector
runs elsewhere.

usage: bench/output_throughput.py BUILD_DIR [CAPTURE] [--rounds N] [--only a,b]
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Discard:
    """A TCP reader that keeps only a byte count."""

    def __init__(self):
        self.port = free_port()
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", self.port))
        self.server.listen(4)
        self.bytes = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        try:
            while True:
                conn, _ = self.server.accept()
                with conn:
                    while chunk := conn.recv(1 << 20):
                        self.bytes += len(chunk)
        except OSError:
            pass

    def close(self):
        self.server.close()


class SyslogNg:
    def __init__(self, workdir):
        self.port = free_port()
        self.out = os.path.join(workdir, "syslog.out")
        conf = os.path.join(workdir, "syslog-ng.conf")
        with open(conf, "w") as f:
            f.write(f"""@version: 3.38
options {{ keep-hostname(yes); log-msg-size(65536); stats-freq(0); }};
source s {{ syslog(ip("127.0.0.1") port({self.port}) transport("tcp") log-iw-size(100000)); }};
destination d {{ file("{self.out}" template("$MSG\\n")); }};
log {{ source(s); destination(d); }};
""")
        self.proc = subprocess.Popen(["syslog-ng", "--foreground", "--no-caps", f"--cfgfile={conf}",
                                      f"--persist-file={workdir}/persist", f"--pidfile={workdir}/pid",
                                      f"--control={workdir}/ctl"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        sys.exit("bench: syslog-ng did not start")

    def lines(self):
        with open(self.out, "rb") as f:
            return sum(1 for _ in f)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class KafkaMock:
    def __init__(self, build):
        self.proc = subprocess.Popen([os.path.join(build, "tests/output/kafka_mock"), "bench", "6"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.bootstrap = self.proc.stdout.readline().split()[1]

    def close(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=60)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("build")
    p.add_argument("capture", nargs="?", default="/dev/shm/bench5m.pcap")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", default="file,tcp,syslog,kafka,spool")
    args = p.parse_args(argv)
    flowscore = os.path.join(args.build, "src/cli/flowscore")
    work = tempfile.mkdtemp(prefix="flowscore-outbench-", dir="/dev/shm")
    contenders = args.only.split(",")
    times = {c: [] for c in contenders}
    ratios = {c: [] for c in contenders if c != "file"}
    records = None
    try:
        for r in range(args.rounds):
            order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
            this_round = {}
            for c in order:
                extra, collector = [], None
                if c == "file":
                    target = os.path.join(work, "eve.json")
                elif c == "tcp":
                    collector = Discard()
                    target = f"tcp://127.0.0.1:{collector.port}"
                elif c == "syslog":
                    collector = SyslogNg(work)
                    target = f"syslog+tcp://127.0.0.1:{collector.port}"
                elif c == "kafka":
                    collector = KafkaMock(args.build)
                    target = f"kafka://{collector.bootstrap}/bench"
                elif c in ("ecs", "eve+ecs"):
                    target = os.path.join(work, "eve.json")
                    extra = ["--format", c]
                elif c == "rotate":
                    shutil.rmtree(os.path.join(work, "rotated"), ignore_errors=True)
                    os.makedirs(os.path.join(work, "rotated"))
                    target = os.path.join(work, "rotated", "eve.json")
                    extra = ["--set", "output.rotate_bytes=67108864", "--set", "output.rotate_gzip=true"]
                elif c == "udp":
                    collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    collector.bind(("127.0.0.1", 0))
                    target = f"syslog+udp://127.0.0.1:{collector.getsockname()[1]}"
                elif c == "spool":
                    shutil.rmtree(os.path.join(work, "spool"), ignore_errors=True)
                    target = f"tcp://127.0.0.1:{free_port()}"
                    extra = ["--set", f"output.spool_dir={work}/spool", "--set", "output.drain_timeout=1",
                             "--set", "output.spool_bytes=17179869184"]
                if c in ("tcp", "syslog", "kafka"):
                    shutil.rmtree(os.path.join(work, "spool"), ignore_errors=True)
                    extra = ["--set", f"output.spool_dir={work}/spool", "--set", "output.spool_bytes=17179869184"]
                cmd = [flowscore, "run", "--pcap", args.capture, "--out", target, "--quiet",
                       "--set", "output.drain_timeout=600", *extra]
                start = time.perf_counter()
                run = subprocess.run(cmd, capture_output=True, text=True)
                elapsed = time.perf_counter() - start
                if run.returncode != 0:
                    sys.exit(f"bench: {c}: exit {run.returncode}: {run.stderr[-2000:]}")
                if c == "syslog":  # until syslog-ng has written every line
                    while collector.lines() < records and time.perf_counter() - start < 900:
                        time.sleep(0.5)
                    if collector.lines() < records:
                        sys.exit(f"bench: syslog-ng wrote {collector.lines()} of {records} lines")
                    elapsed = time.perf_counter() - start
                if c == "tcp" and collector.bytes < os.path.getsize(os.path.join(work, "eve.json")):
                    time.sleep(1)  # the last bytes in flight
                if collector:
                    collector.close()
                if c == "file":
                    with open(target, "rb") as f:
                        records = sum(1 for _ in f)
                if c in ("ecs", "eve+ecs"):
                    with open(target, "rb") as f:
                        if sum(1 for _ in f) != records:
                            sys.exit(f"bench: {c} wrote another number of lines than the file output")
                this_round[c] = elapsed
                times[c].append(elapsed)
                print(f"round {r + 1} {c:7s} {elapsed:7.3f} s", flush=True)
            for c in ratios:
                ratios[c].append(this_round[c] / this_round["file"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{records} records; medians of {args.rounds} rounds")
    print("| output | wall s (median) | records/s | ratio to file, per-round median |")
    print("|---|---|---|---|")
    for c in contenders:
        med = statistics.median(times[c])
        ratio = f"{statistics.median(ratios[c]):.2f}x" if c in ratios else "1 (baseline)"
        print(f"| {c} | {med:.3f} | {records / med:,.0f} | {ratio} |")


if __name__ == "__main__":
    main(sys.argv[1:])
