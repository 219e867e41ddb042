#include "quant/qat_model.h"

#include <algorithm>
#include <span>
#include <stdexcept>

#include "nn/layers.h"
#include "quant/points/make_points.h"
#include "quant/qat/passthrough.h"
#include "quant/qat/qbatch_norm2d.h"
#include "quant/qat/qconv2d.h"
#include "quant/qat/qconv_bn_relu.h"
#include "quant/qat/qlinear.h"

namespace qg::quant {

Tensor QatModel::forward(const Tensor& input) {
  Tensor x = input;
  for (auto& layer : layers_)
    x = layer->forward(x);
  return x;
}

void QatModel::set_observing(bool on) {
  if (on && frozen_) throw std::logic_error("QatModel: cannot observe after freeze()");
  for (auto& layer : layers_)
    layer->set_observing(on);
}

void QatModel::freeze() {
  set_observing(false);
  for (auto& layer : layers_)
    layer->freeze();
  frozen_ = true;
}

void QatModel::add(std::shared_ptr<QatLayer> layer) {
  layers_.push_back(layer);
  register_module(std::to_string(layers_.size() - 1), layer);
}

std::vector<Tensor> QatModel::quantizer_parameters() {
  std::vector<Tensor> out;
  for (auto& layer : layers_) {
    for (auto& [name, point] : layer->quant_points()) {
      for (auto& [tensor_name, tensor] : point->parameters())
        out.push_back(tensor);
    }
  }
  return out;
}

void QatModel::set_bn_frozen(bool frozen) {
  for (auto& layer : layers_)
    layer->set_bn_frozen(frozen);
}

namespace {

/// Whether a float layer is of nn type T.
template <class T>
bool is(const nn::Module& m) {
  return dynamic_cast<const T*>(&m) != nullptr;
}

/// A sequence of float layers that becomes one QAT layer (PyTorch's fusion patterns and its float-to-QAT
/// module mapping in one): the layers' types, whether its last layer (a ReLU) joins only under
/// QuantSettings::fuse_relu, and the QAT layer's from_float.
struct QatPattern {
  std::vector<bool (*)(const nn::Module&)> layers;
  bool only_when_fusing_relu = false;
  std::shared_ptr<QatLayer> (*from_float)(const PrepareStep&) = nullptr;

  bool matches(const std::vector<std::shared_ptr<nn::Module>>& model, size_t i,
               const QuantSettings& s) const {
    if (only_when_fusing_relu && !s.fuse_relu) return false;
    if (i + layers.size() > model.size()) return false;
    for (size_t k = 0; k < layers.size(); ++k) {
      if (!layers[k](*model[i + k])) return false;
    }
    return true;
  }
};

/// Tried in this order at each position; the first that matches wins, so longer patterns come first.
const std::vector<QatPattern>& qat_patterns() {
  static const std::vector<QatPattern> patterns = {
      {{is<nn::Conv2d>, is<nn::BatchNorm2d>, is<nn::ReLU>}, false, QConvBNReLU::from_float},
      {{is<nn::Conv2d>, is<nn::BatchNorm2d>}, false, QConvBNReLU::from_float},
      {{is<nn::Conv2d>, is<nn::ReLU>}, true, QConv2d::from_float},
      {{is<nn::Conv2d>}, false, QConv2d::from_float},
      {{is<nn::Linear>, is<nn::ReLU>}, true, QLinear::from_float},
      {{is<nn::Linear>}, false, QLinear::from_float},
      {{is<nn::BatchNorm2d>, is<nn::ReLU>}, true, QBatchNorm2d::from_float},  // a BatchNorm no conv precedes
      {{is<nn::BatchNorm2d>}, false, QBatchNorm2d::from_float},
      {{is<nn::AvgPool2d>}, false, QAvgPool2d::from_float},
      {{is<nn::ReLU>}, false, QReLU::from_float},
      {{is<nn::MaxPool2d>}, false, QMaxPool2d::from_float},
      {{is<nn::Flatten>}, false, QFlatten::from_float},
  };
  return patterns;
}

}  // namespace

std::shared_ptr<QatModel> prepare_qat(const nn::Graph& float_model,
                                      const std::vector<QuantSettings>& per_layer) {
  const auto& layers = float_model.layers();
  if (per_layer.size() != layers.size()) {
    throw std::invalid_argument("prepare_qat: " + std::to_string(per_layer.size()) + " layer settings for " +
                                std::to_string(layers.size()) + " layers");
  }
  if (!float_model.is_chain()) {
    for (size_t i = 0; i < layers.size(); ++i) {
      if (float_model.inputs(i) == std::vector<int64_t>{static_cast<int64_t>(i) - 1}) continue;
      throw std::invalid_argument("prepare_qat: layer " + std::to_string(i) + " (" + layers[i]->describe() +
                                  ") does not read the layer before it; graph models (residual adds, "
                                  "concatenations) cannot be quantized yet, only chains");
    }
  }
  auto model = std::make_shared<QatModel>();
  // The parameters of the quantized tensor currently flowing; null while the model input is still float.
  const QuantPoint* flowing = nullptr;
  for (size_t i = 0; i < layers.size();) {
    const auto& patterns = qat_patterns();
    const auto pattern = std::find_if(patterns.begin(), patterns.end(), [&](const QatPattern& p) {
      return p.matches(layers, i, per_layer[i]);
    });
    if (pattern == patterns.end()) {
      throw std::invalid_argument("prepare_qat: layer " + std::to_string(i) + " (" + layers[i]->describe() +
                                  ") has no quantized form");
    }
    const size_t count = pattern->layers.size();
    const std::shared_ptr<QatLayer> q =
        pattern->from_float({std::span(layers).subspan(i, count), per_layer[i], flowing});
    // A layer that does not quantize its input reads the tensor flowing in.
    if (!q->input) q->set_input_source(flowing);
    q->set_source_layer(i);
    model->add(q);
    // What flows on: the layer's newly quantized output, or the model input it quantized itself (an average
    // pool keeps that grid), or, through ReLU, max pooling and flatten, the same as before.
    if (q->output_point()) {
      flowing = q->output_point();
    } else if (q->input) {
      flowing = q->input.get();
    }
    i += count;
  }
  if (!flowing) {
    throw std::invalid_argument(
        "prepare_qat: the model has no layer to quantize (conv2d, linear, batchnorm2d or avgpool2d)");
  }
  return model;
}

std::shared_ptr<QatModel> prepare_qat(const nn::Graph& float_model, const QuantSettings& settings) {
  return prepare_qat(float_model, std::vector<QuantSettings>(float_model.layers().size(), settings));
}

}  // namespace qg::quant
