#include "nn/layers/batch_norm2d.h"

#include <sstream>
#include <stdexcept>

#include "autograd/grad_mode.h"
#include "nn/functional/batch_norm_max_pool2d.h"

namespace qg::nn {

BatchNorm2d::BatchNorm2d(int64_t n, float eps, float momentum)
    : num_features(n), eps(eps), momentum(momentum) {
  if (n <= 0) throw std::invalid_argument("BatchNorm2d: num_features must be positive");
  weight = register_parameter("weight", Tensor::ones({n}));
  bias = register_parameter("bias", Tensor::zeros({n}));
  running_mean = register_buffer("running_mean", Tensor::zeros({n}));
  running_var = register_buffer("running_var", Tensor::ones({n}));
  num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}));
}

Tensor BatchNorm2d::forward(const Tensor& input) {
  if (is_training()) num_batches_tracked.data()[0] += 1.0f;
  return functional::batch_norm(input, running_mean, running_var, weight, bias,
                                {is_training(), momentum, eps});
}

Tensor BatchNorm2d::forward_max_pool2d(const Tensor& input, const functional::Pool2dOptions& pool) {
  if (is_training()) num_batches_tracked.data()[0] += 1.0f;
  return functional::batch_norm_max_pool2d(input, running_mean, running_var, weight, bias,
                                           {is_training(), momentum, eps}, pool);
}

std::string BatchNorm2d::describe() const {
  std::ostringstream s;
  s << "BatchNorm2d(" << num_features << ", eps=" << eps << ", momentum=" << momentum << ")";
  return s.str();
}

}  // namespace qg::nn
