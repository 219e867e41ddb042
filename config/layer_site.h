// LayerSite: where a layer sits in its config (the file, the JSON pointer "/layers/3", the kind's name),
// and the checks a kind's shape inference makes there, each throwing a ConfigError located at the layer or
// at one of its keys:
//   configs/x.json: /layers/5: linear expects a 2-D input [N, features] but receives [N,40,5,5]; ...
//   configs/x.json: /layers/3/in_channels: conv2d in_channels is 20 but its input [N,40,13,13] has 40 channels
#pragma once

#include <cstdint>
#include <string>

#include "config/config_error.h"
#include "core/shape.h"

namespace qg::config {

/// The largest tensor (per sample for activations) a config may describe: 2^28 elements (1 GiB of floats),
/// the most the integer runtime takes for one tensor (runtime::kMaxElements, kept equal by
/// tests/app/quantizable_layouts_test.cpp), so that every model that trains can also be quantized.
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 28;

/// The largest kernel_size, stride, padding or dilation a config may give: 2^30, the integer runtime's
/// window limit (runtime/window2d.h; the same test keeps them equal).
inline constexpr int64_t kMaxWindowSize = int64_t{1} << 30;

struct LayerSite {
  const std::string& source;
  std::string pointer;  // "/layers/3"
  std::string name;     // the kind's name, "conv2d"

  ConfigError error(const std::string& detail) const;
  /// An error located at one of the layer's keys: "/layers/3/groups".
  ConfigError error(const char* key, const std::string& detail) const;

  /// Product of `dims`, refusing anything above kMaxTensorElements (and so never overflowing); `what`
  /// ("weight", "output") names the tensor.
  int64_t checked_numel(const Shape& dims, const std::string& what) const;
  /// Throws unless `in` is an image [C, H, W] ("<name> expects a 4-D input [N, C, H, W] but receives ...").
  void require_image_input(const Shape& in) const;
  /// An inferable size (in_channels, num_features, in_features): `given` 0 means "infer"; otherwise it must
  /// equal `actual`, what the input `in` provides (`what`: "channels", "features"). Returns `actual`.
  int64_t agree(int64_t given, int64_t actual, const char* key, const std::string& what,
                const Shape& in) const;
};

/// "[N,40,5,5]": a per-sample shape with the batch axis shown as N, for messages.
std::string batch_shape_string(const Shape& sample_shape);

}  // namespace qg::config
