"""refflow: a slow, obviously-correct reference for flowscore's flow features.

Written from docs/FEATURES.md and issue 2 alone (never from the C++), so that
agreement between the two is evidence and not an echo. Modules, one job each:

  capture   pcap / pcapng records with integer-nanosecond timestamps
  decode    link layer -> outermost IP header -> L4 header, per packet
  flows     bidirectional flow records: key, initiator, lifecycle
  features  the feature vector of one record, textbook formulas
  columns   the column names, in docs/FEATURES.md §7 order
"""
