#include "nn/layers/conv2d.h"

#include <stdexcept>

#include "nn/functional/conv2d_max_pool2d.h"
#include "nn/init.h"

namespace qg::nn {

Conv2d::Conv2d(int64_t in, int64_t out, int64_t k, functional::Conv2dOptions opts, bool with_bias,
               Generator& gen)
    : in_channels(in), out_channels(out), kernel_size(k), options(opts) {
  if (in <= 0 || out <= 0 || k <= 0 || opts.groups <= 0 || opts.stride <= 0 || opts.dilation <= 0 ||
      opts.padding < 0) {
    throw std::invalid_argument(
        "Conv2d: channels, kernel_size, stride, dilation and groups must be positive, "
        "padding non-negative (got " +
        describe() + ")");
  }
  if (in % opts.groups != 0 || out % opts.groups != 0) {
    throw std::invalid_argument("Conv2d: in_channels " + std::to_string(in) + " and out_channels " +
                                std::to_string(out) + " must both be divisible by groups " +
                                std::to_string(opts.groups));
  }
  const int64_t fan_in = in / opts.groups * k * k;
  weight =
      register_parameter("weight", init::kaiming_uniform_default({out, in / opts.groups, k, k}, fan_in, gen));
  if (with_bias) bias = register_parameter("bias", init::bias_uniform({out}, fan_in, gen));
}

Tensor Conv2d::forward(const Tensor& input) {
  return functional::conv2d(input, weight, bias, options);
}

Tensor Conv2d::forward_max_pool2d(const Tensor& input, const functional::Pool2dOptions& pool) {
  return functional::conv2d_max_pool2d(input, weight, bias, options, pool);
}

std::string Conv2d::describe() const {
  std::string s = "Conv2d(" + std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                  ", kernel_size=" + std::to_string(kernel_size) +
                  ", stride=" + std::to_string(options.stride);
  if (options.padding) s += ", padding=" + std::to_string(options.padding);
  if (options.dilation != 1) s += ", dilation=" + std::to_string(options.dilation);
  if (options.groups != 1) s += ", groups=" + std::to_string(options.groups);
  if (!bias.defined()) s += ", bias=False";
  return s + ")";
}

}  // namespace qg::nn
