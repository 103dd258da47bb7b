"""Bidirectional flow records and their lifecycle (issue 2 §3, FEATURES.md §1).

Deliberately naive: every record keeps its whole packet list, and expiry is
an exact per-packet check against a global clock (the largest timestamp seen
so far, i.e. "packet time offline"), with no timer-wheel granularity.
"""
import heapq
from dataclasses import dataclass, field

from .decode import PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP

NS = 1_000_000_000
TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10

# Community ID v1 (corelight/community-id-spec): ICMP types that have a
# counterpart map to (type, counterpart) and pair up in both directions;
# every other type is one-way and keyed as (type, code) without reordering.
ICMP4_COUNTERPART = {0: 8, 8: 0, 9: 10, 10: 9, 13: 14, 14: 13, 15: 16, 16: 15,
                     17: 18, 18: 17}
ICMP6_COUNTERPART = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135,
                     130: 131, 131: 130, 144: 145, 145: 144, 146: 147, 147: 146}


@dataclass
class Timeouts:
    idle_ns: int = 60 * NS
    active_ns: int = 1800 * NS
    tcp_linger_ns: int = 2 * NS
    fragment_ns: int = 30 * NS


@dataclass
class Record:
    key: tuple
    serial: int           # identifies this record among those sharing a key
    proto: int
    src: bytes            # initiator side (FEATURES.md §1)
    sport: int
    dst: bytes
    dport: int
    first_ts: int
    last_ts: int
    packets: list = field(default_factory=list)   # (Packet, is_forward)
    fin_fwd: bool = False
    fin_bwd: bool = False
    closed_at: int = None
    reason: str = ""

    def deadline(self, t):
        candidates = [self.last_ts + t.idle_ns, self.first_ts + t.active_ns]
        if self.closed_at is not None:
            candidates.append(self.closed_at + t.tcp_linger_ns)
        return min(candidates)


def endpoint_ports(pkt):
    """(sport, dport, one_way) as the flow key sees them."""
    if pkt.proto in (PROTO_TCP, PROTO_UDP, PROTO_SCTP):
        return pkt.sport, pkt.dport, False
    if pkt.proto in (PROTO_ICMP, PROTO_ICMPV6):
        table = ICMP4_COUNTERPART if pkt.proto == PROTO_ICMP else ICMP6_COUNTERPART
        icmp_type, code = pkt.sport, pkt.dport
        if icmp_type in table:
            return icmp_type, table[icmp_type], False
        return icmp_type, code, True
    return 0, 0, False


def flow_key(proto, src, sport, dst, dport, one_way):
    a, b = (src, sport), (dst, dport)
    if one_way:
        return (proto, a, b, True)
    return (proto,) + ((a, b) if a <= b else (b, a)) + (False,)


class FlowTable:
    def __init__(self, timeouts):
        self.t = timeouts
        self.records = {}                 # key -> open Record
        self.fragments = {}               # (src, dst, proto, id) -> (ts, sport, dport, one_way)
        self.clock = None
        self._deadlines = []              # heap of (deadline, seq, key, record serial)
        self._seq = 0
        self._serial = 0
        self.finished = []
        self.counters = {}

    def _count(self, what):
        self.counters[what] = self.counters.get(what, 0) + 1

    def add(self, pkt):
        self.clock = pkt.ts_ns if self.clock is None else max(self.clock, pkt.ts_ns)
        self._expire(self.clock)
        ports = self._ports_of(pkt)
        if ports is None:
            self._count("fragment-unattributed")
            return
        sport, dport, one_way = ports
        key = flow_key(pkt.proto, pkt.src, sport, pkt.dst, dport, one_way)
        rec = self.records.get(key)
        if rec is None:
            rec = self._open(key, pkt, sport, dport)
        forward = (pkt.src, sport) == (rec.src, rec.sport)
        rec.packets.append((pkt, forward))
        rec.last_ts = max(rec.last_ts, pkt.ts_ns)
        if pkt.tcp and rec.closed_at is None:
            if pkt.flags & TCP_FIN:
                if forward:
                    rec.fin_fwd = True
                else:
                    rec.fin_bwd = True
            if pkt.flags & TCP_RST or (rec.fin_fwd and rec.fin_bwd):
                rec.closed_at = pkt.ts_ns
        self._schedule(rec)

    def _ports_of(self, pkt):
        if pkt.fragment == "later":
            entry = self.fragments.get((pkt.src, pkt.dst, pkt.proto, pkt.frag_id))
            if entry is None or pkt.ts_ns - entry[0] > self.t.fragment_ns:
                return None
            return entry[1:]
        ports = endpoint_ports(pkt)
        if pkt.fragment == "first":
            self.fragments[(pkt.src, pkt.dst, pkt.proto, pkt.frag_id)] = (pkt.ts_ns,) + ports
        return ports

    def _open(self, key, pkt, sport, dport):
        src, s_port, dst, d_port = pkt.src, sport, pkt.dst, dport
        if pkt.tcp and pkt.flags & TCP_SYN and pkt.flags & TCP_ACK:
            # SYN-ACK first: the initiator is the SYN sender we did not see.
            src, s_port, dst, d_port = dst, d_port, src, s_port
        self._serial += 1
        rec = Record(key=key, serial=self._serial, proto=pkt.proto, src=src, sport=s_port, dst=dst, dport=d_port,
                     first_ts=pkt.ts_ns, last_ts=pkt.ts_ns)
        self.records[key] = rec
        return rec

    def _schedule(self, rec):
        self._seq += 1
        heapq.heappush(self._deadlines, (rec.deadline(self.t), self._seq, rec.key, rec.serial))

    def _expire(self, now):
        # A record ends once the clock is strictly past its deadline: a packet
        # exactly idle_timeout after the last one still belongs to the record.
        while self._deadlines and self._deadlines[0][0] < now:
            deadline, _, key, serial = heapq.heappop(self._deadlines)
            rec = self.records.get(key)
            if rec is None or rec.serial != serial or rec.deadline(self.t) != deadline:
                continue  # stale heap entry
            self._finish(rec, self._reason(rec, deadline))

    def _reason(self, rec, deadline):
        if rec.closed_at is not None and deadline == rec.closed_at + self.t.tcp_linger_ns:
            return "tcp-close"
        if deadline == rec.first_ts + self.t.active_ns:
            return "active-timeout"
        return "idle-timeout"

    def _finish(self, rec, reason):
        rec.reason = reason
        del self.records[rec.key]
        self.finished.append(rec)

    def flush(self):
        for rec in list(self.records.values()):
            self._finish(rec, "end-of-input")
        self._deadlines = []
