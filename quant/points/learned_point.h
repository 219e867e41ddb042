// LearnedPoint: a quantization point whose step size (and zero point) are trained with the network —
// Learned Step Size Quantization (LSQ, Esser et al., ICLR 2020) and, with a learned zero point, LSQ+
// (Bhalgat et al., 2020). The gradients are quant/fake_quantize_learnable.h's.
//
// Initialisation (LSQ, section 2.1): from the first tensor seen,
//     s = 2 · mean(|x|) / sqrt(Qp)                       (per output channel for per-channel weights)
// and, with a learned zero point, z = −min(x) / s clamped to [qmin, qmax], so the grid starts at the smallest
// value seen. Qp is the largest positive level: qmax − Z for unsigned codes with Z = 0, 2^(b−1) − 1 for
// signed weights; for an LSQ+ grid, qmax − qmin.
//
// The step size is kept at least FLT_EPSILON (as PyTorch's _LearnableFakeQuantize does) so that a large
// gradient step can never make it zero or negative.
#pragma once

#include "quant/quant_point.h"

namespace qg::quant {

struct LearnedPointOptions {
  QuantSpec spec;                 // weights: signed and symmetric (Z = 0); activations: unsigned
  int64_t channels = 1;           // > 1: one step size per slice along axis 0 (weights [C, ...])
  bool learn_zero_point = false;  // LSQ+: for activations that can be negative
  bool is_weight = false;         // N of the gradient scale: values per channel (weights) or per sample
};

class LearnedPoint : public QuantPoint {
 public:
  explicit LearnedPoint(const LearnedPointOptions& options);

  Tensor operator()(const Tensor& x, bool observing) override;
  Tensor requantize(const Tensor& y, float input_scale, const QParams& weight, bool observing) override;
  QParams qparams() const override;
  void freeze() override;
  bool is_frozen() const override { return frozen_.has_value(); }
  std::string kind() const override { return zero_point_.defined() ? "lsq+" : "lsq"; }
  bool clips_gradient() const override { return true; }
  /// scalars {"type", "initialized"}; the step size and zero point themselves are parameters().
  ObserverState state() const override;
  void load_state(const ObserverState& state) override;
  nn::NamedTensors parameters() const override;

  /// LSQ's gradient scale g = 1 / sqrt(N · Qp) for a tensor `x` as this point sees it.
  float grad_scale(const Tensor& x) const;
  bool initialized() const { return initialized_; }

 private:
  void initialize(const Tensor& x);
  /// Keeps the step size >= FLT_EPSILON and the zero point inside the code range (in place, untracked).
  void clamp_parameters();
  /// The largest positive level Qp of LSQ's formulas.
  double positive_levels() const;

  LearnedPointOptions options_;
  Tensor scale_;       // [channels]
  Tensor zero_point_;  // [1], or undefined for Z = 0
  bool initialized_ = false;
  std::optional<QParams> frozen_;
};

}  // namespace qg::quant
