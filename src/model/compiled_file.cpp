#include "compiled_file.hpp"

#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <fstream>

#include "sha256.hpp"

namespace flowscore::model {
namespace {

static_assert(std::endian::native == std::endian::little, "the compiled format is written little-endian");
constexpr char kMagic[8] = {'F', 'S', 'M', 'O', 'D', 'E', 'L', '\0'};

class Writer {
 public:
  template <typename T>
  void put(T v) {
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void put_string(const std::string& s) {
    put(static_cast<uint32_t>(s.size()));
    out_ += s;
  }
  void put_strings(const std::vector<std::string>& v) {
    put(static_cast<uint32_t>(v.size()));
    for (const auto& s : v) put_string(s);
  }
  void put_bytes(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

// Bounds-checked cursor: every read says whether the bytes were there.
class Cursor {
 public:
  explicit Cursor(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool get(T& v) {
    if (bytes_.size() - pos_ < sizeof v) return false;
    std::memcpy(&v, bytes_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return true;
  }
  bool get_bytes(void* p, size_t n) {
    if (bytes_.size() - pos_ < n) return false;
    std::memcpy(p, bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool get_string(std::string& s) {
    uint32_t n = 0;
    if (!get(n) || n > kMaxNameLength || bytes_.size() - pos_ < n) return false;
    s.assign(bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool get_strings(std::vector<std::string>& v, uint32_t max_count) {
    uint32_t n = 0;
    if (!get(n) || n > max_count) return false;
    v.resize(n);
    for (auto& s : v)
      if (!get_string(s)) return false;
    return true;
  }
  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

constexpr size_t kNodeBytes = 4 + 4 + 4 + 4 + 1;

}  // namespace

std::string serialize_forest(const Forest& f) {
  Writer w;
  w.put_bytes(kMagic, sizeof kMagic);
  w.put(kCompiledFormatVersion);
  w.put(static_cast<uint32_t>(f.objective));
  w.put(f.num_features);
  w.put(f.num_groups);
  w.put(f.base_margin);
  w.put(static_cast<uint32_t>(f.num_trees()));
  w.put(static_cast<uint32_t>(f.nodes.size()));
  w.put_bytes(f.source_sha256.data(), f.source_sha256.size());
  w.put_string(f.name);
  w.put_strings(f.feature_names);
  w.put_strings(f.class_names);
  w.put_string(f.feature_spec_version);
  for (uint32_t b : f.tree_begin) w.put(b);
  for (uint32_t g : f.tree_group) w.put(g);
  for (const TreeNode& n : f.nodes) {
    w.put(n.feature);
    w.put(n.value);
    w.put(n.left);
    w.put(n.right);
    w.put(static_cast<uint8_t>(n.default_left));
  }
  const Sha256 digest = sha256(w.bytes());
  w.put_bytes(digest.data(), digest.size());
  return std::move(w.bytes());
}

bool parse_compiled_file(std::string_view bytes, Forest& f, std::string& error) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    error = "not a flowscore compiled model (bad magic; compile it with `flowscore compile`)";
    return false;
  }
  if (bytes.size() < sizeof kMagic + 4 + 32) {
    error = "compiled model is truncated";
    return false;
  }
  Cursor in(bytes.substr(sizeof kMagic));
  uint32_t version = 0;
  in.get(version);
  if (version != kCompiledFormatVersion) {
    error = fmt::format("compiled model has format version {}, this flowscore reads version {} (compile it "
                        "again from its XGBoost JSON with this flowscore's `flowscore compile`)",
                        version, kCompiledFormatVersion);
    return false;
  }
  const std::string_view body = bytes.substr(0, bytes.size() - 32);
  const Sha256 digest = sha256(body);
  if (std::memcmp(digest.data(), bytes.data() + body.size(), digest.size()) != 0) {
    error = "compiled model is corrupt or truncated (checksum mismatch)";
    return false;
  }
  Cursor c(body.substr(sizeof kMagic + 4));
  uint32_t objective = 0, num_trees = 0, num_nodes = 0;
  bool ok = c.get(objective) && c.get(f.num_features) && c.get(f.num_groups) && c.get(f.base_margin) &&
            c.get(num_trees) && c.get(num_nodes) && c.get_bytes(f.source_sha256.data(), f.source_sha256.size()) &&
            c.get_string(f.name) && c.get_strings(f.feature_names, kMaxFeatures) &&
            c.get_strings(f.class_names, kMaxGroups) && c.get_string(f.feature_spec_version);
  // Sizes are checked against the bytes actually present before anything is
  // allocated for them.
  if (ok && (num_nodes > kMaxNodes || num_trees > num_nodes ||
             c.remaining() != (size_t(num_trees) * 2 + 1) * 4 + size_t(num_nodes) * kNodeBytes)) {
    error = "compiled model header does not match its size";
    return false;
  }
  if (ok) {
    f.objective = static_cast<Objective>(objective);
    f.tree_begin.resize(num_trees + 1);
    f.tree_group.resize(num_trees);
    f.nodes.resize(num_nodes);
    for (auto& b : f.tree_begin) ok = ok && c.get(b);
    for (auto& g : f.tree_group) ok = ok && c.get(g);
    for (auto& n : f.nodes) {
      uint8_t default_left = 0;
      ok = ok && c.get(n.feature) && c.get(n.value) && c.get(n.left) && c.get(n.right) && c.get(default_left);
      n.default_left = default_left != 0;
    }
  }
  if (!ok) {
    error = "compiled model is truncated";
    return false;
  }
  if (!validate_forest(f, error)) {
    error = "compiled model is invalid: " + error;
    return false;
  }
  return true;
}

bool read_file(const std::string& path, size_t max_bytes, std::string& bytes, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = fmt::format("cannot open '{}': {}", path, std::strerror(errno));
    return false;
  }
  bytes.clear();
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    bytes.append(buffer, static_cast<size_t>(in.gcount()));
    if (bytes.size() > max_bytes) {
      error = fmt::format("'{}' is larger than {} bytes", path, max_bytes);
      return false;
    }
  }
  if (in.bad()) {
    error = fmt::format("error reading '{}'", path);
    return false;
  }
  return true;
}

}  // namespace flowscore::model
