// Every QAT method, at every bit width, converts to an integer model that computes what its fake-quant model
// computes: the same class on >= 99.9% of inputs and every logit code within one step (measured: identical).
// ema, lsq and binary differ from the tutorial in where the grids come from (moving averages, learned step
// sizes and zero points, XNOR-Net signs) and in fusing the ReLU before the output quantizer.
#include <gtest/gtest.h>

#include <cmath>

#include "common/synthetic_digits.h"
#include "quant/convert.h"
#include "quant/qat/qat_layer.h"
#include "quant/qat_model.h"
#include "runtime/run.h"

namespace qg::quant {
namespace {

using qg::testing::SyntheticDigits;

struct Case {
  QatMethod method;
  bool with_bn;
  int bits;
};

std::string Name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return std::string(qat_method_name(c.method)) + "_" + (c.with_bn ? "NetBN" : "Net") + "_" +
         std::to_string(c.bits) + "bit";
}

// The settings of each layer of the tutorial net: `bits` everywhere, except that the binary method keeps the
// model input and the classifier at 8 bits (as its recipe does) and has binary weights elsewhere.
std::vector<QuantSettings> settings_for(const Case& c, const nn::Sequential& net) {
  QuantSettings s;
  s.method = c.method;
  s.fuse_relu = true;
  s.per_channel_weights = true;
  s.activation = {c.bits, false, false};
  s.weight = {c.bits, true, true};
  if (c.method == QatMethod::Ema) {
    s.activation_observer = ObserverKind::MovingAverageMinMax;
    s.ste = Ste::Clipped;
  }
  if (c.method == QatMethod::Binary) {
    s.weight = {1, true, true};
    s.input = QuantSpec{8, false, false};
  }
  std::vector<QuantSettings> per_layer(net.layers().size(), s);
  if (c.method == QatMethod::Binary) {
    per_layer.back().weight = {8, true, true};
    per_layer.back().activation = {8, false, false};
  }
  return per_layer;
}

class MethodAgreement : public ::testing::TestWithParam<Case> {};

TEST_P(MethodAgreement, IntegerModelMatchesFakeQuantModel) {
  const Case c = GetParam();
  const SyntheticDigits train(1024, 1), test(1000, 2);
  auto net = qg::testing::tutorial_net(c.with_bn, 7);
  qg::testing::train_steps(*net, train, 40);

  auto qat = prepare_qat(*net, settings_for(c, *net));
  qat->set_observing(true);
  qat->set_bn_frozen(true);
  qg::testing::train_steps(*qat, train, 12, 0.01);
  qat->freeze();
  qat->eval();

  const runtime::Model model =
      convert(*qat, {{1, 28, 28}, SyntheticDigits::kMean, SyntheticDigits::kStd, {}});
  const QParams out = qat->layers().back()->output_point()->qparams();
  NoGradGuard no_grad;
  const std::vector<float> fake = (*qat)(test.images(0, test.size())).to_vector();
  const runtime::IntTensor codes = runtime::run(model, runtime::quantize_pixels(model, test.pixels));
  const std::vector<int64_t> predicted = runtime::predict(codes);
  ASSERT_EQ(static_cast<int64_t>(predicted.size()), test.size());

  int64_t same_class = 0, differing_codes = 0, off_by_more_than_one = 0, correct = 0;
  for (int64_t i = 0; i < test.size(); ++i) {
    int64_t fake_best = 0;
    for (int64_t k = 0; k < 10; ++k) {
      const float v = fake[static_cast<size_t>(i * 10 + k)];
      if (v > fake[static_cast<size_t>(i * 10 + fake_best)]) fake_best = k;
      const int32_t fake_code = static_cast<int32_t>(std::nearbyint(v / out.scale[0])) + out.zero_point[0];
      const int32_t diff = std::abs(fake_code - codes.data[static_cast<size_t>(i * 10 + k)]);
      differing_codes += diff > 0;
      off_by_more_than_one += diff > 1;
    }
    same_class += fake_best == predicted[static_cast<size_t>(i)];
    correct += predicted[static_cast<size_t>(i)] == test.labels[static_cast<size_t>(i)];
  }
  EXPECT_GE(static_cast<double>(same_class) / test.size(), 0.999);
  EXPECT_EQ(off_by_more_than_one, 0);
  EXPECT_EQ(differing_codes, 0) << "the fake-quant model rounds exactly as the integer model";
  if (c.bits >= 4) {
    EXPECT_GT(correct, 900) << "the quantized model should still classify the synthetic digits";
  }
  // The converted weights carry the method's codes: binary layers hold signs only.
  if (c.method == QatMethod::Binary) {
    const auto& conv = std::get<runtime::Conv2d>(model.ops[0]);
    EXPECT_EQ(conv.weight.bits, 1);
    EXPECT_TRUE(conv.weight.is_signed);
    for (const int16_t code : conv.weight.codes)
      EXPECT_TRUE(code == 1 || code == -1);
  }
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const QatMethod m : {QatMethod::Ema, QatMethod::Lsq}) {
    for (const bool bn : {false, true}) {
      for (const int bits : {1, 2, 3, 4, 8})
        cases.push_back({m, bn, bits});
    }
  }
  cases.push_back({QatMethod::Binary, false, 1});
  cases.push_back({QatMethod::Binary, true, 1});
  cases.push_back({QatMethod::Binary, true, 2});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Methods, MethodAgreement, ::testing::ValuesIn(all_cases()), Name);

}  // namespace
}  // namespace qg::quant
