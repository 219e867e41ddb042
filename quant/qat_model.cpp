#include "quant/qat_model.h"

#include <algorithm>
#include <span>
#include <stdexcept>

#include "nn/layers.h"
#include "quant/points/make_points.h"
#include "quant/qat/passthrough.h"
#include "quant/qat/qadd.h"
#include "quant/qat/qbatch_norm2d.h"
#include "quant/qat/qconcat.h"
#include "quant/qat/qconv2d.h"
#include "quant/qat/qconv_bn_relu.h"
#include "quant/qat/qlinear.h"

namespace qg::quant {

Tensor QatModel::forward(const Tensor& input) {
  return nn::run_graph(
      layers_.size(), [&](size_t i) -> nn::Module& { return *layers_[i]; }, inputs_, input);
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

void QatModel::add(std::shared_ptr<QatLayer> layer, std::vector<int64_t> inputs) {
  static_assert(kModelInput == nn::Graph::kGraphInput);
  nn::check_graph_inputs("QatModel::add", static_cast<int64_t>(layers_.size()), inputs);
  layers_.push_back(layer);
  inputs_.push_back(std::move(inputs));
  register_module(std::to_string(layers_.size() - 1), layer);
}

void QatModel::add(std::shared_ptr<QatLayer> layer) {
  add(std::move(layer), {static_cast<int64_t>(layers_.size()) - 1});
}

int64_t QatModel::reader_count(size_t i) const {
  int64_t count = i + 1 == layers_.size() ? 1 : 0;
  for (const auto& inputs : inputs_)
    count += std::count(inputs.begin(), inputs.end(), static_cast<int64_t>(i));
  return count;
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

  /// Whether the pattern matches the float layers from `i` on: their types, and each layer after the first
  /// reading only the one before it, which nothing else reads (`readers[k]`: how many read layer k).
  bool matches(const nn::Graph& model, const std::vector<int64_t>& readers, size_t i,
               const QuantSettings& s) const {
    if (only_when_fusing_relu && !s.fuse_relu) return false;
    if (i + layers.size() > model.size()) return false;
    for (size_t k = 0; k < layers.size(); ++k) {
      if (!layers[k](*model[i + k])) return false;
      const auto previous = static_cast<int64_t>(i + k) - 1;
      if (k > 0 && (model.inputs(i + k) != std::vector<int64_t>{previous} || readers[i + k - 1] != 1))
        return false;
    }
    return true;
  }
};

/// How many layers read each float layer's output (the last layer's output leaves the model: one more), and
/// (at [size]) how many read the model input.
std::vector<int64_t> reader_counts(const nn::Graph& model) {
  std::vector<int64_t> readers(model.size() + 1, 0);
  if (!model.size()) return readers;
  readers[model.size() - 1] = 1;
  for (size_t i = 0; i < model.size(); ++i) {
    for (const int64_t in : model.inputs(i))
      ++readers[in == nn::Graph::kGraphInput ? model.size() : static_cast<size_t>(in)];
  }
  return readers;
}

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
      {{is<nn::GlobalAvgPool2d>}, false, QGlobalAvgPool2d::from_float},
      {{is<nn::Add>, is<nn::ReLU>}, false, QAdd::from_float},  // PyTorch's add_relu: always fused
      {{is<nn::Add>}, false, QAdd::from_float},
      {{is<nn::Concat>}, false, QConcat::from_float},
      {{is<nn::ReLU6>}, false, QReLU6::from_float},
      {{is<nn::Dropout>}, false, QDropout::from_float},
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
  const std::vector<int64_t> readers = reader_counts(float_model);
  if (readers[layers.size()] > 1) {
    throw std::invalid_argument("prepare_qat: " + std::to_string(readers[layers.size()]) +
                                " layers read the model input; a quantized model reads it in one layer (its "
                                "integer input has one quantization)");
  }
  auto model = std::make_shared<QatModel>();
  // For each float layer whose output leaves its pattern: the QAT layer that computes it, and the
  // quantization of that output (null while it is still the float model input, or a pass-through of it).
  std::vector<int64_t> qat_layer_of(layers.size(), QatModel::kModelInput);
  std::vector<const QuantPoint*> point_of(layers.size(), nullptr);
  const auto& patterns = qat_patterns();
  for (size_t i = 0; i < layers.size();) {
    const auto pattern = std::find_if(patterns.begin(), patterns.end(), [&](const QatPattern& p) {
      return p.matches(float_model, readers, i, per_layer[i]);
    });
    if (pattern == patterns.end()) {
      throw std::invalid_argument("prepare_qat: layer " + std::to_string(i) + " (" + layers[i]->describe() +
                                  ") has no quantized form");
    }
    std::vector<const QuantPoint*> sources;
    std::vector<int64_t> qat_inputs;
    for (const int64_t in : float_model.inputs(i)) {
      const bool model_input = in == nn::Graph::kGraphInput;
      sources.push_back(model_input ? nullptr : point_of[static_cast<size_t>(in)]);
      qat_inputs.push_back(model_input ? QatModel::kModelInput : qat_layer_of[static_cast<size_t>(in)]);
    }
    const size_t count = pattern->layers.size();
    const std::shared_ptr<QatLayer> q =
        pattern->from_float({std::span(layers).subspan(i, count), per_layer[i], sources.front(), sources});
    // A layer that does not quantize its input reads the tensor flowing in.
    if (!q->input) q->set_input_source(sources.front());
    q->set_source_layer(i);
    model->add(q, qat_inputs);
    // What its output is quantized with: the layer's newly quantized output, or the model input it quantized
    // itself (an average pool keeps that grid), or, through ReLU, max pooling and flatten, its input's.
    const size_t last = i + count - 1;
    qat_layer_of[last] = static_cast<int64_t>(model->layers().size()) - 1;
    point_of[last] = q->output_point() ? q->output_point() : q->input ? q->input.get() : sources.front();
    i += count;
  }
  if (!point_of.back()) {
    throw std::invalid_argument(
        "prepare_qat: the model has no layer to quantize (conv2d, linear, batchnorm2d or avgpool2d)");
  }
  return model;
}

std::shared_ptr<QatModel> prepare_qat(const nn::Graph& float_model, const QuantSettings& settings) {
  return prepare_qat(float_model, std::vector<QuantSettings>(float_model.layers().size(), settings));
}

}  // namespace qg::quant
