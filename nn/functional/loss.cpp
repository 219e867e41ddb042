#include "nn/functional/loss.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/function.h"
#include "core/batch_reduction.h"
#include "core/kernels/nan_order.h"

namespace qg::nn::functional {

namespace {

// The tensor viewed as [outer, n, inner] around the softmax axis: (o, k, i) is at (o*n + k)*inner + i.
struct AxisLayout {
  int64_t outer = 1, n = 1, inner = 1;
};

AxisLayout layout_around(const Shape& shape, int64_t axis) {
  AxisLayout l;
  for (int64_t d = 0; d < axis; ++d)
    l.outer *= shape[d];
  l.n = shape[axis];
  for (size_t d = axis + 1; d < shape.size(); ++d)
    l.inner *= shape[d];
  return l;
}

// Writes log_softmax of the n values src[0], src[stride], ... into dst (same stride):
// x - max - log(sum(exp(x - max))); subtracting the max keeps every exp() <= 1.
void log_softmax_line(const float* src, float* dst, int64_t n, int64_t stride) {
  if (n == 0) return;
  float max = src[0];
  for (int64_t k = 1; k < n; ++k) {
    if (kernel::beats_max(src[k * stride], max)) max = src[k * stride];  // a NaN logit makes every output NaN
  }
  double total = 0.0;
  for (int64_t k = 0; k < n; ++k)
    total += std::exp(static_cast<double>(src[k * stride] - max));
  const float log_total = static_cast<float>(std::log(total));
  for (int64_t k = 0; k < n; ++k)
    dst[k * stride] = src[k * stride] - max - log_total;
}

// y = log_softmax(x) along the axis:  dL/dx_k = G_k - softmax_k * sum_j G_j, with softmax = exp(y).
struct LogSoftmaxFn {
  static constexpr const char* name = "log_softmax";
  AxisLayout layout;
  Tensor y;  // the forward's result (a separate handle, not the graph's output), for softmax = exp(y)

  Tensor forward(const Tensor& input, int64_t axis) {
    layout = layout_around(input.shape(), axis);
    const Tensor x = input.contiguous();
    y = Tensor::zeros(x.shape());
    for (int64_t o = 0; o < layout.outer; ++o) {
      for (int64_t i = 0; i < layout.inner; ++i) {
        const int64_t start = o * layout.n * layout.inner + i;
        log_softmax_line(x.data() + start, y.data() + start, layout.n, layout.inner);
      }
    }
    return y;
  }
  std::vector<Tensor> backward(const Tensor& grad) {
    const Tensor g = grad.contiguous();
    Tensor dx = Tensor::zeros(y.shape());
    for (int64_t o = 0; o < layout.outer; ++o) {
      for (int64_t i = 0; i < layout.inner; ++i) {
        const int64_t start = o * layout.n * layout.inner + i;
        double sum_g = 0.0;
        for (int64_t k = 0; k < layout.n; ++k)
          sum_g += g.data()[start + k * layout.inner];
        for (int64_t k = 0; k < layout.n; ++k) {
          const int64_t at = start + k * layout.inner;
          dx.data()[at] = g.data()[at] - std::exp(y.data()[at]) * static_cast<float>(sum_g);
        }
      }
    }
    return {dx};
  }
};

void check_cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets) {
  if (logits.dim() != 2) {
    throw std::invalid_argument("cross_entropy: expected logits [N,C], got " + to_string(logits.shape()));
  }
  if (static_cast<int64_t>(targets.size()) != logits.size(0)) {
    throw std::invalid_argument("cross_entropy: " + std::to_string(targets.size()) +
                                " targets for a batch of " + std::to_string(logits.size(0)) + " (logits " +
                                to_string(logits.shape()) + ")");
  }
  if (targets.empty())
    throw std::invalid_argument("cross_entropy: empty batch (logits " + to_string(logits.shape()) + ")");
  for (size_t n = 0; n < targets.size(); ++n) {
    if (targets[n] < 0 || targets[n] >= logits.size(1)) {
      throw std::invalid_argument(
          "cross_entropy: target " + std::to_string(n) + " is " + std::to_string(targets[n]) +
          ", outside [0, " + std::to_string(logits.size(1)) + ") (logits " + to_string(logits.shape()) + ")");
    }
  }
}

// L = scale * sum_n -log_softmax(x_n)[t_n], scale = 1/N (Mean) or 1 (Sum). Fused, because
//   dL/dx_{n,k} = scale * (softmax(x_n)_k - [k == t_n])
// is simpler and more accurate than going through log_softmax's backward.
struct CrossEntropyFn {
  static constexpr const char* name = "cross_entropy";
  Tensor log_probs;  // [N, C]
  std::vector<int64_t> labels;
  float scale = 1.0f;

  Tensor forward(const Tensor& logits, const std::vector<int64_t>& targets, Reduction reduction) {
    const Tensor x = logits.contiguous();
    const int64_t batch = x.size(0), classes = x.size(1);
    log_probs = Tensor::zeros(x.shape());
    labels = targets;
    scale = reduction == Reduction::Mean ? 1.0f / static_cast<float>(batch) : 1.0f;
    if (batch_reduction::split_invariant()) return Tensor::scalar(split_invariant_total(x) * scale);
    double total = 0.0;
    for (int64_t n = 0; n < batch; ++n) {
      float* row = log_probs.data() + n * classes;
      log_softmax_line(x.data() + n * classes, row, classes, 1);
      total -= row[labels[n]];
    }
    return Tensor::scalar(static_cast<float>(total) * scale);
  }
  // Split-invariant sums (core/batch_reduction.h): the images' losses added in the halving tree, then over
  // the processes of a data-parallel run, so that every process holds the global batch's loss. (Only the
  // reported value: the gradient is per image.)
  float split_invariant_total(const Tensor& x) {
    const int64_t batch = x.size(0), classes = x.size(1);
    std::vector<double> losses(static_cast<size_t>(batch));
    for (int64_t n = 0; n < batch; ++n) {
      float* row = log_probs.data() + n * classes;
      log_softmax_line(x.data() + n * classes, row, classes, 1);
      losses[static_cast<size_t>(n)] = -row[labels[n]];
    }
    batch_reduction::tree_sum(losses.data(), batch, 1);
    batch_reduction::cross_process_sum(std::span<double>(losses.data(), 1));
    return static_cast<float>(losses[0]);
  }
  std::vector<Tensor> backward(const Tensor& grad) {
    const float g = grad.item() * scale;
    const int64_t batch = log_probs.size(0), classes = log_probs.size(1);
    Tensor dx = Tensor::zeros(log_probs.shape());
    for (int64_t n = 0; n < batch; ++n) {
      const float* lp = log_probs.data() + n * classes;
      float* d = dx.data() + n * classes;
      for (int64_t k = 0; k < classes; ++k)
        d[k] = g * std::exp(lp[k]);
      d[labels[n]] -= g;
    }
    return {dx};
  }
};

}  // namespace

Tensor log_softmax(const Tensor& input, int64_t axis) {
  if (input.dim() == 0)
    throw std::invalid_argument("log_softmax: expected at least a 1-D input, got a scalar");
  return apply<LogSoftmaxFn>(input, normalize_axis(axis, input.dim(), "log_softmax"));
}

Tensor cross_entropy(const Tensor& logits, const std::vector<int64_t>& targets, Reduction reduction) {
  check_cross_entropy(logits, targets);
  return apply<CrossEntropyFn>(logits, targets, reduction);
}

}  // namespace qg::nn::functional
