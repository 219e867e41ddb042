// Model: an integer-only network, ready to run or save.
//
//     pixels --InputQuantize--> codes --op 0--> ... --op n-1--> codes --OutputDequantize--> logits
//
// A model is plain data: build it field by field (the convert step does this from a trained fake-quant
// model) or load it from a file (model_file.h). Example, a 1x28x28 -> 10 classifier (kept compiling by
// the test ModelRun.HeaderExampleBuildsAValidModel):
//
//     runtime::Model model;
//     model.input = {.shape = {1, 28, 28}, .quant = in_q, .mean = {0.1307}, .stddev = {0.3081}};
//     runtime::Conv2d conv;
//     conv.in_channels = 1;
//     conv.out_channels = 8;
//     conv.window.kernel = {3, 3};
//     conv.input_quant = in_q;
//     conv.weight = runtime::quantize_weights(w, {8, 1, 3, 3}, w_scales, w_zeros, 8, false);
//     conv.bias = runtime::quantize_bias(b, in_q.scale, w_scales);
//     conv.output_stage = runtime::OutputStage::make(in_q.scale, w_scales, conv_q, /*fused_relu=*/true);
//     runtime::MaxPool2d pool;
//     pool.window.kernel = pool.window.stride = {2, 2};
//     model.add(conv).add(pool).add(runtime::Flatten{});
//     model.add(linear);  // add() validates each op and keeps output.quant in step
//     model.metadata = {{"source_config", "mnist_cnn"}, {"bits", 8}};
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/op.h"
#include "runtime/ops/input_quantize.h"
#include "runtime/ops/output_dequantize.h"

namespace qg::runtime {

struct Model {
  InputQuantize input;                                 ///< sample shape, input quantization, normalisation
  std::vector<Op> ops;                                 ///< applied in order
  OutputDequantize output;                             ///< must equal the last activation's quantization
  nlohmann::json metadata = nlohmann::json::object();  ///< free-form: source config, bits, accuracy, ...

  /// Appends `op` after validating it against the current end of the chain, and sets output.quant to
  /// the new last activation's quantization. Throws std::invalid_argument like plan_model().
  Model& add(Op op);
};

/// Every activation of a valid model: [0] is the input, [i + 1] the output of op i.
struct ModelPlan {
  std::vector<Activation> activations;

  const Activation& input() const { return activations.front(); }
  const Activation& output() const { return activations.back(); }
  /// The largest per-sample activation, in elements (sizes run()'s buffers).
  int64_t largest_activation() const;
};

/// Validates the whole model and returns its activations. Throws std::invalid_argument naming the op,
/// e.g. "op 2 (linear) on input [20,4,4]: expects a flat [320] input ...", or "input: ..." / "output: ...".
ModelPlan plan_model(const Model& model);

}  // namespace qg::runtime
