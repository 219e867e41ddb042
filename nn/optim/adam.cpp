#include "nn/optim/adam.h"

#include <cmath>
#include <stdexcept>

#include "autograd/grad_mode.h"

namespace qg::nn {

Adam::Adam(std::vector<Tensor> parameters, AdamOptions options)
    : Optimizer(std::move(parameters)), options_(options) {
  init();
}

Adam::Adam(const std::vector<ParamGroup>& groups, AdamOptions options)
    : Optimizer(groups), options_(options) {
  init();
}

void Adam::init() {
  const AdamOptions& options = options_;
  if (options.lr < 0 || options.eps < 0 || options.beta1 < 0 || options.beta1 >= 1 || options.beta2 < 0 ||
      options.beta2 >= 1 || options.weight_decay < 0) {
    throw std::invalid_argument("adam: need lr >= 0, eps >= 0, 0 <= beta1, beta2 < 1, weight_decay >= 0");
  }
  lr_ = options.lr;
  for (const Tensor& p : parameters_) {
    m_.push_back(Tensor::zeros(p.shape()));
    v_.push_back(Tensor::zeros(p.shape()));
  }
  step_count_ = Tensor::zeros({1});
}

void Adam::step() {
  NoGradGuard no_grad;
  const double t = ++step_count_.data()[0];
  const double b1 = options_.beta1, b2 = options_.beta2;
  const double bias1 = 1.0 - std::pow(b1, t), bias2 = 1.0 - std::pow(b2, t);
  const float step_size = static_cast<float>(lr_ / bias1);
  const float inv_sqrt_bias2 = static_cast<float>(1.0 / std::sqrt(bias2));
  const float eps = static_cast<float>(options_.eps);
  for (size_t i = 0; i < parameters_.size(); ++i) {
    Tensor& p = parameters_[i];
    const float wd = static_cast<float>(weight_decay(i, options_.weight_decay));
    if (!p.grad().defined()) continue;
    const Tensor g = p.grad().contiguous();
    float* pp = p.data();
    float* m = m_[i].data();
    float* v = v_[i].data();
    const float* gp = g.data();
    for (int64_t k = 0; k < p.numel(); ++k) {
      const float grad = gp[k] + wd * pp[k];
      m[k] = static_cast<float>(b1) * m[k] + static_cast<float>(1 - b1) * grad;
      v[k] = static_cast<float>(b2) * v[k] + static_cast<float>(1 - b2) * grad * grad;
      pp[k] -= step_size * m[k] / (std::sqrt(v[k]) * inv_sqrt_bias2 + eps);
    }
  }
}

NamedTensors Adam::state() const {
  NamedTensors out{{"step", step_count_}};
  for (size_t i = 0; i < m_.size(); ++i) {
    out.emplace_back("m." + std::to_string(i), m_[i]);
    out.emplace_back("v." + std::to_string(i), v_[i]);
  }
  return out;
}

}  // namespace qg::nn
