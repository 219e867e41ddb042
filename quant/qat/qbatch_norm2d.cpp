#include "quant/qat/qbatch_norm2d.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "autograd/function.h"
#include "autograd/grad_mode.h"
#include "nn/functional/activation.h"
#include "quant/bn_fold.h"
#include "quant/fake_quantize.h"
#include "quant/integer_layer.h"
#include "quant/observer.h"
#include "quant/points/make_points.h"
#include "runtime/quantized_weights.h"

namespace qg::quant {

namespace {

constexpr int kFactorBits = 8;
constexpr float kFactorCode = 127.0f;  // the 8-bit signed code a factor's magnitude maps to

std::vector<double> as_doubles(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

// forward:  y = S1 S2[c] (bias[c] + q2[c] k),  k = round(x / S1) = q1 - Z1   (x lies on the input grid)
// backward: the STE of y = a x + b:  dx = g a[c],  da[c] = sum g x,  db[c] = sum g   (sums over N, H, W)
struct MulAddAccumulatorFn {
  static constexpr const char* name = "mul_add_accumulator";
  Tensor x, scale;

  Tensor forward(const Tensor& input, const Tensor& a, const Tensor& b, const MulAddCodes& codes,
                 float input_scale) {
    (void)b;
    x = input.contiguous();
    scale = a.contiguous();
    const int64_t channels = static_cast<int64_t>(codes.codes.size());
    const int64_t batch = x.shape()[0], plane = x.numel() / std::max<int64_t>(batch * channels, 1);
    Tensor y = Tensor::empty(x.shape());
    constexpr double kLimit = 2147483648.0;  // keeps k a small-enough integer for any finite x
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t c = 0; c < channels; ++c) {
        const size_t ch = static_cast<size_t>(c);
        const double unit = static_cast<double>(input_scale) * codes.factor.scale[ch];
        const int64_t factor = codes.codes[ch], bias = codes.bias[ch];
        const float* in = x.data() + (n * channels + c) * plane;
        float* out = y.data() + (n * channels + c) * plane;
        for (int64_t i = 0; i < plane; ++i) {
          if (!std::isfinite(in[i])) {  // NaN (and Inf, never a code) stays NaN, as everywhere in QAT
            out[i] = std::numeric_limits<float>::quiet_NaN();
            continue;
          }
          const double k =
              std::clamp(std::nearbyint(static_cast<double>(in[i]) / input_scale), -kLimit, kLimit);
          out[i] = static_cast<float>(unit * static_cast<double>(bias + factor * static_cast<int64_t>(k)));
        }
      }
    }
    return y;
  }

  std::vector<Tensor> backward(const Tensor& grad) {
    const Tensor g = grad.contiguous();
    const int64_t channels = scale.numel();
    const int64_t batch = x.shape()[0], plane = x.numel() / std::max<int64_t>(batch * channels, 1);
    Tensor dx = Tensor::empty(x.shape());
    std::vector<double> da(static_cast<size_t>(channels), 0.0), db(static_cast<size_t>(channels), 0.0);
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t c = 0; c < channels; ++c) {
        const float a = scale.data()[c];
        const int64_t offset = (n * channels + c) * plane;
        double sum_gx = 0.0, sum_g = 0.0;
        for (int64_t i = offset; i < offset + plane; ++i) {
          dx.data()[i] = g.data()[i] * a;
          sum_gx += static_cast<double>(g.data()[i]) * x.data()[i];
          sum_g += g.data()[i];
        }
        da[static_cast<size_t>(c)] += sum_gx;
        db[static_cast<size_t>(c)] += sum_g;
      }
    }
    Tensor da_t = Tensor::empty({channels}), db_t = Tensor::empty({channels});
    for (int64_t c = 0; c < channels; ++c) {
      da_t.data()[c] = static_cast<float>(da[static_cast<size_t>(c)]);
      db_t.data()[c] = static_cast<float>(db[static_cast<size_t>(c)]);
    }
    return {dx, da_t, db_t};
  }
};

}  // namespace

MulAddCodes mul_add_codes(const std::vector<float>& scale, const std::vector<float>& shift,
                          float input_scale) {
  if (scale.empty() || scale.size() != shift.size()) {
    throw std::invalid_argument("mul_add_codes: " + std::to_string(scale.size()) + " factors and " +
                                std::to_string(shift.size()) + " shifts (expected the same positive number)");
  }
  if (!(input_scale > 0.0f) || !std::isfinite(input_scale)) {
    throw std::invalid_argument("mul_add_codes: input scale " + std::to_string(input_scale) +
                                " is not positive and finite");
  }
  const auto channels = static_cast<int64_t>(scale.size());
  std::vector<double> factor_scales(scale.size());
  for (size_t c = 0; c < scale.size(); ++c) {
    if (!std::isfinite(scale[c]) || !std::isfinite(shift[c])) {
      throw NonFiniteObservation("BatchNorm2d as mul_add: channel " + std::to_string(c) + " has the factor " +
                                 std::to_string(scale[c]) + " and the shift " + std::to_string(shift[c]) +
                                 " (a non-finite value)");
    }
    const float s = std::abs(scale[c]) / kFactorCode;  // float32, as every quant::QParams scale
    factor_scales[c] = s > std::numeric_limits<float>::min() ? s : 1.0f;  // a[c] = 0: any scale, code 0
  }
  factor_scales = runtime::bias_fitting_scales(shift, input_scale, factor_scales, kMulAddBiasCodeLimit);

  MulAddCodes out;
  out.factor.spec = {kFactorBits, true, true};
  out.factor.axis = 0;
  out.factor.scale.assign(factor_scales.begin(),
                          factor_scales.end());  // float32 values (bias_fitting_scales)
  out.factor.zero_point.assign(scale.size(), 0);
  for (const float code : quantize_codes(Tensor::from_vector(scale, {channels}), out.factor).to_vector())
    out.codes.push_back(static_cast<int16_t>(code));
  out.bias = runtime::quantize_bias(shift, input_scale, factor_scales);
  return out;
}

QBatchNorm2d::QBatchNorm2d(std::shared_ptr<nn::BatchNorm2d> b, bool quantize_input,
                           const QuantSettings& settings, bool relu)
    : bn(std::move(b)), output(make_output_point(settings, relu)), relu_(relu) {
  settings.validate();
  if (quantize_input) input = make_input_point(settings);
  register_module("bn", bn);
  register_point_parameters();
}

std::shared_ptr<QatLayer> QBatchNorm2d::from_float(const PrepareStep& step) {
  return std::make_shared<QBatchNorm2d>(step.layer<nn::BatchNorm2d>(0), step.flowing == nullptr,
                                        step.settings, step.layers.size() == 2);
}

void QBatchNorm2d::convert(ConvertStep& step) const {
  runtime::MulAdd op = to_integer(step.input, fused_relu());
  narrow_clamp(op.output_stage, step.fused_clamp);
  step.emit(op);
}

Tensor QBatchNorm2d::forward(const Tensor& x_in) {
  if (x_in.dim() != 4 || x_in.shape()[1] != bn->num_features) {
    throw std::invalid_argument(type_name() + ": expected [N, " + std::to_string(bn->num_features) +
                                ", H, W], got " + to_string(x_in.shape()));
  }
  const Tensor x = quantize_input(x_in);
  const bool batch_stats = is_training() && !bn_frozen_;
  const auto [mean, var] =
      batch_stats ? track_batch_statistics(*bn, x) : std::pair{bn->running_mean, bn->running_var};
  const BatchNormAffine affine = batch_norm_affine(mean, var, bn->weight, bn->bias, bn->eps);
  const float s_in = input_scale();
  const MulAddCodes codes =
      mul_add_codes(affine.scale.detach().to_vector(), affine.shift.detach().to_vector(), s_in);
  Tensor y = apply<MulAddAccumulatorFn>(x, affine.scale, affine.shift, codes, s_in);
  if (relu_) y = nn::functional::relu(y);  // max(acc, 0) stays on the accumulator grid
  return output->requantize(y, s_in, codes.factor, observing_);
}

runtime::MulAdd QBatchNorm2d::to_integer(const runtime::QuantParams& input_quant, bool relu) const {
  NoGradGuard no_grad;
  const BatchNormAffine affine =
      batch_norm_affine(bn->running_mean, bn->running_var, bn->weight, bn->bias, bn->eps);
  const float s_in = static_cast<float>(input_quant.scale);  // a float32 scale, widened to double
  const MulAddCodes codes = mul_add_codes(affine.scale.to_vector(), affine.shift.to_vector(), s_in);
  const std::vector<double> factor_scales = as_doubles(codes.factor.scale);
  runtime::MulAdd op;
  op.channels = bn->num_features;
  op.input_quant = input_quant;
  op.weight = {{op.channels}, codes.codes,   kFactorBits,
               true,          factor_scales, std::vector<int32_t>(codes.codes.size(), 0)};
  op.bias = codes.bias;
  op.output_stage =
      runtime::OutputStage::make(input_quant.scale, factor_scales, to_runtime(output->qparams()), relu);
  return op;
}

}  // namespace qg::quant
