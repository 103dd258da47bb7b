// What a flow becomes when it ends: the unit that is scored and reported.
#pragma once
#include <cstdint>
#include <string_view>

#include "flowscore/features.hpp"
#include "flowscore/flow_key.hpp"

namespace flowscore {

// Why a flow record was emitted (EVE `flow.reason`). Values are a contract:
// docs/OUTPUT.md lists them.
enum class EndReason : uint8_t {
  kIdleTimeout,    // "timeout": no packet for idle_timeout
  kActiveTimeout,  // "active_timeout": flow lived active_timeout; it continues as a new record
  kTcpClose,       // "tcp_close": FIN from both sides or RST, after the linger
  kPressure,       // "forced": evicted early because the flow table was full
  kShutdown,       // "shutdown": end of input or process shutdown
};
std::string_view end_reason_name(EndReason r);

// EVE `flow.state`.
enum class FlowState : uint8_t { kNew, kEstablished, kClosed };
std::string_view flow_state_name(FlowState s);

// The scorer's answer for one flow. Filled in by src/model; zero-initialised
// (scored = false) when no model is loaded.
struct Verdict {
  // scripts/pipeline's default model has the generator's 18 attack classes
  // and benign: 32 leaves room, at 64 more bytes per record in flight.
  static constexpr int kMaxClasses = 32;
  bool scored = false;
  bool alert = false;       // label is not benign and score >= that class's threshold
  uint8_t label = 0;        // class id
  uint8_t num_classes = 0;
  float score = 0;          // probability of `label` (binary: of class 1)
  float proba[kMaxClasses] = {};
  uint64_t model_generation = 0;  // which model scored it (ModelSlot generation): names its classes
};

// What the alert policy (src/policy) made of a scored flow, on the main lcore:
// the verdict's `alert` is its final word; this says why and how it was told.
struct Judgement {
  static constexpr int kMaxEvidence = 12;  // ContextValue::kCount
  bool judged = false;       // the policy ran (false: no policy, alert is the model's threshold alone)
  bool thin = false;         // one or two packets, or one-sided: needs evidence from other flows
  bool limited = false;      // an alert the class's rate limit kept from being an alert event
  uint8_t alert_class = 0;   // the class an alert is for: the label, or for a thin flow the likeliest
                             // attack class whose evidence the context gives (AlertPolicy::judge)
  uint16_t evidence_mask = 0;            // which context values the alert's class is judged on (bit per ContextValue)
  uint32_t campaign_id = 0;              // the campaign the flow was counted in, 0 for none
  uint32_t context[kMaxEvidence] = {};   // the context values, indexed by ContextValue
};

// A finished (or, for active timeout, a checkpointed) flow. Oriented: src is
// the initiator (side of the first packet, or the SYN sender when seen).
struct FlowRecord {
  FlowKey key;              // canonical key (for hashing / debugging)
  Endpoint src;             // initiator
  Endpoint dst;             // responder
  uint64_t flow_id = 0;     // 51 bits from the key and start time: the same for every record of a flow
  uint8_t proto = 0;
  uint8_t ip_version = 0;
  uint8_t icmp_type = 0;    // first ICMP type/code seen from the initiator
  uint8_t icmp_code = 0;
  VlanIds vlan;             // the first packet's VLAN IDs (EVE "vlan")
  FlowState state = FlowState::kNew;
  EndReason reason = EndReason::kShutdown;
  uint16_t worker = 0;
  uint16_t app_proto = 0;   // app_proto.hpp's code: 0 none, else named by app_proto_name() (EVE app_proto)
  uint32_t input_index = 0; // which --pcap file (offline) or port (live) it came from
  uint64_t ended_tsc = 0;   // TSC when the flow table emitted it: expiry->verdict latency starts here
  FlowFeatures stats;       // accounting + running statistics
  uint8_t first_count = 0;  // valid entries in `first`
  FirstPacketSlot first[FeatureConfig::kMaxFirstPackets];
  Verdict verdict;
  Judgement judgement;
};

}  // namespace flowscore
