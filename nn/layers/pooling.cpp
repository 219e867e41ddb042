#include "nn/layers/pooling.h"

namespace qg::nn {

namespace {
std::string pool_args(const functional::Pool2dOptions& o) {
  return "kernel_size=" + std::to_string(o.kernel_size) + ", stride=" + std::to_string(o.effective_stride()) +
         ", padding=" + std::to_string(o.padding);
}
}  // namespace

std::string MaxPool2d::describe() const {
  return "MaxPool2d(" + pool_args(options) + ")";
}
std::string AvgPool2d::describe() const {
  return "AvgPool2d(" + pool_args(options) + ")";
}

}  // namespace qg::nn
