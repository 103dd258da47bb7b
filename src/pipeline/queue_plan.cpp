#include "queue_plan.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <string_view>

#include <fmt/format.h>

namespace flowscore {

namespace {

constexpr unsigned kMaxQueue = 1023;  // RTE_MAX_QUEUES_PER_PORT - 1 in Debian's DPDK build

bool parse_number(std::string_view s, unsigned max, unsigned& out) {
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return !s.empty() && ec == std::errc() && p == end && out <= max;
}

std::string port_label(const PortCapabilities& p) { return fmt::format("port {} ({})", p.port, p.name); }

}  // namespace

bool parse_queue_map(const std::string& text, std::vector<QueueRef>& out, std::string& error) {
  out.clear();
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const size_t colon = item.find(':');
    const size_t dash = item.find('-', colon == std::string_view::npos ? 0 : colon);
    unsigned port = 0, first = 0, last = 0;
    const bool ok = colon != std::string_view::npos && parse_number(item.substr(0, colon), 65535, port) &&
                    (dash == std::string_view::npos
                         ? parse_number(item.substr(colon + 1), kMaxQueue, first)
                         : parse_number(item.substr(colon + 1, dash - colon - 1), kMaxQueue, first) &&
                               parse_number(item.substr(dash + 1), kMaxQueue, last));
    if (dash == std::string_view::npos) last = first;
    if (!ok || last < first) {
      error = fmt::format("'{}' is not PORT:QUEUE or PORT:FIRST-LAST (queues 0..{}), e.g. \"0:0-3,1:0-3\"",
                          std::string(item), kMaxQueue);
      return false;
    }
    for (unsigned q = first; q <= last; ++q) {
      const QueueRef ref{static_cast<uint16_t>(port), static_cast<uint16_t>(q)};
      if (std::find(out.begin(), out.end(), ref) != out.end()) {
        error = fmt::format("port {} queue {} is listed twice", port, q);
        return false;
      }
      out.push_back(ref);
    }
    if (comma != std::string_view::npos && rest.empty()) {
      error = "a trailing comma";
      return false;
    }
  }
  if (out.empty()) {
    error = "no queues";
    return false;
  }
  return true;
}

bool plan_queues(const std::vector<PortCapabilities>& ports, unsigned workers, const QueueOptions& opt,
                 QueuePlan& plan, std::string& error) {
  plan = QueuePlan{};
  plan.worker_queues.resize(std::max(1u, workers));
  const unsigned n_workers = static_cast<unsigned>(plan.worker_queues.size());

  // Queues per port: from dpdk.queues, or one per worker.
  std::map<uint16_t, uint16_t> wanted;  // port -> queues
  if (!opt.queue_map.empty()) {
    if (opt.distribute == "software") {
      error = "dpdk.queues: the NIC's queues are planned only with dpdk.distribute auto or nic";
      return false;
    }
    std::vector<QueueRef> refs;
    if (!parse_queue_map(opt.queue_map, refs, error)) {
      error = "dpdk.queues: " + error;
      return false;
    }
    std::map<uint16_t, std::vector<uint16_t>> by_port;
    for (const QueueRef& r : refs) by_port[r.port].push_back(r.queue);
    for (auto& [listed_port, queues] : by_port) {
      const uint16_t port = listed_port;  // a plain variable: clang 14 cannot capture a structured binding
      if (std::none_of(ports.begin(), ports.end(), [&](const PortCapabilities& p) { return p.port == port; })) {
        error = fmt::format("dpdk.queues: there is no port {} ({} ports)", port, ports.size());
        return false;
      }
      std::sort(queues.begin(), queues.end());
      if (queues.back() + 1u != queues.size()) {
        error = fmt::format("dpdk.queues: port {}'s queues must be 0..n-1 without gaps: RSS spreads packets over "
                            "all of them", port);
        return false;
      }
      wanted[port] = static_cast<uint16_t>(queues.size());
    }
    for (const PortCapabilities& p : ports)
      if (!wanted.count(p.port)) {
        error = fmt::format("dpdk.queues: {} is not listed, so nothing would read it", port_label(p));
        return false;
      }
  }

  for (const PortCapabilities& p : ports) {
    QueuePlan::Port pp;
    pp.port = p.port;
    const uint64_t hf = p.rss_offloads & opt.rss_hf;
    const bool can_spread = hf != 0 && p.reta_size > 0 && p.max_rx_queues > 1;
    uint16_t queues = 1;
    if (auto it = wanted.find(p.port); it != wanted.end()) {
      queues = it->second;
      if (queues > p.max_rx_queues) {
        error = fmt::format("dpdk.queues: {} has {} RX queues at most, not {}", port_label(p), p.max_rx_queues, queues);
        return false;
      }
      // Queues without RSS are filled by someone else: a memif peer, a
      // packet broker, net_pcap's one file per queue. The map is taken as
      // given; that filler must keep both directions of a flow on one queue.
      if (queues > 1 && !can_spread)
        plan.notes.push_back(fmt::format("{} has no RSS for the hash types of dpdk.rss_hash: its {} queues are read "
                                         "as they are filled, and whatever fills them must keep both directions of a "
                                         "flow on one queue", port_label(p), queues));
    } else if (n_workers > 1 && opt.distribute != "software" && can_spread) {
      queues = static_cast<uint16_t>(std::min<unsigned>(n_workers, p.max_rx_queues));
      if (queues < n_workers)
        plan.notes.push_back(fmt::format("{} has {} RX queues for {} workers: workers {}..{} get none of its packets",
                                         port_label(p), queues, n_workers, queues, n_workers - 1));
    } else if (n_workers > 1) {
      if (opt.distribute == "nic") {
        error = fmt::format("dpdk.distribute is nic, but {} cannot spread packets over {} workers ({}); use "
                            "dpdk.distribute auto or software",
                            port_label(p), n_workers,
                            hf == 0 ? "its PMD offers no RSS for the hash types of dpdk.rss_hash"
                                    : "it has one RX queue");
        return false;
      }
      pp.dealt = true;
    }
    pp.rx_queues = queues;
    pp.rss_hf = queues > 1 ? hf : 0;
    plan.ports.push_back(pp);
    if (pp.dealt) {
      plan.dealt.push_back({p.port, 0});
    } else {
      for (uint16_t q = 0; q < queues; ++q) plan.worker_queues[q % n_workers].push_back({p.port, q});
    }
  }
  return true;
}

}  // namespace flowscore
