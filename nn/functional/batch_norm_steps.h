// The two halves of batch_norm's autograd Function (nn/functional/batch_norm.cpp states the math), shared
// with batch_norm_max_pool2d, which normalises and pools in one pass but computes the same statistics and
// gradients. Internal to nn/functional.
#pragma once

#include <vector>

#include "core/kernels/batch_norm.h"
#include "nn/functional/batch_norm.h"

namespace qg::nn::functional {

/// Throws std::invalid_argument for the arguments batch_norm refuses (see batch_norm.h).
void check_batch_norm_arguments(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                                const Tensor& weight, const Tensor& bias, const BatchNormOptions& options);

struct BatchNormSteps {
  kernel::ChannelLayout layout;
  Tensor x, weight;  // contiguous input and (maybe undefined) weight
  std::vector<float> mean, inv_std;
  bool training = true;
  bool needs_input_grad = false, needs_weight_grad = false, needs_bias_grad = false;

  /// y = x * scale[c] + shift[c] per channel, C values each.
  struct Affine {
    std::vector<float> scale, shift;
  };
  /// The forward pass up to the normalisation itself: the statistics (batch ones in training, updating
  /// the running ones in place when defined; the running ones in eval), kept for the backward pass, and
  /// the per-channel multiply-add they make.
  Affine normalisation(const Tensor& input, Tensor running_mean, Tensor running_var, const Tensor& w,
                       const Tensor& b, const BatchNormOptions& options);
  /// {dL/dx, dL/dweight, dL/dbias} from dL/dy's planes (undefined where not needed).
  std::vector<Tensor> gradients(const kernel::GradPlanes& grad) const;
};

}  // namespace qg::nn::functional
