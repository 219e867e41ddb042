// Activation: what flows from one op of a model to the next, described without its values.
#pragma once

#include "runtime/dims.h"
#include "runtime/quant_params.h"

namespace qg::runtime {

/// The shape (one sample, e.g. [C, H, W] or [F]) and the quantization of an activation.
struct Activation {
  Dims shape;
  QuantParams quant;
};

}  // namespace qg::runtime
