#!/usr/bin/python3
"""flowscore-gen end to end, with tshark as the independent reference.

Checks, on small captures of both profiles:
  * determinism: same seed and parameters -> byte-identical pcap and labels;
    another seed -> different files;
  * --packets N writes exactly N frames (tshark's count);
  * no checksum or malformed-packet errors with checksum validation on;
  * every flow tshark sees (bidirectional 5-tuple; ICMP keyed by type/code
    like Community ID) maps to exactly one label row with the same initiator,
    start and end, and every label row to one flow; tshark's conv,tcp and
    conv,udp tables count as many conversations as there are TCP/UDP rows.
Exit 77 (meson's "skipped") when tshark is not installed.
"""
import csv
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

CHECKSUM_PREFS = ["-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                  "-o", "ip.check_checksum:TRUE"]
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def tshark(*args):
    return subprocess.run(["tshark", *args], check=True, capture_output=True, text=True).stdout


def generate(gen, out_dir, name, *args):
    pcap = os.path.join(out_dir, name + ".pcap")
    labels = os.path.join(out_dir, name + ".csv")
    subprocess.run([gen, "--quiet", "--out", pcap, "--labels", labels, *args], check=True)
    return pcap, labels


FIELDS = ["frame.time_epoch", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport",
          "tcp.dstport", "udp.srcport", "udp.dstport", "icmp.type", "icmp.code", "icmpv6.type",
          "icmpv6.code", "ip.proto", "ipv6.nxt"]
ECHO_PAIRS = {8: 0, 0: 8, 128: 129, 129: 128}
PORTLESS = (2, 50)  # IGMP, ESP: flowed on the address pair, ports 0 in the labels


def first(v):
    # ICMP errors quote the probe: tshark lists outer, then inner values.
    return v.split(",")[0] if v else ""


def tshark_flows(pcap):
    """flow key -> [initiator (src, sport, dst, dport), first ts, last ts, packets]."""
    out = tshark("-r", pcap, "-T", "fields", "-E", "separator=\t", *sum((["-e", f] for f in FIELDS), []))
    flows = {}
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        ts = round(float(v["frame.time_epoch"]) * 1e6)
        v6 = bool(v["ipv6.src"])
        src, dst = first(v["ipv6.src"] if v6 else v["ip.src"]), first(v["ipv6.dst"] if v6 else v["ip.dst"])
        proto = int(first(v["ipv6.nxt"] if v6 else v["ip.proto"]))
        if proto == 6:
            sp, dp = int(first(v["tcp.srcport"])), int(first(v["tcp.dstport"]))
            key = (proto, *sorted([(src, sp), (dst, dp)]))
        elif proto == 17:
            sp, dp = int(first(v["udp.srcport"])), int(first(v["udp.dstport"]))
            key = (proto, *sorted([(src, sp), (dst, dp)]))
        elif proto in PORTLESS:
            sp = dp = 0
            key = (proto, *sorted([(src, 0), (dst, 0)]))
        else:
            t = int(first(v["icmpv6.type"] if v6 else v["icmp.type"]))
            c = int(first(v["icmpv6.code"] if v6 else v["icmp.code"]))
            sp, dp = t, c
            if t in ECHO_PAIRS:   # request and reply are one flow
                key = (proto, *sorted([(src, min(t, ECHO_PAIRS[t])), (dst, min(t, ECHO_PAIRS[t]))]))
            else:                 # one-way messages: type and code
                key = (proto, (src, t), (dst, c))
        f = flows.get(key)
        if f is None:
            flows[key] = [(src, sp, dst, dp), ts, ts, 1]
        else:
            f[2] = ts
            f[3] += 1
    return flows


def read_labels(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows


def label_key(r):
    proto, sp, dp = int(r["proto"]), int(r["src_port"]), int(r["dst_port"])
    if proto in (6, 17) + PORTLESS:
        return (proto, *sorted([(r["src_ip"], sp), (r["dst_ip"], dp)]))
    if sp in ECHO_PAIRS:
        m = min(sp, ECHO_PAIRS[sp])
        return (proto, *sorted([(r["src_ip"], m), (r["dst_ip"], m)]))
    return (proto, (r["src_ip"], sp), (r["dst_ip"], dp))


def us(text):
    sec, frac = text.split(".")
    return int(sec) * 1000000 + int(frac)


def conv_count(pcap, kind):
    out = tshark("-r", pcap, "-q", "-z", "conv," + kind)
    return sum(1 for line in out.splitlines() if "<->" in line)


def check_capture(pcap, labels, name):
    rows = read_labels(labels)
    with open(labels) as f:
        header = f.readline().strip()
    check(header == "label,class,proto,src_ip,src_port,dst_ip,dst_port,start,end",
          f"{name}: label header is '{header}'")
    for r in rows:
        check(r["label"] == "benign" or r["label"] == r["class"], f"{name}: label/class mismatch {r}")
    # tshark claims TCP port 57000 for IRC, a port Linux also hands out as an
    # ephemeral client port; the generator never speaks IRC.
    expert = tshark("-r", pcap, "-q", "-z", "expert", "--disable-protocol", "irc", *CHECKSUM_PREFS)
    # QUIC packets carry random bytes where their AEAD ciphertext would be, so
    # tshark's attempt to decrypt Initials fails its tag check ("Decryption
    # (checktag) failed: Checksum error"): not a header checksum.
    bad = [l for l in expert.splitlines()
           if ("Malformed" in l or "hecksum" in l or "Bad " in l) and l.strip()[:1].isdigit()
           and l.split()[1:3] != ["Decryption", "QUIC"]]
    check(not bad, f"{name}: tshark expert errors: {bad[:5]}")

    flows = tshark_flows(pcap)
    by_key = {}
    for r in rows:
        by_key.setdefault(label_key(r), []).append(r)
    matched = 0
    for key, (init, start, end, n) in flows.items():
        cands = by_key.get(key, [])
        if len(cands) != 1:
            check(False, f"{name}: flow {key} ({n} packets) matches {len(cands)} label rows")
            continue
        r = cands[0]
        check((r["src_ip"], int(r["src_port"])) == (init[0], init[1]),
              f"{name}: initiator of {key}: label {r['src_ip']}:{r['src_port']} tshark {init}")
        check(us(r["start"]) == start and us(r["end"]) == end,
              f"{name}: times of {key}: label {r['start']}..{r['end']} tshark {start}..{end}")
        matched += 1
    check(matched == len(rows) == len(flows),
          f"{name}: {len(flows)} tshark flows, {len(rows)} label rows, {matched} matched one-to-one")
    for kind, proto in (("tcp", "6"), ("udp", "17")):
        n_rows = sum(1 for r in rows if r["proto"] == proto)
        n_conv = conv_count(pcap, kind)
        check(n_conv == n_rows, f"{name}: tshark conv,{kind} lists {n_conv}, labels have {n_rows}")
    print(f"{name}: {sum(f[3] for f in flows.values())} packets, {len(flows)} tshark flows, "
          f"{len(rows)} label rows, {matched} matched one-to-one")
    return rows


def main():
    gen = sys.argv[1]
    if shutil.which("tshark") is None:
        print("tshark not installed: skipping")
        return 77
    with tempfile.TemporaryDirectory() as d:
        # Train: every class, a short window so bulk flows stay small.
        train = ["--profile", "train", "--flows", "700", "--duration", "8", "--attack-rate", "0.5"]
        a = generate(gen, d, "train_a", "--seed", "11", *train)
        b = generate(gen, d, "train_b", "--seed", "11", *train)
        c = generate(gen, d, "train_c", "--seed", "12", *train)
        check(filecmp.cmp(a[0], b[0], shallow=False), "same seed: pcaps differ")
        check(filecmp.cmp(a[1], b[1], shallow=False), "same seed: label files differ")
        check(not filecmp.cmp(a[0], c[0], shallow=False), "other seed: pcaps identical")
        rows = check_capture(*a, "train")
        classes = {r["class"] for r in rows}
        check(len(classes) >= 22, f"train: only {len(classes)} classes present: {sorted(classes)}")
        # IGMP and IPsec: every message kind present, dissected without
        # errors (IGMP checksums good), and flowed like the labels say.
        # Long enough for DPD and NAT-T keepalives (20 s of silence).
        p, l = generate(gen, d, "ipsec_igmp", "--profile", "train", "--seed", "5", "--classes",
                        "igmp,ipsec", "--flows", "200", "--duration", "120")
        check_capture(p, l, "ipsec_igmp")
        for flt, what in (("igmp.type == 0x11", "IGMP general query"),
                          ("igmp.type == 0x16", "IGMPv2 report"), ("igmp.type == 0x17", "IGMPv2 leave"),
                          ("igmp.type == 0x22", "IGMPv3 report"), ("ip.opt.ra", "Router Alert"),
                          ("isakmp.exchangetype == 34", "IKE_SA_INIT"), ("isakmp.exchangetype == 35", "IKE_AUTH"),
                          ("isakmp.exchangetype == 37", "IKE INFORMATIONAL"),
                          ("ip.proto == 50 && esp", "ESP"), ("udp.port == 4500 && esp", "ESP in UDP"),
                          ("udpencap.nat_keepalive", "NAT-T keepalive")):
            count = len(tshark("-r", p, "-Y", flt, "-T", "fields", "-e", "frame.number").split())
            check(count > 0, f"ipsec_igmp: no {what} packets")
        status = tshark("-r", p, "-Y", "igmp", "-T", "fields", "-e", "igmp.checksum.status").split()
        check(status and set(status) == {"1"}, f"ipsec_igmp: IGMP checksum status {set(status)} (1 = good)")
        bad_ttl = tshark("-r", p, "-Y", "igmp && ip.ttl != 1", "-T", "fields", "-e", "frame.number").split()
        check(not bad_ttl, f"ipsec_igmp: IGMP with TTL != 1 in frames {bad_ttl[:5]}")
        # ESP sequence numbers count up from 1 per SPI without gaps.
        seqs = {}
        for line in tshark("-r", p, "-Y", "esp", "-T", "fields", "-e", "esp.spi", "-e",
                           "esp.sequence").splitlines():
            spi, seq = line.split("\t")
            seqs.setdefault(spi, []).append(int(seq))
        check(seqs and all(v == list(range(1, len(v) + 1)) for v in seqs.values()),
              "ipsec_igmp: ESP sequence numbers are not 1, 2, 3, ... per SPI")
        # Stray packets: every kind present and dissected as its protocol,
        # and flowed like the labels say (the DHCP DISCOVERs of different
        # clients share one 5-tuple, so they are one flow, as in real traffic).
        p, l = generate(gen, d, "stray", "--profile", "train", "--seed", "7", "--classes", "stray",
                        "--flows", "300", "--duration", "120")
        check_capture(p, l, "stray")
        for flt, what in (("dhcp.option.dhcp == 1 && eth.dst == ff:ff:ff:ff:ff:ff", "DHCP DISCOVER broadcast"),
                          ("dhcp.option.dhcp == 3", "DHCP REQUEST"), ("dhcp.flags.bc == 1", "DHCP broadcast flag"),
                          ("dhcp.option.dhcp == 2 || dhcp.option.dhcp == 5", "DHCP OFFER or ACK"),
                          ("nbns.flags.broadcast == 1 && udp.srcport == 137", "NetBIOS name query"),
                          ("dns.flags.response == 1 && udp.length > 300", "large DNS answer"),
                          ("dns.flags.response == 0", "DNS query"), ("ntp.flags.mode == 3", "NTP client poll"),
                          ("tcp.flags == 0x014", "RST+ACK"), ("tcp.flags == 0x010 && tcp.len <= 1", "keepalive"),
                          ("icmp.type == 3 && icmp.code == 3", "ICMP port unreachable")):
            count = len(tshark("-r", p, "-Y", flt, "-T", "fields", "-e", "frame.number").split())
            check(count > 0, f"stray: no {what} packets")
        bad = tshark("-r", p, *CHECKSUM_PREFS, "-Y", "_ws.malformed && !ssh", "-T", "fields", "-e",
                     "frame.number").split()
        check(not bad, f"stray: malformed packets (other than SSH keepalive bytes) in frames {bad[:5]}")
        # Bench: exact packet count, IPv6 and VLAN present, heavy-tailed sizes.
        n = 40000
        p, l = generate(gen, d, "bench", "--profile", "bench", "--seed", "3", "--packets", str(n),
                        "--duration", "4")
        frames = int(tshark("-r", p, "-T", "fields", "-e", "frame.number").split()[-1])
        check(frames == n, f"bench: tshark counts {frames} frames, asked for {n}")
        for flt, what in (("ipv6", "IPv6"), ("vlan", "802.1Q"), ("tcp.flags.reset==1", "RST"),
                          ("tcp.flags.fin==1", "FIN"), ("icmp", "ICMP")):
            count = len(tshark("-r", p, "-Y", flt, "-T", "fields", "-e", "frame.number").split())
            check(count > 0, f"bench: no {what} packets")
        check_capture(p, l, "bench")
    print(f"{0 if failures else 1} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
