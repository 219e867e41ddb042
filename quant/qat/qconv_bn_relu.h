#pragma once

#include "nn/layers/batch_norm2d.h"
#include "nn/layers/conv2d.h"
#include "quant/qat/qat_layer.h"

namespace qg::quant {

/// The tutorial's QConvBNReLU: the BatchNorm is folded into the conv's weight and bias *during*
/// training (bn_fold.h), and the folded weight is what gets fake-quantized, so QAT trains exactly the
/// weights the integer model will use.
///   train: batch mean/variance of conv(x) (constants for the gradient, as in the tutorial); the running
///          statistics are updated with PyTorch's rule, using the unbiased variance;
///   eval:  the running statistics.
/// With `relu` the ReLU is applied before the output fake-quantizer (and fused into the integer clamp).
///
/// Freezing the BatchNorm (set_bn_frozen, PyTorch's `freeze_bn_stats`): in training mode too, the fold uses
/// the running statistics and stops updating them, so the folded weights stop jittering with each batch's
/// variance and the quantizers see the weights the integer model will have (Krishnamoorthi 2018, 3.2).
class QConvBNReLU : public QWeightedLayer {
 public:
  QConvBNReLU(std::shared_ptr<nn::Conv2d> conv, std::shared_ptr<nn::BatchNorm2d> bn, bool relu,
              bool quantize_input, const QuantSettings& settings);
  /// The patterns `conv2d batchnorm2d relu` and `conv2d batchnorm2d`.
  static std::shared_ptr<QatLayer> from_float(const PrepareStep& step);
  Tensor forward(const Tensor& input) override;
  /// A runtime::Conv2d with the BatchNorm folded in with its running statistics.
  void convert(ConvertStep& step) const override;
  std::string type_name() const override { return fused_relu() ? "QConvBNReLU" : "QConvBN"; }
  std::string describe() const override;

  /// The folded (weight, bias) with the running statistics: what convert() quantizes.
  std::pair<Tensor, Tensor> folded_for_inference() const;
  void set_bn_frozen(bool frozen) override { bn_frozen_ = frozen; }
  bool bn_frozen() const { return bn_frozen_; }

  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::BatchNorm2d> bn;

 private:
  bool bn_frozen_ = false;

  /// Batch mean and biased variance per channel of conv(x), updating the running statistics.
  std::pair<Tensor, Tensor> batch_statistics(const Tensor& x);
};

}  // namespace qg::quant
