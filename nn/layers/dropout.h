#pragma once

#include <cstdint>

#include "core/random.h"
#include "nn/module.h"

namespace qg::nn {

/// Dropout(p) (PyTorch's nn.Dropout): in training mode zeroes each element with probability p and scales the
/// others by 1/(1-p) (inverted dropout, functional::dropout), any shape; in eval mode returns the input
/// itself. p in [0, 1), else std::invalid_argument.
///
/// The masks come from the module's own Generator, seeded once at construction: from `seed`, or with one draw
/// from `gen` (as Linear and Conv2d draw their initial weights from it). The same seed gives the same
/// sequence of masks, so training stays deterministic. The generator's state is not part of state() (nor of
/// a PyTorch state_dict): a resumed run draws masks from the construction seed again.
class Dropout : public Module {
 public:
  explicit Dropout(float p = 0.5f, Generator& gen = default_generator());
  Dropout(float p, uint64_t seed);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Dropout"; }
  /// "Dropout(p=0.5)".
  std::string describe() const override;

  const float p;

 private:
  Generator generator_;
};

}  // namespace qg::nn
