// BinaryPoint: binary weights {−α_c, +α_c} per output channel, α_c = mean |w_c| (XNOR-Net; quant/binarize.h).
// α is not learned but recomputed from the weights at every forward, as in the paper; the integer model
// stores the signs at one bit each (a signed 1-bit QuantSpec).
#pragma once

#include "quant/quant_point.h"

namespace qg::quant {

class BinaryPoint : public QuantPoint {
 public:
  Tensor operator()(const Tensor& w, bool observing) override;
  /// Throws std::logic_error: only weights are binary.
  Tensor requantize(const Tensor& y, float input_scale, const QParams& weight, bool observing) override;
  /// α per channel of the weight of the last forward (frozen: of the last forward before freeze()).
  QParams qparams() const override;
  void freeze() override;
  bool is_frozen() const override { return frozen_; }
  std::string kind() const override { return "binary"; }
  bool clips_gradient() const override { return false; }
  ObserverState state() const override;
  void load_state(const ObserverState& state) override;

 private:
  std::optional<QParams> last_;
  bool frozen_ = false;
};

}  // namespace qg::quant
