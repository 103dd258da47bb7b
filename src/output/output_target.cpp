#include "flowscore/output_target.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <vector>
#include <regex>

#include <fmt/format.h>

namespace flowscore {
namespace {

bool numeric_address(const std::string& host) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

bool parse_port(std::string_view text, uint16_t& port) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

// The parts of `text` between `sep`s (std::views::split does not build with
// clang 14 and libstdc++ 12, which the fuzz build uses).
std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// kafka://HOST:PORT[,HOST:PORT...]/TOPIC[?NAME=VALUE&...]
bool parse_kafka(std::string_view text, std::string_view rest, OutputTarget& target, std::string& error) {
  const size_t slash = rest.find('/');
  const size_t query = rest.find('?');
  if (slash == std::string_view::npos || slash == 0 || (query != std::string_view::npos && query < slash)) {
    error = fmt::format("'{}': a Kafka output is kafka://HOST:PORT[,HOST:PORT...]/TOPIC[?PROPERTY=VALUE&...]", text);
    return false;
  }
  target.brokers = std::string(rest.substr(0, slash));
  target.topic = std::string(rest.substr(slash + 1, query == std::string_view::npos ? std::string_view::npos
                                                                                      : query - slash - 1));
  // Kafka's legal topic names: [a-zA-Z0-9._-], 1 to 249 characters.
  static const std::regex kTopic(R"(^[A-Za-z0-9._-]{1,249}$)");
  if (!std::regex_match(target.topic, kTopic)) {
    error = fmt::format("'{}': '{}' is not a Kafka topic name (letters, digits, '.', '_', '-')", text, target.topic);
    return false;
  }
  for (std::string_view broker : split(target.brokers, ',')) {
    const size_t colon = broker.rfind(':');
    uint16_t port = 0;
    if (colon == std::string_view::npos || colon == 0 || !parse_port(broker.substr(colon + 1), port)) {
      error = fmt::format("'{}': broker '{}' is not HOST:PORT", text, broker);
      return false;
    }
  }
  if (query != std::string_view::npos) {
    for (std::string_view pair : split(rest.substr(query + 1), '&')) {
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        error = fmt::format("'{}': '{}' is not PROPERTY=VALUE", text, pair);
        return false;
      }
      target.properties.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    }
  }
  target.kind = OutputTarget::Kind::kKafka;
  return true;
}

}  // namespace

bool parse_output_target(std::string_view text, OutputTarget& target, std::string& error) {
  target = OutputTarget{};
  if (text.empty()) {
    error = "empty output target (give a file, \"-\" or tcp://ADDR:PORT)";
    return false;
  }
  if (text == "-") return true;
  if (text.starts_with("file:")) {
    text.remove_prefix(text.starts_with("file://") ? 7 : 5);
    if (text.empty()) {
      error = "file: names no file";
      return false;
    }
    target.kind = OutputTarget::Kind::kFile;
    target.path = std::string(text);
    return true;
  }
  if (const size_t scheme_end = text.find("://"); scheme_end != std::string_view::npos) {
    const std::string_view scheme = text.substr(0, scheme_end);
    std::string_view rest = text.substr(scheme_end + 3);
    if (scheme == "kafka") return parse_kafka(text, rest, target, error);
    if (scheme != "tcp" && scheme != "syslog+tcp" && scheme != "syslog+tls" && scheme != "syslog+udp") {
      error = scheme == "udp" ? fmt::format("udp:// outputs are syslog+udp://ADDR:PORT (RFC 5426)")
                              : fmt::format("unknown output scheme '{}://' (file:, tcp://, syslog+tcp://, "
                                            "syslog+tls://, syslog+udp://, kafka://)", scheme);
      return false;
    }
    std::string_view rest_address = rest;
    if (const size_t query = rest.find('?'); query != std::string_view::npos) {
      if (scheme != "syslog+tls") {
        error = fmt::format("'{}': {}:// takes no options", text, scheme);
        return false;
      }
      rest_address = rest.substr(0, query);
      for (std::string_view pair : split(rest.substr(query + 1), '&')) {
        const size_t eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        std::string* field = key == "ca"     ? &target.tls.ca_file
                             : key == "name" ? &target.tls.server_name
                             : key == "cert" ? &target.tls.cert_file
                             : key == "key"  ? &target.tls.key_file
                                             : nullptr;
        if (field == nullptr || eq == std::string_view::npos || eq + 1 == pair.size()) {
          error = fmt::format("'{}': '{}' is not one of ca=FILE, name=HOST, cert=FILE, key=FILE", text, pair);
          return false;
        }
        *field = std::string(pair.substr(eq + 1));
      }
    }
    rest = rest_address;
    // tcp://1.2.3.4:9514 or tcp://[::1]:9514
    std::string host;
    std::string_view port_text;
    if (rest.starts_with('[')) {
      const size_t close = rest.find(']');
      if (close == std::string_view::npos || rest.substr(close + 1, 1) != ":") {
        error = fmt::format("'{}': an IPv6 collector is {}://[ADDR]:PORT", text, scheme);
        return false;
      }
      host = std::string(rest.substr(1, close - 1));
      port_text = rest.substr(close + 2);
    } else {
      const size_t colon = rest.rfind(':');
      if (colon == std::string_view::npos) {
        error = fmt::format("'{}' has no port: {}://ADDR:PORT", text, scheme);
        return false;
      }
      host = std::string(rest.substr(0, colon));
      port_text = rest.substr(colon + 1);
    }
    if (!numeric_address(host)) {
      error = fmt::format("'{}': the collector must be a numeric IPv4 or IPv6 address, not '{}' "
                          "(a sensor should not depend on DNS to deliver verdicts)", text, host);
      return false;
    }
    if (!parse_port(port_text, target.port)) {
      error = fmt::format("'{}': '{}' is not a port (1-65535)", text, port_text);
      return false;
    }
    target.kind = scheme == "tcp"          ? OutputTarget::Kind::kTcp
                  : scheme == "syslog+tcp" ? OutputTarget::Kind::kSyslogTcp
                  : scheme == "syslog+udp" ? OutputTarget::Kind::kSyslogUdp
                                           : OutputTarget::Kind::kSyslogTls;
    target.host = std::move(host);
    return true;
  }
  // "127.0.0.1:9514", "[::1]:9514", "localhost:9514": meant as a collector,
  // surely; refused rather than written as a file of that name.
  static const std::regex kAddressLike(R"(^(\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]|localhost):\d{1,5}$)");
  const std::string as_text(text);
  if (std::regex_match(as_text, kAddressLike)) {
    error = fmt::format("'{}' looks like a network address: for a TCP collector write tcp://{}, "
                        "for a file of that name file:{}", as_text, as_text, as_text);
    return false;
  }
  target.kind = OutputTarget::Kind::kFile;
  target.path = as_text;
  return true;
}

}  // namespace flowscore
