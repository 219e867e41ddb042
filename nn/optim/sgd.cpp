#include "nn/optim/sgd.h"

#include <stdexcept>

#include "autograd/grad_mode.h"
#include "core/kernels/elementwise.h"

namespace qg::nn {

Sgd::Sgd(std::vector<Tensor> parameters, SgdOptions options)
    : Optimizer(std::move(parameters)), options_(options) {
  init();
}

Sgd::Sgd(const std::vector<ParamGroup>& groups, SgdOptions options) : Optimizer(groups), options_(options) {
  init();
}

void Sgd::init() {
  const SgdOptions& options = options_;
  if (options.lr < 0 || options.momentum < 0 || options.weight_decay < 0) {
    throw std::invalid_argument("sgd: lr, momentum and weight_decay must be non-negative");
  }
  if (options.nesterov && options.momentum <= 0)
    throw std::invalid_argument("sgd: nesterov requires momentum > 0");
  lr_ = options.lr;
  for (const Tensor& p : parameters_)
    momentum_buffers_.push_back(Tensor::zeros(p.shape()));
  has_buffer_ = Tensor::zeros({static_cast<int64_t>(parameters_.size())});
}

void Sgd::step() {
  NoGradGuard no_grad;
  const float lr = static_cast<float>(lr_), momentum = static_cast<float>(options_.momentum);
  for (size_t i = 0; i < parameters_.size(); ++i) {
    Tensor& p = parameters_[i];
    if (!p.grad().defined()) continue;
    Tensor d = p.grad().contiguous();
    if (const double decay = weight_decay(i, options_.weight_decay); decay != 0) {
      d = d.clone();
      kernel::axpy(d, p, static_cast<float>(decay));
    }
    if (momentum != 0) {
      Tensor& buf = momentum_buffers_[i];
      if (has_buffer_.data()[i] == 0.0f) {
        buf.copy_from(d);
        has_buffer_.data()[i] = 1.0f;
      } else {
        kernel::scale(buf, momentum);
        kernel::axpy(buf, d);
      }
      if (options_.nesterov) {
        d = d.clone();
        kernel::axpy(d, buf, momentum);
      } else {
        d = buf;
      }
    }
    kernel::axpy(p, d, -lr);
  }
}

NamedTensors Sgd::state() const {
  NamedTensors out{{"has_buffer", has_buffer_}};
  for (size_t i = 0; i < momentum_buffers_.size(); ++i)
    out.emplace_back("momentum." + std::to_string(i), momentum_buffers_[i]);
  return out;
}

}  // namespace qg::nn
