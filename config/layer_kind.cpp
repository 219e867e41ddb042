#include "config/layer_kind.h"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace qg::config {

// ---- keys -------------------------------------------------------------------------------------------

LayerKey required_integer(std::string name, int64_t LayerSpec::*field, IntRange range) {
  LayerKey key;
  key.name = std::move(name);
  key.integer = field;
  key.int_range = range;
  return key;
}

LayerKey inferred_integer(std::string name, int64_t LayerSpec::*field) {
  LayerKey key = required_integer(std::move(name), field, kPositive);
  key.absent = LayerKey::Absent::kInferred;
  return key;
}

LayerKey integer_key(std::string name, int64_t LayerSpec::*field, IntRange range, int64_t fallback) {
  LayerKey key = required_integer(std::move(name), field, range);
  key.absent = LayerKey::Absent::kDefault;
  key.int_default = fallback;
  return key;
}

LayerKey window_key(LayerKey key) {
  key.window = true;
  return key;
}

LayerKey same_as_key(std::string name, int64_t LayerSpec::*field, IntRange range, std::string other) {
  LayerKey key = required_integer(std::move(name), field, range);
  key.absent = LayerKey::Absent::kSameAs;
  key.same_as = std::move(other);
  return key;
}

LayerKey number_key(std::string name, double LayerSpec::*field, NumberRange range, double fallback) {
  LayerKey key;
  key.name = std::move(name);
  key.type = LayerKey::Type::kNumber;
  key.absent = LayerKey::Absent::kDefault;
  key.number = field;
  key.number_range = range;
  key.number_default = fallback;
  return key;
}

LayerKey boolean_key(std::string name, bool LayerSpec::*field, bool fallback) {
  LayerKey key;
  key.name = std::move(name);
  key.type = LayerKey::Type::kBoolean;
  key.absent = LayerKey::Absent::kDefault;
  key.boolean = field;
  key.bool_default = fallback;
  return key;
}

LayerKey layer_quant_key() {
  LayerKey key;
  key.name = "quant";
  key.type = LayerKey::Type::kLayerQuant;
  key.absent = LayerKey::Absent::kDefault;
  return key;
}

std::string LayerKey::docs() const {
  const std::string quoted = "`" + name + "`";
  switch (type) {
    case Type::kLayerQuant:
      return quoted + " (none; 2.5)";
    case Type::kBoolean:
      return quoted + " (" + (bool_default ? "true" : "false") + ")";
    case Type::kNumber:
      return quoted + " (" + nlohmann::json(number_default).dump() + ", " + number_range.describe() + ")";
    case Type::kInteger:
      break;
  }
  switch (absent) {
    case Absent::kRequired:
      return quoted + " (required)";
    case Absent::kInferred:
      return quoted + " (inferred)";
    case Absent::kSameAs:
      return quoted + " (= `" + same_as + "`)";
    case Absent::kDefault:
      break;
  }
  return quoted + " (" + std::to_string(int_default) + ")";
}

// ---- kinds ------------------------------------------------------------------------------------------

bool LayerKind::has_layer_quant() const {
  return std::any_of(keys.begin(), keys.end(),
                     [](const LayerKey& k) { return k.type == LayerKey::Type::kLayerQuant; });
}

const LayerKey* LayerKind::find_key(std::string_view key) const {
  for (const LayerKey& k : keys) {
    if (k.name == key) return &k;
  }
  return nullptr;
}

const LayerKind* find_layer_kind(std::string_view name) {
  for (const LayerKind& kind : layer_kinds()) {
    if (kind.name == name ||
        std::find(kind.aliases.begin(), kind.aliases.end(), name) != kind.aliases.end()) {
      return &kind;
    }
  }
  return nullptr;
}

const LayerKind& layer_kind(std::string_view name) {
  const LayerKind* kind = find_layer_kind(name);
  if (!kind) {
    throw std::invalid_argument("unknown layer kind \"" + std::string(name) + "\" (expected one of " +
                                join(layer_kind_names()) + ")");
  }
  return *kind;
}

const LayerKind* default_layer_kind() {
  static const LayerKind* const relu = &layer_kind("relu");
  return relu;
}

std::vector<std::string> layer_kind_names() {
  std::vector<std::string> names;
  for (const LayerKind& kind : layer_kinds())
    names.push_back(kind.name);
  return names;
}

std::vector<std::string> layer_keys(const LayerKind& kind) {
  std::vector<std::string> keys = {"type", "name", "inputs"};
  for (const LayerKey& key : kind.keys)
    keys.push_back(key.name);
  return keys;
}

std::string layer_kind_docs_row(const LayerKind& kind) {
  std::string type = "`" + kind.name + "`";
  for (const std::string& alias : kind.aliases)
    type += " (or `" + alias + "`)";
  std::string keys;
  for (const LayerKey& key : kind.keys)
    keys += (keys.empty() ? "" : ", ") + key.docs();
  if (keys.empty()) keys = "none";
  if (!kind.note.empty()) keys += "; " + kind.note;
  return "| " + type + " | " + keys + " | `nn::" + kind.module + "` | " + kind.shape_docs + " |";
}

}  // namespace qg::config
