// The quantization points of a QAT layer, built from its QuantSettings: which kind of point each method uses.
//
//   method     input and outputs                       weights
//   tutorial   ObservedPoint (settings' observer)      ObservedPoint (min/max, per tensor or per channel)
//   ema        ObservedPoint (moving average)          ObservedPoint (per-channel min/max)
//   lsq        LearnedPoint (LSQ; LSQ+ when the        LearnedPoint (LSQ, signed, symmetric)
//              values can be negative)
//   binary     LearnedPoint, as lsq                    as lsq
// With a learned method, 1-bit weights (a signed 1-bit, i.e. binary, spec) are a BinaryPoint (XNOR-Net).
#pragma once

#include "quant/qat_settings.h"
#include "quant/quant_point.h"

namespace qg::quant {

/// The model input's point (first quantized layer).
QuantPointPtr make_input_point(const QuantSettings& settings);
/// The weight point of a layer with `out_channels` output channels.
QuantPointPtr make_weight_point(const QuantSettings& settings, int64_t out_channels);
/// The output point; `after_relu` when a fused ReLU comes first (its values are never negative).
QuantPointPtr make_output_point(const QuantSettings& settings, bool after_relu);

}  // namespace qg::quant
