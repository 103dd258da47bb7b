#include "html_report.hpp"

#include <string_view>

namespace flowscore::report {

extern const std::string_view kChartJs, kReportJs, kReportCss;  // report_assets.cpp (generated)

namespace {

// Text for an HTML element's content.
std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// JSON inside <script type="application/json">: "</" could end the element
// early ("</script>" in a hostname), so it is written as "<\/", which JSON
// reads back as the same string.
std::string script_safe_json(const nlohmann::json& j) {
  const std::string text = j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<' && i + 1 < text.size() && text[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

void write_html_report(std::ostream& out, const nlohmann::json& summary, const std::string& title) {
  out << "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         // Nothing leaves the page: no fetch, image, font or script from anywhere.
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
         "style-src 'unsafe-inline'; img-src data:\">\n"
      << "<title>" << html_escape(title) << "</title>\n<style>\n"
      << kReportCss << "</style>\n</head>\n<body>\n<header><h1>" << html_escape(title)
      << "</h1></header>\n<main id=\"report\"></main>\n"
      << "<script id=\"report-data\" type=\"application/json\">" << script_safe_json(summary) << "</script>\n"
      << "<script>\n" << kChartJs << "\n</script>\n<script>\n" << kReportJs << "\n</script>\n</body>\n</html>\n";
}

}  // namespace flowscore::report
