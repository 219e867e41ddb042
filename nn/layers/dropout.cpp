#include "nn/layers/dropout.h"

#include <charconv>
#include <stdexcept>

#include "nn/functional/dropout.h"

namespace qg::nn {

Dropout::Dropout(float p, Generator& gen) : Dropout(p, gen.engine()()) {}

Dropout::Dropout(float p, uint64_t seed) : p(p), generator_(seed) {
  if (!(p >= 0.0f && p < 1.0f))  // also refuses NaN; p = 1 would scale the kept values by 1/0
    throw std::invalid_argument(describe() + ": p must be in [0, 1)");
}

Tensor Dropout::forward(const Tensor& input) {
  return functional::dropout(input, p, is_training(), generator_);
}

std::string Dropout::describe() const {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, p).ptr;  // the shortest text that reads back as p
  return "Dropout(p=" + std::string(text, end) + ")";
}

}  // namespace qg::nn
