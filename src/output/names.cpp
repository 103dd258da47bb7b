// Names that appear in EVE output; docs/OUTPUT.md lists them as a contract.
#include "flowscore/flow_record.hpp"

namespace flowscore {

std::string_view end_reason_name(EndReason r) {
  switch (r) {
    case EndReason::kIdleTimeout: return "timeout";
    case EndReason::kActiveTimeout: return "active_timeout";
    case EndReason::kTcpClose: return "tcp_close";
    case EndReason::kPressure: return "forced";
    case EndReason::kShutdown: return "shutdown";
  }
  return "unknown";
}

std::string_view flow_state_name(FlowState s) {
  switch (s) {
    case FlowState::kNew: return "new";
    case FlowState::kEstablished: return "established";
    case FlowState::kClosed: return "closed";
  }
  return "unknown";
}

}  // namespace flowscore
