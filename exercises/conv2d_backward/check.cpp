// Checks exercise::conv2d_backward (your file) against qg::kernel::conv2d_backward_reference (the library's)
// on small convolutions covering stride, padding, dilation, groups and non-square shapes; and, so that the
// reference itself is not taken on trust, its input and weight gradients against central differences of
// <grad_output, conv2d_reference(x, w)> on the first geometries.
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "exercises/common/check.h"
#include "exercises/conv2d_backward/conv2d_backward.h"

namespace {

using qg::Shape;
using qg::Tensor;
namespace kernel = qg::kernel;

struct Case {
  Shape input, weight;
  int64_t stride, padding, dilation, groups;
};

std::string describe(const Case& c) {
  return "conv2d_backward(input " + qg::to_string(c.input) + ", weight " + qg::to_string(c.weight) +
         ", stride=" + std::to_string(c.stride) + ", padding=" + std::to_string(c.padding) +
         ", dilation=" + std::to_string(c.dilation) + ", groups=" + std::to_string(c.groups) + ")";
}

// "[n,c,h,w]" of flat element i of a contiguous tensor of `shape`.
std::string index_of(int64_t i, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t k = shape.size(); k-- > 0;) {
    index[k] = i % shape[k];
    i /= shape[k];
  }
  return qg::to_string(index);
}

void compare(exercise::Check& check, const std::string& inputs, const std::string& name, const Tensor& yours,
             const Tensor& library) {
  check.require(inputs, yours.defined(), "your " + name + " is undefined");
  check.equal(inputs, name + " shape", qg::to_string(yours.shape()), qg::to_string(library.shape()));
  const std::vector<float> a = yours.to_vector(), b = library.to_vector();
  for (size_t i = 0; i < b.size(); ++i)
    check.close(inputs, name + index_of(static_cast<int64_t>(i), library.shape()), a[i], b[i], 1e-4, 1e-4);
}

// d<r, conv(x, w)>/dx_i by central differences (conv is linear in x and in w, so this is exact up to
// rounding), compared with the reference's gradient.
void numeric_check(exercise::Check& check, const std::string& inputs, Tensor x, Tensor w, const Tensor& r,
                   const kernel::Conv2dGeometry& g, const kernel::Conv2dGrads& reference) {
  auto projected = [&] {
    const std::vector<float> y = kernel::conv2d_reference(x, w, Tensor(), g).to_vector(), rv = r.to_vector();
    double total = 0.0;
    for (size_t i = 0; i < y.size(); ++i)
      total += static_cast<double>(rv[i]) * y[i];
    return total;
  };
  for (auto [tensor, grad, name] :
       {std::tuple{x, reference.input, "grad_input"}, std::tuple{w, reference.weight, "grad_weight"}}) {
    float* p = tensor.data();
    for (int64_t i = 0; i < tensor.numel(); ++i) {
      const float saved = p[i];
      p[i] = saved + 0.5f;
      const double plus = projected();
      p[i] = saved - 0.5f;
      const double minus = projected();
      p[i] = saved;
      check.close(inputs + " [the library's reference against central differences]",
                  std::string(name) + index_of(i, tensor.shape()), grad.data()[i], (plus - minus) / 1.0, 1e-3,
                  1e-3);
    }
  }
}

void check_conv2d_backward(exercise::Check& check) {
  const std::vector<Case> cases = {
      {{1, 1, 3, 3}, {1, 1, 2, 2}, 1, 0, 1, 1},  // the smallest: four outputs
      {{2, 3, 5, 5}, {4, 3, 3, 3}, 1, 1, 1, 1},  // padding 1 keeps the size
      {{2, 2, 6, 6}, {3, 2, 3, 3}, 2, 1, 1, 1},  // stride 2
      {{1, 2, 7, 7}, {2, 2, 3, 3}, 1, 2, 2, 1},  // dilation 2
      {{2, 4, 5, 5}, {6, 2, 3, 3}, 1, 1, 1, 2},  // two groups
      {{1, 3, 5, 4}, {3, 1, 3, 3}, 1, 1, 1, 3},  // depthwise
      {{1, 2, 4, 6}, {3, 2, 2, 3}, 2, 0, 1, 1},  // non-square input and kernel
      {{2, 3, 4, 4}, {2, 3, 4, 4}, 1, 0, 1, 1},  // kernel = input: one output each
      {{1, 2, 3, 3}, {2, 2, 3, 3}, 1, 2, 1, 1},  // padding larger than half the kernel
      {{2, 4, 9, 8}, {4, 2, 3, 2}, 3, 2, 2, 2},  // all at once
  };
  qg::Generator gen(99);
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const kernel::Conv2dGeometry g =
        kernel::conv2d_geometry(c.input, c.weight, c.stride, c.padding, c.dilation, c.groups);
    const Tensor x = Tensor::uniform(c.input, -1.0f, 1.0f, gen),
                 w = Tensor::uniform(c.weight, -1.0f, 1.0f, gen);
    const Tensor grad_output =
        Tensor::uniform({g.batch, g.out_channels, g.out_height, g.out_width}, -1, 1, gen);
    const kernel::Conv2dGrads library = kernel::conv2d_backward_reference(grad_output, x, w, g);
    if (i < 3) numeric_check(check, describe(c), x.clone(), w.clone(), grad_output, g, library);
    const kernel::Conv2dGrads yours = exercise::conv2d_backward(grad_output, x, w, g);
    compare(check, describe(c), "grad_input", yours.input, library.input);
    compare(check, describe(c), "grad_weight", yours.weight, library.weight);
    compare(check, describe(c), "grad_bias", yours.bias, library.bias);
  }
}

}  // namespace

int main(int argc, char** argv) {
  return exercise::run_check("conv2d_backward", argc, argv, check_conv2d_backward);
}
