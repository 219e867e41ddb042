// quant/output_requantize.cpp's vectorised row loop against requantize_outputs_reference, the integer
// runtime's scalar functions element by element: every output code must be the one
// runtime::multiply_by_quantized_multiplier gives for the recovered accumulator.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "autograd/ops.h"
#include "core/parallel.h"
#include "quant/observer.h"
#include "quant/output_requantize.h"
#include "runtime/output_stage.h"
#include "runtime/requantize.h"

namespace qg::quant {
namespace {

struct Case {
  int bits;
  bool is_signed;
  bool per_channel;
  float spread;  // y in [-spread, spread] * scale of the output range
};

class FakeRequantizeRows : public ::testing::TestWithParam<Case> {};

TEST_P(FakeRequantizeRows, EveryCodeIsTheRuntimes) {
  const Case c = GetParam();
  Generator gen(17);
  // Odd spatial sizes leave partial vector blocks and chunk tails; 3 channels with their own weight scales.
  const Tensor y = Tensor::uniform({5, 3, 19, 23}, -8.0f * c.spread, 8.0f * c.spread, gen);
  const QuantSpec spec{c.bits, c.is_signed};
  const QParams weight = c.per_channel ? make_per_channel({-0.3f, -1.1f, -0.02f}, {0.5f, 0.9f, 0.03f}, spec)
                                       : make_per_tensor(-0.7f, 0.6f, spec);
  const QParams output = make_per_tensor(-3.0f, 5.0f, spec);
  const float input_scale = 0.0123f;
  for (const Ste ste : {Ste::Identity, Ste::Clipped}) {
    std::vector<float> mask;
    const std::vector<float> expected =
        requantize_outputs_reference(y, input_scale, weight, output, ste == Ste::Clipped ? &mask : nullptr);
    Tensor x = y.clone();
    x.set_requires_grad(true);
    const Tensor got = fake_requantize(x, input_scale, weight, output, ste);
    EXPECT_EQ(got.to_vector(), expected);
    if (ste == Ste::Clipped) {
      // The clipped STE's gradient is the in-range mask.
      sum(got).backward();
      EXPECT_EQ(x.grad().to_vector(), mask);
      EXPECT_NE(std::count(mask.begin(), mask.end(), 0.0f), 0) << "the case should clamp some outputs";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Widths, FakeRequantizeRows,
                         ::testing::Values(Case{8, false, false, 1.0f}, Case{8, true, true, 1.0f},
                                           Case{4, false, true, 1.0f}, Case{2, true, false, 1.0f},
                                           Case{1, false, true, 1.0f}, Case{8, false, true, 1e6f}));

TEST(FakeRequantize, ExactTiesRoundLikeTheRuntime) {
  // M = S_in S_w / S_out = 1/4 exactly: accumulators 2, 6, 10, -2, -6 land on ties (0.5, 1.5, 2.5, ...),
  // which the runtime rounds half away from zero.
  const QuantSpec spec{8, true};
  QParams weight{{0.5f}, {0}, spec, -1};
  QParams output{{2.0f}, {0}, spec, -1};
  const std::vector<float> acc{2, 6, 10, -2, -6, 0, 3};
  std::vector<float> y;
  for (const float a : acc)
    y.push_back(a * 1.0f * 0.5f);  // S_in = 1
  const Tensor got = fake_requantize(Tensor::from_vector(y, {1, 1, 7}), 1.0f, weight, output, Ste::Identity);
  EXPECT_EQ(got.to_vector(), (std::vector<float>{2, 4, 6, -2, -4, 0, 2}));  // codes 1, 2, 3, -1, -2, 0, 1
}

TEST(FakeRequantize, ResultDoesNotDependOnTheThreadCount) {
  Generator gen(3);
  const Tensor y = Tensor::uniform({64, 8, 26, 26}, -3.0f, 3.0f, gen);
  const QParams weight = make_per_tensor(-0.5f, 0.5f, {8, true});
  const QParams output = make_per_tensor(-2.0f, 2.0f, {8, false});
  parallel::set_num_threads(1);
  const std::vector<float> one = fake_requantize(y, 0.02f, weight, output, Ste::Clipped).to_vector();
  parallel::set_num_threads(3);
  const std::vector<float> three = fake_requantize(y, 0.02f, weight, output, Ste::Clipped).to_vector();
  parallel::set_num_threads(2);
  EXPECT_EQ(one, three);
}

// Non-finite values: infinities clamp to the range's ends exactly as in the reference, and a NaN output
// stays that very NaN (its bits; the reference, a function of finite accumulators, has no answer for it).
// The vectorised loop makes that choice on the bits, without a branch.
TEST(FakeRequantize, NonFiniteValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float payload = std::bit_cast<float>(0x7FC01234u);  // a NaN with a payload of its own
  std::vector<float> y;
  for (int i = 0; i < 67; ++i) {  // long enough for full vectors and a tail, every kind at every lane
    const float kinds[] = {nan, inf, -inf, 0.37f * static_cast<float>(i - 30), -nan, payload, 3e38f};
    y.push_back(kinds[i % 7]);
  }
  std::vector<float> finite = y;  // the reference's input: NaNs replaced, results there not compared
  std::replace_if(
      finite.begin(), finite.end(), [](float v) { return std::isnan(v); }, 0.0f);
  const QParams weight = make_per_tensor(-0.7f, 0.6f, {8, true});
  const QParams output = make_per_tensor(-3.0f, 5.0f, {8, false});
  std::vector<float> mask;
  const std::vector<float> expected =
      requantize_outputs_reference(Tensor::from_vector(finite, {1, 1, 67}), 0.0123f, weight, output, &mask);
  const RequantizedOutput got =
      requantize_outputs(Tensor::from_vector(y, {1, 1, 67}), 0.0123f, weight, output, true);
  const std::vector<float> values = got.values.to_vector(), in_range = got.in_range.to_vector();
  ASSERT_EQ(values.size(), expected.size());
  int nans = 0, infinities = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(y[i])) {
      EXPECT_EQ(std::bit_cast<uint32_t>(values[i]), std::bit_cast<uint32_t>(y[i])) << "element " << i;
      ++nans;
      continue;
    }
    EXPECT_EQ(values[i], expected[i]) << "element " << i << ": input " << y[i];
    EXPECT_EQ(in_range[i], mask[i]) << "element " << i << ": input " << y[i];
    infinities += std::isinf(y[i]) ? 1 : 0;
  }
  EXPECT_EQ(nans, 28);
  EXPECT_EQ(infinities, 20);
}

// Scales that ran away during training (the multiplier S_in S_w / S_out beyond the fixed-point range) are a
// divergence the training loop reports, not an invalid_argument from deep inside the runtime.
TEST(FakeRequantize, AMultiplierBeyondTheFixedPointRangeIsADivergence) {
  const QParams weight = make_per_tensor(-1.0f, 1.0f, {8, true});  // S_w = 1/127.5
  const QParams output = make_per_tensor(0.0f, 1e-6f, {8, false});
  const Tensor y = Tensor::zeros({1, 1, 2});
  EXPECT_THROW(fake_requantize(y, 1e6f, weight, output, Ste::Identity), QuantizationDiverged);
  EXPECT_NO_THROW(fake_requantize(y, 1.0f, weight, make_per_tensor(0.0f, 1.0f, {8, false}), Ste::Identity));
}

}  // namespace
}  // namespace qg::quant
