"""Decode one captured frame down to its outermost IP header and L4 header.

Returns a Packet with exactly the per-packet inputs of docs/FEATURES.md §2
(plus the addresses and ports the flow key needs), or a drop reason string.
Every read is checked against the captured length first; a frame too short
for a header this reference needs is dropped, never guessed at.
"""
import struct
from dataclasses import dataclass

# pcap LINKTYPE_* values (tcpdump.org/linktypes.html)
LINK_NULL = 0        # BSD loopback, host-order AF_ value
LINK_ETHERNET = 1
LINK_RAW = 101       # raw IPv4 or IPv6, version nibble decides
LINK_LOOP = 108      # OpenBSD loopback, network-order AF_ value
LINK_SLL = 113       # Linux cooked capture v1
LINK_SLL2 = 276      # Linux cooked capture v2
LINK_IPV4 = 228
LINK_IPV6 = 229
SUPPORTED_LINK_TYPES = {LINK_NULL, LINK_ETHERNET, LINK_RAW, LINK_LOOP,
                        LINK_SLL, LINK_SLL2, LINK_IPV4, LINK_IPV6}

ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
# Tags between a MAC header and its payload that end in the next EtherType:
# bytes after the EtherType that announces them, that next EtherType included.
ETH_TAG_LEN = {
    0x8100: 4, 0x88A8: 4, 0x9100: 4,  # 802.1Q, 802.1ad, legacy QinQ: TCI
    0x8926: 6,                         # Cisco VN-Tag: 4-byte tag
    0x893F: 8,                         # IEEE 802.1BR E-Tag: 6-byte E-TCI
    0x8903: 16,                        # Cisco FabricPath: FTag/TTL, inner DA and SA
}
ETH_MPLS = {0x8847, 0x8848}
ETH_PPPOE_SESSION = 0x8864                         # RFC 2516
PPP_IPV4, PPP_IPV6 = 0x0021, 0x0057
# AF_INET6 differs per OS in DLT_NULL headers: Linux 10, BSDs 24/28/30.
AF_INET = 2
AF_INET6 = {10, 24, 28, 30}

PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ICMPV6, PROTO_SCTP = 1, 6, 17, 58, 132
IPV6_NO_NEXT_HEADER = 59
# IPv6 extension headers walked to reach the upper layer (issue 2 §2):
# hop-by-hop 0, routing 43, destination options 60 (RFC 8200 §4), AH 51
# (RFC 4302 §2.2), fragment 44 handled separately.
IPV6_EXT_GENERIC = {0, 43, 60}
IPV6_EXT_FRAGMENT = 44
IPV6_EXT_AH = 51
L4_HEADER_LEN = {PROTO_TCP: 20, PROTO_UDP: 8, PROTO_SCTP: 12, PROTO_ICMP: 8, PROTO_ICMPV6: 8}
# Captured L4 bytes a flowed frame must hold (FEATURES.md §2): what is read.
# TCP through the window, UDP/SCTP ports, ICMP type and code.
L4_FIELDS_LEN = {PROTO_TCP: 16, PROTO_UDP: 4, PROTO_SCTP: 4, PROTO_ICMP: 2, PROTO_ICMPV6: 2}


@dataclass
class Packet:
    ts_ns: int
    captured: int          # bytes of the frame the capture kept
    l3_offset: int         # offset of the outermost IP header in the frame
    ip_len: int            # docs/FEATURES.md §2 ip_len (uncapped)
    src: bytes
    dst: bytes
    proto: int
    payload: int
    fragment: str          # "none", "first" or "later" (non-first)
    frag_id: int           # IPv4/IPv6 identification when fragmented
    sport: int = 0         # ports, or ICMP type/code, when the L4 header was parsed
    dport: int = 0
    tcp: bool = False
    flags: int = 0
    win: int = 0
    snaplen: int = 0       # the capture's snap length; 0 = none, every frame is whole

    @property
    def wire(self):
        """docs/FEATURES.md §4: a frame shorter than the snap length was
        captured whole; only a frame cut at the snap length takes its size from
        the IP header."""
        if self.snaplen == 0 or self.captured < self.snaplen:
            return self.captured
        return max(self.captured, self.l3_offset + self.ip_len)


def decode(link_type, ts_ns, frame, snaplen):
    """Packet, or a str naming why the frame is not flowed."""
    l3 = _find_l3(link_type, frame)
    if isinstance(l3, str):
        return l3
    offset, version = l3
    pkt = _decode_ipv4(ts_ns, frame, offset) if version == 4 else _decode_ipv6(ts_ns, frame, offset)
    if isinstance(pkt, Packet):
        pkt.snaplen = snaplen
    return pkt


def _find_l3(link_type, frame):
    """(offset of the outermost IP header, IP version) or a drop reason."""
    n = len(frame)
    if link_type == LINK_ETHERNET:
        if n < 14:
            return "truncated-link"
        return _after_ethertype(frame, 12)
    if link_type == LINK_SLL:
        if n < 16:
            return "truncated-link"
        return _after_ethertype(frame, 14)
    if link_type == LINK_SLL2:
        if n < 20:
            return "truncated-link"
        ethertype = struct.unpack_from(">H", frame, 0)[0]
        return _ip_by_ethertype(frame, ethertype, 20)
    if link_type in (LINK_NULL, LINK_LOOP):
        if n < 4:
            return "truncated-link"
        if link_type == LINK_LOOP:
            family = struct.unpack_from(">I", frame, 0)[0]
        else:
            # Host byte order of the capturing machine: the value is small,
            # so whichever order gives a value < 65536 is the right one.
            family = struct.unpack_from("<I", frame, 0)[0]
            if family > 0xFFFF:
                family = struct.unpack_from(">I", frame, 0)[0]
        if family == AF_INET:
            return _ip_by_version(frame, 4, 4)
        if family in AF_INET6:
            return _ip_by_version(frame, 4, 6)
        return "non-ip"
    if link_type == LINK_RAW:
        return _ip_by_version(frame, 0, None)
    if link_type == LINK_IPV4:
        return _ip_by_version(frame, 0, 4)
    if link_type == LINK_IPV6:
        return _ip_by_version(frame, 0, 6)
    return "unsupported-link-type"


def _after_ethertype(frame, type_offset):
    """The EtherType at type_offset announces what follows it."""
    if type_offset + 2 > len(frame):
        return "truncated-link"
    ethertype = struct.unpack_from(">H", frame, type_offset)[0]
    return _ip_by_ethertype(frame, ethertype, type_offset + 2)


def _ip_by_ethertype(frame, ethertype, off):
    """`ethertype` announces the bytes at `off` (FEATURES.md §2, which frames
    are packets): tags that end in the next EtherType, then IP, PPPoE or MPLS."""
    while ethertype in ETH_TAG_LEN:
        size = ETH_TAG_LEN[ethertype]
        if off + size > len(frame):
            return "truncated-link"
        ethertype = struct.unpack_from(">H", frame, off + size - 2)[0]
        off += size
    if ethertype == ETH_IPV4:
        return _ip_by_version(frame, off, 4)
    if ethertype == ETH_IPV6:
        return _ip_by_version(frame, off, 6)
    if ethertype in ETH_MPLS:
        # RFC 3032: 4-byte label stack entries until bottom-of-stack; the
        # payload's first nibble then tells IPv4 from IPv6.
        while True:
            if off + 4 > len(frame):
                return "truncated-link"
            entry = struct.unpack_from(">I", frame, off)[0]
            off += 4
            if entry & 0x100:
                return _ip_by_version(frame, off, None)
    if ethertype == ETH_PPPOE_SESSION:
        # RFC 2516 §4: 6-byte PPPoE header, then the 2-byte PPP protocol.
        if off + 8 > len(frame):
            return "truncated-link"
        ppp = struct.unpack_from(">H", frame, off + 6)[0]
        if ppp == PPP_IPV4:
            return _ip_by_version(frame, off + 8, 4)
        if ppp == PPP_IPV6:
            return _ip_by_version(frame, off + 8, 6)
        return "non-ip"
    return "non-ip"


def _ip_by_version(frame, off, expected):
    if off + 1 > len(frame):
        return "truncated-ip"
    version = frame[off] >> 4
    if version not in (4, 6) or (expected is not None and version != expected):
        return "non-ip" if expected is None else "bad-ip-version"
    return off, version


def _ip_len_or_captured(field_len, frame, off):
    """§2: a zero length field means 'the captured bytes from the IP header on'."""
    return field_len if field_len != 0 else len(frame) - off


def _decode_ipv4(ts_ns, frame, off):
    if off + 20 > len(frame):
        return "truncated-ip"
    ihl = (frame[off] & 0x0F) * 4
    if ihl < 20:
        return "malformed-ip"
    if off + ihl > len(frame):
        return "truncated-ip"
    total_len = struct.unpack_from(">H", frame, off + 2)[0]
    ip_len = _ip_len_or_captured(total_len, frame, off)
    if ip_len < ihl:
        return "malformed-ip"
    ident, frag_word = struct.unpack_from(">HH", frame, off + 4)
    proto = frame[off + 9]
    src, dst = bytes(frame[off + 12:off + 16]), bytes(frame[off + 16:off + 20])
    more_fragments = bool(frag_word & 0x2000)
    frag_offset = frag_word & 0x1FFF
    fragment = "later" if frag_offset else ("first" if more_fragments else "none")
    pkt = Packet(ts_ns=ts_ns, captured=len(frame), l3_offset=off, ip_len=ip_len,
                 src=src, dst=dst, proto=proto, payload=0, fragment=fragment, frag_id=ident)
    return _decode_l4(pkt, frame, off + ihl, ip_len - ihl)


def _decode_ipv6(ts_ns, frame, off):
    if off + 40 > len(frame):
        return "truncated-ip"
    payload_len = struct.unpack_from(">H", frame, off + 4)[0]
    next_header = frame[off + 6]
    if payload_len == 0 and next_header != IPV6_NO_NEXT_HEADER:
        ip_len = len(frame) - off
    else:
        ip_len = 40 + payload_len
    src, dst = bytes(frame[off + 8:off + 24]), bytes(frame[off + 24:off + 40])
    hdr_end = off + 40          # end of IPv6 header + extension headers so far
    fragment, frag_id = "none", 0
    while True:
        if next_header in IPV6_EXT_GENERIC or next_header == IPV6_EXT_AH:
            if hdr_end + 2 > len(frame):
                return "truncated-ip"
            nh, ext_len = frame[hdr_end], frame[hdr_end + 1]
            size = (ext_len + 2) * 4 if next_header == IPV6_EXT_AH else (ext_len + 1) * 8
            next_header, hdr_end = nh, hdr_end + size
            continue
        if next_header == IPV6_EXT_FRAGMENT:
            if hdr_end + 8 > len(frame):
                return "truncated-ip"
            nh = frame[hdr_end]
            frag_word, ident = struct.unpack_from(">HI", frame, hdr_end + 2)
            frag_offset, more = frag_word >> 3, bool(frag_word & 1)
            next_header, hdr_end = nh, hdr_end + 8
            if frag_offset:
                fragment, frag_id = "later", ident
                break  # the rest is fragment data, not headers
            if more:
                fragment, frag_id = "first", ident
            continue
        break
    ext_total = hdr_end - off
    if ext_total > ip_len:
        return "malformed-ip"
    pkt = Packet(ts_ns=ts_ns, captured=len(frame), l3_offset=off, ip_len=ip_len,
                 src=src, dst=dst, proto=next_header, payload=0, fragment=fragment,
                 frag_id=frag_id)
    return _decode_l4(pkt, frame, hdr_end, ip_len - ext_total)


def _decode_l4(pkt, frame, l4_off, l4_len):
    """Fill ports/flags/window/payload; l4_len = IP-length bytes after the IP headers."""
    header_len = L4_HEADER_LEN.get(pkt.proto)
    if header_len is None:
        return pkt  # §2: payload 0 for any other protocol, fragments included
    if pkt.fragment == "later":
        pkt.payload = l4_len  # §2: the fragment's data after the IP header(s)
        return pkt
    if l4_off + L4_FIELDS_LEN[pkt.proto] > len(frame):
        return "truncated-l4"
    if pkt.proto == PROTO_TCP:
        pkt.sport, pkt.dport = struct.unpack_from(">HH", frame, l4_off)
        data_offset = (frame[l4_off + 12] >> 4) * 4
        if data_offset < 20:
            return "malformed-l4"
        header_len = data_offset
        pkt.tcp = True
        pkt.flags = frame[l4_off + 13]
        pkt.win = struct.unpack_from(">H", frame, l4_off + 14)[0]
    elif pkt.proto in (PROTO_UDP, PROTO_SCTP):
        pkt.sport, pkt.dport = struct.unpack_from(">HH", frame, l4_off)
    else:  # ICMP / ICMPv6: type and code stand in for ports (flows.py maps them)
        pkt.sport, pkt.dport = frame[l4_off], frame[l4_off + 1]
    if l4_len < header_len:
        return "malformed-l4"
    pkt.payload = l4_len - header_len
    return pkt

