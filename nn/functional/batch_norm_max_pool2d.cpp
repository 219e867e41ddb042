#include "nn/functional/batch_norm_max_pool2d.h"

#include "autograd/function.h"
#include "core/kernels/batch_norm_max_pool.h"
#include "nn/functional/batch_norm_steps.h"

namespace qg::nn::functional {

namespace {

// y = max_pool(x * scale + shift) with batch_norm's statistics and scale/shift (BatchNormSteps): the
// gradient of the pooled output goes to each window's argmax in the normalised planes, and from there
// through batch_norm's gradients (BatchNormFn, MaxPool2dFn).
struct BatchNormMaxPool2dFn {
  static constexpr const char* name = "batch_norm_max_pool2d";
  BatchNormSteps steps;
  kernel::Pool2dGeometry pool;
  kernel::MaxPool2dArgmax argmax;

  Tensor forward(const Tensor& input, Tensor running_mean, Tensor running_var, const Tensor& w,
                 const Tensor& b, const BatchNormOptions& bn, const kernel::Pool2dGeometry& p) {
    pool = p;
    const BatchNormSteps::Affine affine = steps.normalisation(input, running_mean, running_var, w, b, bn);
    kernel::MaxPool2dResult result =
        kernel::channel_affine_max_pool2d(steps.x, affine.scale, affine.shift, steps.layout, pool);
    argmax = std::move(result.argmax);
    return result.output;
  }

  std::vector<Tensor> backward(const Tensor& grad) {
    const Tensor gy = grad.contiguous();
    std::vector<Tensor> d = steps.gradients(kernel::max_pool2d_grad_planes(gy, argmax, pool));
    return {d[0], Tensor(), Tensor(), d[1], d[2]};
  }
};

}  // namespace

Tensor batch_norm_max_pool2d(const Tensor& input, Tensor running_mean, Tensor running_var,
                             const Tensor& weight, const Tensor& bias, const BatchNormOptions& bn,
                             const Pool2dOptions& pool) {
  check_batch_norm_arguments(input, running_mean, running_var, weight, bias, bn);
  const kernel::Pool2dGeometry p = checked_pool2d_geometry(input.shape(), pool, "max_pool2d");
  return apply<BatchNormMaxPool2dFn>(input, running_mean, running_var, weight, bias, bn, p);
}

}  // namespace qg::nn::functional
