#include "json_schema_check.hpp"

#include <set>
#include <stdexcept>

namespace flowscore::test {

namespace {

bool has_type(const nlohmann::json& doc, const std::string& type) {
  if (type == "object") return doc.is_object();
  if (type == "array") return doc.is_array();
  if (type == "string") return doc.is_string();
  if (type == "boolean") return doc.is_boolean();
  if (type == "null") return doc.is_null();
  if (type == "number") return doc.is_number();
  if (type == "integer") {
    return doc.is_number_integer() ||
           (doc.is_number_float() && doc.get<double>() == static_cast<double>(static_cast<long long>(doc.get<double>())));
  }
  throw std::runtime_error("unknown type " + type);
}

// Annotation keywords: no effect on validity.
const std::set<std::string> kAnnotations = {"$schema", "$id", "title", "description", "$defs",
                                            "$comment"};

}  // namespace

std::vector<std::string> SchemaChecker::check(const nlohmann::json& doc) {
  std::vector<std::string> errors;
  validate(root_, doc, "$", errors);
  return errors;
}

bool SchemaChecker::valid(const nlohmann::json& schema, const nlohmann::json& doc) {
  std::vector<std::string> errors;
  validate(schema, doc, "", errors);
  return errors.empty();
}

const nlohmann::json& SchemaChecker::resolve(const std::string& ref) const {
  const std::string prefix = "#/$defs/";
  if (ref.rfind(prefix, 0) != 0) throw std::runtime_error("unsupported $ref " + ref);
  return root_.at("$defs").at(ref.substr(prefix.size()));
}

const std::regex& SchemaChecker::regex(const std::string& pattern) {
  auto it = regexes_.find(pattern);
  if (it == regexes_.end()) it = regexes_.emplace(pattern, std::regex(pattern)).first;
  return it->second;
}

void SchemaChecker::validate(const nlohmann::json& schema, const nlohmann::json& doc,
                             const std::string& where, std::vector<std::string>& errors) {
  const auto fail = [&](const std::string& msg) { errors.push_back(where + ": " + msg); };
  for (const auto& [key, arg] : schema.items()) {
    if (kAnnotations.count(key)) continue;
    if (key == "$ref") {
      validate(resolve(arg.get<std::string>()), doc, where, errors);
    } else if (key == "type") {
      bool ok = false;
      if (arg.is_array()) {
        for (const auto& t : arg) ok = ok || has_type(doc, t.get<std::string>());
      } else {
        ok = has_type(doc, arg.get<std::string>());
      }
      if (!ok) fail("type is not " + arg.dump() + ": " + doc.dump());
    } else if (key == "enum") {
      bool ok = false;
      for (const auto& v : arg) ok = ok || v == doc;
      if (!ok) fail("not one of " + arg.dump() + ": " + doc.dump());
    } else if (key == "const") {
      if (arg != doc) fail("is not " + arg.dump() + ": " + doc.dump());
    } else if (key == "pattern") {
      if (doc.is_string() && !std::regex_search(doc.get<std::string>(), regex(arg.get<std::string>()))) {
        fail("does not match " + arg.get<std::string>() + ": " + doc.dump());
      }
    } else if (key == "minLength") {
      // Counts bytes, not code points: enough for the "non-empty" use here.
      if (doc.is_string() && doc.get<std::string>().size() < arg.get<size_t>()) fail("too short");
    } else if (key == "minimum") {
      if (doc.is_number() && doc.get<double>() < arg.get<double>()) fail("below minimum " + arg.dump());
    } else if (key == "maximum") {
      if (doc.is_number() && doc.get<double>() > arg.get<double>()) fail("above maximum " + arg.dump());
    } else if (key == "required") {
      if (doc.is_object()) {
        for (const auto& name : arg) {
          if (!doc.contains(name.get<std::string>())) fail("missing " + name.get<std::string>());
        }
      }
    } else if (key == "dependentRequired") {
      if (doc.is_object()) {
        for (const auto& [name, needs] : arg.items()) {
          if (!doc.contains(name)) continue;
          for (const auto& n : needs) {
            if (!doc.contains(n.get<std::string>())) fail(name + " needs " + n.get<std::string>());
          }
        }
      }
    } else if (key == "properties") {
      if (doc.is_object()) {
        for (const auto& [name, sub] : arg.items()) {
          if (doc.contains(name)) validate(sub, doc.at(name), where + "." + name, errors);
        }
      }
    } else if (key == "additionalProperties") {
      if (doc.is_object()) {
        const nlohmann::json* props = schema.contains("properties") ? &schema.at("properties") : nullptr;
        for (const auto& [name, value] : doc.items()) {
          if (props && props->contains(name)) continue;
          if (arg.is_boolean()) {
            if (!arg.get<bool>()) fail("unexpected member " + name);
          } else {
            validate(arg, value, where + "." + name, errors);
          }
        }
      }
    } else if (key == "maxItems") {
      if (doc.is_array() && doc.size() > arg.get<size_t>()) fail("more than " + arg.dump() + " items");
    } else if (key == "minItems") {
      if (doc.is_array() && doc.size() < arg.get<size_t>()) fail("fewer than " + arg.dump() + " items");
    } else if (key == "items") {
      if (doc.is_array()) {
        for (size_t i = 0; i < doc.size(); ++i) validate(arg, doc[i], where + "[" + std::to_string(i) + "]", errors);
      }
    } else if (key == "allOf") {
      for (const auto& sub : arg) validate(sub, doc, where, errors);
    } else if (key == "anyOf") {
      bool ok = false;
      for (const auto& sub : arg) ok = ok || valid(sub, doc);
      if (!ok) fail("matches none of anyOf");
    } else if (key == "not") {
      if (valid(arg, doc)) fail("matches a schema it must not: " + arg.dump());
    } else if (key == "if") {
      const bool cond = valid(arg, doc);
      if (cond && schema.contains("then")) validate(schema.at("then"), doc, where, errors);
      if (!cond && schema.contains("else")) validate(schema.at("else"), doc, where, errors);
    } else if (key == "then" || key == "else") {
      // handled with "if"
    } else {
      throw std::runtime_error("schema keyword not supported by the test checker: " + key);
    }
  }
}

}  // namespace flowscore::test
