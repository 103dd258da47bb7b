// libFuzzer target: the label-rules reader behind `flowscore extract --labels`.
// Rules either parse or are refused with "<source>:<line>: <what>"; a parsed
// rule set must answer lookups without fault.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "flowscore/labels.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::string error;
  const auto rules = flowscore::LabelRules::parse(in, "fuzz.csv", {"a.pcap", "dir/b.pcapng"}, "benign", error);
  if (!rules) {
    if (error.rfind("fuzz.csv", 0) != 0) std::abort();
    return 0;
  }
  // Lookups on flows drawn from the input's own bytes (so rules the fuzzer
  // wrote can match): a label always comes back, for every input index.
  flowscore::FlowRecord r;
  const size_t take = std::min(size, sizeof r.src.addr.bytes);
  std::memcpy(r.src.addr.bytes.data(), data, take);
  std::memcpy(r.dst.addr.bytes.data(), data + size - take, take);
  r.ip_version = size % 2 ? 4 : 6;
  r.proto = size > 0 ? data[0] : 6;
  r.src.port = static_cast<uint16_t>(size * 31);
  r.dst.port = static_cast<uint16_t>(size * 17);
  for (uint32_t input = 0; input < 3; ++input)
    if (rules->label_for(r, input).empty() && rules->default_label().empty()) std::abort();
  (void)rules->stats();
  return 0;
}
