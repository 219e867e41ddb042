#include "quant/qat_model.h"

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

namespace {

template <class T>
std::shared_ptr<T> as(const std::shared_ptr<nn::Module>& m) {
  return std::dynamic_pointer_cast<T>(m);
}

}  // namespace

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
  for (auto& layer : layers_) {
    if (auto q = std::dynamic_pointer_cast<QConvBNReLU>(layer)) q->set_bn_frozen(frozen);
    if (auto q = std::dynamic_pointer_cast<QBatchNorm2d>(layer)) q->set_bn_frozen(frozen);
  }
}

std::shared_ptr<QatModel> prepare_qat(const nn::Sequential& float_model,
                                      const std::vector<QuantSettings>& per_layer) {
  const auto& layers = float_model.layers();
  if (per_layer.size() != layers.size()) {
    throw std::invalid_argument("prepare_qat: " + std::to_string(per_layer.size()) + " layer settings for " +
                                std::to_string(layers.size()) + " layers");
  }
  auto model = std::make_shared<QatModel>();
  // The parameters of the quantized tensor currently flowing; null while the model input is still float.
  const QuantPoint* flowing = nullptr;
  const auto relu_at = [&](size_t j) { return j < layers.size() && as<nn::ReLU>(layers[j]) != nullptr; };
  // Adds a layer that reads the tensor currently flowing (or, as the first quantized layer, quantizes the
  // model input itself) and produces a newly quantized one.
  const auto add_quantizing = [&](std::shared_ptr<QatLayer> q) {
    q->set_input_source(flowing);
    model->add(q);
    flowing = q->output_point();
  };
  for (size_t i = 0; i < layers.size(); ++i) {
    const QuantSettings& settings = per_layer[i];
    const bool first_quantized = flowing == nullptr;
    if (auto conv = as<nn::Conv2d>(layers[i])) {
      auto bn = i + 1 < layers.size() ? as<nn::BatchNorm2d>(layers[i + 1]) : nullptr;
      if (bn) {
        const bool relu = relu_at(i + 2);
        add_quantizing(std::make_shared<QConvBNReLU>(conv, bn, relu, first_quantized, settings));
        i += relu ? 2 : 1;
      } else {
        const bool relu = settings.fuse_relu && relu_at(i + 1);
        add_quantizing(std::make_shared<QConv2d>(conv, first_quantized, settings, relu));
        i += relu ? 1 : 0;
      }
    } else if (auto linear = as<nn::Linear>(layers[i])) {
      const bool relu = settings.fuse_relu && relu_at(i + 1);
      add_quantizing(std::make_shared<QLinear>(linear, first_quantized, settings, relu));
      i += relu ? 1 : 0;
    } else if (auto lone_bn = as<nn::BatchNorm2d>(layers[i])) {  // not right after a conv: that one is folded
      const bool relu = settings.fuse_relu && relu_at(i + 1);
      add_quantizing(std::make_shared<QBatchNorm2d>(lone_bn, first_quantized, settings, relu));
      i += relu ? 1 : 0;
    } else if (as<nn::AvgPool2d>(layers[i])) {
      // Keeps its input's parameters; the first quantized layer quantizes the model input first.
      auto pool = first_quantized
                      ? std::make_shared<QAvgPool2d>(layers[i], nullptr, make_input_point(settings))
                      : std::make_shared<QAvgPool2d>(layers[i], flowing);
      model->add(pool);
      flowing = &pool->input_params();
    } else if (as<nn::ReLU>(layers[i])) {
      model->add(std::make_shared<QPassThrough>(layers[i], "QReLU"));
    } else if (as<nn::MaxPool2d>(layers[i])) {
      model->add(std::make_shared<QPassThrough>(layers[i], "QMaxPool2d"));
    } else if (as<nn::Flatten>(layers[i])) {
      model->add(std::make_shared<QPassThrough>(layers[i], "QFlatten"));
    } else {
      throw std::invalid_argument("prepare_qat: layer " + std::to_string(i) + " (" + layers[i]->describe() +
                                  ") has no quantized form");
    }
  }
  if (!flowing) {
    throw std::invalid_argument(
        "prepare_qat: the model has no layer to quantize (conv2d, linear, batchnorm2d or avgpool2d)");
  }
  return model;
}

std::shared_ptr<QatModel> prepare_qat(const nn::Sequential& float_model, const QuantSettings& settings) {
  return prepare_qat(float_model, std::vector<QuantSettings>(float_model.layers().size(), settings));
}

}  // namespace qg::quant
