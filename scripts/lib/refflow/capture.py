"""Read pcap and pcapng files as CapturedFrame records.

Hand-written instead of dpkt's readers because those return timestamps as
binary64 seconds, which cannot hold nanoseconds since 1970 exactly; the
features are defined on integer nanoseconds (docs/FEATURES.md §2).
Formats: classic pcap (draft-ietf-opsawg-pcap) and pcapng
(draft-ietf-opsawg-pcapng): SHB, IDB (if_tsresol, if_tsoffset), EPB, SPB, OPB.
"""
import struct
from typing import NamedTuple

PCAP_MAGIC_USEC = 0xA1B2C3D4
PCAP_MAGIC_NSEC = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D


class CaptureError(Exception):
    """The file is not a capture this reader understands."""


class CapturedFrame(NamedTuple):
    link_type: int
    snaplen: int       # the capture's snap length for this frame, 0 = none (FEATURES.md §4)
    ts_ns: int
    frame: bytes       # the captured bytes only; the record's original length is not used (§4)


def read_records(path):
    """Yield a CapturedFrame for every packet record in the file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise CaptureError("file shorter than a magic number")
    magic_le = struct.unpack_from("<I", data, 0)[0]
    if magic_le == PCAPNG_SHB:
        yield from _read_pcapng(data)
        return
    for order in ("<", ">"):
        magic = struct.unpack_from(order + "I", data, 0)[0]
        if magic in (PCAP_MAGIC_USEC, PCAP_MAGIC_NSEC):
            yield from _read_pcap(data, order, magic == PCAP_MAGIC_NSEC)
            return
    raise CaptureError("unknown magic 0x%08x" % magic_le)


def _read_pcap(data, order, nanosecond):
    if len(data) < 24:
        raise CaptureError("truncated pcap file header")
    # LinkType lives in the low 16 bits; the upper bits carry FCS flags.
    link_type = struct.unpack_from(order + "I", data, 20)[0] & 0xFFFF
    snaplen = struct.unpack_from(order + "I", data, 16)[0]
    frac_scale = 1 if nanosecond else 1000
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, _origlen = struct.unpack_from(order + "IIII", data, off)
        off += 16
        if off + caplen > len(data):
            break  # truncated last record: tshark also stops here
        # FEATURES.md §4: a record longer than the snap length counts as its
        # first snaplen bytes.
        kept = min(caplen, snaplen) if snaplen else caplen
        yield CapturedFrame(link_type, snaplen, sec * 1_000_000_000 + frac * frac_scale,
                            data[off:off + kept])
        off += caplen


def _read_pcapng(data):
    order = "<"
    interfaces = []  # (link_type, snaplen, units_per_second, offset_seconds)
    off = 0
    while off + 12 <= len(data):
        btype = struct.unpack_from(order + "I", data, off)[0]
        if btype == PCAPNG_SHB:
            bom = struct.unpack_from("<I", data, off + 8)[0]
            order = "<" if bom == PCAPNG_BYTE_ORDER_MAGIC else ">"
            if struct.unpack_from(order + "I", data, off + 8)[0] != PCAPNG_BYTE_ORDER_MAGIC:
                raise CaptureError("bad pcapng byte-order magic")
            interfaces = []  # interface ids are per section
        btype, blen = struct.unpack_from(order + "II", data, off)
        if blen < 12 or blen % 4 or off + blen > len(data):
            break
        body = data[off + 8:off + blen - 4]
        off += blen
        if btype == 1:  # Interface Description Block
            link_type, _reserved, snaplen = struct.unpack_from(order + "HHI", body, 0)
            units, offset_s = _idb_time_options(body[8:], order)
            interfaces.append((link_type, snaplen, units, offset_s))
        elif btype == 6:  # Enhanced Packet Block
            ifid, ts_hi, ts_lo, caplen, _orig = struct.unpack_from(order + "IIIII", body, 0)
            if ifid >= len(interfaces):
                raise CaptureError("EPB names undeclared interface %d" % ifid)
            link_type, snaplen, units, offset_s = interfaces[ifid]
            ts_units = (ts_hi << 32) | ts_lo
            yield CapturedFrame(link_type, snaplen, _to_ns(ts_units, units, offset_s), body[20:20 + caplen])
        elif btype == 2:  # Obsolete Packet Block
            ifid, _drops, ts_hi, ts_lo, caplen, _orig = struct.unpack_from(order + "HHIIII", body, 0)
            if ifid >= len(interfaces):
                raise CaptureError("OPB names undeclared interface %d" % ifid)
            link_type, snaplen, units, offset_s = interfaces[ifid]
            yield CapturedFrame(link_type, snaplen, _to_ns((ts_hi << 32) | ts_lo, units, offset_s),
                                body[20:20 + caplen])
        elif btype == 3:  # Simple Packet Block: no timestamp, interface 0
            if not interfaces:
                raise CaptureError("SPB before any interface")
            raise CaptureError("simple packet block carries no timestamp")


def _idb_time_options(opts, order):
    units = 1_000_000  # default if_tsresol: microseconds
    offset_s = 0
    i = 0
    while i + 4 <= len(opts):
        code, length = struct.unpack_from(order + "HH", opts, i)
        value = opts[i + 4:i + 4 + length]
        i += 4 + ((length + 3) & ~3)
        if code == 0:
            break
        if code == 9 and length >= 1:  # if_tsresol
            r = value[0]
            units = 2 ** (r & 0x7F) if r & 0x80 else 10 ** r
        elif code == 14 and length >= 8:  # if_tsoffset, seconds
            offset_s = struct.unpack_from(order + "q", value, 0)[0]
    return units, offset_s


def _to_ns(ts_units, units_per_second, offset_s):
    # Integer arithmetic throughout: floor to whole nanoseconds.
    return (ts_units * 1_000_000_000) // units_per_second + offset_s * 1_000_000_000
