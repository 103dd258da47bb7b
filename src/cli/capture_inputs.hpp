// The capture files of an offline run, from what the command line names:
// --pcap FILE, --pcap DIR and --pcap-list FILE, in the order given.
//
// Issue 17: a corpus of thousands of small captures should run in one
// process, paying for DPDK's start-up once. The pipeline takes any number
// of files (up to kMaxCaptureInputs); this module only turns names into the
// ordered list of paths, and refuses what cannot be listed with a message
// naming it. Whether each file is a capture is checked later, with the
// rest of the run's inputs (probe_pcap_file), before DPDK starts.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace flowscore {

// FlowRecord's input index is 16 bits in the flow table's entry
// (flow_table.cpp): one run takes at most this many capture files.
constexpr size_t kMaxCaptureInputs = 65536;

struct CaptureSource {
  enum class Kind { kPath, kList };
  Kind kind = Kind::kPath;
  std::string text;  // --pcap's FILE or DIR; --pcap-list's FILE ("-": standard input)
};

// Appends the capture files `sources` name to `paths`:
//  - a path to a directory gives the files in it (not below it) whose names
//    end in .pcap, .pcapng or .cap (any case), sorted by name, so a run's
//    order and its in_iface names do not depend on the file system;
//  - any other path is taken as it is;
//  - a list gives one path per line, each taken as above (so a line may name
//    a directory); blank lines and lines starting with '#' are skipped,
//    surrounding spaces and a trailing CR dropped; relative paths are
//    relative to the current directory, as with tar -T.
// False with `error` (naming the directory or list) when one cannot be read,
// when a directory holds no capture file, or when there are more than
// kMaxCaptureInputs files.
bool expand_capture_sources(const std::vector<CaptureSource>& sources, std::vector<std::string>& paths,
                            std::string& error);

// --skip-unreadable: removes from `paths` every file that is not a capture
// flowscore can read (missing, empty, not pcap/pcapng, a link type it cannot
// parse: the checks of probe_pcap_file) and returns one "PATH: why" line per
// file removed, in order. Without it one such file refuses the whole run,
// which is right for a few named files and wrong for a corpus of thousands.
std::vector<std::string> drop_unreadable_captures(std::vector<std::string>& paths);

}  // namespace flowscore
