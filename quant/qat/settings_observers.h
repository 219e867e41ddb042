// Builds the quantization points a QAT layer needs from the model-wide QuantSettings.
#pragma once

#include "quant/qat/qat_layer.h"

namespace qg::quant {

/// An activation (input/output) point: the configured observer kind at the activation spec.
QuantPoint activation_point(const QuantSettings& settings);
/// A weight point: min/max over the whole tensor or per output channel, at the weight spec.
QuantPoint weight_point(const QuantSettings& settings);

}  // namespace qg::quant
