"""A fixed split of the real captures, and what each capture is for (issue 13).

Reads ../shared/data/pcaps/MANIFEST.tsv (tab-separated, CSV quoting; columns
group, local_path, source_repo, source_path, commit, packets, label_notes,
license) and gives every capture three properties. All three depend on the
capture's own row only, so adding captures never moves an existing one.

1. Part: "eval" or "train", by file.
       part = "eval" if sha256(local_path as UTF-8).digest()[0] < 128 else "train"
   local_path exactly as MANIFEST.tsv writes it, e.g. "A/nDPI/443-chrome.pcap".
   Today this puts 280 of the 560 group A captures and 41 of the 93 group B
   captures (9 of the 19 in scope) in "eval". Train on "train" only; report
   on "eval".

2. Malformed: a fuzzed or malformed-packet capture, counted separately.
   True when, case-insensitively,
   - local_path matches one of PATH_PATTERNS: "fuzz" (fuzzer-made or
     fuzzer-found inputs: fuzz-*, ossfuzz*), "crash" (crash reproducers),
     "malformed", "truncat", a directory named "trunc/" (zeek's truncation
     traces), "bad[-_]chksum" (packets with corrupted checksums);
   - or label_notes matches one of NOTES_PATTERNS: "malformed packet" (an
     nDPI risk its own run reported), "malformed tcp options";
   - and local_path is not in NOT_MALFORMED, the captures whose keyword is
     about something other than their packets.
   Deliberately not malformed: payload-level oddities of well-formed packets
   ("invalid" DNS names or opcodes, SMTP BDAT, "bad" PostgreSQL or NFS
   messages), fragmented but valid traffic (IP, TLS, QUIC, DNS fragments),
   an ICMP error quoting a truncated packet (zeek icmp6-destunreach-ip6ext-
   trunc, normal for ICMP), SMB2 "trunc-file-logging" (file logging), and
   the THC-IPv6 group note "(malformed fragments, ...)" that B's
   ipv6-evasion captures share (their paths decide: ipv6-malformed-fragments-*
   are malformed, rsmurf, ext-header DoS and atomic fragments are not).

3. Family: what a group B capture should be detected as, from label_notes.
   The category is the text of label_notes before its first ":"; remarks in
   [brackets] are ignored (StopDDoS notes explain the naming scheme there,
   naming both "amplification" and "spoofed/direct" on every capture).
   - "bruteforce": label_notes mentions "brute" or "password guess";
   - "amplification": category DDoS or DoS and label_notes says
     "amplification" or "reflection" (StopDDoS amp.*);
   - "flood": any other DDoS or DoS category (StopDDoS pkt.*: direct/spoofed
     floods, suricata-verify dnp3-flood);
   - "scan": a category starting with "scan" ("scan", "scan/OS
     fingerprinting", "scan-like": nmap, X-Scan, xprobe2, detection_filter);
   - PATH_FAMILY: two THC-IPv6 captures whose shared group note lists
     "ext-header DoS, smurf/rsmurf" among evasion cases, decided by path:
     ipv6-dos-with-ext-headers (35,690 AH echo requests, one source to one
     host: a direct flood) and ipv6-rsmurf (1,000 echo requests to ff02::1
     from ff02::1: a smurf, i.e. reflection);
   - otherwise "out_of_scope": single exploits (EvilFingers Praveen and
     Ravinder, Aurora, Log4j, URGENT/11; "Denial of Service" in an exploit's
     name is one request, not a flood), malware traffic and transfers,
     evasion cases and weak crypto. Flow statistics cannot see payload.
   Group A captures are "benign".

usage: /usr/bin/python3 capture_split.py [MANIFEST.tsv] [--summary]
prints part, group, family, malformed and path of every capture, then counts.
"""
import collections
import csv
import hashlib
import os
import re
import sys

DEFAULT_MANIFEST = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "../../../shared/data/pcaps/MANIFEST.tsv"))
PARTS = ("train", "eval")
FAMILIES = ("flood", "amplification", "scan", "bruteforce")

PATH_PATTERNS = [r"fuzz", r"crash", r"malformed", r"truncat", r"(^|/)trunc/", r"bad[-_]chksum"]
NOTES_PATTERNS = [r"malformed packet", r"malformed tcp options"]
NOT_MALFORMED = {
    # A Word document with a malformed drawing object, carried by well-formed TCP.
    "B/markofu/EvilFingers/Praveen/CVE-2007-0515_Word_Document_Malformed_Drawing_Object_Code_Execution__Vulnerability.pcap",
}
PATH_FAMILY = {
    "B/suricata-verify/tests/ipv6-evasion/ipv6-dos-with-ext-headers-5/denial6-5.pcap": "flood",
    "B/suricata-verify/tests/ipv6-evasion/ipv6-rsmurf/rsmurf6.pcap": "amplification",
}


def part(local_path):
    """"eval" or "train": the first byte of SHA-256 of the manifest's local_path."""
    return "eval" if hashlib.sha256(local_path.encode("utf-8")).digest()[0] < 128 else "train"


def malformed_reason(local_path, notes):
    """The pattern that makes the capture malformed, or None."""
    if local_path in NOT_MALFORMED:
        return None
    for pat in PATH_PATTERNS:
        if re.search(pat, local_path, re.I):
            return f"path:{pat}"
    for pat in NOTES_PATTERNS:
        if re.search(pat, notes, re.I):
            return f"notes:{pat}"
    return None


def malformed(local_path, notes):
    return malformed_reason(local_path, notes) is not None


def family(group, local_path, notes):
    if group != "B":
        return "benign"
    n = re.sub(r"\[[^\]]*\]", "", notes).lower()  # bracketed remarks describe the source's naming scheme
    category = n.split(":", 1)[0].strip()
    if re.search(r"brute|password guess", n):
        return "bruteforce"
    if category in ("ddos", "dos"):
        return "amplification" if re.search(r"amplification|reflection", n) else "flood"
    if category.startswith("scan"):
        return "scan"
    return PATH_FAMILY.get(local_path, "out_of_scope")


def read_manifest(path=DEFAULT_MANIFEST):
    """Rows of MANIFEST.tsv as dicts, with part, malformed, malformed_reason and family added."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    head, out = rows[0], []
    for r in rows[1:]:
        if len(r) < 7:
            continue
        d = dict(zip(head, r))
        d["part"] = part(d["local_path"])
        d["malformed_reason"] = malformed_reason(d["local_path"], d["label_notes"])
        d["malformed"] = d["malformed_reason"] is not None
        d["family"] = family(d["group"], d["local_path"], d["label_notes"])
        out.append(d)
    return out


def capture_paths(rows, manifest, part_name, group, with_malformed=False):
    """Absolute paths of the captures of one part and group, in MANIFEST order."""
    root = os.path.dirname(os.path.abspath(manifest))
    return [os.path.join(root, d["local_path"]) for d in rows
            if d["part"] == part_name and d["group"] == group and (with_malformed or not d["malformed"])]


def main():
    argv = sys.argv[1:]
    if argv[:1] == ["--paths"]:
        # --paths PART GROUP [--with-malformed] [MANIFEST]: one capture path per
        # line, the input of `flowscore extract --pcap-list` (scripts/pipeline --real).
        if len(argv) < 3 or argv[1] not in PARTS[:2] or argv[2] not in ("A", "B"):
            sys.exit("usage: capture_split.py --paths train|eval A|B [--with-malformed] [MANIFEST]")
        rest = [a for a in argv[3:] if a != "--with-malformed"]
        manifest = rest[0] if rest else DEFAULT_MANIFEST
        for path in capture_paths(read_manifest(manifest), manifest, argv[1], argv[2],
                                  "--with-malformed" in argv):
            print(path)
        return
    args = [a for a in argv if a != "--summary"]
    rows = read_manifest(args[0] if args else DEFAULT_MANIFEST)
    if "--summary" not in sys.argv:
        print("part\tgroup\tfamily\tmalformed\tlocal_path")
        for d in rows:
            print(f"{d['part']}\t{d['group']}\t{d['family']}\t{d['malformed_reason'] or '-'}\t{d['local_path']}")
        print()
    counts = collections.Counter((d["group"], d["family"], d["part"]) for d in rows)
    mal = collections.Counter((d["group"], d["part"]) for d in rows if d["malformed"])
    print(f"{'group':6} {'family':14} {'train':>6} {'eval':>6} {'all':>6}")
    for g, fam in sorted({(g, f) for g, f, _ in counts}):
        n = [counts[(g, fam, p)] for p in PARTS]
        print(f"{g:6} {fam:14} {n[0]:6} {n[1]:6} {sum(n):6}")
    for g in sorted({d["group"] for d in rows}):
        n = [mal[(g, p)] for p in PARTS]
        print(f"{g:6} {'malformed':14} {n[0]:6} {n[1]:6} {sum(n):6}")


if __name__ == "__main__":
    main()
