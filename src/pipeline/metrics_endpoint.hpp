// Prometheus /metrics for a live sensor (issue 14 §2): the counters of the
// stats events, in Prometheus' text exposition format, served over HTTP by
// cpp-httplib on its own thread from the snapshot the main lcore publishes
// about once a second. Nothing here touches a worker or the packet path.
#pragma once
#include <memory>
#include <string>
#include <thread>

#include "run_stats.hpp"

namespace httplib {
class Server;
}

namespace flowscore {

// The exposition text of one snapshot, in Prometheus' naming conventions
// (counters end in _total, times in seconds). tsc_hz converts the scoring
// latency.
std::string prometheus_text(const RunStats& s, const std::string& sensor_name, uint64_t tsc_hz);

class MetricsEndpoint {
 public:
  // Listens on `address` ("127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464").
  // Nullptr and `error` when the address is malformed or cannot be bound.
  static std::unique_ptr<MetricsEndpoint> start(const std::string& address, std::string sensor_name,
                                                std::string& error);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  int port() const { return port_; }

 private:
  MetricsEndpoint() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace flowscore
