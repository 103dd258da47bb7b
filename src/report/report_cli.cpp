#include "flowscore/report_cli.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "eve_files.hpp"
#include "html_report.hpp"
#include "report_builder.hpp"

namespace flowscore {
namespace {

constexpr const char* kUsage =
    "usage: flowscore report EVE.json [MORE.json ...] -o REPORT.html [--model-card METRICS.json]\n"
    "                        [--title TEXT] [--top N] [-q]\n"
    "\n"
    "Reads flowscore's EVE output (flow, alert, campaign and stats events; plain or\n"
    "gzip-compressed, as logrotate leaves them; \"-\" = standard input) and writes one\n"
    "self-contained HTML file: traffic and verdicts over time, top talkers and targets,\n"
    "score distributions, per-input counts, sensor health from stats events. It loads\n"
    "nothing from the network; mail it as it is. Lines that are not EVE events are\n"
    "counted and skipped.\n"
    "  -o, --out FILE         the report\n"
    "  --model-card FILE      add a model's held-out metrics (scripts/evaluate's metrics.json)\n"
    "  --title TEXT           the report's title (default: \"flowscore report\")\n"
    "  --top N                entries per top list (default 20)\n"
    "  -q, --quiet            no summary on standard error\n"
    "Exit status: 0 success, 1 the report cannot be written, 2 bad input or usage.\n";

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace

int run_report_command(int argc, char** argv) {
  std::vector<std::string> inputs;
  std::string out_path, model_card_path, title = "flowscore report";
  report::ReportOptions options;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= argc) return false;
      into = argv[++i];
      return true;
    };
    std::string top;
    if (arg == "-h" || arg == "--help") {
      fmt::print("{}", kUsage);
      return 0;
    } else if (arg == "-o" || arg == "--out") {
      if (!value(out_path)) return fmt::print(stderr, "{}", kUsage), 2;
    } else if (arg == "--model-card") {
      if (!value(model_card_path)) return fmt::print(stderr, "{}", kUsage), 2;
    } else if (arg == "--title") {
      if (!value(title)) return fmt::print(stderr, "{}", kUsage), 2;
    } else if (arg == "--top") {
      char* end = nullptr;
      const bool given = value(top);
      options.top = given ? std::strtoul(top.c_str(), &end, 10) : 0;
      if (!given || top.empty() || *end || options.top == 0 || options.top > 1000) {
        fmt::print(stderr, "flowscore report: --top wants a count from 1 to 1000\n");
        return 2;
      }
    } else if (arg == "-q" || arg == "--quiet") {
      quiet = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      fmt::print(stderr, "flowscore report: unexpected option '{}'\n{}", arg, kUsage);
      return 2;
    } else {
      inputs.push_back(arg);
    }
  }
  if (inputs.empty() || out_path.empty()) {
    fmt::print(stderr, "{}", kUsage);
    return 2;
  }
  nlohmann::json model_card;
  if (!model_card_path.empty()) {
    std::ifstream in(model_card_path);
    model_card = nlohmann::json::parse(in, nullptr, false);
    if (!in || model_card.is_discarded() || !model_card.is_object()) {
      fmt::print(stderr, "flowscore report: --model-card: '{}' is not a metrics.json\n", model_card_path);
      return 2;
    }
  }

  const auto start = std::chrono::steady_clock::now();
  report::ReportBuilder builder(options);
  for (const std::string& path : inputs) {
    const report::ReadResult r = report::read_eve_file(path, builder);
    if (!r.opened) {
      fmt::print(stderr, "flowscore report: {}\n", r.error);
      return 2;
    }
    if (!r.complete)  // what was read is in the report, marked "cut short"
      fmt::print(stderr, "flowscore report: {}: read up to there\n", r.error);
  }
  nlohmann::json summary = builder.summary();
  summary["report"] = {{"version", FLOWSCORE_VERSION}, {"generated", utc_now()}};
  if (!model_card.is_null()) summary["model_card"] = model_card;

  // Written beside the target and renamed, so a reader never sees half a report.
  const std::string partial = out_path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    report::write_html_report(out, summary, title);
    out.flush();
    if (!out) {
      std::remove(partial.c_str());
      fmt::print(stderr, "flowscore report: cannot write '{}'\n", out_path);
      return 1;
    }
  }
  std::error_code ec;
  std::filesystem::rename(partial, out_path, ec);
  if (ec) {
    std::remove(partial.c_str());
    fmt::print(stderr, "flowscore report: cannot write '{}': {}\n", out_path, ec.message());
    return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!quiet)
    fmt::print(stderr, "flowscore report: {} lines ({} not EVE events) from {} input(s) in {:.2f} s ({:.2f} M lines/s) -> {} ({} KiB)\n",
               builder.lines(), builder.unparsed(), inputs.size(), seconds, builder.lines() / seconds / 1e6, out_path,
               std::filesystem::file_size(out_path, ec) >> 10);
  return 0;
}

}  // namespace flowscore
