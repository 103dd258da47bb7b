// AppProtoDetector over nDPI 4.2 (Debian's libndpi-dev).
#include <ndpi_api.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "flowscore/app_proto.hpp"

namespace flowscore {

namespace {

// nDPI protocols Suricata also parses, by Suricata's app-layer name
// (AppProtoToString in Suricata's app-layer-protos.c; HTTP/1 goes out as
// "http"). Mail over implicit TLS is "tls" there: Suricata sees the TLS.
struct SuricataName {
  uint16_t ndpi;
  std::string_view name;
};
constexpr SuricataName kSuricataNames[] = {
    {NDPI_PROTOCOL_HTTP, "http"},         {NDPI_PROTOCOL_HTTP_CONNECT, "http"},
    {NDPI_PROTOCOL_HTTP_PROXY, "http"},   {NDPI_PROTOCOL_TLS, "tls"},
    {NDPI_PROTOCOL_MAIL_SMTPS, "tls"},    {NDPI_PROTOCOL_MAIL_IMAPS, "tls"},
    {NDPI_PROTOCOL_MAIL_POPS, "tls"},     {NDPI_PROTOCOL_DNS, "dns"},
    {NDPI_PROTOCOL_SSH, "ssh"},           {NDPI_PROTOCOL_MAIL_SMTP, "smtp"},
    {NDPI_PROTOCOL_MAIL_IMAP, "imap"},    {NDPI_PROTOCOL_MAIL_POP, "pop3"},
    {NDPI_PROTOCOL_FTP_CONTROL, "ftp"},   {NDPI_PROTOCOL_FTP_DATA, "ftp-data"},
    {NDPI_PROTOCOL_NTP, "ntp"},           {NDPI_PROTOCOL_DHCP, "dhcp"},
    {NDPI_PROTOCOL_SMBV1, "smb"},         {NDPI_PROTOCOL_SMBV23, "smb"},
    {NDPI_PROTOCOL_DCERPC, "dcerpc"},     {NDPI_PROTOCOL_KERBEROS, "krb5"},
    {NDPI_PROTOCOL_SNMP, "snmp"},         {NDPI_PROTOCOL_SIP, "sip"},
    {NDPI_PROTOCOL_RDP, "rdp"},           {NDPI_PROTOCOL_QUIC, "quic"},
    {NDPI_PROTOCOL_MQTT, "mqtt"},         {NDPI_PROTOCOL_TFTP, "tftp"},
    {NDPI_PROTOCOL_NFS, "nfs"},           {NDPI_PROTOCOL_IRC, "irc"},
    {NDPI_PROTOCOL_MODBUS, "modbus"},     {NDPI_PROTOCOL_DNP3, "dnp3"},
    {NDPI_PROTOCOL_TELNET, "telnet"},     {NDPI_PROTOCOL_POSTGRES, "pgsql"},
    {NDPI_PROTOCOL_VNC, "rfb"},           {NDPI_PROTOCOL_LDAP, "ldap"},
    {NDPI_PROTOCOL_JABBER, "jabber"},
};

// Code -> name, filled once by the first detector (on the main lcore, before
// any worker runs) and only read afterwards.
std::vector<std::string> g_names;
std::once_flag g_names_once;
// nDPI: "ndpi_init_detection_module ... calls MUST NOT run in parallel".
std::mutex g_init_mutex;

void build_names(ndpi_detection_module_struct* module) {
  const unsigned count = ndpi_get_num_supported_protocols(module);
  g_names.assign(count, std::string());
  for (unsigned id = 1; id < count; ++id) {
    const char* name = ndpi_get_proto_name(module, static_cast<uint16_t>(id));
    std::string lower = name ? name : "";
    // Lower case (ECS network.protocol), and nothing JSON would need to escape.
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
      const char l = static_cast<char>(std::tolower(c));
      return std::isalnum(static_cast<unsigned char>(l)) || l == '.' || l == '-' ? l : '_';
    });
    lower.resize(std::min(lower.size(), kMaxAppProtoName));
    g_names[id] = lower;
  }
  for (const SuricataName& s : kSuricataNames)
    if (s.ndpi < count) g_names[s.ndpi] = s.name;
}

// The protocol a result names: the master ("http" for HTTP to a Facebook
// host, "tls" for TLS to Google), else the application, for protocols that
// run on nothing nDPI knows (DNS, SSH).
uint16_t protocol_of(const ndpi_protocol& p) {
  return p.master_protocol != NDPI_PROTOCOL_UNKNOWN ? p.master_protocol : p.app_protocol;
}

}  // namespace

bool app_proto_available() { return true; }

std::string_view app_proto_name(uint16_t code) {
  if (code == kAppProtoFailed) return "failed";
  return code < g_names.size() ? std::string_view(g_names[code]) : std::string_view();
}

struct AppProtoDetector::Ndpi {
  ndpi_detection_module_struct* module = nullptr;
  size_t flow_bytes = 0;      // one nDPI flow state, rounded to a cache line
  uint8_t* pool = nullptr;    // cfg.flows states, made and touched at start-up
  size_t pool_bytes = 0;
  std::vector<uint16_t> free; // free slots (a stack): reserved once, never grows
  ndpi_flow_struct* flow(uint16_t slot) { return reinterpret_cast<ndpi_flow_struct*>(pool + slot * flow_bytes); }
  ~Ndpi() {
    std::free(pool);
    if (module) ndpi_exit_detection_module(module);
  }
};

AppProtoDetector::AppProtoDetector(const AppProtoConfig& cfg) : cfg_(cfg), ndpi_(std::make_unique<Ndpi>()) {}
AppProtoDetector::~AppProtoDetector() {
  if (!ndpi_) return;
  // States still in use (a detector torn down mid-run) hold nDPI's own allocations.
  std::vector<bool> is_free(cfg_.flows, false);
  for (const uint16_t s : ndpi_->free) is_free[s] = true;
  for (uint32_t s = 0; s < cfg_.flows; ++s)
    if (!is_free[s]) ndpi_free_flow_data(ndpi_->flow(static_cast<uint16_t>(s)));
}

std::unique_ptr<AppProtoDetector> AppProtoDetector::create(const AppProtoConfig& cfg, std::string& error) {
  if (cfg.flows == 0 || cfg.flows > AppProtoConfig::kMaxFlows || cfg.packets == 0 ||
      cfg.packets > AppProtoConfig::kMaxPackets) {
    error = "flow.app_proto_flows / flow.app_proto_packets out of range";
    return nullptr;
  }
  std::unique_ptr<AppProtoDetector> d(new AppProtoDetector(cfg));
  Ndpi& n = *d->ndpi_;
  {
    std::lock_guard lock(g_init_mutex);
    n.module = ndpi_init_detection_module(ndpi_no_prefs);
    if (n.module == nullptr) {
      error = "nDPI: cannot initialise a detection module";
      return nullptr;
    }
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(n.module, &all);
    ndpi_finalize_initialization(n.module);
  }
  std::call_once(g_names_once, build_names, n.module);
  n.flow_bytes = (ndpi_detection_get_sizeof_ndpi_flow_struct() + 63) / 64 * 64;
  n.pool_bytes = n.flow_bytes * cfg.flows;
  n.pool = static_cast<uint8_t*>(std::aligned_alloc(64, n.pool_bytes));
  if (n.pool == nullptr) {
    error = fmt::format("nDPI: cannot allocate {} flow states ({} MiB): lower flow.app_proto_flows", cfg.flows,
                        n.pool_bytes >> 20);
    return nullptr;
  }
  std::memset(n.pool, 0, n.pool_bytes);  // touched now, not on the packet path
  n.free.reserve(cfg.flows);
  for (uint32_t s = cfg.flows; s-- > 0;) n.free.push_back(static_cast<uint16_t>(s));
  return d;
}

size_t AppProtoDetector::memory_bytes() const { return ndpi_->pool_bytes; }

void AppProtoDetector::inspect(AppDetection& flow, const uint8_t* l3, uint32_t length, bool has_payload,
                               uint64_t ts_ns) {
  if (flow.state == AppDetection::kDone) return;
  Ndpi& n = *ndpi_;
  // A flow takes a state with its first payload: before it (a handshake)
  // there is nothing to name, and a flood of lone SYNs or a scan would
  // otherwise hold the whole pool until those flows time out. nDPI tracks
  // TCP from any segment (it also names mid-stream captures). The packets
  // before still count toward flow.app_proto_packets.
  if (flow.state == AppDetection::kFresh && !has_payload) {
    if (++flow.packets >= cfg_.packets) flow.state = AppDetection::kDone;
    return;
  }
  if (flow.state == AppDetection::kFresh) {
    if (n.free.empty()) {
      ++counters_.flows_no_slot;
      flow.state = AppDetection::kDone;
      return;
    }
    flow.slot = n.free.back();
    n.free.pop_back();
    flow.state = AppDetection::kDetecting;
    ++counters_.flows_inspected;
  }
  ndpi_flow_struct* f = n.flow(flow.slot);
  flow.saw_payload |= has_payload;
  if (flow.packets < UINT8_MAX) ++flow.packets;
  ++counters_.packets_inspected;
  const ndpi_protocol p = ndpi_detection_process_packet(n.module, f, l3, static_cast<uint16_t>(std::min<uint32_t>(length, UINT16_MAX)),
                                                        ts_ns / 1'000'000);
  // Named: done. nDPI could go on for metadata (certificates, ...;
  // ndpi_extra_dissection_possible), which a protocol name does not need.
  if (const uint16_t named = protocol_of(p); named != NDPI_PROTOCOL_UNKNOWN) {
    conclude(flow, named);
  } else if (flow.packets >= cfg_.packets) {
    finish(flow);
  }
}

void AppProtoDetector::finish(AppDetection& flow) {
  if (flow.state != AppDetection::kDetecting) {
    flow.state = AppDetection::kDone;
    return;
  }
  // No guess from ports or addresses (enable_guess 0): like Suricata's
  // app_proto, the name says what the payload was, not which port it used.
  uint8_t guessed = 0;
  const ndpi_protocol p = ndpi_detection_giveup(ndpi_->module, ndpi_->flow(flow.slot), 0, &guessed);
  conclude(flow, protocol_of(p));
}

void AppProtoDetector::conclude(AppDetection& flow, uint16_t protocol) {
  if (protocol != NDPI_PROTOCOL_UNKNOWN) {
    flow.code = protocol;
    ++counters_.flows_detected;
  } else if (flow.saw_payload) {
    flow.code = kAppProtoFailed;
    ++counters_.flows_failed;
  }
  ndpi_flow_struct* f = ndpi_->flow(flow.slot);
  ndpi_free_flow_data(f);
  std::memset(static_cast<void*>(f), 0, ndpi_->flow_bytes);  // nDPI wants a zeroed state for the next flow
  ndpi_->free.push_back(flow.slot);
  flow.slot = AppDetection::kNoSlot;
  flow.state = AppDetection::kDone;
}

}  // namespace flowscore
