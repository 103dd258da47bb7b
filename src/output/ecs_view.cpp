// ECS members for campaign alerts and stats events; field meanings are in
// docs/OUTPUT.md ("ECS view"), and tests/data/ecs holds the ECS release's
// own field definitions the tests hold them to.
#include "flowscore/ecs_view.hpp"

#include <string>
#include <vector>

namespace flowscore {

namespace {

using ojson = nlohmann::ordered_json;

// EVE's "2009-11-23T20:02:53.181233+0000" as ECS's "...181233Z".
std::string ecs_time(const ojson& eve_time) {
  std::string t = eve_time.get<std::string>();
  if (t.size() == kEveTimestampLength && t.ends_with("+0000")) t.replace(kEcsTimestampLength - 1, 5, "Z");
  return t;
}

// EVE's proto name ("TCP", "IPv6-ICMP") as ECS's network.transport.
std::string ecs_transport(const std::string& eve_proto) {
  for (const uint8_t proto : {1, 6, 17, 58, 132})
    if (eve_proto_name(proto) == eve_proto) return std::string(ecs_transport_name(proto));
  return {};
}

}  // namespace

ojson ecs_members(const ojson& eve) {
  ojson ecs = ojson::object();
  ecs["@timestamp"] = ecs_time(eve.at("timestamp"));
  ecs["ecs"] = {{"version", kEcsVersion}};
  const bool alert = eve.value("event_type", "") == "alert";
  const ojson* campaign = eve.contains("flowscore") ? &eve["flowscore"] : nullptr;
  if (campaign && campaign->contains("campaign")) {
    campaign = &(*campaign)["campaign"];
  } else {
    campaign = nullptr;
  }
  ojson event = ojson::object();
  if (alert) {
    event = {{"kind", "alert"}, {"category", {"network", "intrusion_detection"}}, {"type", {"allowed"}}};
  } else {  // stats: the sensor's own health
    event = {{"kind", "metric"}, {"category", {"network"}}, {"type", {"info"}}};
  }
  event["module"] = "flowscore";
  event["dataset"] = campaign ? "flowscore.campaign" : "flowscore." + eve.value("event_type", std::string("event"));
  if (campaign) {
    event["start"] = ecs_time(campaign->at("first_seen"));
    event["end"] = ecs_time(campaign->at("last_seen"));
  }
  if (eve.contains("alert")) event["severity"] = eve["alert"].at("severity");
  ecs["event"] = event;

  ojson observer = {{"type", "ids"}, {"vendor", "flowscore"}, {"product", "flowscore"}};
  if (eve.contains("host")) observer["name"] = eve["host"];
  if (eve.contains("in_iface")) observer["ingress"] = {{"interface", {{"name", eve["in_iface"]}}}};
  ecs["observer"] = observer;
  if (eve.contains("src_ip")) ecs["source"] = {{"ip", eve["src_ip"]}};
  if (eve.contains("dest_ip") || eve.contains("dest_port")) {
    ojson destination = ojson::object();
    if (eve.contains("dest_ip")) destination["ip"] = eve["dest_ip"];
    if (eve.contains("dest_port")) destination["port"] = eve["dest_port"];
    ecs["destination"] = destination;
  }
  if (eve.contains("proto")) {
    const std::string proto = eve["proto"].get<std::string>();
    ojson network = ojson::object();
    if (const std::string transport = ecs_transport(proto); !transport.empty()) network["transport"] = transport;
    ecs["network"] = network;
  }
  if (eve.contains("alert")) {
    const ojson& a = eve["alert"];
    ecs["rule"] = {{"id", std::to_string(a.at("signature_id").get<uint64_t>())},
                   {"version", std::to_string(a.at("rev").get<uint64_t>())},
                   {"name", a.at("signature")},
                   {"category", a.at("category")},
                   {"ruleset", "flowscore"}};
  }
  return ecs;
}

void reformat_lines(RecordFormat format, fmt::memory_buffer& out, size_t from) {
  if (format == RecordFormat::kEve || from >= out.size()) return;
  const std::string eve_text(out.data() + from, out.size() - from);
  out.resize(from);
  size_t at = 0;
  while (at < eve_text.size()) {
    size_t end = eve_text.find('\n', at);
    if (end == std::string::npos) end = eve_text.size();
    const std::string_view line(eve_text.data() + at, end - at);
    at = end + 1;
    ojson eve = ojson::parse(line, nullptr, /*allow_exceptions=*/false);
    std::string text;
    if (!eve.is_object() || !eve.contains("timestamp")) {
      text = line;  // not an event of ours: as it was
    } else if (format == RecordFormat::kEveEcs) {
      const ojson ecs = ecs_members(eve);
      for (const auto& [k, v] : ecs.items()) eve[k] = v;
      text = eve.dump();
    } else {
      ojson ecs = ecs_members(eve);
      ojson own = eve.contains("flowscore") ? eve["flowscore"] : ojson::object();
      if (eve.contains("stats")) own["stats"] = eve["stats"];
      ecs["flowscore"] = own;
      text = ecs.dump();
    }
    out.append(text);
    out.push_back('\n');
  }
}

std::string_view record_format_name(RecordFormat format) {
  switch (format) {
    case RecordFormat::kEcs: return "ecs";
    case RecordFormat::kEveEcs: return "eve+ecs";
    default: return "eve";
  }
}

bool parse_record_format(std::string_view name, RecordFormat& format) {
  for (const RecordFormat f : {RecordFormat::kEve, RecordFormat::kEcs, RecordFormat::kEveEcs})
    if (record_format_name(f) == name) {
      format = f;
      return true;
    }
  return false;
}

}  // namespace flowscore
