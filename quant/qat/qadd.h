// QAdd: the residual add of a quantization-aware model (a + b, then an optional ReLU), matching the integer
// op runtime::Add exactly.
//
// Its two inputs arrive already quantized, each with its own grid (S_a, Z_a) and (S_b, Z_b): typically the
// output of a block's last conv and the block's input (or its 1x1 projection). The sum gets a grid of its own
// from an output point (an observer or a learned step size, as a conv's output). The integer model cannot add
// codes of different grids directly; TFLite's quantized ADD rescales both onto a common fine grid, each with
// its own fixed-point multiplier, adds, and requantizes to the output (runtime/ops/add.h). Plain fake
// quantization of a + b would round differently now and then, so the forward value here is the integer op's
// own result, runtime::add_code on the input codes, while the gradient is the output point's (the
// straight-through estimator, or LSQ's step-size gradient) of the float sum:
//     forward:  S_out (add_code(q_a, q_b) - Z_out)          backward:  as output_point(relu(a + b))
// A ReLU after the add joins it (pattern add relu): the output point sees only the non-negative sums, and the
// integer op clamps its codes at Z_out.
#pragma once

#include <array>
#include <memory>

#include "quant/qat/qat_layer.h"

namespace qg::quant {

class QAdd final : public QatLayer {
 public:
  /// `sources`: the quantization of the two tensors added (the layers before, which outlive this one).
  QAdd(std::shared_ptr<nn::Module> add, std::array<const QuantPoint*, 2> sources,
       const QuantSettings& settings, bool relu);
  /// The patterns `add` and `add relu`. Throws std::invalid_argument when an input is the float model input
  /// (nothing has quantized it: an add needs two quantized tensors).
  static std::shared_ptr<QatLayer> from_float(const PrepareStep& step);

  /// Throws std::invalid_argument: an add has two inputs (forward_inputs).
  Tensor forward(const Tensor& input) override;
  /// inputs: a and b, fake-quantized on their sources' grids, of one shape.
  Tensor forward_inputs(std::span<const Tensor> inputs) override;
  std::string type_name() const override { return relu_ ? "QAddReLU" : "QAdd"; }
  const QuantPoint* output_point() const override { return output.get(); }
  bool has_output_stage() const override { return true; }
  void convert(ConvertStep& step) const override;

  std::shared_ptr<nn::Module> add;
  QuantPointPtr output;

 protected:
  std::vector<NamedQuantPoint> own_points() override { return {{"output", output.get()}}; }

 private:
  std::array<const QuantPoint*, 2> sources_;
  bool relu_;
};

}  // namespace qg::quant
