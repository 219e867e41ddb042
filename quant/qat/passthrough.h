// QAT layers for layers that compute nothing new to quantize: ReLU, max pooling and flatten map quantized
// values to quantized values with the same scale and zero point (max and ReLU commute with the monotonic
// quantizer), so they simply run the float layer. Before the first layer that quantizes the model input
// they run on the float input, which is the same: the quantizer is monotonic and maps 0 to 0, so
// FQ(max(x, y)) = max(FQ(x), FQ(y)) and FQ(relu(x)) = relu(FQ(x)).
//
// Average pooling does create values between codes; QAvgPool2d re-quantizes its output with its input's
// parameters exactly as the integer average pool does: same scale in and out, the mean of (q - Z) rounded
// half away from zero. It needs a quantized input: as the first such layer it quantizes the model input.
#pragma once

#include "quant/qat/qat_layer.h"

namespace qg::quant {

/// A layer that runs its float layer unchanged on quantized values (ReLU, max pooling, flatten).
class QPassThrough : public QatLayer {
 public:
  Tensor forward(const Tensor& input) override { return layer->forward(input); }
  std::string describe() const override { return type_name() + "(" + layer->describe() + ")"; }

  std::shared_ptr<nn::Module> layer;

 protected:
  explicit QPassThrough(std::shared_ptr<nn::Module> layer);
};

/// ReLU: max(q, Z) on codes. After a conv, linear or lone BatchNorm its integer form is the clamp of their
/// output stage (clamp_codes), else the runtime op relu.
class QReLU final : public QPassThrough {
 public:
  explicit QReLU(std::shared_ptr<nn::Module> relu) : QPassThrough(std::move(relu)) {}
  /// The pattern `relu`.
  static std::shared_ptr<QatLayer> from_float(const PrepareStep& step);
  std::string type_name() const override { return "QReLU"; }
  void convert(ConvertStep& step) const override;
  /// [Z, qmax]: codes below Z are negative reals.
  std::optional<ClampCodes> clamp_codes(const runtime::QuantParams& q) const override;
};

class QMaxPool2d final : public QPassThrough {
 public:
  explicit QMaxPool2d(std::shared_ptr<nn::Module> pool) : QPassThrough(std::move(pool)) {}
  /// The pattern `maxpool2d`.
  static std::shared_ptr<QatLayer> from_float(const PrepareStep& step);
  std::string type_name() const override { return "QMaxPool2d"; }
  void convert(ConvertStep& step) const override;
};

class QFlatten final : public QPassThrough {
 public:
  explicit QFlatten(std::shared_ptr<nn::Module> flatten) : QPassThrough(std::move(flatten)) {}
  /// The pattern `flatten`.
  static std::shared_ptr<QatLayer> from_float(const PrepareStep& step);
  std::string type_name() const override { return "QFlatten"; }
  void convert(ConvertStep& step) const override;
};

/// ReLU6: min(max(x, 0), 6) on a quantized x. On the grid (S, Z) it is the clamp of codes to [Z, Z + round(6/S)]
/// (clamp_codes; capped at qmax), so the fake-quant forward clamps at S round(6/S), the grid value the
/// integer model clamps at, rather than at 6 itself. After a layer with an output stage the clamp joins it;
/// elsewhere it is the runtime op clip.
class QReLU6 final : public QPassThrough {
 public:
  explicit QReLU6(std::shared_ptr<nn::Module> relu6) : QPassThrough(std::move(relu6)) {}
  /// The pattern `relu6`.
  static std::shared_ptr<QatLayer> from_float(const PrepareStep& step);
  /// x clamped to [0, S round(6/S)] with S the input's scale (gradient 1 inside, 0 outside).
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "QReLU6"; }
  void convert(ConvertStep& step) const override;
  std::optional<ClampCodes> clamp_codes(const runtime::QuantParams& q) const override;
};

/// Dropout: while training the float layer's random zeroing (and 1/(1-p) scaling, which moves values off the
/// grid; training tolerates it as it tolerates any noise), the identity in evaluation, and no op at all in the
/// integer model.
class QDropout final : public QPassThrough {
 public:
  explicit QDropout(std::shared_ptr<nn::Module> dropout) : QPassThrough(std::move(dropout)) {}
  /// The pattern `dropout`.
  static std::shared_ptr<QatLayer> from_float(const PrepareStep& step);
  std::string type_name() const override { return "QDropout"; }
  void convert(ConvertStep& step) const override;
};

class QAvgPool2d : public QatLayer {
 public:
  /// `source` produces this layer's input (the previous quantized output); it must outlive this layer. Or,
  /// when no layer before quantizes the model input, `input` (source null): the point that does.
  QAvgPool2d(std::shared_ptr<nn::Module> pool, const QuantPoint* source, QuantPointPtr input = nullptr);
  /// The pattern `avgpool2d`; quantizes the model input when nothing before it does.
  static std::shared_ptr<QatLayer> from_float(const PrepareStep& step);
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "QAvgPool2d"; }
  std::string describe() const override { return "QAvgPool2d(" + pool->describe() + ")"; }
  void convert(ConvertStep& step) const override;

  std::shared_ptr<nn::Module> pool;

 protected:
  /// The number of values each output averages (kernel_size^2; H * W for the global pool).
  virtual int64_t window_area(const Tensor& input) const;
};

/// Global average pooling (nn::GlobalAvgPool2d, [C, H, W] -> [C, 1, 1]): the average pool whose window is the
/// whole plane, requantized as QAvgPool2d; its integer form is the op avg_pool2d with kernel = stride = (H, W).
class QGlobalAvgPool2d final : public QAvgPool2d {
 public:
  using QAvgPool2d::QAvgPool2d;
  /// The pattern `global_avgpool`; quantizes the model input when nothing before it does.
  static std::shared_ptr<QatLayer> from_float(const PrepareStep& step);
  std::string type_name() const override { return "QGlobalAvgPool2d"; }
  std::string describe() const override { return "QGlobalAvgPool2d()"; }
  void convert(ConvertStep& step) const override;

 protected:
  int64_t window_area(const Tensor& input) const override;
};

}  // namespace qg::quant
