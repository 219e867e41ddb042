// QConcat: concatenation along channels in a quantization-aware model, matching the integer op
// runtime::Concat exactly.
//
// Each input arrives on its own grid (S_k, Z_k); the concatenation gets one grid from an output point, and
// the integer op requantizes each input's codes onto it with its own fixed-point multiplier S_k / S_out
// (TFLite's ConcatenationWithScaling; runtime/ops/concat.h). The forward value here is that op's result,
// runtime::concat_code on each input's codes; the gradient is the output point's of the float concatenation
// (straight-through, or LSQ's):
//     forward:  S_out (concat_code_k(q) - Z_out)          backward:  as output_point(cat(x_0, x_1, ...))
#pragma once

#include <memory>
#include <vector>

#include "quant/qat/qat_layer.h"

namespace qg::quant {

class QConcat final : public QatLayer {
 public:
  /// `sources`: the quantization of each tensor joined, in order (two or more; the layers before outlive
  /// this one).
  QConcat(std::shared_ptr<nn::Module> concat, std::vector<const QuantPoint*> sources,
          const QuantSettings& settings);
  /// The pattern `concat`. Throws std::invalid_argument when an input is the float model input.
  static std::shared_ptr<QatLayer> from_float(const PrepareStep& step);

  /// Throws std::invalid_argument: a concat has several inputs (forward_inputs).
  Tensor forward(const Tensor& input) override;
  /// inputs: [N, C_k, ...] fake-quantized on their sources' grids; the result is [N, sum C_k, ...].
  Tensor forward_inputs(std::span<const Tensor> inputs) override;
  std::string type_name() const override { return "QConcat"; }
  const QuantPoint* output_point() const override { return output.get(); }
  void convert(ConvertStep& step) const override;

  std::shared_ptr<nn::Module> concat;
  QuantPointPtr output;

 protected:
  std::vector<NamedQuantPoint> own_points() override { return {{"output", output.get()}}; }

 private:
  std::vector<const QuantPoint*> sources_;
};

}  // namespace qg::quant
