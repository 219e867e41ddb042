// The integer-only model must compute what the fake-quant model it came from computes: same class on
// >= 99.9% of inputs and output codes within one quantization step, at several bit widths, for both the
// tutorial's Net (grouped conv, separate ReLU) and NetBN (BatchNorm folded), after PTQ and after QAT.
#include <gtest/gtest.h>

#include <cmath>

#include "common/synthetic_digits.h"
#include "quant/convert.h"
#include "quant/qat_model.h"
#include "runtime/run.h"

namespace qg::quant {
namespace {

using qg::testing::SyntheticDigits;

struct Case {
  bool with_bn;
  int bits;
  bool qat;
  bool per_channel;
};

std::string Name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return std::string(c.with_bn ? "NetBN" : "Net") + "_" + std::to_string(c.bits) + "bit_" +
         (c.qat ? "QAT" : "PTQ") + (c.per_channel ? "_perchannel" : "");
}

class ConvertAgreement : public ::testing::TestWithParam<Case> {};

TEST_P(ConvertAgreement, IntegerModelMatchesFakeQuantModel) {
  const Case c = GetParam();
  const SyntheticDigits train(1024, 1), test(1000, 2);
  auto net = qg::testing::tutorial_net(c.with_bn, 7);
  qg::testing::train_steps(*net, train, 40);

  QuantSettings settings;
  settings.activation = settings.weight = {c.bits, false, false};
  settings.per_channel_weights = c.per_channel;
  auto qat = prepare_qat(*net, settings);
  if (c.qat) {
    qat->set_observing(true);
    qg::testing::train_steps(*qat, train, 10, 0.01);
  } else {
    qat->eval();
    qat->set_observing(true);
    NoGradGuard no_grad;
    for (int64_t b = 0; b < 8; ++b)
      (*qat)(train.images(b * 64, b * 64 + 64));
  }
  qat->freeze();
  qat->eval();

  const runtime::Model model =
      convert(*qat, {{1, 28, 28}, SyntheticDigits::kMean, SyntheticDigits::kStd, {}});
  const QParams out = qat->layers().back()->output_point()->qparams();

  NoGradGuard no_grad;
  const Tensor fake = (*qat)(test.images(0, test.size()));
  const runtime::IntTensor codes = runtime::run(model, runtime::quantize_pixels(model, test.pixels));
  const std::vector<int64_t> predicted = runtime::predict(codes);
  ASSERT_EQ(static_cast<int64_t>(predicted.size()), test.size());

  int64_t same_class = 0, off_by_more_than_one = 0, correct = 0, differing_codes = 0;
  int32_t max_code_diff = 0;
  const std::vector<float> fake_values = fake.to_vector();
  for (int64_t i = 0; i < test.size(); ++i) {
    int64_t fake_best = 0;
    for (int64_t k = 0; k < 10; ++k) {
      const float v = fake_values[i * 10 + k];
      if (v > fake_values[i * 10 + fake_best]) fake_best = k;
      const int32_t fake_code = static_cast<int32_t>(std::nearbyint(v / out.scale[0])) + out.zero_point[0];
      const int32_t diff = std::abs(fake_code - codes.data[i * 10 + k]);
      max_code_diff = std::max(max_code_diff, diff);
      off_by_more_than_one += diff > 1;
      differing_codes += diff > 0;
    }
    same_class += fake_best == predicted[i];
    correct += predicted[i] == test.labels[i];
  }
  const double agreement = static_cast<double>(same_class) / test.size();
  EXPECT_GE(agreement, 0.999) << "integer vs fake-quant class agreement";
  EXPECT_EQ(off_by_more_than_one, 0) << "max code difference " << max_code_diff;
  if (c.bits >= 4) {
    EXPECT_GT(correct, 900) << "the quantized model should still classify the synthetic digits";
  }
  std::printf("    agreement %.4f, logit codes differing %lld of %lld (max by %d), integer accuracy %.3f\n",
              agreement, static_cast<long long>(differing_codes), static_cast<long long>(test.size() * 10),
              max_code_diff, static_cast<double>(correct) / test.size());
}

INSTANTIATE_TEST_SUITE_P(Models, ConvertAgreement,
                         ::testing::Values(Case{false, 8, false, false}, Case{false, 8, true, false},
                                           Case{false, 4, false, false}, Case{false, 4, true, false},
                                           Case{false, 8, false, true}, Case{true, 8, false, false},
                                           Case{true, 8, true, false}, Case{true, 4, true, false},
                                           Case{true, 2, true, false}, Case{true, 8, true, true}),
                         Name);

TEST(Convert, RequiresAFrozenModel) {
  auto net = qg::testing::tutorial_net(false, 1);
  auto qat = prepare_qat(*net, QuantSettings{});
  EXPECT_THROW(convert(*qat, {{1, 28, 28}, 0, 1, {}}), std::invalid_argument);
}

}  // namespace
}  // namespace qg::quant
