// FakeQuantize: the heart of quantization-aware training.
//
// forward:  y = dequantize(quantize(x)) = scale * (clamp(round(x / scale + zero_point), qmin, qmax) - zero_point)
//           so the float network sees exactly the values the integer network will compute with.
// backward: round() has zero derivative almost everywhere, which would stop all learning. The
//           straight-through estimator (STE; Bengio et al. 2013) pretends the quantizer is the identity:
//             Ste::Identity  dL/dx = dL/dy                          (the tutorial's choice)
//             Ste::Clipped   dL/dx = dL/dy where qmin <= round(x/scale + zp) <= qmax, else 0  (PyTorch)
// Rounding is half-to-even (std::nearbyint), as torch.round and PyTorch's fake_quantize kernels.
#pragma once

#include "core/tensor.h"
#include "quant/qparams.h"

namespace qg::quant {

enum class Ste { Identity, Clipped };

/// Differentiable fake quantization (records a FakeQuantizeFn node when x requires grad).
Tensor fake_quantize(const Tensor& x, const QParams& qparams, Ste ste = Ste::Identity);

/// The integer codes of x (as floats), without dequantizing: clamp(round(x / scale + zp), qmin, qmax).
Tensor quantize_codes(const Tensor& x, const QParams& qparams);

/// Fake-quantizes a conv/linear bias [C] the way the integer model stores it: int32 codes at the
/// accumulator's scale s_in * s_w[c] with zero point 0, q = round(b / (s_in s_w[c])) (half to even, in
/// double, exactly as runtime::quantize_bias). Without this the float model would add a bias the integer
/// model cannot represent, and the two would disagree by one code on a few percent of low-bit outputs.
/// Backward: straight-through.
Tensor fake_quantize_bias(const Tensor& bias, float input_scale, const QParams& weight_qparams);

}  // namespace qg::quant
