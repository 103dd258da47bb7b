"""flowscore into syslog-ng (issue 15): RFC 5424 messages in RFC 6587
octet-counting framing over TCP (--out syslog+tcp://ADDR:PORT), received by
a real syslog-ng (Debian's syslog-ng-core) that the test starts on
127.0.0.1 and stops, with its syslog() source and a file destination.

- Every line the file output gets arrives once, in order, and parses back to
  the same JSON; HOSTNAME is the sensor, APP-NAME flowscore, MSGID the event
  type, alerts at severity warning and the rest at info, facility local0.
- A collector that starts only after the run has ended (a restart) gets
  every line within output.drain_timeout.

usage: /usr/bin/python3 test_syslog.py SOURCE_DIR BUILD_DIR
"""
import json
import os
import signal
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
TMP = tempfile.mkdtemp(prefix="flowscore-syslog-")
FIELDS = "$HOST\t$PROGRAM\t$MSGID\t$LEVEL\t$FACILITY\t$MSG\n"



def make_ca(name):
    """A CA, and a server certificate it signed for 127.0.0.1 (IP SAN), made
    with the openssl CLI. Returns (ca.pem, server.pem, server.key)."""
    d = os.path.join(TMP, name)
    os.makedirs(d, exist_ok=True)
    ca, ca_key, cert, key, csr = (os.path.join(d, f) for f in ("ca.pem", "ca.key", "server.pem", "server.key", "server.csr"))
    quiet = dict(check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
                    "-days", "2", "-subj", f"/CN=flowscore test CA {name}"], **quiet)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=127.0.0.1"], **quiet)
    ext = os.path.join(d, "san.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName = IP:127.0.0.1\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
                    "-days", "2", "-extfile", ext], **quiet)
    return ca, cert, key


class SyslogNg:
    """syslog-ng in the foreground: a syslog() TCP source on 127.0.0.1 (TLS
    with `tls=(cert, key)`) and a file of one line per message (HOST,
    PROGRAM, MSGID, LEVEL, FACILITY, MSG)."""

    def __init__(self, name, port, tls=None, udp=False):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir, exist_ok=True)
        self.out = os.path.join(self.dir, "received.log")
        self.port, self.udp = port, udp
        conf = os.path.join(self.dir, "syslog-ng.conf")
        transport = ('transport("udp") so-rcvbuf(4194304)' if udp else 'transport("tcp")' if tls is None else
                     f'transport("tls") tls(cert-file("{tls[0]}") key-file("{tls[1]}") peer-verify(optional-untrusted))')
        with open(conf, "w") as f:
            f.write(f"""@version: 3.38
options {{ keep-hostname(yes); log-msg-size(65536); stats-freq(0); }};
source s_flowscore {{ syslog(ip("127.0.0.1") port({port}) {transport}); }};
destination d_file {{ file("{self.out}" template("{FIELDS.replace(chr(9), chr(92) + 't').replace(chr(10), chr(92) + 'n')}")); }};
log {{ source(s_flowscore); destination(d_file); }};
""")
        self.proc = subprocess.Popen(
            ["syslog-ng", "--foreground", "--no-caps", f"--cfgfile={conf}", f"--persist-file={self.dir}/persist",
             f"--pidfile={self.dir}/pid", f"--control={self.dir}/ctl"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 30
        while True:  # listening?
            try:
                if udp:
                    self.udp_drops()  # bound: its socket is in /proc/net/udp
                else:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline and self.proc.poll() is None, self.proc.stdout.read()
                time.sleep(0.1)

    def udp_drops(self):
        """The kernel's count of datagrams its UDP socket dropped (a full
        receive buffer): the last column of its /proc/net/udp row."""
        with open("/proc/net/udp") as f:
            for row in f.readlines()[1:]:
                cols = row.split()
                if cols[1] == f"0100007F:{self.port:04X}":
                    return int(cols[-1])
        raise OSError(f"no UDP socket on 127.0.0.1:{self.port} yet")

    def received(self, want, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(self.out) and sum(1 for _ in open(self.out)) >= want:
                break
            time.sleep(0.2)
        self.stop()
        if not os.path.exists(self.out):  # nothing arrived
            return []
        with open(self.out) as f:
            return [line.rstrip("\n").split("\t", 5) for line in f]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


def capture():
    path = os.path.join(TMP, "syslog.pcap")
    if not os.path.exists(path):
        parts = []
        for profile, packets in (("bench", 3000), ("train", 40000)):
            parts.append(os.path.join(TMP, f"{profile}.pcap"))
            subprocess.run([os.path.join(BUILD, "src/gen/flowscore-gen"), "--profile", profile, "--packets",
                            str(packets), "--seed", "9", "--out", parts[-1], "--quiet"], check=True)
        subprocess.run(["mergecap", "-F", "pcap", "-w", path, *parts], check=True)
    return path


def flowscore(out, *extra):
    p = subprocess.run([FLOWSCORE, "run", "--pcap", capture(), "--out", out, "--set", "output.sensor_name=sensor-9",
                        *extra], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stderr


def reference():
    path = os.path.join(TMP, "reference.json")
    flowscore(path)
    with open(path) as f:
        return [line.rstrip("\n") for line in f]


def test_every_record_arrives_once_in_order_as_rfc5424():
    want = reference()
    assert len(want) > 300 and any('"event_type":"alert"' in l for l in want)
    port = free_port()
    collector = SyslogNg("once", port)
    try:
        err = flowscore(f"syslog+tcp://127.0.0.1:{port}")
        got = collector.received(len(want))
    finally:
        collector.stop()
    assert "syslog over tcp 127.0.0.1" in err, err
    assert [m[5] for m in got] == want, (len(got), len(want))
    for host, program, msgid, level, facility, msg in got:
        record = json.loads(msg)
        assert (host, program, facility) == ("sensor-9", "flowscore", "local0"), (host, program, facility)
        assert msgid == record["event_type"], (msgid, msg)
        assert level == ("warning" if msgid == "alert" else "info"), (level, msgid)


def test_udp_delivers_what_the_kernel_did_not_drop_in_order_and_says_what_it_sent():
    # syslog+udp:// (RFC 5426), the lossy option: one message per datagram.
    # Loopback loses nothing but what the collector's receive buffer drops,
    # which the kernel counts per socket; so what syslog-ng wrote must be
    # the records in order, with exactly that many missing.
    want = reference()
    port = free_port()
    collector = SyslogNg("udp", port, udp=True)
    try:
        err = flowscore(f"syslog+udp://127.0.0.1:{port}")
        deadline = time.time() + 60
        while time.time() < deadline:  # everything that was not dropped has been written
            drops = collector.udp_drops()
            if os.path.exists(collector.out) and sum(1 for _ in open(collector.out)) + drops >= len(want):
                break
            time.sleep(0.2)
        drops = collector.udp_drops()
        got = collector.received(len(want) - drops, timeout=5)
    finally:
        collector.stop()
    assert f"syslog udp 127.0.0.1:{port}: {len(want)} records sent, 0 not sent" in err, err
    msgs = [m[5] for m in got]
    assert len(msgs) + drops == len(want), (len(msgs), drops, len(want))
    it = iter(want)  # in order: a subsequence of the records, each once
    assert all(any(m == w for w in it) for m in msgs), "out of order or not a record"
    for host, program, msgid, level, facility, msg in got:
        assert (host, program, facility, msgid) == ("sensor-9", "flowscore", "local0", json.loads(msg)["event_type"])
        assert level == ("warning" if msgid == "alert" else "info"), (level, msgid)


def test_a_collector_that_comes_late_gets_every_record_within_the_drain_timeout():
    want = reference()
    port = free_port()
    result = {}
    run = threading.Thread(target=lambda: result.update(err=flowscore(f"syslog+tcp://127.0.0.1:{port}", "--set",
                                                                      "output.drain_timeout=120")))
    run.start()
    time.sleep(3)  # the run has read its capture; nothing listens yet
    assert run.is_alive()
    collector = SyslogNg("late", port)
    try:
        run.join(timeout=180)
        got = collector.received(len(want))
    finally:
        collector.stop()
    assert "err" in result and "lost" not in result["err"], result
    assert [m[5] for m in got] == want, (len(got), len(want))


def test_tls_to_a_collector_whose_certificate_verifies():
    # syslog+tls:// (RFC 5425): the collector's certificate must chain to
    # the given CA and name the address; then every line arrives, in order.
    want = reference()
    ca, cert, key = make_ca("good")
    port = free_port()
    collector = SyslogNg("tls", port, tls=(cert, key))
    try:
        err = flowscore(f"syslog+tls://127.0.0.1:{port}?ca={ca}")
        got = collector.received(len(want))
    finally:
        collector.stop()
    assert "syslog over tls 127.0.0.1" in err, err
    assert [m[5] for m in got] == want, (len(got), len(want))


def test_tls_refuses_a_collector_it_cannot_verify():
    # The same collector, but flowscore trusts another CA: nothing is sent,
    # and the loss is counted and explained.
    want = reference()
    _, cert, key = make_ca("server")
    other_ca, _, _ = make_ca("other")
    port = free_port()
    collector = SyslogNg("untrusted", port, tls=(cert, key))
    try:
        p = subprocess.run([FLOWSCORE, "run", "--pcap", capture(), "--out", f"syslog+tls://127.0.0.1:{port}?ca={other_ca}",
                            "--set", "output.drain_timeout=2"], capture_output=True, text=True, timeout=300)
        got = collector.received(0, timeout=1)
    finally:
        collector.stop()
    assert p.returncode == 1, p.stderr
    assert "certificate not accepted" in p.stderr and "did not take" in p.stderr, p.stderr
    assert got == [], got[:3]
    assert len(want) > 0


def test_several_outputs_at_once_each_with_its_events():
    # output.also (issue 15 section 1): the file gets every line, a second
    # file too (--out given twice), and syslog only the alerts; a collector
    # that never answers is a counted loss of its own and holds back neither
    # file.
    want = reference()
    alerts = [l for l in want if '"event_type":"alert"' in l]
    assert alerts
    port, dead = free_port(), free_port()
    first, second = os.path.join(TMP, "first.json"), os.path.join(TMP, "second.json")
    collector = SyslogNg("several", port)
    try:
        also = json.dumps([{"target": f"syslog+tcp://127.0.0.1:{port}", "events": "alerts"},
                           f"tcp://127.0.0.1:{dead}"])
        p = subprocess.run([FLOWSCORE, "run", "--pcap", capture(), "--out", first, "--out", second,
                            "--set", "output.sensor_name=sensor-9", "--set", f"output.also={also}",
                            "--set", "output.drain_timeout=2"], capture_output=True, text=True, timeout=300)
        got = collector.received(len(alerts))
    finally:
        collector.stop()
    assert p.returncode == 1 and f"tcp 127.0.0.1:{dead} did not take" in p.stderr, p.stderr
    for path in (first, second):
        with open(path) as f:
            assert [l.rstrip("\n") for l in f] == want, path
    assert [m[5] for m in got] == alerts, (len(got), len(alerts))


def main():
    run_tests(globals())

if __name__ == "__main__":
    main()
