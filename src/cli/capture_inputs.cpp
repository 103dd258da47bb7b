#include "capture_inputs.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "flowscore/pcap_file.hpp"

namespace fs = std::filesystem;

namespace flowscore {

namespace {

bool is_capture_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".pcap" || ext == ".pcapng" || ext == ".cap";
}

bool add_path(const std::string& text, std::vector<std::string>& paths, std::string& error) {
  std::error_code ec;
  if (!fs::is_directory(text, ec)) {
    paths.push_back(text);  // a missing or unreadable file is named when it is probed
    return true;
  }
  std::vector<std::string> found;
  for (fs::directory_iterator it(text, ec), end; !ec && it != end; it.increment(ec))
    if (is_capture_name(it->path()) && !fs::is_directory(it->path())) found.push_back(it->path().string());
  if (ec) {
    error = fmt::format("{}: cannot list the directory: {}", text, ec.message());
    return false;
  }
  if (found.empty()) {
    error = fmt::format("{}: the directory holds no .pcap, .pcapng or .cap file", text);
    return false;
  }
  std::sort(found.begin(), found.end());
  paths.insert(paths.end(), found.begin(), found.end());
  return true;
}

bool add_list(const std::string& list, std::vector<std::string>& paths, std::string& error) {
  std::ifstream file;
  if (list != "-") {
    file.open(list);
    if (!file) {
      error = fmt::format("--pcap-list {}: cannot open it", list);
      return false;
    }
  }
  std::istream& in = list == "-" ? std::cin : file;
  std::string line;
  while (std::getline(in, line)) {
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const size_t last = line.find_last_not_of(" \t\r");
    if (!add_path(line.substr(first, last - first + 1), paths, error)) {
      error = fmt::format("--pcap-list {}: {}", list, error);
      return false;
    }
  }
  if (in.bad()) {
    error = fmt::format("--pcap-list {}: read error", list);
    return false;
  }
  return true;
}

}  // namespace

bool expand_capture_sources(const std::vector<CaptureSource>& sources, std::vector<std::string>& paths,
                            std::string& error) {
  for (const CaptureSource& s : sources) {
    const bool ok = s.kind == CaptureSource::Kind::kList ? add_list(s.text, paths, error) : add_path(s.text, paths, error);
    if (!ok) return false;
  }
  if (paths.size() > kMaxCaptureInputs) {
    error = fmt::format("{} capture files: one run takes at most {} (a flow remembers its input in 16 bits); "
                        "split the list", paths.size(), kMaxCaptureInputs);
    return false;
  }
  return true;
}

std::vector<std::string> drop_unreadable_captures(std::vector<std::string>& paths) {
  std::vector<std::string> skipped;
  std::erase_if(paths, [&](const std::string& path) {
    PcapFileInfo info;
    std::string why;
    if (probe_pcap_file(path, info, why)) return false;
    skipped.push_back(why);
    return true;
  });
  return skipped;
}

}  // namespace flowscore
