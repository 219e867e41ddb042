// Binary weights, as XNOR-Net (Rastegari et al., "XNOR-Net: ImageNet Classification Using Binary
// Convolutional Neural Networks", ECCV 2016, section 3.1-3.2).
//
// clang-format off
//   forward:   ŵ[c, j] = α_c · sign(w[c, j]),      α_c = mean_j |w[c, j]|      (one α per output channel)
//   backward:  dL/dw[c, j] = α_c · dL/dŵ[c, j] · 1{|w[c, j]| ≤ clip}            (sign's STE, BinaryConnect)
//                          + sign(w[c, j]) / n · Σ_k dL/dŵ[c, k] · sign(w[c, k])   (through α_c, n = row size)
// clang-format on
//
// sign(0) is +1 (binary_code), so every weight has a code. The integer model stores the codes ±1 at one bit
// each with scale α_c and zero point 0 (a signed 1-bit QuantSpec, quant/qparams.h).
#pragma once

#include "core/tensor.h"
#include "quant/qparams.h"

namespace qg::quant {

/// ŵ for a weight [C, ...] (records a node when w requires grad). Throws std::invalid_argument for a
/// weight with no elements.
Tensor binarize_weight(const Tensor& w, float clip = 1.0f);

/// The QParams of binarize_weight(w): scale α_c per output channel (axis 0), zero point 0, binary spec.
/// α_c is at least the smallest normal float: a channel of zeros cannot be binary (0 is not a code), so it
/// becomes ±1.2e-38, a weight the integer model's multiplier rounds to nothing.
QParams binary_qparams(const Tensor& w);

}  // namespace qg::quant
