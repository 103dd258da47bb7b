"""Bidirectional flow records and their lifecycle.

Sources: issue 2 §3, docs/FEATURES.md §1 (initiator) and the "Flow table"
section of docs/ARCHITECTURE.md (deadlines, tick boundaries, TCP close and
linger, SYN on a closed flow, active timeout keeping the orientation).

Deliberately naive: every record keeps its whole packet list, and expiry is
checked before every packet against a global clock, the largest timestamp
seen so far ("packet time offline"); no bursts, no wheel slots.
"""
import heapq
from dataclasses import dataclass, field

from .decode import PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP
from .pairs import PairCounts

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
    resolution_ns: int = NS // 10   # flow.expiry_resolution; 0 = exact deadlines
    pair_window_ns: int = 60 * NS   # features.pair_window (FEATURES.md §7a)

    def end_time(self, deadline):
        """ARCHITECTURE.md: a flow ends at the first tick boundary after its
        deadline (ticks on the epoch grid). Packets at or after it are not its."""
        if self.resolution_ns == 0:
            return deadline + 1
        return (deadline // self.resolution_ns + 1) * self.resolution_ns


@dataclass
class Record:
    """One flow record: what features are computed over."""
    proto: int
    src: bytes            # initiator side (FEATURES.md §1)
    sport: int
    dst: bytes
    dport: int
    first_ts: int
    serial: int
    packets: list = field(default_factory=list)   # (Packet, is_forward)
    pair_flows: int = 0   # FEATURES.md §7a, fixed when the record starts
    last_ts: int = 0
    reason: str = ""


@dataclass
class Entry:
    """A flow table entry: outlives a record across an active timeout."""
    key: tuple
    proto: int
    src: bytes
    sport: int
    dst: bytes
    dport: int
    serial: int
    last_ts: int
    record: Record = None
    fin_fwd: bool = False
    fin_bwd: bool = False
    closed: bool = False

    def deadline(self, t):
        """(deadline, reason) per ARCHITECTURE.md 'Lifecycle': a closed
        connection lingers instead of idling, and the active timeout bounds
        every record, closed or not."""
        quiet = self.last_ts + (t.tcp_linger_ns if self.closed else t.idle_ns)
        if self.record is not None and self.record.first_ts + t.active_ns < quiet:
            return self.record.first_ts + t.active_ns, "active-timeout"
        return quiet, "tcp-close" if self.closed else "idle-timeout"


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
        self.entries = {}                 # key -> Entry
        self.fragments = {}               # (src, dst, proto, id) -> (ts, sport, dport, one_way)
        self.clock = None
        self._due = []                    # heap of (end time, seq, key, entry serial)
        self._seq = 0
        self._serial = 0
        self.finished = []
        self.counters = {}
        self.pairs = PairCounts(timeouts.pair_window_ns)

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
        entry = self.entries.get(key)
        if entry is not None and entry.closed and pkt.tcp and \
                pkt.flags & TCP_SYN and not pkt.flags & TCP_ACK:
            # ARCHITECTURE.md: a new SYN on a closed flow ends the old record.
            self._end(entry, "tcp-reuse")
            entry = None
        begins_flow = entry is None
        if begins_flow:
            entry = self._open(key, pkt, sport, dport)
        if entry.record is None:
            # First packet of a record; after an active timeout the entry,
            # and so the orientation, carries over (ARCHITECTURE.md).
            self._serial += 1
            entry.record = Record(proto=entry.proto, src=entry.src, sport=entry.sport,
                                  dst=entry.dst, dport=entry.dport, first_ts=pkt.ts_ns,
                                  serial=self._serial,
                                  pair_flows=self.pairs.record_starts(entry.src, entry.dst, pkt.ts_ns,
                                                                      begins_flow))
        forward = (pkt.src, sport) == (entry.src, entry.sport)
        entry.record.packets.append((pkt, forward))
        entry.record.last_ts = max(entry.record.last_ts, pkt.ts_ns)
        entry.last_ts = max(entry.last_ts, pkt.ts_ns)
        if pkt.tcp:
            if pkt.flags & TCP_FIN:
                if forward:
                    entry.fin_fwd = True
                else:
                    entry.fin_bwd = True
            if pkt.flags & TCP_RST or (entry.fin_fwd and entry.fin_bwd):
                entry.closed = True
        self._schedule(entry)

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
        entry = Entry(key=key, proto=pkt.proto, src=src, sport=s_port, dst=dst, dport=d_port,
                      serial=self._serial, last_ts=pkt.ts_ns)
        self.entries[key] = entry
        return entry

    def _schedule(self, entry):
        self._seq += 1
        end = self.t.end_time(entry.deadline(self.t)[0])
        heapq.heappush(self._due, (end, self._seq, entry.key, entry.serial))

    def _expire(self, now):
        while self._due and self._due[0][0] <= now:
            end, _, key, serial = heapq.heappop(self._due)
            entry = self.entries.get(key)
            if entry is None or entry.serial != serial:
                continue  # that entry is gone
            deadline, reason = entry.deadline(self.t)
            if self.t.end_time(deadline) != end:
                continue  # stale: a later packet moved the deadline
            if reason == "active-timeout":
                self._emit(entry, reason)
                self._schedule(entry)   # the entry stays until it idles out
            else:
                self._end(entry, reason)

    def _emit(self, entry, reason):
        if entry.record is not None:
            entry.record.reason = reason
            self.finished.append(entry.record)
            entry.record = None

    def _end(self, entry, reason):
        self._emit(entry, reason)
        del self.entries[entry.key]

    def flush(self):
        for entry in list(self.entries.values()):
            self._end(entry, "end-of-input")
        self._due = []
