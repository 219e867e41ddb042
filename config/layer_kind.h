// LayerKind: everything the config module knows about one kind of layer, in one place (one row of
// config/layer_kinds.cpp): its JSON name and the other spellings configs may use, its keys with their types,
// ranges and defaults, its shape inference, the nn module it builds, and its line of docs/config.md's layer
// table. The reader, the writer, the key lists of error messages, shape inference, the builder and that
// table all come from these rows, so they cannot drift apart (tests/config/docs_test.cpp compares the
// table with layer_kind_docs_row).
//
// A config names its layers' kinds by the lowercased name of the PyTorch module (nn.MaxPool2d -> maxpool2d,
// nn.BatchNorm2d -> batchnorm2d), and writes that name; the snake_case of the functional and of the integer
// runtime's ops (max_pool2d, avg_pool2d, batch_norm2d) is accepted too.
//
// Adding a kind: one row in layer_kinds.cpp, its fields in LayerSpec if it has new ones (model_config.h), and
// its row in docs/config.md (docs/06-adding-a-layer.md walks through a whole layer kind).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/layer_site.h"
#include "config/model_config.h"
#include "config/object_reader.h"
#include "core/random.h"
#include "core/shape.h"
#include "nn/module.h"

namespace qg::config {

/// One key of a layer kind: its JSON name, the LayerSpec field it fills, its type, range, and what an absent
/// key means. Made with the functions below, e.g. required_integer("out_channels", &LayerSpec::out_channels).
struct LayerKey {
  enum class Type { kInteger, kNumber, kBoolean, kLayerQuant };
  /// What an absent key means: an error, "infer it from the input" (the field stays 0 until shape
  /// inference), the default value, or the value of another key (`same_as`).
  enum class Absent { kRequired, kInferred, kDefault, kSameAs };

  std::string name;
  Type type = Type::kInteger;
  Absent absent = Absent::kRequired;
  int64_t LayerSpec::*integer = nullptr;
  double LayerSpec::*number = nullptr;
  bool LayerSpec::*boolean = nullptr;
  IntRange int_range = kPositive;
  NumberRange number_range{};
  int64_t int_default = 0;
  double number_default = 0.0;
  bool bool_default = false;
  std::string same_as;  ///< Absent::kSameAs: the key whose value this one takes (read before it)
  bool window = false;  ///< kernel_size, stride, padding, dilation: at most kMaxWindowSize

  /// "`stride` (1)", "`in_channels` (inferred)", "`eps` (1e-05, a positive number)": for the docs table.
  std::string docs() const;
};

LayerKey required_integer(std::string name, int64_t LayerSpec::*field, IntRange range = kPositive);
LayerKey inferred_integer(std::string name, int64_t LayerSpec::*field);
LayerKey integer_key(std::string name, int64_t LayerSpec::*field, IntRange range, int64_t fallback);
/// A window size: as integer_key (or required, or same_as another key) and at most kMaxWindowSize.
LayerKey window_key(LayerKey key);
LayerKey same_as_key(std::string name, int64_t LayerSpec::*field, IntRange range, std::string other);
LayerKey number_key(std::string name, double LayerSpec::*field, NumberRange range, double fallback);
LayerKey boolean_key(std::string name, bool LayerSpec::*field, bool fallback);
/// "quant": the layer's own quantization (LayerQuantConfig, docs/config.md 2.5). Read before the other keys.
LayerKey layer_quant_key();

struct LayerKind {
  std::string name;                  ///< its "type" in configs, e.g. "conv2d"; what the writer writes
  std::vector<std::string> aliases;  ///< other accepted spellings
  std::string module;                ///< the nn module's type_name(), e.g. "Conv2d"
  std::vector<LayerKey> keys;        ///< besides "type", in the order they are read and listed
  std::string shape_docs;            ///< the docs table's "input -> output" cell
  std::string note;                  ///< extra text for its docs row (may be empty)
  /// A BatchNorm: a training batch must give it at least two values per channel (app/training_batches.h).
  bool batch_statistics = false;
  /// How many layers it reads ("inputs"): 1 for most kinds; add 2; concat 2 or more (kAnyNumber).
  int64_t min_inputs = 1;
  int64_t max_inputs = 1;
  static constexpr int64_t kAnyNumber = -1;

  /// The output shape (one sample, no batch axis) of `layer` on `inputs` (one shape per input, as many as
  /// the kind takes: shape inference checks the count first), filling its inferred sizes, parameter_count and buffer_count. Throws ConfigError
  /// at `site` when the layer cannot take its input.
  Shape (*infer)(LayerSpec& layer, std::span<const Shape> inputs, const LayerSite& site) = nullptr;
  /// The nn module of an inferred `layer`, its weights initialised as PyTorch's defaults from `gen`.
  std::shared_ptr<nn::Module> (*build)(const LayerSpec& layer, Generator& gen) = nullptr;

  /// True when the kind has its own "quant" object (conv2d, linear: the layers with weights).
  bool has_layer_quant() const;
  const LayerKey* find_key(std::string_view key) const;
};

/// Every layer kind, in the order of the docs table and of "expected one of" lists.
const std::vector<LayerKind>& layer_kinds();
/// The kind called `name` (or one of its aliases), or null.
const LayerKind* find_layer_kind(std::string_view name);
/// The kind called `name` (or one of its aliases); throws std::invalid_argument for an unknown name.
const LayerKind& layer_kind(std::string_view name);
/// Every kind's name, in order (not the aliases).
std::vector<std::string> layer_kind_names();

/// The keys a layer of `kind` accepts: "type", "name" and "inputs" (every kind's), then the kind's own.
std::vector<std::string> layer_keys(const LayerKind& kind);

/// `kind`'s row of docs/config.md's layer table:
///   | `maxpool2d` (or `max_pool2d`) | `kernel_size` (required), ... | `nn::MaxPool2d` | `[C, H, W]` -> ... |
std::string layer_kind_docs_row(const LayerKind& kind);

}  // namespace qg::config
