// RFC 5424 headers; see include/flowscore/syslog_message.hpp.
#include "flowscore/syslog_message.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "flowscore/eve_line.hpp"

namespace flowscore {

SyslogClock::SyslogClock() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, now.tv_nsec / 1000);
}

size_t syslog_header(std::string_view line, const SyslogOptions& options, const SyslogClock& now, char* out) {
  static const std::string procid = std::to_string(getpid());
  // MSGID is the event type; alerts are warnings, the rest information.
  std::string_view msgid = eve_event_type(line);
  if (msgid.empty() || msgid.size() > 32) msgid = "-";  // RFC 5424: MSGID is at most 32 characters
  const unsigned severity = msgid == "alert" ? 4 : 6;
  const int n = std::snprintf(out, kSyslogHeaderMax, "<%u>1 %s %.255s flowscore %s %.*s - ",
                              options.facility * 8 + severity, now.text, options.hostname.c_str(), procid.c_str(),
                              static_cast<int>(msgid.size()), msgid.data());
  return n < 0 ? 0 : std::min(static_cast<size_t>(n), kSyslogHeaderMax - 1);
}

}  // namespace flowscore
