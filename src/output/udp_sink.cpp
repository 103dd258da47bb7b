// Syslog over UDP; see include/flowscore/output_sink.hpp.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "flowscore/output_sink.hpp"

namespace flowscore {

namespace {
constexpr size_t kMaxDatagram = 65507;  // IPv4's UDP payload limit, the smaller of the two
}

std::unique_ptr<UdpSink> UdpSink::create(const std::string& address, uint16_t port, SyslogOptions syslog,
                                         std::string& error) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.c_str(), &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    error = fmt::format("'{}' is not a numeric IPv4 or IPv6 address", address);
    return nullptr;
  }
  const int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  // Connected, so the kernel reports an ICMP "port unreachable" on a later
  // send: a collector that is not there is said, not silent.
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    error = fmt::format("syslog+udp://{}:{}: {}", address, port, std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return nullptr;
  }
  return std::unique_ptr<UdpSink>(new UdpSink(fd, address, port, std::move(syslog)));
}

UdpSink::UdpSink(int fd, std::string address, uint16_t port, SyslogOptions syslog)
    : fd_(fd), address_(std::move(address)), port_(port), syslog_(std::move(syslog)) {}

UdpSink::~UdpSink() { ::close(fd_); }

bool UdpSink::write(std::string_view data) {
  const SyslogClock now;
  bool all_sent = true;
  while (!data.empty()) {
    const size_t newline = data.find('\n');
    const std::string_view line = data.substr(0, newline == std::string_view::npos ? data.size() : newline);
    data.remove_prefix(newline == std::string_view::npos ? data.size() : newline + 1);
    char header[kSyslogHeaderMax];
    const size_t n = syslog_header(line, syslog_, now, header);
    const size_t size = n + line.size();  // one message per datagram: no newline, no framing
    if (size > kMaxDatagram) {
      set_error_text(fmt::format("a {}-byte message is longer than a UDP datagram", size));
      dropped_bytes_ += line.size() + 1;
      ++dropped_lines_;
      all_sent = false;
      continue;
    }
    if (size > syslog_.long_message_bytes) ++long_messages_;
    message_.assign(header, n);
    message_.append(line);
    if (::send(fd_, message_.data(), message_.size(), MSG_DONTWAIT) == static_cast<ssize_t>(message_.size())) {
      ++sent_;
      continue;
    }
    set_error(errno, "send to " + describe());
    dropped_bytes_ += line.size() + 1;
    ++dropped_lines_;
    all_sent = false;
  }
  return all_sent;
}

std::string UdpSink::describe() const {
  return address_.find(':') == std::string::npos ? fmt::format("syslog udp {}:{}", address_, port_)
                                                 : fmt::format("syslog udp [{}]:{}", address_, port_);
}

}  // namespace flowscore
