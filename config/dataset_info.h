// What a config needs to know about each dataset it may name: the shape of one sample (the model's input
// shape must match it), the number of classes (the model's output must match it) and where its files are
// by default. The default roots repeat qg::data::default_root (datasets/mnist.h), which this module does
// not link; keep the two in step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/shape.h"

namespace qg::config {

struct DatasetInfo {
  std::string name;    // as in a config's data.dataset, e.g. "fashion-mnist"
  Shape sample_shape;  // [C, H, W]
  int64_t num_classes = 0;
  std::string default_root;  // used when data.root is not given
};

/// The dataset called `name`, or nullptr.
const DatasetInfo* find_dataset(const std::string& name);
/// All known dataset names, for "expected one of ..." messages.
std::vector<std::string> dataset_names();

}  // namespace qg::config
