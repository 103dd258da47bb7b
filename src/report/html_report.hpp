// Writes a report: one self-contained HTML file (inlined Chart.js, the
// drawing script and styles, the summary as JSON), with a
// Content-Security-Policy that forbids every network request.
#pragma once
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace flowscore::report {

// summary: ReportBuilder::summary() plus "report" ({version, generated}) and,
// when given, "model_card" (a metrics.json).
void write_html_report(std::ostream& out, const nlohmann::json& summary, const std::string& title);

}  // namespace flowscore::report
