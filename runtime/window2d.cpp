#include "runtime/window2d.h"

#include <stdexcept>

#include "util/window.h"

namespace qg::runtime {

namespace {

std::string pair_to_string(const std::array<int64_t, 2>& pair) {
  std::string text = "[";  // built by appending: GCC 12 warns falsely (-Wrestrict) on "[" + std::string
  text += std::to_string(pair[0]);
  text += ",";
  text += std::to_string(pair[1]);
  return text + "]";
}

}  // namespace

int64_t Window2d::output_size(int64_t in, int axis, const std::string& what) const {
  const auto a = static_cast<size_t>(axis);
  constexpr int64_t limit = kMaxWindowSize;
  if (kernel[a] < 1 || stride[a] < 1 || dilation[a] < 1 || padding[a] < 0 || kernel[a] > limit ||
      stride[a] > limit || dilation[a] > limit || padding[a] > limit) {
    throw std::invalid_argument(what + ": invalid window (" + describe() +
                                "): kernel, stride and dilation must be in 1..2^30, padding in 0..2^30");
  }
  const int64_t out = util::window_output_size(in, kernel[a], stride[a], padding[a], dilation[a]);
  if (out == 0) {
    const int64_t extent = dilation[a] * (kernel[a] - 1) + 1;
    throw std::invalid_argument(what + ": the " + std::string(axis == 0 ? "height" : "width") + " " +
                                std::to_string(in) + " with padding " + std::to_string(padding[a]) +
                                " is smaller than the window extent " + std::to_string(extent) + " (" +
                                describe() + ")");
  }
  return out;
}

std::string Window2d::describe() const {
  return "kernel " + pair_to_string(kernel) + ", stride " + pair_to_string(stride) + ", padding " +
         pair_to_string(padding) + ", dilation " + pair_to_string(dilation);
}

}  // namespace qg::runtime
