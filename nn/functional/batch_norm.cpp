#include "nn/functional/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/function.h"
#include "core/batch_reduction.h"
#include "core/kernels/batch_norm.h"
#include "nn/functional/batch_norm_steps.h"

namespace qg::nn::functional {

namespace {

float value_or(const Tensor& t, int64_t i, float fallback) {
  return t.defined() ? t.data()[i] : fallback;
}

void check_channel_vector(const Tensor& t, const char* what, const Tensor& input) {
  if (!t.defined()) return;
  if (t.shape() != Shape{input.size(1)}) {
    throw std::invalid_argument(std::string("batch_norm: ") + what + " has shape " + to_string(t.shape()) +
                                " but input has " + std::to_string(input.size(1)) + " channels (input " +
                                to_string(input.shape()) + ", " + what + " " + to_string(t.shape()) + ")");
  }
}

}  // namespace

void check_batch_norm_arguments(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                                const Tensor& weight, const Tensor& bias, const BatchNormOptions& o) {
  if (input.dim() != 2 && input.dim() != 4) {
    throw std::invalid_argument("batch_norm: expected input [N,C] or [N,C,H,W], got " +
                                to_string(input.shape()));
  }
  check_channel_vector(running_mean, "running_mean", input);
  check_channel_vector(running_var, "running_var", input);
  check_channel_vector(weight, "weight", input);
  check_channel_vector(bias, "bias", input);
  if (running_mean.defined() != running_var.defined()) {
    throw std::invalid_argument(
        "batch_norm: running_mean and running_var must both be given or both undefined");
  }
  if (o.training && !kernel::channel_layout(input.shape()).has_batch_statistics()) {
    throw std::invalid_argument("batch_norm: training needs more than one value per channel (input " +
                                to_string(input.shape()) + ")");
  }
  if (!o.training && !running_mean.defined()) {
    throw std::invalid_argument("batch_norm: eval mode needs running_mean and running_var");
  }
  if (running_mean.defined() && (!running_mean.is_contiguous() || !running_var.is_contiguous())) {
    throw std::invalid_argument(
        "batch_norm: running_mean and running_var must be contiguous (updated in place)");
  }
}

namespace {

// Forward, per channel c with mean mu, variance var, istd = 1/sqrt(var + eps), M values:
//   x_hat = (x - mu) * istd,   y = w * x_hat + b.
// Backward (G = dL/dy):
//   dL/db = sum G,   dL/dw = sum G x_hat,
//   eval (mu, var are constants):   dL/dx = G w istd
//   training (mu, var depend on every x of the channel):
//     dL/dx = w istd (G - sum(G)/M - x_hat sum(G x_hat)/M)
// The two subtracted terms are the paths through the mean and through the variance.
// Split-invariant sums (core/batch_reduction.h): a parameter gradient sum_n float(per_image[n, c] * factor[c])
// added over the images in the halving tree, in float, then over the processes, as the other parameters'
// gradients are.
void per_image_channel_sum(const std::vector<double>& per_image, const std::vector<float>& factor,
                           Tensor& out) {
  const int64_t channels = out.numel();
  const int64_t images = static_cast<int64_t>(per_image.size()) / channels;
  std::vector<float> leaves(per_image.size());
  for (int64_t n = 0; n < images; ++n) {
    for (int64_t c = 0; c < channels; ++c)
      leaves[n * channels + c] = static_cast<float>(per_image[n * channels + c] * factor[c]);
  }
  batch_reduction::tree_sum(leaves.data(), images, channels);
  batch_reduction::cross_process_sum(std::span<float>(leaves.data(), channels));
  std::copy(leaves.begin(), leaves.begin() + channels, out.data());
}

}  // namespace

BatchNormSteps::Affine BatchNormSteps::normalisation(const Tensor& input, Tensor running_mean,
                                                     Tensor running_var, const Tensor& w, const Tensor& b,
                                                     const BatchNormOptions& o) {
  layout = kernel::channel_layout(input.shape());
  x = input.contiguous();
  weight = w.defined() ? w.contiguous() : Tensor();
  training = o.training;
  needs_input_grad = input.requires_grad();
  needs_weight_grad = w.requires_grad();
  needs_bias_grad = b.requires_grad();

  kernel::ChannelStats stats;
  if (training) {
    stats = kernel::channel_statistics(x, layout);
    if (running_mean.defined())
      kernel::update_running_statistics(running_mean, running_var, stats, stats.count, o.momentum);
  } else {
    stats = {running_mean.to_vector(), running_var.to_vector()};
  }
  mean = stats.mean;
  inv_std.resize(layout.channels);
  for (int64_t c = 0; c < layout.channels; ++c)
    inv_std[c] = 1.0f / std::sqrt(stats.var[c] + o.eps);

  // y = x * scale + shift with scale = w istd, shift = b - mu scale: one multiply-add per element.
  const Tensor bias = b.defined() ? b.contiguous() : Tensor();
  Affine affine{std::vector<float>(layout.channels), std::vector<float>(layout.channels)};
  for (int64_t c = 0; c < layout.channels; ++c) {
    affine.scale[c] = value_or(weight, c, 1.0f) * inv_std[c];
    affine.shift[c] = value_or(bias, c, 0.0f) - mean[c] * affine.scale[c];
  }
  return affine;
}

std::vector<Tensor> BatchNormSteps::gradients(const kernel::GradPlanes& grad) const {
  const int64_t channels = layout.channels;
  const bool needs_sums = needs_weight_grad || needs_bias_grad || (needs_input_grad && training);
  const kernel::ChannelGradSums sums =
      needs_sums ? kernel::channel_grad_sums(grad, x, mean, layout) : kernel::ChannelGradSums{};
  Tensor dw, db, dx;
  if (needs_weight_grad) {  // sum G x_hat = istd * sum G (x - mu)
    dw = Tensor::zeros({channels});
    if (!sums.image_grad_centered.empty()) {
      per_image_channel_sum(sums.image_grad_centered, inv_std, dw);
    } else {
      for (int64_t c = 0; c < channels; ++c)
        dw.data()[c] = static_cast<float>(sums.grad_centered[c] * inv_std[c]);
    }
  }
  if (needs_bias_grad) {
    db = Tensor::zeros({channels});
    if (!sums.image_grad.empty()) {
      per_image_channel_sum(sums.image_grad, std::vector<float>(channels, 1.0f), db);
    } else {
      for (int64_t c = 0; c < channels; ++c)
        db.data()[c] = static_cast<float>(sums.grad[c]);
    }
  }
  if (needs_input_grad) {
    // dx = w istd (G - a - (x - mu) b) with a = sum(G)/M and b = istd^2 sum(G (x - mu))/M in training
    // (then x_hat sum(G x_hat)/M = (x - mu) b), and a = b = 0 in eval.
    std::vector<float> scale(channels), a(channels, 0.0f), b(channels, 0.0f);
    const double m = static_cast<double>(sums.count);  // the global batch's, under SyncBatchNorm
    for (int64_t c = 0; c < channels; ++c) {
      scale[c] = value_or(weight, c, 1.0f) * inv_std[c];
      if (!training) continue;
      a[c] = static_cast<float>(sums.grad[c] / m);
      b[c] = static_cast<float>(sums.grad_centered[c] / m) * inv_std[c] * inv_std[c];
    }
    dx = kernel::channel_input_grad(grad, x, mean, scale, a, b, layout);
  }
  return {dx, dw, db};
}

namespace {

struct BatchNormFn {
  static constexpr const char* name = "batch_norm";
  BatchNormSteps steps;

  Tensor forward(const Tensor& input, Tensor running_mean, Tensor running_var, const Tensor& w,
                 const Tensor& b, const BatchNormOptions& o) {
    const BatchNormSteps::Affine affine = steps.normalisation(input, running_mean, running_var, w, b, o);
    return kernel::channel_affine(steps.x, affine.scale, affine.shift, steps.layout);
  }

  std::vector<Tensor> backward(const Tensor& grad) {
    const Tensor g = grad.contiguous();
    std::vector<Tensor> d = steps.gradients(kernel::GradPlanes(g, steps.layout));
    return {d[0], Tensor(), Tensor(), d[1], d[2]};
  }
};

}  // namespace

Tensor batch_norm(const Tensor& input, Tensor running_mean, Tensor running_var, const Tensor& weight,
                  const Tensor& bias, const BatchNormOptions& options) {
  check_batch_norm_arguments(input, running_mean, running_var, weight, bias, options);
  return apply<BatchNormFn>(input, running_mean, running_var, weight, bias, options);
}

}  // namespace qg::nn::functional
