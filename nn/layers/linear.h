#pragma once

#include "nn/module.h"

namespace qg::nn {

/// Linear(in_features, out_features, bias): y = x W^T + b, weight [out, in].
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator& gen = default_generator());
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Linear"; }
  std::string describe() const override;

  const int64_t in_features, out_features;
  Tensor weight;
  Tensor bias;
};

}  // namespace qg::nn
