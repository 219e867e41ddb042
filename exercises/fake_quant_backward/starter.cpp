// exercise fake_quant_backward (chapter 5): FakeQuantize's straight-through backward, with the clipping mask
//
// FakeQuantize (quant/fake_quantize.h) computes, per element, with the scale s and zero point zp of its
// channel (qmin, qmax from qparams.spec):
//
// clang-format off
//     u = x / s + zp                        (in float, as written: v / s + static_cast<float>(zp))
//     q = clamp(round(u), qmin, qmax)       (round = std::nearbyint: half to even)
//     y = s * (q - zp)
// clang-format on
//
// round() has derivative 0 almost everywhere, which would stop all learning; the straight-through estimator
// (Bengio et al. 2013) treats it as the identity. Write
//     fake_quantize_backward(grad_output, x, qparams, ste)  ->  grad_input = dL/dx, the shape of x
// as the library's backward of qg::quant::fake_quantize(x, qparams, ste) gives it:
//
// clang-format off
//   Ste::Identity:  grad_input = grad_output                              (the tutorial's choice)
//   Ste::Clipped:   grad_input = grad_output where qmin <= round(u) <= qmax, 0 where the clamp cut
//                   (PyTorch's choice: a value the clamp saturated gets no gradient; note the test is on
//                   the ROUNDED u, so u = qmax + 0.4 still passes its gradient)
//   a binary spec (qparams.spec.binary(), codes -1/+1): everything passes, whatever ste says.
// clang-format on
//
// Per-tensor parameters (qparams.per_channel() false) have one scale and zero point; per-channel ones have
// one per index along axis qparams.axis (x is then [outer, C, inner] around that axis). x and grad_output
// may be views: x.contiguous() / grad_output.contiguous() give tensors whose data() is row-major.
//
// The check compares your grad_input with the library's exactly on per-tensor and per-channel parameters
// (axis 0 and 1), both STEs, 8/4/2/1-bit specs, values placed exactly on and around the clamp's edges
// (u = qmax + 0.5 rounds to even!) and strided views. Run it with: scripts/exercise check fake_quant_backward
#include <stdexcept>

#include "exercises/fake_quant_backward/fake_quant_backward.h"

namespace exercise {

qg::Tensor fake_quantize_backward(const qg::Tensor& grad_output, const qg::Tensor& x,
                                  const qg::quant::QParams& qparams, qg::quant::Ste ste) {
  (void)grad_output, (void)x, (void)qparams, (void)ste;
  throw std::logic_error("exercise fake_quant_backward: not written yet");
}

}  // namespace exercise
