// parse_output_target: what each spelling of --out / output.path means, and
// that an address-looking target is refused, not written as a file of that
// name (issue 15: `--out 127.0.0.1:9514` silently wrote such a file).
#include <gtest/gtest.h>

#include "flowscore/output_target.hpp"

namespace flowscore {
namespace {

OutputTarget parsed(const std::string& text) {
  OutputTarget t;
  std::string error;
  EXPECT_TRUE(parse_output_target(text, t, error)) << text << ": " << error;
  return t;
}

std::string refused(const std::string& text) {
  OutputTarget t;
  std::string error;
  EXPECT_FALSE(parse_output_target(text, t, error)) << text;
  return error;
}

TEST(OutputTarget, FilesStdoutAndTcpCollectors) {
  EXPECT_EQ(parsed("-").kind, OutputTarget::Kind::kStdout);
  EXPECT_EQ(parsed("eve.json").path, "eve.json");
  EXPECT_EQ(parsed("/var/log/flowscore/eve.json").kind, OutputTarget::Kind::kFile);
  EXPECT_EQ(parsed("out/host:port.json").path, "out/host:port.json");  // a colon inside a path is fine
  EXPECT_EQ(parsed("file:127.0.0.1:9514").path, "127.0.0.1:9514");     // the way to mean a file
  EXPECT_EQ(parsed("file:///tmp/eve.json").path, "/tmp/eve.json");
  const OutputTarget v4 = parsed("tcp://127.0.0.1:9514");
  EXPECT_EQ(v4.kind, OutputTarget::Kind::kTcp);
  EXPECT_EQ(v4.host, "127.0.0.1");
  EXPECT_EQ(v4.port, 9514);
  const OutputTarget sys = parsed("syslog+tcp://10.1.2.3:601");
  EXPECT_EQ(sys.kind, OutputTarget::Kind::kSyslogTcp);
  EXPECT_EQ(sys.host, "10.1.2.3");
  EXPECT_EQ(sys.port, 601);
  const OutputTarget tls = parsed("syslog+tls://10.1.2.3:6514?ca=/etc/ssl/siem-ca.pem&name=siem.example");
  EXPECT_EQ(tls.kind, OutputTarget::Kind::kSyslogTls);
  EXPECT_EQ(tls.host, "10.1.2.3");
  EXPECT_EQ(tls.port, 6514);
  EXPECT_EQ(tls.tls.ca_file, "/etc/ssl/siem-ca.pem");
  EXPECT_EQ(tls.tls.server_name, "siem.example");
  EXPECT_EQ(parsed("syslog+tls://[::1]:6514").host, "::1");
  const OutputTarget udp = parsed("syslog+udp://[::1]:514");
  EXPECT_EQ(udp.kind, OutputTarget::Kind::kSyslogUdp);
  EXPECT_EQ(udp.host, "::1");
  EXPECT_EQ(udp.port, 514);
  const OutputTarget v6 = parsed("tcp://[::1]:5044");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 5044);
}

TEST(OutputTarget, KafkaBrokersTopicAndProperties) {
  const OutputTarget k = parsed("kafka://broker-1:9092,10.0.0.2:9093/flowscore.eve?compression.type=zstd&acks=1");
  EXPECT_EQ(k.kind, OutputTarget::Kind::kKafka);
  EXPECT_EQ(k.brokers, "broker-1:9092,10.0.0.2:9093");  // brokers advertise names: DNS is Kafka's own
  EXPECT_EQ(k.topic, "flowscore.eve");
  const std::vector<std::pair<std::string, std::string>> props = {{"compression.type", "zstd"}, {"acks", "1"}};
  EXPECT_EQ(k.properties, props);
  EXPECT_TRUE(parsed("kafka://127.0.0.1:9092/eve").properties.empty());
}

TEST(OutputTarget, AddressLikeAndUnbuiltTargetsAreRefusedByName) {
  EXPECT_NE(refused("127.0.0.1:9514").find("tcp://127.0.0.1:9514"), std::string::npos);
  EXPECT_NE(refused("[::1]:9514").find("looks like a network address"), std::string::npos);
  EXPECT_NE(refused("localhost:9514").find("looks like a network address"), std::string::npos);
  EXPECT_NE(refused("tcp://collector.example:9514").find("numeric"), std::string::npos);
  EXPECT_NE(refused("tcp://127.0.0.1").find("no port"), std::string::npos);
  EXPECT_NE(refused("tcp://127.0.0.1:0").find("not a port"), std::string::npos);
  EXPECT_NE(refused("tcp://127.0.0.1:70000").find("not a port"), std::string::npos);
  EXPECT_NE(refused("tcp://[::1:9514").find("[ADDR]:PORT"), std::string::npos);
  EXPECT_NE(refused("syslog+tcp://collector.example:601").find("numeric"), std::string::npos);
  EXPECT_NE(refused("kafka://127.0.0.1:9092").find("kafka://HOST:PORT"), std::string::npos);
  EXPECT_NE(refused("kafka://b1:9092/eve?acks").find("not PROPERTY=VALUE"), std::string::npos);
  EXPECT_NE(refused("kafka://b1:9092,b2/eve").find("broker 'b2' is not HOST:PORT"), std::string::npos);
  EXPECT_NE(refused("kafka://b1:9092/ev/e").find("not a Kafka topic name"), std::string::npos);
  EXPECT_NE(refused("udp://127.0.0.1:514").find("syslog+udp://ADDR:PORT"), std::string::npos);
  EXPECT_NE(refused("syslog+udp://127.0.0.1:514?ca=x").find("takes no options"), std::string::npos);
  EXPECT_NE(refused("syslog+tls://127.0.0.1:6514?verify=no").find("not one of ca=FILE"), std::string::npos);
  EXPECT_NE(refused("syslog+tls://127.0.0.1:6514?ca=").find("not one of ca=FILE"), std::string::npos);
  EXPECT_NE(refused("syslog+tcp://127.0.0.1:601?ca=x").find("takes no options"), std::string::npos);
  EXPECT_NE(refused("http://127.0.0.1/").find("unknown output scheme"), std::string::npos);
  EXPECT_FALSE(refused("").empty());
  EXPECT_FALSE(refused("file:").empty());
}

}  // namespace
}  // namespace flowscore
