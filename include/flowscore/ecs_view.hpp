// The ECS view (output.format "ecs" or "eve+ecs", docs/OUTPUT.md) of the
// events flowscore writes a few times a minute: campaign alerts and stats.
// They are built from the EVE event as JSON, which costs microseconds and
// keeps one definition of each event; flow and alert events, one per flow,
// have their own fast path in EveFormatter.
#pragma once
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string_view>

#include "flowscore/eve.hpp"

namespace flowscore {

// The ECS members that say what `eve_event` (a campaign alert or a stats
// event) says: @timestamp, ecs, event, observer, source, destination,
// network, rule.
nlohmann::ordered_json ecs_members(const nlohmann::ordered_json& eve_event);

// Rewrites the EVE lines of `out` from byte `from` on (whole lines, each a
// campaign alert or a stats event) in `format`: "ecs" keeps only the
// `flowscore` member (a stats event's `stats` moves into it) beside the ECS
// ones; "eve+ecs" adds the ECS members after the EVE ones. A line that is
// not a JSON object is left as it is.
void reformat_lines(RecordFormat format, fmt::memory_buffer& out, size_t from);

// "eve", "ecs", "eve+ecs".
std::string_view record_format_name(RecordFormat format);
bool parse_record_format(std::string_view name, RecordFormat& format);

}  // namespace flowscore
