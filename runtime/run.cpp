#include "runtime/run.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "runtime/ops/input_quantize.h"
#include "runtime/ops/output_dequantize.h"

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
  for (size_t i = 0; i < input.data.size(); ++i) {
    if (input.data[i] < quant.qmin() || input.data[i] > quant.qmax()) {
      throw std::invalid_argument("run: input code " + std::to_string(input.data[i]) + " at element " +
                                  std::to_string(i) + " is outside the input code range [" +
                                  std::to_string(quant.qmin()) + ", " + std::to_string(quant.qmax()) + "]");
    }
  }
}

/// Runs samples [begin, end) through all ops, ping-ponging between two buffers sized for the largest
/// activation; the last op writes straight into `output`. Nothing is allocated per sample.
void run_samples(const Model& model, const ModelPlan& plan, const IntTensor& input, IntTensor& output,
                 const RunOptions& options, int64_t begin, int64_t end) {
  const auto largest = static_cast<size_t>(plan.largest_activation());
  std::vector<int32_t> buffers[2] = {std::vector<int32_t>(largest), std::vector<int32_t>(largest)};
  Scratch scratch;
  std::vector<size_t> sizes;  // per-sample element count of each op's output
  for (size_t i = 1; i < plan.activations.size(); ++i) {
    sizes.push_back(static_cast<size_t>(checked_numel(plan.activations[i].shape, "activation")));
  }
  const int64_t in_size = input.sample_size();
  const int64_t out_size = output.sample_size();
  for (int64_t n = begin; n < end; ++n) {
    std::span<const int32_t> current(input.data.data() + n * in_size, static_cast<size_t>(in_size));
    if (model.ops.empty()) std::copy(current.begin(), current.end(), output.data.begin() + n * out_size);
    for (size_t i = 0; i < model.ops.size(); ++i) {
      const size_t size = sizes[i];
      const bool last = i + 1 == model.ops.size();
      std::span<int32_t> next = last ? std::span<int32_t>(output.data.data() + n * out_size, size)
                                     : std::span<int32_t>(buffers[i % 2].data(), size);
      op_forward(model.ops[i], plan.activations[i], current, next, options.mode, options.kernels, scratch);
      current = next;
    }
  }
}

}  // namespace

IntTensor run(const Model& model, const IntTensor& input, const RunOptions& options) {
  if (options.threads < 1) {
    throw std::invalid_argument("run: threads must be at least 1, found " + std::to_string(options.threads));
  }
  const ModelPlan plan = plan_model(model);
  check_input(plan, input);
  IntTensor output;
  output.shape = plan.output().shape;
  output.shape.insert(output.shape.begin(), input.batch());
  output.data.resize(static_cast<size_t>(input.batch() * checked_numel(plan.output().shape, "run: output")));

  const int64_t batch = input.batch();
  const int64_t threads = std::min<int64_t>(options.threads, std::max<int64_t>(batch, 1));
  if (threads == 1) {
    run_samples(model, plan, input, output, options, 0, batch);
    return output;
  }
  // Contiguous, nearly equal parts; each thread writes only its own samples of `output`.
  std::exception_ptr failure;
  std::mutex failure_mutex;
  {
    std::vector<std::jthread> workers;  // jthread joins on destruction: no thread outlives this scope
    for (int64_t t = 0; t < threads; ++t) {
      const int64_t begin = batch * t / threads;
      const int64_t end = batch * (t + 1) / threads;
      workers.emplace_back([&, begin, end] {
        try {
          run_samples(model, plan, input, output, options, begin, end);
        } catch (...) {
          const std::lock_guard lock(failure_mutex);
          if (!failure) failure = std::current_exception();
        }
      });
    }
  }
  if (failure) std::rethrow_exception(failure);
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
