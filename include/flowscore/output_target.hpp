// Where --out / output.path sends the EVE lines, parsed from its text:
//   -                       standard output
//   PATH, file:PATH         a file (file: for a name that would read as
//                           something else, e.g. file:127.0.0.1:9514)
//   tcp://ADDR:PORT         newline-delimited JSON to a TCP collector
//                           (numeric IPv4, or [IPv6]; TcpSink)
//   syslog+tcp://ADDR:PORT  the same collector address, each line an RFC 5424
//                           message in RFC 6587 octet-counting framing
//   syslog+tls://ADDR:PORT[?ca=FILE&name=HOST&cert=FILE&key=FILE]
//                           the same over TLS (RFC 5425), the collector's
//                           certificate verified
//   kafka://HOST:PORT[,HOST:PORT...]/TOPIC[?PROPERTY=VALUE&...]
//                           one message per line to a Kafka topic
//                           (KafkaSink); any librdkafka property passes
//                           through the query
// A bare "ADDR:PORT" is refused rather than written as a file of that name,
// and so are the transports flowscore does not have yet (syslog over UDP,
// UDP), by name.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flowscore {

struct OutputTarget {
  enum class Kind { kStdout, kFile, kTcp, kSyslogTcp, kSyslogTls, kSyslogUdp, kKafka };
  Kind kind = Kind::kStdout;
  std::string path;  // kFile
  std::string host;  // kTcp, kSyslogTcp: a numeric address, without brackets
  uint16_t port = 0;
  struct Tls {
    std::string ca_file, server_name, cert_file, key_file;  // kSyslogTls: ca, name, cert, key
  } tls;
  std::string brokers, topic;                                   // kKafka
  std::vector<std::pair<std::string, std::string>> properties;  // kKafka: librdkafka's, from the query
};

// False with `error` naming the problem and the spelling that would work.
bool parse_output_target(std::string_view text, OutputTarget& target, std::string& error);

}  // namespace flowscore
