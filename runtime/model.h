// Model: an integer-only network, ready to run or save.
//
//     pixels --InputQuantize--> codes --op 0--> ... --op n-1--> codes --OutputDequantize--> logits
//
// The ops form a graph (a DAG) over numbered values: value 0 is the model input, value i + 1 the output of
// op i, and the model output is the last op's. Each op reads values made before it (ops[i].inputs, ONNX's
// node inputs), so the order of `ops` is a topological order; an op that lists no inputs reads the value
// just before it (value i), which makes a plain list of ops a chain, as `model.add(op)` builds it.
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
//
// A residual block reads an earlier value a second time (tests/runtime/graph_test.cpp builds one):
//
//     const int64_t skip = model.last_value();               // the block's input
//     model.add(conv1).add(conv2);                           // value skip + 2
//     model.add(runtime::Add::make(qa, qb, q, z, qmax), {skip, model.last_value()});
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/op.h"
#include "runtime/ops/input_quantize.h"
#include "runtime/ops/output_dequantize.h"

namespace qg::runtime {

/// One op of a model and the values it reads. A Node is an Op (std::get, std::get_if and op_name take it
/// as one) with its inputs beside it, so that the two cannot get out of step.
struct Node : Op {
  using Op::Op;  // made from any op struct, reading the value before it: ops.push_back(conv)
  Node() = default;
  Node(Op op, std::vector<int64_t> inputs = {}) : Op(std::move(op)), inputs(std::move(inputs)) {}

  /// Value indices (0: the model input, j + 1: the output of op j), each below this op's own output. Empty:
  /// the value just before it (a chain).
  std::vector<int64_t> inputs;

  const Op& op() const { return *this; }
};

struct Model {
  InputQuantize input;                                 ///< sample shape, input quantization, normalisation
  std::vector<Node> ops;                               ///< a topological order: op i reads values 0..i
  OutputDequantize output;                             ///< must equal the last activation's quantization
  nlohmann::json metadata = nlohmann::json::object();  ///< free-form: source config, bits, accuracy, ...

  /// Appends `op` reading the value before it (the current model output), after validating it, and sets
  /// output.quant to the new last activation's quantization. Throws std::invalid_argument like plan_model().
  Model& add(Op op);
  /// Appends `op` reading the values `inputs` (indices of values made so far: 0 .. last_value()), after
  /// validating it and them, and sets output.quant as add(op). `{last_value()}` is the same as add(op).
  Model& add(Op op, std::vector<int64_t> inputs);

  /// The index of the value the last op makes, i.e. the current model output (0 with no ops).
  int64_t last_value() const { return static_cast<int64_t>(ops.size()); }
  /// The values op `i` reads: its inputs, or {i} when it lists none.
  std::vector<int64_t> inputs_of(size_t i) const;
};

/// Where run() keeps the values of one sample. Each value an op writes — except the model output, which
/// goes straight into run()'s result — lives in one of a few buffers while it is needed: from the op that
/// makes it to its last reader. A buffer is reused once that reader has run, by the free buffer whose size
/// fits best (plan_buffers), so a chain needs two buffers and a residual block three.
struct BufferPlan {
  std::vector<int> buffer_of;            ///< per value: its buffer, or -1 (the model input and output)
  std::vector<int64_t> buffer_elements;  ///< per buffer: the largest value it holds, in codes

  size_t buffers() const { return buffer_elements.size(); }
  /// All buffers together, in bytes (run() holds each code as an int32).
  int64_t bytes() const;
};

/// Every value of a valid model and how the ops use them.
struct ModelPlan {
  std::vector<Activation> activations;       ///< per value: [0] the input, [i + 1] the output of op i
  std::vector<std::vector<int64_t>> inputs;  ///< per op: the values it reads (Model::inputs_of)
  /// Per value: the last op that reads it; for the model output ops.size(), for a value no op reads the op
  /// that makes it.
  std::vector<int64_t> last_reader;
  BufferPlan buffers;  ///< plan_buffers(*this): where run() keeps the values when no ops are fused

  const Activation& input() const { return activations.front(); }
  const Activation& output() const { return activations.back(); }
  /// The largest per-sample activation, in elements.
  int64_t largest_activation() const;
  /// The peak activation memory of one sample, in bytes of int32 codes: the largest total, over the ops,
  /// of the values alive while the op runs (its inputs, its output, and every earlier value a later op still
  /// reads; the model input and output included). What any schedule of these ops in this order must hold.
  int64_t peak_activation_bytes() const;
  /// The same for `batch` samples computed op by op together: batch * peak_activation_bytes().
  int64_t peak_activation_bytes(int64_t batch) const;
};

/// Validates the whole model and returns its values. Throws std::invalid_argument naming the op, e.g.
/// "op 2 (linear) on input [20,4,4]: expects a flat [320] input ...", "op 4 (add) on inputs [8,4,4] and
/// [4,4,4]: the inputs have different shapes ...", "op 3 (conv2d): input 0 is value 5, but op 3 can read
/// only values 0..3 ...", or "input: ..." / "output: ...".
ModelPlan plan_model(const Model& model);

/// Assigns buffers to the values of `plan` (greedily, in op order: each value an op writes takes the free
/// buffer that fits it best — the smallest one large enough, else the largest one, grown — or a new one,
/// and a buffer is freed after the value's last reader). `fused_with_next[i]` (if given) runs ops i and
/// i + 1 as one step (run()'s fused conv + max pool): value i + 1 is never written and gets no buffer, and
/// the step's inputs stay alive until it ends. A fused op i + 1 must read value i + 1 alone, and be its
/// only reader.
BufferPlan plan_buffers(const ModelPlan& plan, const std::vector<bool>& fused_with_next = {});

}  // namespace qg::runtime
