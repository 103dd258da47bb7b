// RFC 5424 syslog messages carrying one EVE line each: the header the TCP
// (RFC 6587 octet counting, RFC 5425 TLS) and UDP (RFC 5426) syslog
// outputs put in front of the line. PRI from the facility and the event
// (alerts: warning, the rest: informational), TIMESTAMP when the sensor
// sent it, HOSTNAME the sensor, APP-NAME flowscore, PROCID its pid, MSGID
// the EVE event type, no structured data; MSG is the JSON line.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace flowscore {

struct SyslogOptions {
  std::string hostname;          // HOSTNAME: the sensor's name
  unsigned facility = 16;        // local0
  size_t long_message_bytes = 8192;  // a collector's common limit (rsyslog's default); longer ones are counted
};

// TIMESTAMP for messages sent now: RFC 3339 UTC with microseconds.
struct SyslogClock {
  char text[64];  // room for any tm the format could be given (GCC checks the bound)
  SyslogClock();
};

inline constexpr size_t kSyslogHeaderMax = 160 + 255;  // PRI, TIMESTAMP, PROCID, MSGID, and a 255-byte HOSTNAME

// Writes the header for `line` into `out` (kSyslogHeaderMax bytes); returns
// its length.
size_t syslog_header(std::string_view line, const SyslogOptions& options, const SyslogClock& now, char* out);

}  // namespace flowscore
