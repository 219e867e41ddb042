#include "quant/convert.h"

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

// The parts every conv/linear layer shares: input params, weights, bias, output stage.
struct QuantizedAffine {
  runtime::QuantizedWeights weight;
  std::vector<int32_t> bias;
  runtime::OutputStage stage;
};

// A bias that would need codes beyond int32 (tiny weights next to it: a weight scale of 1e-9 against an
// input scale of 0.01) is refused naming the layer (issue 10, item 3): saturating it would silently change
// the bias, and the accumulator bound computed from it would blame the wrong thing. (Widening that layer's
// weight scale, ONNX Runtime's remedy, would make the integer model differ from the fake-quant model that
// was calibrated or trained, whose requantization saturates the accumulator there.)
QuantizedAffine quantize_affine(const Tensor& weight, const Tensor& bias, const QParams& qw,
                                const runtime::QuantParams& input, const QParams& qo, bool fused_relu,
                                const std::string& layer) {
  const std::vector<float> b =
      bias.defined() ? bias.to_vector() : std::vector<float>(weight.shape()[0], 0.0f);
  QuantizedAffine a;
  a.weight = weight_codes(weight, qw);
  try {
    a.bias = runtime::quantize_bias(b, input.scale, a.weight.scales);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("convert: " + layer + ": " + e.what());
  }
  a.stage = runtime::OutputStage::make(input.scale, a.weight.scales, to_runtime(qo), fused_relu);
  return a;
}

runtime::Window2d window(int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  return {{kernel, kernel}, {stride, stride}, {padding, padding}, {dilation, dilation}};
}

runtime::Conv2d make_conv(const nn::Conv2d& conv, const Tensor& weight, const Tensor& bias, const QParams& qw,
                          const runtime::QuantParams& input, const QParams& qo, bool fused_relu,
                          const std::string& layer) {
  const QuantizedAffine a = quantize_affine(weight, bias, qw, input, qo, fused_relu, layer);
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

  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& layer = layers[i];
    const bool relu_next = i + 1 < layers.size() && is_relu(layers[i + 1]);
    const std::string name = "layer " + std::to_string(i) + " (" + layer->describe() + ")";
    if (auto q = std::dynamic_pointer_cast<QConv2d>(layer)) {
      out.add(make_conv(*q->conv, q->conv->weight, q->conv->bias, q->weight->qparams(), current,
                        q->output->qparams(), q->fused_relu() || relu_next, name));
      if (relu_next) ++i;  // fused into the clamp
    } else if (auto q = std::dynamic_pointer_cast<QConvBNReLU>(layer)) {
      const auto [w, b] = q->folded_for_inference();
      out.add(make_conv(*q->conv, w, b, q->weight->qparams(), current, q->output->qparams(),
                        q->fused_relu() || relu_next, name));
      if (relu_next) ++i;
    } else if (auto q = std::dynamic_pointer_cast<QLinear>(layer)) {
      const QuantizedAffine a =
          quantize_affine(q->linear->weight, q->linear->bias, q->weight->qparams(), current,
                          q->output->qparams(), q->fused_relu() || relu_next, name);
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
  return out;
}

}  // namespace qg::quant
