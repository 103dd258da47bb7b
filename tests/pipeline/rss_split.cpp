// rss_split IN K ip|ip_port OUT_PREFIX: writes OUT_PREFIX<q>.pcap for q in
// 0..K-1, each holding the packets a Toeplitz RSS NIC configured as
// flowscore configures one (the symmetric key, dpdk.rss_hash) would put on
// RX queue q (nic_rss.hpp), in capture order. Packets that do not parse as
// IP go to queue 0, as a NIC puts what it cannot hash on queue 0. Prints
// the packets per queue.
#include <pcap/pcap.h>

#include <cstdio>
#include <string>
#include <vector>

#include "../../src/pipeline/port_setup.hpp"
#include "flowscore/pcap_file.hpp"
#include "nic_rss.hpp"

using namespace flowscore;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: rss_split IN K ip|ip_port OUT_PREFIX\n");
    return 2;
  }
  const unsigned queues = static_cast<unsigned>(std::stoul(argv[2]));
  const bool with_ports = std::string(argv[3]) == "ip_port";
  PcapFileInfo info;
  std::string err;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* in = probe_pcap_file(argv[1], info, err) ? pcap_open_offline(argv[1], errbuf) : nullptr;
  if (in == nullptr || queues == 0) {
    std::fprintf(stderr, "rss_split: %s: %s%s\n", argv[1], err.c_str(), errbuf);
    return 1;
  }
  std::vector<pcap_dumper_t*> out;
  std::vector<size_t> counts(queues);
  for (unsigned q = 0; q < queues; ++q)
    out.push_back(pcap_dump_open(in, (std::string(argv[4]) + std::to_string(q) + ".pcap").c_str()));
  const std::vector<uint8_t> key = symmetric_rss_key(40);
  pcap_pkthdr* h;
  const u_char* data;
  while (pcap_next_ex(in, &h, &data) == 1) {
    ParsedPacket p;
    unsigned q = 0;
    if (parse_frame(data, h->caplen, info.link, p) == ParseStatus::kOk)
      q = test::nic_rss_queue(test::nic_rss_hash(test::nic_rss_input(p, with_ports), key.data()), queues);
    pcap_dump(reinterpret_cast<u_char*>(out[q]), h, data);
    ++counts[q];
  }
  for (unsigned q = 0; q < queues; ++q) {
    pcap_dump_close(out[q]);
    std::printf("%s%zu", q ? " " : "", counts[q]);
  }
  std::printf("\n");
  pcap_close(in);
  return 0;
}
