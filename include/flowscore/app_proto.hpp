// Application protocol detection (EVE `app_proto`, ECS `network.protocol`)
// with nDPI, on the first packets of each flow only (docs/OUTPUT.md
// "app_proto"). Off by default (flow.app_proto); a build without nDPI
// refuses to turn it on.
//
// One AppProtoDetector per worker, made on the main lcore at start-up: its
// own nDPI detection module and a fixed pool of nDPI flow states
// (flow.app_proto_flows of them). A flow takes a state at its first packet
// with payload, gives nDPI its packets up to the flow's
// flow.app_proto_packets-th and frees the state
// as soon as nDPI names the protocol, at that limit, or when the flow ends.
// A flow that finds the pool empty is counted and goes without. The packet
// path never locks and never asks the allocator for a flow state; what nDPI
// itself still allocates inside some dissectors is in docs/OUTPUT.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flowscore {

struct AppProtoConfig {
  bool enabled = false;          // flow.app_proto
  uint32_t flows = 4096;         // flow.app_proto_flows: flows under detection at once, per worker
  uint32_t packets = 10;         // flow.app_proto_packets: packets of a flow nDPI sees at most
  static constexpr uint32_t kMaxFlows = 65535;  // slot numbers are 16 bits (AppDetection::slot)
  static constexpr uint32_t kMaxPackets = 255;
};

// What a flow record carries: 0 = no detection result (off, no slot, or no
// payload seen: no `app_proto` member, as Suricata leaves it out for a flow
// without application data), kAppProtoFailed = detection ran on payload and
// gave up ("failed", Suricata's ALPROTO_FAILED), else an nDPI protocol id.
inline constexpr uint16_t kAppProtoNone = 0;
inline constexpr uint16_t kAppProtoFailed = UINT16_MAX;
inline constexpr size_t kMaxAppProtoName = 48;

// True when this flowscore was built with nDPI (meson -Dndpi).
bool app_proto_available();

// The name a record's code goes out as: Suricata's app-layer name where
// Suricata has the protocol ("http", "tls", "dns", ...), else nDPI's name in
// lower case; "failed" for kAppProtoFailed; empty for kAppProtoNone. Names
// are [a-z0-9_.-], at most kMaxAppProtoName bytes, so they go into JSON as
// they are. Names are known once a detector was made (before that, and without nDPI, every
// code but kAppProtoFailed is empty).
std::string_view app_proto_name(uint16_t code);

// A flow's detection state, kept by the flow table beside its entry.
struct AppDetection {
  static constexpr uint16_t kNoSlot = UINT16_MAX;
  enum State : uint8_t { kFresh = 0, kDetecting, kDone };
  uint16_t code = kAppProtoNone;
  uint16_t slot = kNoSlot;   // the nDPI flow state, while kDetecting
  uint8_t packets = 0;       // packets of the flow seen, given to nDPI or before its first payload
  uint8_t state = kFresh;
  bool saw_payload = false;  // a packet with L4 payload was given to nDPI
};

struct AppProtoCounters {
  uint64_t flows_inspected = 0;  // flows that got a slot
  uint64_t flows_detected = 0;   // ... and came out with a protocol
  uint64_t flows_failed = 0;     // ... and came out "failed" (payload, no protocol)
  uint64_t flows_no_slot = 0;    // flows that found the pool empty (raise flow.app_proto_flows)
  uint64_t packets_inspected = 0;
};

class AppProtoDetector {
 public:
  // Null with `error` when nDPI is not built in or memory cannot be had.
  static std::unique_ptr<AppProtoDetector> create(const AppProtoConfig& cfg, std::string& error);
  ~AppProtoDetector();
  AppProtoDetector(const AppProtoDetector&) = delete;
  AppProtoDetector& operator=(const AppProtoDetector&) = delete;

  // One packet of `flow`: `l3` points at its IP header, `length` bytes of
  // it present. Does nothing once the flow's detection is done.
  void inspect(AppDetection& flow, const uint8_t* l3, uint32_t length, bool has_payload, uint64_t ts_ns);
  // The flow ends (or is checkpointed): a detection still running gives up
  // with what it has, and its slot is freed.
  void finish(AppDetection& flow);

  const AppProtoCounters& counters() const { return counters_; }
  size_t memory_bytes() const;

 private:
  struct Ndpi;  // nDPI's module and the pool of flow states
  explicit AppProtoDetector(const AppProtoConfig& cfg);
  void conclude(AppDetection& flow, uint16_t protocol);

  AppProtoConfig cfg_;
  std::unique_ptr<Ndpi> ndpi_;
  AppProtoCounters counters_;
};

}  // namespace flowscore
