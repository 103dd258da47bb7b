// AppProtoDetector in a build without nDPI: there is none to make, and
// flow.app_proto is refused when the configuration is loaded.
#include "flowscore/app_proto.hpp"

namespace flowscore {

bool app_proto_available() { return false; }

std::string_view app_proto_name(uint16_t code) { return code == kAppProtoFailed ? "failed" : ""; }

struct AppProtoDetector::Ndpi {};

AppProtoDetector::AppProtoDetector(const AppProtoConfig& cfg) : cfg_(cfg) {}
AppProtoDetector::~AppProtoDetector() = default;

std::unique_ptr<AppProtoDetector> AppProtoDetector::create(const AppProtoConfig&, std::string& error) {
  error = "flow.app_proto: this flowscore was built without nDPI (install libndpi-dev and rebuild)";
  return nullptr;
}

size_t AppProtoDetector::memory_bytes() const { return 0; }
void AppProtoDetector::inspect(AppDetection&, const uint8_t*, uint32_t, bool, uint64_t) {}
void AppProtoDetector::finish(AppDetection& flow) { flow.state = AppDetection::kDone; }
void AppProtoDetector::conclude(AppDetection&, uint16_t) {}

}  // namespace flowscore
