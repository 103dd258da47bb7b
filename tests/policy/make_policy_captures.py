"""Crafted captures that pin flowscore's alert policy (issue 13, section 4).

usage: /usr/bin/python3 make_policy_captures.py OUTDIR [--seed N]

Writes six classic pcaps (Ethernet, microsecond timestamps) and MANIFEST.json
into OUTDIR. Every capture is deterministic for a given seed: packets are
built by scapy with every field set explicitly, and the file is written by a
small pcap writer below, so the bytes do not depend on the clock.

Each capture is one item on top of a benign background: a small office
network (10.1.0.0/24 behind a router, a resolver at 10.1.0.2, an internal web
server at 10.1.0.50) whose clients resolve names and fetch pages over HTTP
and TLS, complete sessions with handshake, data both ways and a FIN close,
at about 35 sessions a minute over the capture's span. The items:

| file                   | item                                                        | alert? |
|------------------------|-------------------------------------------------------------|--------|
| lone_syn.pcap          | one SYN to 443 with a Linux stack's options, never answered | no     |
| lone_dns_answer.pcap   | one DNS response from port 53 whose query is not captured   | no     |
| lone_large_udp.pcap    | one 1400-byte UDP datagram to a high port                   | no     |
| scan_200_ports.pcap    | nmap -sS style: 200 SYNs, one source, 200 ports of one host in ~2 s; closed ports answer RST/ACK, open ones SYN-ACK and the scanner resets | yes: scan |
| spoofed_syn_500.pcap   | hping3 --rand-source style: 500 SYNs from 500 spoofed sources to 10.1.0.50:80 within ~1 s, no TCP options, fixed window, unanswered | yes: flood |
| ftp_bruteforce_300.pcap| Hydra style: 300 complete FTP logins (220, USER, 331, PASS, 530, QUIT, 221, FIN) from one client to 10.1.0.60:21 over ~5 min | yes: bruteforce |

MANIFEST.json maps each file name to {"expect_alert", "kind", "seed", ...}
with the generator's ground truth: "flows" lists the item's flows as
[proto, initiator ip, initiator port, responder ip, responder port, packets],
"attacker"/"victim" name the hosts of an attack and "class" its family;
"background_flows" counts the background conversations.
"""
import argparse
import ipaddress
import json
import os
import random
import struct
import sys

from scapy.all import DNS, DNSQR, DNSRR, IP, TCP, UDP, Ether, Raw  # noqa: E402

T0 = 1709287200.0  # 2024-03-01 10:00:00 UTC
ROUTER_MAC = "02:00:0a:01:00:01"
RESOLVER = "10.1.0.2"
INTRANET_WEB = "10.1.0.50"
FTP_SERVER = "10.1.0.60"
CLIENTS = [f"10.1.0.{i}" for i in range(10, 40)]
EXTERNAL_WEB = [f"192.0.2.{i}" for i in range(10, 30)] + [f"198.51.100.{i}" for i in range(10, 20)]
NAMES = ["www.example.com", "cdn.example.net", "mail.example.org", "api.example.com", "static.example.net",
         "news.example.org", "intranet.corp.example", "updates.example.com", "img.example.net", "docs.example.org"]
LINUX_SYN_OPTS = lambda tsval: [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (tsval, 0)), ("NOP", None), ("WScale", 7)]
MSS = 1448  # with the timestamp option


def internal(ip):
    return ipaddress.ip_address(ip) in ipaddress.ip_network("10.1.0.0/24")


def mac(ip):
    if not internal(ip):
        return ROUTER_MAC
    return "02:00:0a:01:00:%02x" % int(ip.rsplit(".", 1)[1])


class Capture:
    """Frames with integer-microsecond timestamps, written sorted (stable)."""

    def __init__(self):
        self.frames = []  # (usec, order, bytes)

    def add(self, t, pkt):
        src, dst = pkt[IP].src, pkt[IP].dst
        frame = bytes(Ether(src=mac(src), dst=mac(dst), type=0x0800) / pkt)
        self.frames.append((int(round(t * 1e6)), len(self.frames), frame))

    def write(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for usec, _, frame in sorted(self.frames):
                f.write(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame), len(frame)) + frame)
        return len(self.frames)


class TcpConn:
    """One TCP connection with consistent sequence numbers, IP ids and timestamps."""

    def __init__(self, cap, rng, cli, cport, srv, sport, t, rtt):
        self.cap, self.rng, self.t, self.rtt = cap, rng, t, rtt
        self.ep = {True: (cli, cport), False: (srv, sport)}
        self.seq = {True: rng.getrandbits(32), False: rng.getrandbits(32)}
        self.ipid = {True: rng.randrange(65536), False: rng.randrange(65536)}
        self.tsbase = {True: rng.getrandbits(31), False: rng.getrandbits(31)}
        self.ttl = {True: 64 if internal(cli) else rng.choice([48, 52, 55, 117]),
                    False: 64 if internal(srv) else rng.choice([50, 53, 56, 118])}
        self.packets = 0
        self.last_ts = {True: 0, False: 0}

    def _tsval(self, c):
        return (self.tsbase[c] + int((self.t - T0) * 1000)) & 0xFFFFFFFF

    def send(self, from_client, flags, payload=b"", gap=0.0):
        self.t += gap
        c = from_client
        (s_ip, s_port), (d_ip, d_port) = self.ep[c], self.ep[not c]
        tsval = self._tsval(c)
        if flags == "S":
            opts, win = LINUX_SYN_OPTS(tsval), 64240
        elif flags == "SA":
            opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (tsval, self.last_ts[False])), ("NOP", None),
                    ("WScale", 7)]
            win = 65160
        else:
            opts, win = [("NOP", None), ("NOP", None), ("Timestamp", (tsval, self.last_ts[not c]))], 501 if c else 509
        self.last_ts[not c] = tsval  # what the peer will echo
        ack = self.seq[not c] if "A" in flags else 0
        pkt = IP(src=s_ip, dst=d_ip, ttl=self.ttl[c], id=self.ipid[c], flags="DF") / TCP(
            sport=s_port, dport=d_port, seq=self.seq[c], ack=ack, flags=flags, window=win, options=opts)
        if payload:
            pkt = pkt / Raw(payload)
        self.ipid[c] = (self.ipid[c] + 1) & 0xFFFF
        self.seq[c] = (self.seq[c] + len(payload) + ("S" in flags) + ("F" in flags)) & 0xFFFFFFFF
        self.cap.add(self.t, pkt)
        self.packets += 1

    def handshake(self):
        self.send(True, "S")
        self.send(False, "SA", gap=self.rtt / 2)
        self.send(True, "A", gap=self.rtt / 2)

    def data(self, from_client, payload, think=0.0):
        """Send payload in MSS segments; the receiver ACKs every second segment and the last."""
        self.t += think
        segs = [payload[i:i + MSS] for i in range(0, len(payload), MSS)]
        for i, seg in enumerate(segs):
            self.send(from_client, "PA" if i == len(segs) - 1 else "A", seg, gap=0.0002 if i else 0.0)
            if i % 2 == 1 or i == len(segs) - 1:
                self.send(not from_client, "A", gap=self.rtt / 2)
                self.t -= self.rtt / 2 if i != len(segs) - 1 else 0.0  # ACKs overlap with later segments

    def close(self, by_client=True):
        c = by_client
        self.send(c, "FA", gap=0.001 + self.rng.random() * 0.01)
        self.send(not c, "A", gap=self.rtt / 2)
        self.send(not c, "FA", gap=0.0003)
        self.send(c, "A", gap=self.rtt / 2)


def rand_bytes(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def app_records(rng, n):
    """n bytes of TLS application data records (at most 2^14 + 256 bytes of ciphertext each)."""
    out = b""
    while n > 5:
        body = min(n - 5, 16384 + 17)
        out += bytes([0x17, 3, 3]) + struct.pack("!H", body) + rand_bytes(rng, body)
        n -= 5 + body
    return out


def handshake_record(msg_type, body):
    hs = bytes([msg_type]) + struct.pack("!I", len(body))[1:] + body
    return bytes([0x16, 3, 1 if msg_type == 1 else 3]) + struct.pack("!H", len(hs)) + hs


def ext(kind, data):
    return struct.pack("!HH", kind, len(data)) + data


def client_hello(rng, sni):
    name = sni.encode()
    exts = (ext(0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name)
            + ext(10, bytes.fromhex("0004001d0017"))  # supported groups
            + ext(13, bytes.fromhex("000a04030804040105010201"))  # signature algorithms
            + ext(43, bytes.fromhex("0403040303"))  # supported versions: 1.3, 1.2
            + ext(51, struct.pack("!HHH", 36, 0x1D, 32) + rand_bytes(rng, 32)))  # key share
    suites = bytes.fromhex("130113021303c02bc02fc02cc030")
    head = bytes([3, 3]) + rand_bytes(rng, 32) + bytes([32]) + rand_bytes(rng, 32) + struct.pack("!H", len(suites)) + suites + b"\x01\x00"
    pad = max(0, 508 - 9 - len(head) - 2 - len(exts) - 4)  # padding extension to a 517-byte record, as browsers do
    exts += ext(21, bytes(pad))
    return handshake_record(1, head + struct.pack("!H", len(exts)) + exts)


def server_hello(rng):
    exts = ext(43, bytes.fromhex("0304")) + ext(51, struct.pack("!HH", 0x1D, 32) + rand_bytes(rng, 32))
    body = bytes([3, 3]) + rand_bytes(rng, 32) + bytes([32]) + rand_bytes(rng, 32) + bytes.fromhex("130100")
    return handshake_record(2, body + struct.pack("!H", len(exts)) + exts) + bytes.fromhex("140303000101")


def tls_session(cap, rng, cli, cport, srv, sni, t, rtt):
    conn = TcpConn(cap, rng, cli, cport, srv, 443, t, rtt)
    conn.handshake()
    conn.data(True, client_hello(rng, sni), think=0.0005)
    conn.data(False, server_hello(rng) + app_records(rng, rng.randrange(2800, 4500)), think=0.002)
    conn.data(True, bytes.fromhex("140303000101") + app_records(rng, rng.randrange(64, 150)), think=0.001)
    conn.data(False, app_records(rng, rng.randrange(51, 290)), think=0.001)
    for _ in range(rng.randrange(1, 4)):
        conn.data(True, app_records(rng, rng.randrange(200, 700)), think=rng.uniform(0.001, 0.3))
        conn.data(False, app_records(rng, rng.randrange(600, 40000)), think=rng.uniform(0.005, 0.08))
    conn.close(by_client=rng.random() < 0.7)
    return conn


def http_session(cap, rng, cli, cport, srv, host, t, rtt):
    conn = TcpConn(cap, rng, cli, cport, srv, 80, t, rtt)
    conn.handshake()
    for _ in range(rng.randrange(1, 3)):
        path = "/" + rng.choice(["", "index.html", "news/today", "img/logo.png", "api/v1/status", "css/site.css"])
        req = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:115.0) "
               f"Gecko/20100101 Firefox/115.0\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\n"
               f"Connection: keep-alive\r\n\r\n").encode()
        conn.data(True, req, think=0.0005)
        body = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz <>/=\"\n") for _ in range(rng.randrange(300, 30000)))
        head = f"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
        conn.data(False, head.encode() + body, think=rng.uniform(0.002, 0.05))
    conn.close(by_client=True)
    return conn


def dns_pair(cap, rng, cli, cport, name, answer_ip, t, qtype="A"):
    txid = rng.getrandbits(16)
    q = DNS(id=txid, rd=1, qd=DNSQR(qname=name, qtype=qtype))
    cap.add(t, IP(src=cli, dst=RESOLVER, ttl=64, id=rng.getrandbits(16)) / UDP(sport=cport, dport=53) / q)
    if qtype == "A":
        an = DNSRR(rrname=name, type="A", ttl=rng.randrange(60, 3600), rdata=answer_ip)
    else:
        an = DNSRR(rrname=name, type="AAAA", ttl=rng.randrange(60, 3600), rdata="2001:db8::%x" % rng.getrandbits(16))
    r = DNS(id=txid, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype=qtype), an=an)
    cap.add(t + rng.uniform(0.0004, 0.03), IP(src=RESOLVER, dst=cli, ttl=64, id=rng.getrandbits(16)) / UDP(sport=53, dport=cport) / r)


def background(cap, rng, start, span):
    """Benign office traffic over [start, start + span): returns the number of conversations."""
    ports = {c: rng.randrange(33000, 60000) for c in CLIENTS}

    def eph(c):
        ports[c] += rng.randrange(1, 4)
        return ports[c]

    n_visits = max(15, round(15 * span / 60))
    conversations = 0
    for _ in range(n_visits):
        t = start + rng.uniform(0, span - 5)
        cli = rng.choice(CLIENTS)
        if rng.random() < 0.25:  # the intranet server, no lookup
            srv, host, rtt = INTRANET_WEB, "intranet.corp.example", rng.uniform(0.0003, 0.001)
        else:
            srv, host, rtt = rng.choice(EXTERNAL_WEB), rng.choice(NAMES), rng.uniform(0.008, 0.09)
            dns_pair(cap, rng, cli, eph(cli), host, srv, t)
            conversations += 1
            t += 0.035
        if rng.random() < 0.6:
            tls_session(cap, rng, cli, eph(cli), srv, host, t, rtt)
        else:
            http_session(cap, rng, cli, eph(cli), srv, host, t, rtt)
        conversations += 1
    for _ in range(n_visits // 3):  # AAAA lookups nobody follows up
        cli = rng.choice(CLIENTS)
        dns_pair(cap, rng, cli, eph(cli), rng.choice(NAMES), None, start + rng.uniform(0, span - 1), qtype="AAAA")
        conversations += 1
    return conversations


def public_ip(rng):
    while True:
        a = ipaddress.IPv4Address(rng.getrandbits(32))
        if a.is_global and not a.is_multicast:
            return str(a)


def make_lone_syn(cap, rng):
    cli, srv, sport = "10.1.0.23", "203.0.113.40", 51514
    tsval = rng.getrandbits(31)
    cap.add(T0 + 31.4172, IP(src=cli, dst=srv, ttl=64, id=rng.getrandbits(16), flags="DF") /
            TCP(sport=sport, dport=443, seq=rng.getrandbits(32), flags="S", window=64240, options=LINUX_SYN_OPTS(tsval)))
    return {"kind": "lone_syn", "expect_alert": False, "flows": [["TCP", cli, sport, srv, 443, 1]]}


def make_lone_dns_answer(cap, rng):
    srv, cli, cport, name = "203.0.113.53", "10.1.0.17", 41877, "late.example.org"
    r = DNS(id=rng.getrandbits(16), qr=1, rd=1, ra=1, qd=DNSQR(qname=name),
            an=DNSRR(rrname=name, type="A", ttl=300, rdata="192.0.2.77"))
    cap.add(T0 + 29.8811, IP(src=srv, dst=cli, ttl=57, id=rng.getrandbits(16)) / UDP(sport=53, dport=cport) / r)
    return {"kind": "lone_dns_answer", "expect_alert": False, "flows": [["UDP", srv, 53, cli, cport, 1]]}


def make_lone_large_udp(cap, rng):
    src, dst, sport, dport = "198.51.100.201", "10.1.0.31", 40123, 52000
    payload = rand_bytes(rng, 1400 - 8)  # a 1400-byte UDP datagram
    cap.add(T0 + 33.0504, IP(src=src, dst=dst, ttl=54, id=rng.getrandbits(16)) / UDP(sport=sport, dport=dport) / Raw(payload))
    return {"kind": "lone_large_udp", "expect_alert": False, "flows": [["UDP", src, sport, dst, dport, 1]]}


def make_scan(cap, rng):
    scanner, victim, sport, rtt = "198.51.100.66", INTRANET_WEB, 61234, 0.021
    open_ports = [22, 80, 443]
    others = rng.sample([p for p in range(1, 10001) if p not in open_ports], 197)
    ports = open_ports + others
    rng.shuffle(ports)
    t, flows = T0 + 20.0, []
    for port in ports:
        t += rng.uniform(0.004, 0.016)  # ~200 probes in ~2 s
        seq = rng.getrandbits(32)
        cap.add(t, IP(src=scanner, dst=victim, ttl=49, id=rng.getrandbits(16)) /
                TCP(sport=sport, dport=port, seq=seq, flags="S", window=1024, options=[("MSS", 1460)]))
        if port in open_ports:
            isn = rng.getrandbits(32)
            cap.add(t + rtt / 2, IP(src=victim, dst=scanner, ttl=64, id=0, flags="DF") /
                    TCP(sport=port, dport=sport, seq=isn, ack=seq + 1, flags="SA", window=64240, options=[("MSS", 1460)]))
            cap.add(t + rtt, IP(src=scanner, dst=victim, ttl=49, id=rng.getrandbits(16)) /
                    TCP(sport=sport, dport=port, seq=seq + 1, flags="R", window=0))
            flows.append(["TCP", scanner, sport, victim, port, 3])
        else:
            cap.add(t + rtt / 2, IP(src=victim, dst=scanner, ttl=64, id=0, flags="DF") /
                    TCP(sport=port, dport=sport, seq=0, ack=seq + 1, flags="RA", window=0))
            flows.append(["TCP", scanner, sport, victim, port, 2])
    return {"kind": "scan_200_ports", "expect_alert": True, "class": "scan", "attacker": scanner, "victim": victim,
            "flows": flows}


def make_spoofed_flood(cap, rng):
    victim, flows, sources = INTRANET_WEB, [], set()
    times = sorted(rng.uniform(0, 0.95) for _ in range(500))
    for dt in times:
        src = public_ip(rng)
        while src in sources:
            src = public_ip(rng)
        sources.add(src)
        sport = rng.randrange(1024, 65536)
        cap.add(T0 + 25.0 + dt, IP(src=src, dst=victim, ttl=64, id=rng.getrandbits(16)) /
                TCP(sport=sport, dport=80, seq=rng.getrandbits(32), flags="S", window=64))  # hping3: no options
        flows.append(["TCP", src, sport, victim, 80, 1])
    return {"kind": "spoofed_syn_500", "expect_alert": True, "class": "flood", "attacker": None, "victim": victim,
            "flows": flows}


def make_ftp_bruteforce(cap, rng):
    client, server, rtt = "203.0.113.99", FTP_SERVER, 0.034
    users = ["admin", "root", "ftp", "test", "user", "administrator", "backup", "www"]
    words = ["123456", "password", "admin", "letmein", "qwerty", "12345678", "welcome", "changeme", "ftp", "secret",
             "dragon", "monkey", "abc123", "passw0rd", "trustno1"]
    t, port, flows = T0 + 15.0, rng.randrange(40000, 45000), []
    for i in range(300):
        t += rng.uniform(0.6, 1.4)  # ~1 s between starts, over ~5 min; sessions overlap (parallel tasks)
        port += rng.randrange(1, 3)
        conn = TcpConn(cap, rng, client, port, server, 21, t, rtt)
        conn.handshake()
        conn.data(False, b"220 (vsFTPd 3.0.3)\r\n", think=0.002)
        conn.data(True, f"USER {users[i % len(users)]}\r\n".encode(), think=0.001)
        conn.data(False, b"331 Please specify the password.\r\n", think=0.0005)
        conn.data(True, f"PASS {rng.choice(words)}{rng.randrange(100)}\r\n".encode(), think=0.001)
        conn.data(False, b"530 Login incorrect.\r\n", think=rng.uniform(0.9, 1.1))  # vsftpd's delay_failed_login
        conn.data(True, b"QUIT\r\n", think=0.001)
        conn.data(False, b"221 Goodbye.\r\n", think=0.0003)
        conn.close(by_client=False)
        flows.append(["TCP", client, port, server, 21, conn.packets])
    return {"kind": "ftp_bruteforce_300", "expect_alert": True, "class": "bruteforce", "attacker": client,
            "victim": server, "flows": flows}


CAPTURES = [  # file, item, background span (s)
    ("lone_syn.pcap", make_lone_syn, 60),
    ("lone_dns_answer.pcap", make_lone_dns_answer, 60),
    ("lone_large_udp.pcap", make_lone_large_udp, 60),
    ("scan_200_ports.pcap", make_scan, 60),
    ("spoofed_syn_500.pcap", make_spoofed_flood, 60),
    ("ftp_bruteforce_300.pcap", make_ftp_bruteforce, 340),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    manifest = {}
    for i, (name, make, span) in enumerate(CAPTURES):
        rng = random.Random(a.seed * 1000 + i)
        cap = Capture()
        entry = make(cap, rng)
        entry["background_flows"] = background(cap, random.Random(a.seed * 1000 + 100 + i), T0, span)
        entry["packets"] = cap.write(os.path.join(a.outdir, name))
        entry["seed"] = a.seed
        manifest[name] = entry
    with open(os.path.join(a.outdir, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    for name, e in manifest.items():
        print(f"{name}: {e['packets']} packets, {len(e['flows'])} item flow(s), {e['background_flows']} background",
              file=sys.stderr)


if __name__ == "__main__":
    main()
