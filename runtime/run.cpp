#include "runtime/run.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <variant>

#include "runtime/ops/conv2d.h"
#include "runtime/ops/conv2d_dot.h"
#include "runtime/ops/input_quantize.h"
#include "runtime/ops/linear_dot.h"
#include "runtime/ops/max_pool2d.h"
#include "runtime/ops/output_dequantize.h"
#include "util/thread_pool.h"

namespace qg::runtime {

namespace {

void check_input(const ModelPlan& plan, const IntTensor& input) {
  Dims expected = plan.input().shape;
  expected.insert(expected.begin(), input.batch());
  if (input.shape.empty() || input.shape != expected) {
    throw std::invalid_argument("run: input has shape " + dims_to_string(input.shape) +
                                " but the model expects a batch of N samples of shape " +
                                dims_to_string(plan.input().shape));
  }
  if (input.numel() != checked_numel(input.shape, "run: input")) {
    throw std::invalid_argument("run: input shape " + dims_to_string(input.shape) + " needs " +
                                std::to_string(checked_numel(input.shape, "run: input")) + " codes, found " +
                                std::to_string(input.numel()));
  }
  const QuantParams& quant = plan.input().quant;
  // A vectorised pass for the range; the element-by-element search only to name the first bad code.
  int32_t lowest = quant.qmin(), highest = quant.qmax();
  for (const int32_t code : input.data) {
    lowest = std::min(lowest, code);
    highest = std::max(highest, code);
  }
  if (lowest >= quant.qmin() && highest <= quant.qmax()) return;
  for (size_t i = 0; i < input.data.size(); ++i) {
    if (input.data[i] < quant.qmin() || input.data[i] > quant.qmax()) {
      throw std::invalid_argument("run: input code " + std::to_string(input.data[i]) + " at element " +
                                  std::to_string(i) + " is outside the input code range [" +
                                  std::to_string(quant.qmin()) + ", " + std::to_string(quant.qmax()) + "]");
    }
  }
}

// Samples computed together, op by op: a linear layer on the dot path reads each packed weight once per
// block rather than once per sample. 16 is the engine's vector of positions (int8::kPanelStep).
constexpr int64_t kBlockSamples = int8::kPanelStep;
// Below this many samples the int16 path (linear_fast) is faster than the dot path, whose vectors of 16
// positions would then be mostly empty.
constexpr int64_t kMinDotSamples = 4;
// A model computes blocks of samples only when it has a linear layer of at least this many weights on the
// dot path: for smaller ones (mnist_cnn's 320 -> 10 classifier) keeping each sample's values in cache from
// op to op is worth more (blocks made mnist_cnn about 5 % slower). Measured at 1 thread: LeNet-5's 400 -> 120
// layer (48,000 weights) ran 1.6x faster in blocks (bench/suite/lenet5.json, 70-79k -> 122-126k images/s),
// the 3,136 -> 10 classifier of bench/suite/strided.json (31,360) as fast, NetBN's 1,000 -> 10 as fast.
constexpr size_t kMinBlockedWeights = size_t{1} << 14;

// How run() computes the samples of one call: the ops in order, a conv and the 2x2 max pool after it as one
// fused step where the fast kernels allow it, and where each value lives (a buffer, by liveness).
struct Schedule {
  std::vector<bool> fused_with_next;                       // per op: runs with op i + 1 as one step
  BufferPlan buffers;                                      // plan_buffers with those steps
  std::vector<std::vector<Activation>> input_activations;  // per op reading several values: what it reads
  std::vector<size_t> sizes;                               // per value: its elements
  int64_t block = 1;  // samples computed together, op by op: kBlockSamples or 1 (see kMinBlockedWeights)
};

// Whether ops[i] and ops[i + 1] run as one fused step: a dot-path conv followed by a 2x2 max pool that is the
// only reader of the conv's output (conv2d_dot_pooled: the pool runs on the accumulators, exactly as on the
// codes; the conv's output is never written).
bool fuses_with_next(const Model& model, const ModelPlan& plan, size_t i, const RunOptions& options) {
  if (options.kernels != KernelChoice::Fast || i + 1 >= model.ops.size()) return false;
  const auto* conv = std::get_if<Conv2d>(&model.ops[i]);
  const auto* pool = std::get_if<MaxPool2d>(&model.ops[i + 1]);
  const auto conv_output = static_cast<int64_t>(i + 1);
  const std::vector<int64_t>& pool_reads = plan.inputs[i + 1];
  return conv && pool && pool_reads.size() == 1 && pool_reads[0] == conv_output &&
         plan.last_reader[i + 1] == conv_output && conv2d_dot_applies(*conv) && pool_fuses(*pool);
}

Schedule schedule_of(const Model& model, const ModelPlan& plan, const RunOptions& options) {
  Schedule s;
  const size_t ops = model.ops.size();
  s.fused_with_next.assign(ops, false);
  bool any_fused = false;
  for (size_t i = 0; i < ops; ++i) {
    if (fuses_with_next(model, plan, i, options)) {
      s.fused_with_next[i] = any_fused = true;
      ++i;  // op i + 1 is the pool of this step
    }
  }
  s.buffers = any_fused ? plan_buffers(plan, s.fused_with_next) : plan.buffers;
  s.input_activations.resize(ops);
  for (size_t i = 0; i < ops; ++i) {
    if (plan.inputs[i].size() == 1) continue;  // run_samples passes plan.activations[v] itself
    for (const int64_t v : plan.inputs[i])
      s.input_activations[i].push_back(plan.activations[static_cast<size_t>(v)]);
  }
  for (const Node& node : model.ops) {
    const auto* linear = std::get_if<Linear>(&node.op());
    if (options.kernels == KernelChoice::Fast && linear && linear_dot_applies(*linear) &&
        linear->weight.codes.size() >= kMinBlockedWeights)
      s.block = kBlockSamples;
  }
  s.sizes.reserve(plan.activations.size());
  for (const Activation& a : plan.activations)
    s.sizes.push_back(static_cast<size_t>(checked_numel(a.shape, "activation")));
  return s;
}

// Per-thread working memory, kept from one run() to the next: the activation buffers, where each value of a
// block of samples lies, and the kernels' Scratch (which also keeps each conv's and linear layer's packed
// weights). Steady-state inference allocates nothing.
struct WorkerMemory {
  std::vector<std::vector<int32_t>> buffers;
  std::vector<std::span<const int32_t>> values;  // per value: its codes for every sample of the block
  std::vector<std::span<const int32_t>> reads;   // the values the current op reads, of one sample
  Scratch scratch;
};

WorkerMemory& worker_memory() {
  thread_local WorkerMemory memory;
  return memory;
}

// The linear layer op `i` is, when it runs on the dot path for a block of `samples` samples; else null.
const Linear* dot_linear(const Model& model, size_t i, int64_t samples, const RunOptions& options) {
  const auto* linear = std::get_if<Linear>(&model.ops[i]);
  if (options.kernels != KernelChoice::Fast || samples < kMinDotSamples || !linear) return nullptr;
  return linear_dot_applies(*linear) ? linear : nullptr;
}

// Sample s of a value that holds `size` codes per sample.
template <class T>
std::span<T> sample_of(std::span<T> block, int64_t s, size_t size) {
  return block.subspan(static_cast<size_t>(s) * size, size);
}

/// Runs the `samples` samples from `first` on through all ops, op by op, each value of the block in the
/// buffer the schedule gives it; the last op writes straight into `output`.
void run_block(const Model& model, const ModelPlan& plan, const Schedule& schedule, const IntTensor& input,
               IntTensor& output, const RunOptions& options, int64_t first, int64_t samples,
               WorkerMemory& memory) {
  const size_t ops = model.ops.size();
  const auto in_size = static_cast<size_t>(input.sample_size());
  const auto out_size = static_cast<size_t>(output.sample_size());
  const OpContext context{.mode = options.mode, .kernels = options.kernels, .scratch = memory.scratch};
  const auto count = static_cast<size_t>(samples);
  memory.values[0] =
      std::span<const int32_t>(input.data.data() + first * static_cast<int64_t>(in_size), count * in_size);
  if (ops == 0)
    std::copy(memory.values[0].begin(), memory.values[0].end(),
              output.data.begin() + first * static_cast<int64_t>(out_size));
  for (size_t i = 0; i < ops; ++i) {
    const bool fused = schedule.fused_with_next[i];
    const size_t made = fused ? i + 2 : i + 1;  // the value this step writes
    const size_t size = schedule.sizes[made];
    const int buffer = schedule.buffers.buffer_of[made];
    const std::span<int32_t> next =
        made == ops
            ? std::span<int32_t>(output.data.data() + first * static_cast<int64_t>(out_size), count * size)
            : std::span<int32_t>(memory.buffers[static_cast<size_t>(buffer)].data(), count * size);
    const std::vector<int64_t>& reads = plan.inputs[i];
    if (const Linear* linear = dot_linear(model, i, samples, options)) {
      const auto v = static_cast<size_t>(reads[0]);
      linear_dot(*linear, samples, memory.values[v], next, options.mode, memory.scratch, int8::best_isa());
    } else {
      for (int64_t s = 0; s < samples; ++s) {
        const std::span<int32_t> out = sample_of(next, s, size);
        if (fused) {
          const auto v = static_cast<size_t>(reads[0]);
          conv2d_dot_pooled(std::get<Conv2d>(model.ops[i]), std::get<MaxPool2d>(model.ops[i + 1]),
                            plan.activations[v].shape, sample_of(memory.values[v], s, schedule.sizes[v]), out,
                            options.mode, memory.scratch, int8::best_isa());
        } else if (reads.size() == 1) {
          const auto v = static_cast<size_t>(reads[0]);
          op_forward(model.ops[i], plan.activations[v], sample_of(memory.values[v], s, schedule.sizes[v]),
                     out, context);
        } else {
          memory.reads.clear();
          for (const int64_t v : reads) {
            const auto value = static_cast<size_t>(v);
            memory.reads.push_back(sample_of(memory.values[value], s, schedule.sizes[value]));
          }
          op_forward(model.ops[i], schedule.input_activations[i], memory.reads, out, context);
        }
      }
    }
    memory.values[made] = next;
    if (fused) ++i;
  }
}

/// Runs samples [begin, end) through all ops, in blocks of up to schedule.block samples.
void run_samples(const Model& model, const ModelPlan& plan, const Schedule& schedule, const IntTensor& input,
                 IntTensor& output, const RunOptions& options, uint64_t run_id, int64_t begin, int64_t end) {
  WorkerMemory& memory = worker_memory();
  memory.scratch.run_id = run_id;
  const int64_t block = std::min<int64_t>(schedule.block, std::max<int64_t>(end - begin, 1));
  const size_t buffers = schedule.buffers.buffers();
  if (memory.buffers.size() < buffers) memory.buffers.resize(buffers);
  for (size_t b = 0; b < buffers; ++b)
    grow_to(memory.buffers[b], static_cast<size_t>(block * schedule.buffers.buffer_elements[b]));
  memory.values.resize(plan.activations.size());
  for (int64_t first = begin; first < end; first += block)
    run_block(model, plan, schedule, input, output, options, first, std::min(block, end - first), memory);
}

// The threads that share run()'s samples, started on the first multi-threaded run() and kept (creating
// threads at every run() would cost more than a small batch). Never destroyed (deliberately leaked): its
// threads wait for work until the process ends.
util::ThreadPool& sample_pool() {
  static util::ThreadPool* const pool = new util::ThreadPool;
  return *pool;
}

}  // namespace

RunBuffers run_buffers(const Model& model, const RunOptions& options) {
  const ModelPlan plan = plan_model(model);
  const Schedule schedule = schedule_of(model, plan, options);
  return {schedule.block, schedule.buffers.buffers(), schedule.block * schedule.buffers.bytes()};
}

IntTensor run(const Model& model, const IntTensor& input, const RunOptions& options) {
  if (options.threads < 1) {
    throw std::invalid_argument("run: threads must be at least 1, found " + std::to_string(options.threads));
  }
  const ModelPlan plan = plan_model(model);
  check_input(plan, input);
  const Schedule schedule = schedule_of(model, plan, options);
  IntTensor output;
  output.shape = plan.output().shape;
  output.shape.insert(output.shape.begin(), input.batch());
  output.data.resize(static_cast<size_t>(input.batch() * checked_numel(plan.output().shape, "run: output")));

  // Numbers this call for the kernels' per-run checks (Scratch::run_id); never 0.
  static std::atomic<uint64_t> runs{0};
  const uint64_t run_id = ++runs;
  const int64_t batch = input.batch();
  const int64_t threads = std::min<int64_t>(options.threads, std::max<int64_t>(batch, 1));
  if (threads == 1) {
    run_samples(model, plan, schedule, input, output, options, run_id, 0, batch);
    return output;
  }
  // Samples are independent and each is computed by exactly one thread, so the result does not depend on
  // the thread count. Tasks of a few samples are taken from a shared counter: a thread slowed down by
  // another process simply takes fewer. With blocks, a task of a whole block (16 samples) fills the linear
  // dot path's vectors; a batch of 64 on 2 threads still makes 4 tasks (blocks of 8 made mlp.json 28 %
  // slower).
  const int64_t per_task =
      schedule.block > 1 ? std::max<int64_t>(1, std::min<int64_t>(schedule.block, batch / (2 * threads)))
                         : std::max<int64_t>(1, std::min<int64_t>(8, batch / (4 * threads)));
  const int64_t tasks = (batch + per_task - 1) / per_task;
  sample_pool().parallel_for(tasks, static_cast<int>(threads), [&](int64_t task) {
    run_samples(model, plan, schedule, input, output, options, run_id, task * per_task,
                std::min(batch, (task + 1) * per_task));
  });
  return output;
}

IntTensor quantize_pixels(const Model& model, std::span<const uint8_t> pixels) {
  return input_quantize_pixels_fast(model.input, pixels);
}

IntTensor quantize_normalized(const Model& model, std::span<const float> values) {
  return input_quantize_normalized(model.input, values);
}

std::vector<float> dequantize(const Model& model, const IntTensor& output) {
  return output_dequantize(model.output, output.data);
}

std::vector<int64_t> predict(const IntTensor& output) {
  if (output.shape.size() != 2 || output.shape[1] < 1 ||
      output.numel() != output.shape[0] * output.shape[1]) {
    throw std::invalid_argument("predict: expects non-empty [N, classes] codes, got " +
                                dims_to_string(output.shape));
  }
  const int64_t classes = output.shape[1];
  std::vector<int64_t> labels(static_cast<size_t>(output.shape[0]));
  for (size_t n = 0; n < labels.size(); ++n) {
    const auto row = output.data.begin() + static_cast<int64_t>(n) * classes;
    labels[n] = std::max_element(row, row + classes) - row;  // first maximum: ties -> lowest index
  }
  return labels;
}

}  // namespace qg::runtime
