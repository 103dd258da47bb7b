// flowscore-gen: seeded synthetic traffic as a pcap plus a flow label file.
// Usage and the label format: docs/GENERATOR.md.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "generator.hpp"
#include "traffic_classes.hpp"

namespace {

using flowscore::gen::GeneratorOptions;
using flowscore::gen::GeneratorStats;
using flowscore::gen::Profile;

constexpr const char* kUsage =
    "usage: flowscore-gen --out FILE.pcap [options]\n"
    "\n"
    "Writes seeded synthetic traffic as a classic pcap (Ethernet, microsecond\n"
    "timestamps) and a label file with one CSV row per flow.\n"
    "\n"
    "  --out FILE.pcap       capture to write (required)\n"
    "  --labels FILE.csv     label file (default: FILE.labels.csv next to the\n"
    "                        pcap; columns: docs/GENERATOR.md)\n"
    "  --profile P           bench | train (default train)\n"
    "  --seed N              scenario and traffic seed (default 1)\n"
    "  --packets N           stop after exactly N packets (default 1000000)\n"
    "  --flows N             start exactly N flows instead; the capture ends\n"
    "                        with the window\n"
    "  --duration SECONDS    capture window (default: bench 60, train 300)\n"
    "  --attack-rate F       share of flows that are attacks (default: bench 0,\n"
    "                        train 0.2)\n"
    "  --classes a,b,c       generate only these classes (see --list-classes)\n"
    "  --list-classes        print the class catalogue and exit\n"
    "  --quiet               no summary on stderr\n"
    "  --help, --version\n";

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "flowscore-gen: %s\n(see flowscore-gen --help)\n", msg.c_str());
  std::exit(2);
}

uint64_t parse_count(std::string_view opt, std::string_view v) {
  uint64_t n = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n == 0)
    usage_error(std::string(opt) + " wants a positive integer, got '" + std::string(v) + "'");
  return n;
}

double parse_number(std::string_view opt, std::string_view v, double lo, double hi) {
  std::string s(v);
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !(d >= lo && d <= hi))
    usage_error(std::string(opt) + " wants a number in [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "], got '" + s + "'");
  return d;
}

void list_classes() {
  for (const auto& c : flowscore::gen::traffic_classes())
    std::printf("%-20s %s\n", std::string(c.name).c_str(), c.attack ? "attack" : "benign");
}

uint32_t percentile(std::vector<uint32_t>& v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

void print_summary(const GeneratorOptions& o, GeneratorStats& s, double elapsed) {
  std::fprintf(stderr,
               "flowscore-gen: %llu packets, %llu flows, %.1f MB in %.3f s (%.2f Mpkt/s); "
               "capture spans %.1f s; peak %llu concurrent flows; %llu 5-tuple redraws\n",
               static_cast<unsigned long long>(s.packets), static_cast<unsigned long long>(s.flows),
               static_cast<double>(s.bytes) / 1e6, elapsed,
               static_cast<double>(s.packets) / elapsed / 1e6, s.last_ts - s.first_ts,
               static_cast<unsigned long long>(s.peak_active_flows),
               static_cast<unsigned long long>(s.key_collisions));
  auto& ppf = s.packets_per_flow;
  const double mean = s.flows ? static_cast<double>(s.packets) / static_cast<double>(s.flows) : 0;
  std::fprintf(stderr,
               "  packets per flow: mean %.2f, p50 %u, p90 %u, p99 %u, p99.9 %u, max %u\n", mean,
               percentile(ppf, 0.5), percentile(ppf, 0.9), percentile(ppf, 0.99),
               percentile(ppf, 0.999), percentile(ppf, 1.0));
  const auto classes = flowscore::gen::traffic_classes();
  for (size_t i = 0; i < classes.size(); ++i) {
    const auto& c = s.per_class[i];
    if (c.flows == 0) continue;
    std::fprintf(stderr, "  %-20s %9llu flows %11llu packets %13llu bytes\n",
                 std::string(classes[i].name).c_str(), static_cast<unsigned long long>(c.flows),
                 static_cast<unsigned long long>(c.packets), static_cast<unsigned long long>(c.bytes));
  }
  std::fprintf(stderr, "  wrote %s%s%s\n", o.pcap_path.c_str(), o.labels_path.empty() ? "" : " and ",
               o.labels_path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  GeneratorOptions o;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) usage_error(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("flowscore-gen %s\n", FLOWSCORE_VERSION);
      return 0;
    } else if (arg == "--list-classes") {
      list_classes();
      return 0;
    } else if (arg == "--out") {
      o.pcap_path = value();
    } else if (arg == "--labels") {
      o.labels_path = value();
    } else if (arg == "--profile") {
      const std::string_view p = value();
      if (p == "bench") o.profile = Profile::kBench;
      else if (p == "train") o.profile = Profile::kTrain;
      else usage_error("--profile is bench or train, got '" + std::string(p) + "'");
    } else if (arg == "--seed") {
      const std::string_view v = value();
      uint64_t n = 0;
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || p != v.data() + v.size())
        usage_error("--seed wants a non-negative integer, got '" + std::string(v) + "'");
      o.seed = n;
    } else if (arg == "--packets") {
      o.packets = parse_count(arg, value());
    } else if (arg == "--flows") {
      o.flows = parse_count(arg, value());
    } else if (arg == "--duration") {
      o.duration_s = parse_number(arg, value(), 0.001, 30 * 86400.0);
    } else if (arg == "--attack-rate") {
      o.attack_rate = parse_number(arg, value(), 0.0, 1.0);
    } else if (arg == "--classes") {
      const std::string_view list = value();
      size_t pos = 0;
      while (pos <= list.size()) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        const std::string_view name = list.substr(pos, comma - pos);
        const int c = flowscore::gen::find_class(name);
        if (c < 0) usage_error("unknown class '" + std::string(name) + "' (see --list-classes)");
        o.classes.push_back(c);
        pos = comma + 1;
      }
    } else if (arg == "--quiet") {
      quiet = true;
    } else {
      usage_error("unknown option '" + std::string(arg) + "'");
    }
  }
  if (o.pcap_path.empty()) usage_error("--out FILE.pcap is required");
  if (o.labels_path.empty()) {
    // Next to the capture: x.pcap -> x.labels.csv
    std::string stem = o.pcap_path;
    if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".pcap") == 0) stem.resize(stem.size() - 5);
    o.labels_path = stem + ".labels.csv";
  }
  if (o.packets == 0 && o.flows == 0) o.packets = 1000000;
  if (o.packets > 0 && o.flows > 0) usage_error("give --packets or --flows, not both");
  try {
    const auto t0 = std::chrono::steady_clock::now();
    GeneratorStats stats = flowscore::gen::generate(o);
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!quiet) print_summary(o, stats, elapsed);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flowscore-gen: %s\n", e.what());
    return 1;
  }
  return 0;
}
