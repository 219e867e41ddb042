// LSQ / LSQ+ against PyTorch: fake_quantize_learnable's output and gradients w.r.t. the input, the step size
// and the zero point equal torch._fake_quantize_learnable_per_{tensor,channel}_affine's (what
// torch.ao.quantization._LearnableFakeQuantize runs), stored in tests/fixtures/lsq.json by
// tests/fixtures/make_fixtures.py.
#include <gtest/gtest.h>

#include "common/torch_fixtures.h"
#include "quant/fake_quantize_learnable.h"

namespace qg::quant {
namespace {

using qg::testing::check_against_torch;
using qg::testing::check_fixture_file;
using qg::testing::json;
using qg::testing::Leaves;

TEST(GoldenTorch, LearnableFakeQuantize) {
  check_fixture_file("lsq.json", [](const json& c) {
    const json& o = c.at("options");
    const int32_t qmin = o.at("quant_min"), qmax = o.at("quant_max");
    // PyTorch takes the code range; quantgrad a QuantSpec: [0, 2^b - 1] unsigned or [-2^(b-1), 2^(b-1) - 1].
    const bool is_signed = qmin < 0;
    int bits = 1;
    while ((is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1) < qmax)
      ++bits;
    const QuantSpec spec{bits, is_signed, is_signed};
    EXPECT_EQ(spec.qmin(), qmin);
    EXPECT_EQ(spec.qmax(), qmax);
    const float grad_factor = o.at("grad_factor");
    const bool per_channel = o.contains("axis");
    const std::vector<std::string> names = per_channel
                                               ? std::vector<std::string>{"input", "scale"}
                                               : std::vector<std::string>{"input", "scale", "zero_point"};
    return check_against_torch(c, names, [&](const Leaves& l) {
      return fake_quantize_learnable(l.at("input"), l.at("scale"),
                                     per_channel ? Tensor() : l.at("zero_point"), spec, grad_factor);
    });
  });
}

}  // namespace
}  // namespace qg::quant
