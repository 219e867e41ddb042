// exercise lsq_backward (chapter 8): LSQ's gradients: the clipped STE for x and the step size's own gradient
//
// LSQ (Esser et al., "Learned Step Size Quantization", ICLR 2020) trains the step size s of a quantizer with
// the network. Its forward pass is FakeQuantize's with zero point 0 (quant/fake_quantize_learnable.h):
//
// clang-format off
//     q  = round(x / s)                  (std::nearbyint: half to even; x / s computed in float)
//     qc = clamp(q, qmin, qmax)
//     x̂  = s * qc
// Its backward treats round() as the identity (the STE) but not the clamp:
//     dx̂/dx = 1 where q == qc (in range), 0 where the clamp cut
//     dx̂/ds = qc - x / s where in range,  qc where the clamp cut                  (LSQ, eq. 3)
// so, for L with dL/dx̂ = grad_output:
//     dL/dx = grad_output * dx̂/dx                                    element-wise
//     dL/ds = grad_scale * sum over the elements s quantizes of grad_output * dx̂/ds
// clang-format on
//
// grad_scale is LSQ's g = 1 / sqrt(N * Qp), passed in by the caller; it keeps the step size's updates in
// proportion to the weights'. Write fake_quantize_learnable_backward(grad_output, x, scale, spec,
// grad_scale) -> {dL/dx, dL/ds} as the backward of qg::quant::fake_quantize_learnable(x, scale, Tensor(),
// spec, grad_scale) gives them. scale is [1] (one step size for the whole tensor) or [C] (one per slice
// x[c, ...] along axis 0, as for a weight [C_out, C_in, kH, kW]); qmin, qmax from spec. Accumulate dL/ds in
// double, as the library does (float sums of thousands of terms drift).
//
// The check compares dL/dx exactly and dL/ds to 1e-5 (relative) with the library's, for per-tensor and
// per-channel step sizes, signed and unsigned 2..8-bit specs, values on and around the clamp's edges
// (ties round to even) and two values of grad_scale. Run it with: scripts/exercise check lsq_backward
#include <stdexcept>

#include "exercises/lsq_backward/lsq_backward.h"

namespace exercise {

LsqGrads fake_quantize_learnable_backward(const qg::Tensor& grad_output, const qg::Tensor& x,
                                          const qg::Tensor& scale, const qg::quant::QuantSpec& spec,
                                          float grad_scale) {
  (void)grad_output, (void)x, (void)scale, (void)spec, (void)grad_scale;
  throw std::logic_error("exercise lsq_backward: not written yet");
}

}  // namespace exercise
