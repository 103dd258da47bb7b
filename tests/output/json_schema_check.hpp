// A small JSON Schema (draft 2020-12) validator for the keywords
// docs/schema/eve-flow.schema.json and eve-stats.schema.json use. A keyword it does not know is an
// error, so the schema cannot silently outgrow the checker.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

namespace flowscore::test {

class SchemaChecker {
 public:
  explicit SchemaChecker(nlohmann::json schema) : root_(std::move(schema)) {}
  // Empty when `doc` conforms; otherwise one message per violation.
  std::vector<std::string> check(const nlohmann::json& doc);

 private:
  void validate(const nlohmann::json& schema, const nlohmann::json& doc, const std::string& where,
                std::vector<std::string>& errors);
  bool valid(const nlohmann::json& schema, const nlohmann::json& doc);
  const nlohmann::json& resolve(const std::string& ref) const;
  const std::regex& regex(const std::string& pattern);

  nlohmann::json root_;
  std::map<std::string, std::regex> regexes_;
};

}  // namespace flowscore::test
