#include "xgboost_json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "objective.hpp"

namespace flowscore::model {
namespace {

// float as the number type: the lexer then converts with strtof, so each
// number XGBoost printed (shortest round-trip form of a float32) becomes that
// exact float, with no detour through double rounding.
using Json = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t, std::uint64_t, float>;

// Small readers that turn "missing/wrong type" into a message naming the field.
class Reader {
 public:
  explicit Reader(std::string& error) : error_(error) {}

  const Json* member(const Json& object, const char* key, const std::string& where) {
    if (!object.is_object()) return fail(fmt::format("{} is not a JSON object", where)), nullptr;
    auto it = object.find(key);
    if (it == object.end()) return fail(fmt::format("{} has no '{}'", where, key)), nullptr;
    return &*it;
  }

  const Json* array(const Json& object, const char* key, const std::string& where) {
    const Json* v = member(object, key, where);
    if (v && !v->is_array()) return fail(fmt::format("{}.{} is not an array", where, key)), nullptr;
    return v;
  }

  bool string(const Json& object, const char* key, const std::string& where, std::string& out) {
    const Json* v = member(object, key, where);
    if (!v) return false;
    if (!v->is_string()) return fail(fmt::format("{}.{} is not a string", where, key));
    out = v->get<std::string>();
    return true;
  }

  // XGBoost writes integer parameters as strings ("num_feature": "60").
  bool uint_string(const Json& object, const char* key, const std::string& where, uint64_t max, uint32_t& out) {
    std::string text;
    if (!string(object, key, where, text)) return false;
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || text[0] == '-' || *end != '\0' || errno != 0 || v > max)
      return fail(fmt::format("{}.{} = '{}' is not an integer in 0..{}", where, key, text, max));
    out = static_cast<uint32_t>(v);
    return true;
  }

  bool float_string(const Json& object, const char* key, const std::string& where, float& out) {
    std::string text;
    if (!string(object, key, where, text)) return false;
    errno = 0;
    char* end = nullptr;
    out = std::strtof(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(out))
      return fail(fmt::format("{}.{} = '{}' is not a finite number", where, key, text));
    return true;
  }

  bool ints(const Json& object, const char* key, const std::string& where, int64_t lo, int64_t hi,
            std::vector<int64_t>& out) {
    const Json* arr = array(object, key, where);
    if (!arr) return false;
    out.clear();
    out.reserve(arr->size());
    for (const Json& v : *arr) {
      if (!v.is_number_integer())
        return fail(fmt::format("{}.{}[{}] is not an integer", where, key, out.size()));
      const int64_t i = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(hi) ? hi + 1 : v.get<int64_t>();
      if (i < lo || i > hi)
        return fail(fmt::format("{}.{}[{}] = {} is outside {}..{}", where, key, out.size(), v.dump(), lo, hi));
      out.push_back(i);
    }
    return true;
  }

  bool floats(const Json& object, const char* key, const std::string& where, std::vector<float>& out) {
    const Json* arr = array(object, key, where);
    if (!arr) return false;
    out.clear();
    out.reserve(arr->size());
    for (const Json& v : *arr) {
      if (!v.is_number()) return fail(fmt::format("{}.{}[{}] is not a number", where, key, out.size()));
      out.push_back(v.get<float>());
    }
    return true;
  }

  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

 private:
  std::string& error_;
};

struct RawTree {
  std::vector<int64_t> left, right, split_index, default_left;
  std::vector<float> value;
};

bool read_tree(Reader& in, const Json& tree, const std::string& where, RawTree& raw) {
  const Json* param = in.member(tree, "tree_param", where);
  uint32_t num_nodes = 0;
  if (!param || !in.uint_string(*param, "num_nodes", where + ".tree_param", kMaxNodes, num_nodes)) return false;
  if (num_nodes == 0) return in.fail(where + " has no nodes");
  constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
  // split_indices of pruned (deleted, unreachable) nodes hold XGBoost's
  // deletion marker, so the range check on features happens on reachable
  // nodes only (validate_forest).
  if (!in.ints(tree, "left_children", where, -1, kIntMax, raw.left) ||
      !in.ints(tree, "right_children", where, -1, kIntMax, raw.right) ||
      !in.ints(tree, "split_indices", where, 0, std::numeric_limits<uint32_t>::max(), raw.split_index) ||
      !in.ints(tree, "default_left", where, 0, 1, raw.default_left) ||
      !in.floats(tree, "split_conditions", where, raw.value))
    return false;
  for (size_t size : {raw.left.size(), raw.right.size(), raw.split_index.size(), raw.default_left.size(),
                      raw.value.size()}) {
    if (size != num_nodes)
      return in.fail(fmt::format("{}: node arrays have {} entries, tree_param.num_nodes says {}", where, size,
                                 num_nodes));
  }
  std::vector<int64_t> split_type;
  if (tree.contains("split_type") && !in.ints(tree, "split_type", where, 0, 1, split_type)) return false;
  for (int64_t t : split_type)
    if (t != 0) return in.fail(where + " has categorical splits, which flowscore does not support");
  const Json* categories = tree.contains("categories_nodes") ? &tree["categories_nodes"] : nullptr;
  if (categories && !(categories->is_array() && categories->empty()))
    return in.fail(where + " has categorical splits, which flowscore does not support");
  return true;
}

// Copies the nodes reachable from the root, renumbered in depth-first
// pre-order (left first) so a walk tends to move forward in memory. Nodes
// XGBoost pruned stay in its arrays but are unreachable; they are dropped.
bool append_tree(Reader& in, const RawTree& raw, const std::string& where, float leaf_scale, float base_margin,
                 bool dart, std::vector<TreeNode>& nodes) {
  const size_t n = raw.left.size();
  const size_t first = nodes.size();
  std::vector<int32_t> new_index(n, -1);
  struct Pending {
    int64_t old_index;
    int64_t parent;  // new index (tree-local) of the parent, -1 for the root
    bool is_left;
  };
  std::vector<Pending> stack{{0, -1, false}};
  while (!stack.empty()) {
    const Pending p = stack.back();
    stack.pop_back();
    if (p.old_index < 0 || static_cast<size_t>(p.old_index) >= n)
      return in.fail(fmt::format("{}: child index {} is out of range (tree has {} nodes)", where, p.old_index, n));
    if (new_index[p.old_index] >= 0)
      return in.fail(
          fmt::format("{}: node {} is reachable twice (cycle or shared subtree)", where, p.old_index));
    const int32_t local = static_cast<int32_t>(nodes.size() - first);
    new_index[p.old_index] = local;
    if (p.parent >= 0) (p.is_left ? nodes[first + p.parent].left : nodes[first + p.parent].right) = local;
    TreeNode node;
    const size_t i = static_cast<size_t>(p.old_index);
    if (raw.left[i] == -1) {
      if (raw.right[i] != -1) return in.fail(fmt::format("{}: node {} has only a right child", where, i));
      float leaf = raw.value[i];
      // XGBoost 1.7's dart in-place prediction (gbtree.cc, Dart::InplacePredict)
      // predicts each tree on its own from the base margin, subtracts the
      // base margin again, then scales by the tree's weight: reproduce those
      // three float32 roundings, once, here.
      if (dart) leaf = ((base_margin + leaf) - base_margin) * leaf_scale;
      node.value = leaf;
    } else {
      if (raw.right[i] == -1) return in.fail(fmt::format("{}: node {} has only a left child", where, i));
      node.feature = static_cast<uint32_t>(raw.split_index[i]);
      node.value = raw.value[i];
      node.default_left = raw.default_left[i] != 0;
      node.left = node.right = 0;  // set when the children are visited
      stack.push_back({raw.right[i], local, false});
      stack.push_back({raw.left[i], local, true});
    }
    nodes.push_back(node);
  }
  return true;
}

// class_names is a JSON list inside a string attribute (XGBoost attributes
// are strings only), as scripts/lib/flowmodel.py writes it.
bool parse_class_names(Reader& in, const std::string& text, std::vector<std::string>& names) {
  const char* where = "learner.attributes.class_names";
  Json list;  // stays null, not a list, when the text does not parse
  try {
    list = Json::parse(text);
  } catch (const Json::exception&) {
  }
  if (!list.is_array())
    return in.fail(fmt::format("{} is not a JSON list of names: '{}'", where, text.substr(0, 80)));
  names.clear();
  for (const Json& name : list) {
    if (!name.is_string()) return in.fail(fmt::format("{} holds a non-string", where));
    names.push_back(name.get<std::string>());
  }
  return true;
}

// The booster attributes flowscore's training records (docs/TRAINING.md):
// class_names and feature_spec_version. Both are optional, so a model
// trained elsewhere still loads; the caller may override either.
bool read_training_attributes(Reader& in, const Json& learner, Forest& forest) {
  forest.class_names.clear();
  forest.feature_spec_version.clear();
  const auto attributes = learner.find("attributes");
  if (attributes == learner.end()) return true;
  const std::string where = "learner.attributes";
  if (!attributes->is_object()) return in.fail(where + " is not a JSON object");
  if (attributes->contains("feature_spec_version") &&
      !in.string(*attributes, "feature_spec_version", where, forest.feature_spec_version))
    return false;
  std::string class_names;
  if (attributes->contains("class_names") &&
      !(in.string(*attributes, "class_names", where, class_names) &&
        parse_class_names(in, class_names, forest.class_names)))
    return false;
  return true;
}

bool parse_document(const Json& doc, Forest& forest, std::string& error) {
  Reader in(error);
  const Json* version = in.array(doc, "version", "model");
  if (!version) return false;
  // Built by hand, not with dump(): dump() recurses, and a hostile
  // "version" may be nested a million levels deep.
  std::string saved_by;
  for (size_t i = 0; i < std::min<size_t>(version->size(), 4); ++i) {
    const Json& part = (*version)[i];
    if (i) saved_by += ',';
    saved_by += part.is_number_integer() ? std::to_string(part.get<int64_t>()) : std::string("?");
  }
  if (version->size() != 3 || !(*version)[0].is_number_integer() || !(*version)[1].is_number_integer() ||
      (*version)[0].get<int64_t>() != 1 || (*version)[1].get<int64_t>() != 7)
    return in.fail(fmt::format("model was saved by XGBoost version [{}]; flowscore reads XGBoost 1.7 models "
                               "(re-save it with XGBoost 1.7)",
                               saved_by));
  const Json* learner = in.member(doc, "learner", "model");
  if (!learner) return false;
  const Json* param = in.member(*learner, "learner_model_param", "learner");
  const Json* objective = in.member(*learner, "objective", "learner");
  const Json* booster = in.member(*learner, "gradient_booster", "learner");
  if (!param || !objective || !booster) return false;

  std::string objective_text;
  if (!in.string(*objective, "name", "learner.objective", objective_text)) return false;
  if (!objective_from_name(objective_text, forest.objective))
    return in.fail(fmt::format("objective '{}' is not supported (supported: binary:logistic, reg:logistic, "
                               "binary:logitraw, reg:squarederror, multi:softprob, multi:softmax)",
                               objective_text));
  const std::string where_param = "learner.learner_model_param";
  uint32_t num_class = 0;
  float base_score = 0;
  if (!in.uint_string(*param, "num_feature", where_param, kMaxFeatures, forest.num_features) ||
      !in.uint_string(*param, "num_class", where_param, kMaxGroups, num_class) ||
      !in.float_string(*param, "base_score", where_param, base_score))
    return false;
  if (param->contains("num_target")) {
    uint32_t num_target = 0;
    if (!in.uint_string(*param, "num_target", where_param, kMaxGroups, num_target)) return false;
    if (num_target != 1) return in.fail("multi-target models are not supported");
  }
  const bool multi = forest.objective == Objective::kMultiSoftprob || forest.objective == Objective::kMultiSoftmax;
  if (multi ? num_class < 2 : num_class > 1)
    return in.fail(fmt::format("num_class {} does not fit objective {}", num_class, objective_text));
  forest.num_groups = multi ? num_class : 1;
  if (!base_score_to_margin(forest.objective, base_score, forest.base_margin, error)) return false;

  forest.feature_names.clear();
  if (learner->contains("feature_names")) {
    const Json& names = (*learner)["feature_names"];
    if (!names.is_array()) return in.fail("learner.feature_names is not an array");
    for (const Json& n : names) {
      if (!n.is_string()) return in.fail("learner.feature_names holds a non-string");
      forest.feature_names.push_back(n.get<std::string>());
    }
    if (!forest.feature_names.empty() && forest.feature_names.size() != forest.num_features)
      return in.fail(fmt::format("model names {} features but num_feature is {}", forest.feature_names.size(),
                                 forest.num_features));
  }
  if (forest.feature_names.empty())
    for (uint32_t i = 0; i < forest.num_features; ++i) forest.feature_names.push_back(fmt::format("f{}", i));
  if (!read_training_attributes(in, *learner, forest)) return false;

  std::string booster_name;
  if (!in.string(*booster, "name", "learner.gradient_booster", booster_name)) return false;
  const bool dart = booster_name == "dart";
  if (booster_name != "gbtree" && !dart)
    return in.fail(fmt::format("booster '{}' is not supported (gbtree or dart only)", booster_name));
  const Json* gbtree = dart ? in.member(*booster, "gbtree", "dart booster") : booster;
  const Json* model = gbtree ? in.member(*gbtree, "model", "gbtree") : nullptr;
  if (!model) return false;
  const Json* trees = in.array(*model, "trees", "gbtree.model");
  const Json* model_param = in.member(*model, "gbtree_model_param", "gbtree.model");
  std::vector<int64_t> tree_info;
  uint32_t num_trees = 0;
  if (!trees || !model_param || !in.ints(*model, "tree_info", "gbtree.model", 0, kMaxGroups, tree_info) ||
      !in.uint_string(*model_param, "num_trees", "gbtree.model.gbtree_model_param", kMaxNodes, num_trees))
    return false;
  if (trees->size() != num_trees || tree_info.size() != num_trees)
    return in.fail(fmt::format("model says {} trees, has {} trees and {} tree_info entries", num_trees,
                               trees->size(), tree_info.size()));
  if (num_trees == 0) return in.fail("model has no trees (empty forest)");
  std::vector<float> weights;
  if (dart) {
    if (!in.floats(*booster, "weight_drop", "dart booster", weights)) return false;
    if (weights.size() != num_trees)
      return in.fail(fmt::format("dart weight_drop has {} entries for {} trees", weights.size(), num_trees));
  }

  forest.nodes.clear();
  forest.tree_begin.assign(1, 0);
  forest.tree_group.clear();
  RawTree raw;
  for (uint32_t t = 0; t < num_trees; ++t) {
    const std::string where = fmt::format("tree {}", t);
    if (!read_tree(in, (*trees)[t], where, raw)) return false;
    if (forest.nodes.size() + raw.left.size() > kMaxNodes)
      return in.fail(fmt::format("model has more than {} nodes", kMaxNodes));
    if (!append_tree(in, raw, where, dart ? weights[t] : 1.0f, forest.base_margin, dart, forest.nodes))
      return false;
    forest.tree_begin.push_back(static_cast<uint32_t>(forest.nodes.size()));
    forest.tree_group.push_back(static_cast<uint32_t>(tree_info[t]));
  }
  return true;
}

}  // namespace

bool parse_xgboost_json(std::string_view text, Forest& forest, std::string& error) {
  Json doc;
  try {
    doc = Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    error = fmt::format("not valid JSON: {}", e.what());
    return false;
  }
  try {
    return parse_document(doc, forest, error);
  } catch (const Json::exception& e) {  // a shape the readers above did not anticipate
    error = fmt::format("malformed model: {}", e.what());
    return false;
  }
}

}  // namespace flowscore::model
