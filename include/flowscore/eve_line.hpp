// Reading back the few fields an output needs from an EVE line flowscore
// wrote (the event type for routing, the Community ID for a Kafka key),
// without parsing the JSON: flowscore writes these as plain strings, without
// escapes, once per line (at the top level in EVE; in the ECS view
// community_id, kind and dataset sit in network and event).
#pragma once
#include <string_view>

namespace flowscore {

// The value of top-level string field `name` in `line`, or empty.
inline std::string_view eve_string_field(std::string_view line, std::string_view name) {
  // `"name":"` then the value up to the next quote.
  size_t at = line.find(name);
  while (at != std::string_view::npos) {
    const size_t colon = at + name.size();
    if (at > 0 && line[at - 1] == '"' && line.substr(colon, 3) == "\":\"") {
      const size_t start = colon + 3, end = line.find('"', start);
      return end == std::string_view::npos ? std::string_view{} : line.substr(start, end - start);
    }
    at = line.find(name, at + 1);
  }
  return {};
}

// What kind of event a line is, in EVE's words ("flow", "alert", "stats"),
// whichever view it is in (output.format): EVE's event_type; in the ECS
// view, "alert" for event.kind alert (flow alerts and campaigns, as in EVE),
// else what follows "flowscore." in event.dataset.
inline std::string_view eve_event_type(std::string_view line) {
  if (const std::string_view type = eve_string_field(line, "event_type"); !type.empty()) return type;
  if (eve_string_field(line, "kind") == "alert") return "alert";
  std::string_view dataset = eve_string_field(line, "dataset");
  return dataset.starts_with("flowscore.") ? dataset.substr(10) : std::string_view{};
}

}  // namespace flowscore
