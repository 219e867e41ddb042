// NaN through the fake quantizers (issue 10, item 1): a NaN weight, activation or bias stays NaN in the
// fake-quant model, as a NaN stays NaN through torch's float ops, instead of becoming the code qmin (or
// the int32 limit) and so a finite number. (While observing, the observers refuse it first; a frozen model
// observes nothing, so this is what keeps its evaluation honest.)
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "quant/fake_quantize.h"
#include "quant/output_requantize.h"
#include "quant/qparams.h"

namespace qg::quant {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(FakeQuantNaN, FakeQuantizeAndItsBiasKeepNaN) {
  const QParams qp = make_per_tensor(-1.0f, 1.0f, {8});
  for (const Ste ste : {Ste::Identity, Ste::Clipped}) {
    const std::vector<float> y =
        fake_quantize(Tensor::from_vector({0.5f, kNaN, -0.5f}, {3}), qp, ste).to_vector();
    EXPECT_TRUE(std::isnan(y[1]));
    EXPECT_FALSE(std::isnan(y[0]));
  }
  const std::vector<float> b =
      fake_quantize_bias(Tensor::from_vector({kNaN, 0.25f}, {2}), 0.1f, qp).to_vector();
  EXPECT_TRUE(std::isnan(b[0]));
  EXPECT_FALSE(std::isnan(b[1]));
}

TEST(FakeQuantNaN, FakeRequantizeKeepsNaNInEveryLaneAndTail) {
  const QParams weight = make_per_tensor(-1.0f, 1.0f, {8});
  const QParams output = make_per_tensor(0.0f, 4.0f, {8});
  // [2, 3, 300]: rows longer than the 256-value chunks of the row loop, so a NaN lands in a full chunk and
  // in the tail chunk.
  std::vector<float> v(2 * 3 * 300, 0.75f);
  for (const size_t i : {size_t{0}, size_t{255}, size_t{256}, size_t{299}, size_t{1799}})
    v[i] = kNaN;
  for (const Ste ste : {Ste::Identity, Ste::Clipped}) {
    const std::vector<float> y =
        fake_requantize(Tensor::from_vector(v, {2, 3, 300}), 0.05f, weight, output, ste).to_vector();
    for (size_t i = 0; i < v.size(); ++i)
      EXPECT_EQ(std::isnan(y[i]), std::isnan(v[i])) << i;
  }
}

}  // namespace
}  // namespace qg::quant
