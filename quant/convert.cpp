#include "quant/convert.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include "autograd/grad_mode.h"
#include "nn/layers.h"
#include "quant/qat/passthrough.h"
#include "quant/qat/qbatch_norm2d.h"
#include "quant/qat/qconv2d.h"
#include "quant/qat/qconv_bn_relu.h"
#include "quant/qat/qlinear.h"

namespace qg::quant {

runtime::QuantParams to_runtime(const QParams& p) {
  if (p.per_channel()) throw std::invalid_argument("convert: activations must be quantized per tensor");
  return {static_cast<double>(p.scale[0]), p.zero_point[0], p.spec.bits, p.spec.is_signed};
}

namespace {

// Weight codes exactly as FakeQuantize computed them (same float arithmetic and rounding).
runtime::QuantizedWeights weight_codes(const Tensor& weight, const QParams& qw) {
  runtime::QuantizedWeights w;
  w.shape = runtime::Dims(weight.shape().begin(), weight.shape().end());
  for (float code : quantize_codes(weight, qw).to_vector())
    w.codes.push_back(static_cast<int16_t>(code));
  w.bits = qw.spec.bits;
  w.is_signed = qw.spec.is_signed;
  w.scales.assign(qw.scale.begin(), qw.scale.end());
  w.zero_points = qw.zero_point;
  return w;
}

std::string number(double v) {
  std::ostringstream out;
  out << std::setprecision(3) << v;
  return out.str();
}

// The weight parameters under which the layer's bias fits int32 (issue 10, item 3). A bias next to tiny
// weights (a weight scale of 1e-9 against an input scale of 0.01) needs codes far beyond int32 at the
// accumulator's scale S_in S_w; saturating them would silently change the bias. Instead the weight scale
// is widened until the bias fits (ONNX Runtime's remedy, runtime::bias_fitting_scales), and `notes` says
// so: the weights are then coarser, but they matter little next to such a bias.
QParams fit_bias(const QParams& qw, const std::vector<float>& bias, double input_scale,
                 const std::string& layer, std::vector<std::string>& notes) {
  const std::vector<double> scales(qw.scale.begin(), qw.scale.end());
  const std::vector<double> fitted = runtime::bias_fitting_scales(bias, input_scale, scales);
  if (fitted == scales) return qw;
  QParams wider = qw;
  double largest_code = 0.0, largest_factor = 1.0;
  int64_t widened = 0;
  for (size_t c = 0; c < bias.size(); ++c) {
    const size_t i = scales.size() == 1 ? 0 : c;
    largest_code = std::max(largest_code, std::abs(bias[c]) / (input_scale * scales[i]));
  }
  for (size_t i = 0; i < scales.size(); ++i) {
    wider.scale[i] = static_cast<float>(fitted[i]);  // float32 already (bias_fitting_scales)
    widened += fitted[i] != scales[i];
    largest_factor = std::max(largest_factor, fitted[i] / scales[i]);
  }
  const std::string which = scales.size() == 1
                                ? "its per-tensor weight scale was"
                                : "the weight scales of " + std::to_string(widened) + " of its " +
                                      std::to_string(scales.size()) + " channels were";
  notes.push_back(layer + ": its bias needs int32 codes up to " + number(largest_code) +
                  " at the accumulator scale S_in S_w, beyond int32; " + which + " widened up to " +
                  number(largest_factor) +
                  "x so that every bias code fits within 2^30 (as ONNX Runtime does)");
  return wider;
}

// The parts every conv/linear layer shares: input params, weights, bias, output stage.
struct QuantizedAffine {
  runtime::QuantizedWeights weight;
  std::vector<int32_t> bias;
  runtime::OutputStage stage;
};

QuantizedAffine quantize_affine(const Tensor& weight, const Tensor& bias, const QParams& qw,
                                const runtime::QuantParams& input, const QParams& qo, bool fused_relu,
                                const std::string& layer, std::vector<std::string>& notes) {
  const std::vector<float> b =
      bias.defined() ? bias.to_vector() : std::vector<float>(weight.shape()[0], 0.0f);
  QuantizedAffine a;
  a.weight = weight_codes(weight, fit_bias(qw, b, input.scale, layer, notes));
  a.bias = runtime::quantize_bias(b, input.scale, a.weight.scales);
  a.stage = runtime::OutputStage::make(input.scale, a.weight.scales, to_runtime(qo), fused_relu);
  return a;
}

runtime::Window2d window(int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  return {{kernel, kernel}, {stride, stride}, {padding, padding}, {dilation, dilation}};
}

runtime::Conv2d make_conv(const nn::Conv2d& conv, const Tensor& weight, const Tensor& bias, const QParams& qw,
                          const runtime::QuantParams& input, const QParams& qo, bool fused_relu,
                          const std::string& layer, std::vector<std::string>& notes) {
  const QuantizedAffine a = quantize_affine(weight, bias, qw, input, qo, fused_relu, layer, notes);
  runtime::Conv2d op;
  op.in_channels = conv.in_channels;
  op.out_channels = conv.out_channels;
  op.groups = conv.options.groups;
  op.window = window(conv.kernel_size, conv.options.stride, conv.options.padding, conv.options.dilation);
  op.input_quant = input;
  op.weight = a.weight;
  op.bias = a.bias;
  op.output_stage = a.stage;
  return op;
}

bool is_relu(const std::shared_ptr<QatLayer>& layer) {
  return layer && layer->type_name() == "QReLU";
}

}  // namespace

runtime::Model convert(const QatModel& model, const ConvertOptions& options) {
  if (!model.is_frozen()) throw std::invalid_argument("convert: freeze() the model first");
  NoGradGuard no_grad;
  const auto& layers = model.layers();

  // The model input is quantized with the input point of the first layer that needs a quantized input
  // (prepare_qat); ReLU, max pooling and flatten before it run on its codes.
  const QuantPoint* first_input = nullptr;
  for (const auto& layer : layers) {
    first_input = layer->input.get();
    if (first_input) break;
  }
  if (!first_input) throw std::invalid_argument("convert: the model has no quantized input");

  runtime::Model out;
  out.input.shape = runtime::Dims(options.input_shape.begin(), options.input_shape.end());
  out.input.quant = to_runtime(first_input->qparams());
  out.input.mean = {options.input_mean};
  out.input.stddev = {options.input_std};
  runtime::QuantParams current = out.input.quant;

  std::vector<std::string> notes;
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& layer = layers[i];
    const bool relu_next = i + 1 < layers.size() && is_relu(layers[i + 1]);
    const std::string name = "layer " + std::to_string(i) + " (" + layer->describe() + ")";
    if (auto q = std::dynamic_pointer_cast<QConv2d>(layer)) {
      out.add(make_conv(*q->conv, q->conv->weight, q->conv->bias, q->weight->qparams(), current,
                        q->output->qparams(), q->fused_relu() || relu_next, name, notes));
      if (relu_next) ++i;  // fused into the clamp
    } else if (auto q = std::dynamic_pointer_cast<QConvBNReLU>(layer)) {
      const auto [w, b] = q->folded_for_inference();
      out.add(make_conv(*q->conv, w, b, q->weight->qparams(), current, q->output->qparams(),
                        q->fused_relu() || relu_next, name, notes));
      if (relu_next) ++i;
    } else if (auto q = std::dynamic_pointer_cast<QLinear>(layer)) {
      const QuantizedAffine a = quantize_affine(q->linear->weight, q->linear->bias, q->weight->qparams(), current,
                                                q->output->qparams(), q->fused_relu() || relu_next, name, notes);
      runtime::Linear op;
      op.in_features = q->linear->in_features;
      op.out_features = q->linear->out_features;
      op.input_quant = current;
      op.weight = a.weight;
      op.bias = a.bias;
      op.output_stage = a.stage;
      out.add(op);
      if (relu_next) ++i;
    } else if (auto q = std::dynamic_pointer_cast<QBatchNorm2d>(layer)) {
      out.add(q->to_integer(current, q->fused_relu() || relu_next));
      if (relu_next) ++i;
    } else if (auto q = std::dynamic_pointer_cast<QAvgPool2d>(layer)) {
      const auto& o = std::dynamic_pointer_cast<nn::AvgPool2d>(q->pool)->options;
      out.add(runtime::AvgPool2d{window(o.kernel_size, o.effective_stride(), o.padding, 1)});
    } else if (auto q = std::dynamic_pointer_cast<QPassThrough>(layer)) {
      if (auto pool = std::dynamic_pointer_cast<nn::MaxPool2d>(q->layer)) {
        const auto& o = pool->options;
        out.add(runtime::MaxPool2d{window(o.kernel_size, o.effective_stride(), o.padding, 1)});
      } else if (std::dynamic_pointer_cast<nn::ReLU>(q->layer)) {
        out.add(runtime::ReLU{});
      } else if (std::dynamic_pointer_cast<nn::Flatten>(q->layer)) {
        out.add(runtime::Flatten{});
      } else {
        throw std::invalid_argument("convert: layer " + std::to_string(i) + " (" + layer->describe() +
                                    ") has no integer form");
      }
    } else {
      throw std::invalid_argument("convert: layer " + std::to_string(i) + " (" + layer->describe() +
                                  ") has no integer form");
    }
    current = runtime::plan_model(out).output().quant;
  }
  out.metadata = options.metadata;
  if (!notes.empty()) out.metadata["conversion_notes"] = notes;
  return out;
}

}  // namespace qg::quant
