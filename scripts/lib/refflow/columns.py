"""Feature column names in docs/FEATURES.md §7 order."""

STATS = ("min", "max", "mean", "std")
FLAGS = ("fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr")   # bits 0x01 … 0x80
METADATA = ("flow_id", "input", "src_ip", "src_port", "dest_ip", "dest_port",
            "proto", "start", "end", "label")


def feature_columns(first_packets):
    cols = []
    for what in ("pkts", "bytes_wire", "bytes_ip", "bytes_payload"):
        cols += [f"{what}_fwd", f"{what}_bwd"]
    cols.append("duration_us")
    for d in ("fwd", "bwd", "both"):
        cols += [f"len_{d}_{s}" for s in STATS]
    for d in ("fwd", "bwd", "both"):
        cols += [f"iat_{d}_{s}_us" for s in STATS]
    for d in ("fwd", "bwd"):
        cols += [f"tcp_{flag}_{d}" for flag in FLAGS]
    cols += ["tcp_init_win_fwd", "tcp_init_win_bwd"]
    cols += [f"active_{s}_us" for s in STATS]
    cols += [f"idle_{s}_us" for s in STATS]
    cols.append("pair_flows")
    for what in ("first_len", "first_dir", "first_gap_us"):
        cols += [f"{what}_{k}" for k in range(first_packets)]
    assert len(cols) == 60 + 3 * first_packets
    return cols
