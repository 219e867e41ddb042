// A BatchNorm2d that does not follow a conv, and layers before the first conv/linear (issue 10, item 7):
// the three layouts of the issue (a BatchNorm after a ReLU, a BatchNorm on the raw input, an average pool as
// the first layer) used to be refused by prepare_qat. Now a lone BatchNorm is QBatchNorm2d -> runtime
// mul_add, and the first layer that needs a quantized input quantizes the model input. Checked here:
// mul_add_codes against its formulas; the fake-quant layer code for code against the integer op (negative,
// zero and huge factors and shifts); its gradient (the STE of y = a x + b) against central differences; its
// statistics against nn::BatchNorm2d; and each layout, under every method, converted with integer and
// fake-quant models agreeing.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/gradcheck.h"
#include "common/synthetic_digits.h"
#include "nn/layers.h"
#include "quant/convert.h"
#include "quant/fake_quantize.h"
#include "quant/observer.h"
#include "quant/points/make_points.h"
#include "quant/qat/passthrough.h"
#include "quant/qat/qbatch_norm2d.h"
#include "quant/qat/qconv2d.h"
#include "quant/qat_model.h"
#include "runtime/run.h"

namespace qg::quant {
namespace {

using qg::testing::SyntheticDigits;

TEST(MulAddCodes, FactorsAreSignedCodesOf127AndBiasesSitOnTheAccumulatorGrid) {
  const float s_in = 0.05f;
  const std::vector<float> a{2.0f, -0.5f, 0.0f, 3e-3f};
  const std::vector<float> b{1.0f, -0.25f, 0.7f, 0.0f};
  const MulAddCodes m = mul_add_codes(a, b, s_in);
  EXPECT_EQ(m.codes, (std::vector<int16_t>{127, -127, 0, 127}));
  ASSERT_EQ(m.factor.scale.size(), 4u);
  EXPECT_TRUE(m.factor.per_channel());
  EXPECT_EQ(m.factor.spec.bits, 8);
  EXPECT_TRUE(m.factor.spec.is_signed);
  EXPECT_EQ(m.factor.zero_point, (std::vector<int32_t>(4, 0)));
  EXPECT_FLOAT_EQ(m.factor.scale[0], 2.0f / 127);
  EXPECT_FLOAT_EQ(m.factor.scale[1], 0.5f / 127);
  EXPECT_EQ(m.factor.scale[2], 1.0f) << "a = 0: any scale represents it; code 0";
  for (size_t c = 0; c < 4; ++c) {  // bias = round(b / (S1 S2)), e.g. 1 / (0.05 * 2 / 127) = 1270
    EXPECT_EQ(m.bias[c], std::llround(b[c] / (static_cast<double>(s_in) * m.factor.scale[c]))) << c;
  }
  EXPECT_EQ(m.bias[0], 1270);
  EXPECT_EQ(m.bias[2], 14) << "0.7 / 0.05";
}

TEST(MulAddCodes, AShiftBeyondTheBiasLimitWidensTheFactorScaleOnlyThere) {
  // b / (S1 |a| / 127) = 1000 / (0.01 * 1 / 127) = 1.27e7 > 2^21: S2 is widened until |bias| <= 2^21.
  const MulAddCodes m = mul_add_codes({1.0f, 1.0f}, {1000.0f, 1.0f}, 0.01f);
  EXPECT_LE(std::abs(m.bias[0]), kMulAddBiasCodeLimit);
  EXPECT_GE(std::abs(m.bias[0]), kMulAddBiasCodeLimit * 0.999);
  EXPECT_GT(m.factor.scale[0], 1.0f / 127 * 6) << "widened about 6x";
  EXPECT_LT(m.codes[0], 127);
  EXPECT_GE(m.codes[0], 127 / 7);
  EXPECT_FLOAT_EQ(m.factor.scale[1], 1.0f / 127) << "the other channel keeps its scale";
  EXPECT_EQ(m.codes[1], 127);
}

TEST(MulAddCodes, RefusesNonFiniteParameters) {
  EXPECT_THROW(mul_add_codes({1.0f, std::nanf("")}, {0.0f, 0.0f}, 0.1f), NonFiniteObservation);
  EXPECT_THROW(mul_add_codes({1.0f}, {std::numeric_limits<float>::infinity()}, 0.1f), NonFiniteObservation);
  EXPECT_THROW(mul_add_codes({1.0f}, {0.0f}, 0.0f), std::invalid_argument);
  EXPECT_THROW(mul_add_codes({1.0f}, {0.0f, 1.0f}, 0.1f), std::invalid_argument);
}

// A BatchNorm of `channels` with random statistics and affine parameters: gamma of both signs, channel 2
// with gamma 0, channel 3 (if any) with a tiny factor next to its shift: at 8 bits its bias would need a
// code beyond kMulAddBiasCodeLimit, so its factor scale is widened.
std::shared_ptr<nn::BatchNorm2d> random_bn(int64_t channels, uint64_t seed) {
  Generator gen(seed);
  auto bn = std::make_shared<nn::BatchNorm2d>(channels);
  for (int64_t c = 0; c < channels; ++c) {
    bn->weight.data()[c] = gen.uniform(0.2f, 3.0f) * (c % 2 ? -1.0f : 1.0f);
    bn->bias.data()[c] = gen.uniform(-1.0f, 1.0f);
    bn->running_mean.data()[c] = gen.uniform(-0.5f, 0.5f);
    bn->running_var.data()[c] = gen.uniform(0.05f, 4.0f);
  }
  if (channels > 2) bn->weight.data()[2] = 0.0f;
  if (channels > 3) {
    bn->weight.data()[3] = 2e-4f;
    bn->bias.data()[3] = 0.8f;
  }
  return bn;
}

Tensor random_input(int64_t n, int64_t channels, uint64_t seed) {
  Generator gen(seed);
  Tensor x = Tensor::zeros({n, channels, 5, 6});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data()[i] = gen.uniform(-2.0f, 3.0f);
  return x;
}

QuantSettings settings_of(QatMethod method, int bits) {
  QuantSettings s;
  s.method = method;
  s.activation = {bits, false, false};
  s.weight = {bits, true, true};
  s.fuse_relu = method != QatMethod::Tutorial;
  if (method == QatMethod::Ema) {
    s.activation_observer = ObserverKind::MovingAverageMinMax;
    s.ste = Ste::Clipped;
  }
  return s;
}

std::vector<int32_t> codes_of(const Tensor& values, const QParams& q) {
  std::vector<int32_t> out;
  for (const float v : quantize_codes(values, q).to_vector())
    out.push_back(static_cast<int32_t>(v));
  return out;
}

struct LayerCase {
  QatMethod method;
  int bits;
  bool relu;
};

class LoneBatchNorm : public ::testing::TestWithParam<LayerCase> {};

// The fake-quant layer computes exactly the integer op's codes, for every element.
TEST_P(LoneBatchNorm, FakeQuantIsTheIntegerOpCodeForCode) {
  const LayerCase c = GetParam();
  constexpr int64_t kChannels = 6;
  auto bn = random_bn(kChannels, 5);
  nn::Sequential net;
  net.add(bn);
  if (c.relu) net.add(std::make_shared<nn::ReLU>());
  auto qat = prepare_qat(net, settings_of(c.method, c.bits));
  auto layer = std::dynamic_pointer_cast<QBatchNorm2d>(qat->layers()[0]);
  ASSERT_TRUE(layer) << "a BatchNorm first in the model is a QBatchNorm2d";
  ASSERT_TRUE(layer->input) << "it quantizes the model input";
  qat->eval();
  qat->set_observing(true);
  NoGradGuard no_grad;
  for (uint64_t seed = 1; seed <= 3; ++seed)
    (*qat)(random_input(16, kChannels, seed));
  qat->freeze();

  const Tensor x = random_input(64, kChannels, 9);
  const Tensor fake = (*qat)(x);
  const QParams in_q = layer->input->qparams();
  const QParams out_q = qat->layers().back()->output_point() ? qat->layers().back()->output_point()->qparams()
                                                             : layer->output->qparams();
  const runtime::QuantParams in_rt = to_runtime(in_q);
  const runtime::MulAdd op = layer->to_integer(in_rt, c.relu);
  if (c.bits == 8) {
    EXPECT_LT(op.weight.codes[3], 127) << "channel 3's factor scale was widened for its bias";
  }
  std::vector<int32_t> integer(static_cast<size_t>(x.numel()));
  const std::vector<int32_t> input_codes = codes_of(x, in_q);
  const runtime::Dims sample{kChannels, 5, 6};
  const size_t per_sample = static_cast<size_t>(kChannels * 30);
  for (size_t n = 0; n < 64; ++n) {
    runtime::mul_add_reference(op, sample, std::span(input_codes).subspan(n * per_sample, per_sample),
                               std::span(integer).subspan(n * per_sample, per_sample),
                               runtime::RequantMode::Integer);
  }
  const std::vector<int32_t> fake_codes = codes_of(fake, out_q);
  int64_t differing = 0;
  for (size_t i = 0; i < integer.size(); ++i)
    differing += integer[i] != fake_codes[i];
  EXPECT_EQ(differing, 0) << "of " << integer.size();

  // Independently: the codes are those of the float BatchNorm of the quantized input, within one step
  // (the output grid's rounding) except where the output range clamps them.
  const Tensor x_q = fake_quantize(x, in_q);
  const std::vector<float> xv = x_q.to_vector();
  int64_t far = 0, inside = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    const size_t ch = (i / 30) % kChannels;
    const double a = bn->weight.data()[ch] / std::sqrt(bn->running_var.data()[ch] + bn->eps);
    double y = a * (xv[i] - bn->running_mean.data()[ch]) + bn->bias.data()[ch];
    if (c.relu) y = std::max(y, 0.0);
    const double code = y / out_q.scale[0] + out_q.zero_point[0];
    if (code < out_q.spec.qmin() || code > out_q.spec.qmax()) continue;
    ++inside;
    far += std::abs(code - integer[i]) > 1.0;
  }
  EXPECT_EQ(far, 0);
  EXPECT_GT(inside, static_cast<int64_t>(xv.size()) / 2);
}

INSTANTIATE_TEST_SUITE_P(
    Methods, LoneBatchNorm,
    ::testing::Values(LayerCase{QatMethod::Tutorial, 8, false}, LayerCase{QatMethod::Tutorial, 3, true},
                      LayerCase{QatMethod::Ema, 8, true}, LayerCase{QatMethod::Ema, 4, false},
                      LayerCase{QatMethod::Lsq, 8, false}, LayerCase{QatMethod::Lsq, 2, true}),
    [](const auto& info) {
      return std::string(qat_method_name(info.param.method)) + "_" + std::to_string(info.param.bits) + "bit" +
             (info.param.relu ? "_relu" : "");
    });

// The STE of y = a x + b, a = gamma / sqrt(var + eps), b = beta - mean a, written here from the BatchNorm's
// definition: the gradient w.r.t. x, gamma and beta must be that of the surrogate
//     y_s(x, gamma, beta) = a x + b + (y0 - (a0 x0 + b0)),
// the rounding residual held at the unperturbed inputs (autograd/gradcheck.h).
TEST(LoneBatchNorm, GradientIsTheStraightThroughEstimateOfTheAffineMap) {
  for (const Ste ste : {Ste::Identity, Ste::Clipped}) {
    constexpr int64_t kChannels = 3;
    auto bn = random_bn(kChannels, 11);
    QuantSettings s = settings_of(QatMethod::Tutorial, 8);
    s.ste = ste;
    QBatchNorm2d layer(bn, /*quantize_input=*/false, s, /*relu=*/false);
    // The input grid comes from a frozen source point; the output grid is frozen wide enough for every value.
    QuantPointPtr source = make_input_point(s);
    source->operator()(Tensor::from_vector({-4.0f, 4.0f}, {2}), true);
    source->freeze();
    layer.set_input_source(source.get());
    layer.eval();
    layer.set_observing(true);
    {
      NoGradGuard no_grad;
      layer(Tensor::from_vector(std::vector<float>(kChannels * 4, 40.0f), {1, kChannels, 2, 2}));
      layer(Tensor::from_vector(std::vector<float>(kChannels * 4, -40.0f), {1, kChannels, 2, 2}));
    }
    layer.freeze();

    Generator gen(3);
    Tensor x = Tensor::zeros({2, kChannels, 2, 2});
    const float s_in = source->qparams().scale[0];
    for (int64_t i = 0; i < x.numel(); ++i) {  // a quarter step off the grid: no kink within eps
      x.data()[i] = (std::round(gen.uniform(-3.0f, 3.0f) / s_in) + 0.25f) * s_in;
    }
    x.set_requires_grad(true);
    const Tensor y0 = layer(x).detach();
    const std::vector<float> x0 = x.to_vector(), y0v = y0.to_vector();
    const std::vector<float> g0 = bn->weight.to_vector(), b0 = bn->bias.to_vector();
    const auto affine = [&](float xv, float gamma, float beta, int64_t c) {
      const double inv_std = 1.0 / std::sqrt(bn->running_var.data()[c] + bn->eps);
      return gamma * inv_std * (xv - bn->running_mean.data()[c]) + beta;
    };
    GradcheckOptions options;
    options.surrogate = [&](const std::vector<Tensor>& in) {
      Tensor out = Tensor::zeros(y0.shape());
      for (int64_t i = 0; i < out.numel(); ++i) {
        const int64_t c = (i / 4) % kChannels;
        const double residual = y0v[i] - affine(x0[i], g0[c], b0[c], c);
        out.data()[i] =
            static_cast<float>(affine(in[0].data()[i], in[1].data()[c], in[2].data()[c], c) + residual);
      }
      return out;
    };
    const GradcheckResult r = gradcheck([&](const std::vector<Tensor>& in) { return layer(in[0]); },
                                        {x, bn->weight, bn->bias}, options);
    EXPECT_TRUE(r.ok) << r.message;
  }
}

TEST(LoneBatchNorm, TrainingUsesAndTracksBatchStatisticsAsNnBatchNormUnlessFrozen) {
  constexpr int64_t kChannels = 4;
  auto bn = random_bn(kChannels, 21);
  auto reference = std::make_shared<nn::BatchNorm2d>(kChannels);
  reference->running_mean.copy_from(bn->running_mean);
  reference->running_var.copy_from(bn->running_var);
  QBatchNorm2d layer(bn, /*quantize_input=*/true, settings_of(QatMethod::Tutorial, 8), /*relu=*/false);
  layer.train();
  layer.set_observing(true);
  const Tensor x = random_input(8, kChannels, 4);
  NoGradGuard no_grad;
  const Tensor y = layer(x);
  reference->train();
  (*reference)(fake_quantize(x, layer.input->qparams()));  // nn's BatchNorm on the same quantized input
  for (int64_t c = 0; c < kChannels; ++c) {
    EXPECT_FLOAT_EQ(bn->running_mean.data()[c], reference->running_mean.data()[c]);
    EXPECT_FLOAT_EQ(bn->running_var.data()[c], reference->running_var.data()[c]);
  }
  EXPECT_EQ(bn->num_batches_tracked.data()[0], 1.0f);
  // Normalised with the batch statistics: each channel's output has mean beta (up to quantization).
  const std::vector<float> yv = y.to_vector();
  for (int64_t c = 0; c < kChannels; ++c) {
    double sum = 0.0;
    for (int64_t n = 0; n < 8; ++n) {
      for (int64_t i = 0; i < 30; ++i)
        sum += yv[static_cast<size_t>((n * kChannels + c) * 30 + i)];
    }
    EXPECT_NEAR(sum / 240.0, bn->bias.data()[c], 0.05) << c;
  }
  const std::vector<float> before = bn->running_mean.to_vector();
  layer.set_bn_frozen(true);
  layer(random_input(8, kChannels, 5));
  EXPECT_EQ(bn->running_mean.to_vector(), before) << "frozen: running statistics, not updated";
  EXPECT_EQ(bn->num_batches_tracked.data()[0], 1.0f);
}

// ---- the three layouts of the issue -----------------------------------------------------------------

enum class Layout { kBatchNormAfterRelu, kBatchNormOnInput, kAvgPoolFirst };

std::shared_ptr<nn::Sequential> layout_net(Layout layout, uint64_t seed) {
  using namespace nn;
  Generator gen(seed);
  auto net = std::make_shared<Sequential>();
  const auto conv = [&](int64_t in, int64_t out) {
    return std::make_shared<Conv2d>(in, out, 3, functional::Conv2dOptions{}, true, gen);
  };
  const auto pool = [] { return std::make_shared<MaxPool2d>(functional::Pool2dOptions{2, 2, 0}); };
  switch (layout) {
    case Layout::kBatchNormAfterRelu:  // conv -> max-pool -> relu -> batchnorm2d -> conv (the first)
      net->add(conv(1, 8));            // 26
      net->add(pool());                // 13
      net->add(std::make_shared<ReLU>());
      net->add(std::make_shared<BatchNorm2d>(8));
      net->add(conv(8, 8));  // 11
      net->add(std::make_shared<ReLU>());
      net->add(pool());  // 5
      net->add(std::make_shared<Flatten>());
      net->add(std::make_shared<Linear>(200, 10, true, gen));
      break;
    case Layout::kBatchNormOnInput:
      net->add(std::make_shared<BatchNorm2d>(1));
      net->add(conv(1, 8));  // 26
      net->add(std::make_shared<ReLU>());
      net->add(pool());  // 13
      net->add(std::make_shared<Flatten>());
      net->add(std::make_shared<Linear>(8 * 13 * 13, 10, true, gen));
      break;
    case Layout::kAvgPoolFirst:
      net->add(std::make_shared<AvgPool2d>(functional::Pool2dOptions{2, 2, 0}));  // 14
      net->add(conv(1, 8));                                                       // 12
      net->add(std::make_shared<ReLU>());
      net->add(pool());  // 6
      net->add(std::make_shared<Flatten>());
      net->add(std::make_shared<Linear>(8 * 36, 10, true, gen));
      break;
  }
  return net;
}

TEST(PrepareQat, TheFirstLayerThatNeedsAQuantizedInputQuantizesIt) {
  const QuantSettings s = settings_of(QatMethod::Tutorial, 8);
  auto after_relu = prepare_qat(*layout_net(Layout::kBatchNormAfterRelu, 1), s);
  EXPECT_TRUE(std::dynamic_pointer_cast<QConv2d>(after_relu->layers()[0])->input) << "the conv, as before";
  const auto lone = std::dynamic_pointer_cast<QBatchNorm2d>(after_relu->layers()[3]);
  ASSERT_TRUE(lone) << after_relu->layers()[3]->describe();
  EXPECT_FALSE(lone->input);
  EXPECT_EQ(&lone->input_params(), after_relu->layers()[0]->output_point()) << "it reads the conv's codes";

  auto on_input = prepare_qat(*layout_net(Layout::kBatchNormOnInput, 1), s);
  const auto first_bn = std::dynamic_pointer_cast<QBatchNorm2d>(on_input->layers()[0]);
  ASSERT_TRUE(first_bn && first_bn->input);
  const auto conv = std::dynamic_pointer_cast<QConv2d>(on_input->layers()[1]);
  EXPECT_FALSE(conv->input);
  EXPECT_EQ(&conv->input_params(), first_bn->output_point());

  auto avg_first = prepare_qat(*layout_net(Layout::kAvgPoolFirst, 1), s);
  const auto avg = std::dynamic_pointer_cast<QAvgPool2d>(avg_first->layers()[0]);
  ASSERT_TRUE(avg && avg->input);
  const auto conv2 = std::dynamic_pointer_cast<QConv2d>(avg_first->layers()[1]);
  EXPECT_FALSE(conv2->input);
  EXPECT_EQ(&conv2->input_params(), avg->input.get()) << "an average pool keeps its input's grid";

  // ReLU, max pooling and flatten before the first conv/linear do not quantize: the linear does, as before.
  nn::Sequential mlp;
  mlp.add(std::make_shared<nn::ReLU>());
  mlp.add(std::make_shared<nn::Flatten>());
  mlp.add(std::make_shared<nn::Linear>(784, 10));
  auto q = prepare_qat(mlp, s);
  EXPECT_TRUE(q->layers()[0]->quant_points().empty());
  EXPECT_TRUE(q->layers()[2]->input);
}

struct LayoutCase {
  Layout layout;
  QatMethod method;
  int bits;
};

class QuantizableLayouts : public ::testing::TestWithParam<LayoutCase> {};

// Float training, QAT steps (or PTQ calibration alone, for the tutorial at 8 bits), freeze, convert: the
// integer model computes the fake-quant model's logit codes.
TEST_P(QuantizableLayouts, ConvertAndAgreeWithTheFakeQuantModel) {
  const LayoutCase c = GetParam();
  const SyntheticDigits train(512, 1), test(1000, 2);
  auto net = layout_net(c.layout, 7);
  qg::testing::train_steps(*net, train, 30);
  QuantSettings s = settings_of(c.method, c.bits);
  s.per_channel_weights = c.method != QatMethod::Tutorial;
  auto qat = prepare_qat(*net, s);
  qat->set_observing(true);
  if (c.method == QatMethod::Tutorial && c.bits == 8) {
    NoGradGuard no_grad;
    qat->eval();
    for (int64_t b = 0; b < 4; ++b)
      (*qat)(train.images(b * 64, (b + 1) * 64));  // PTQ calibration
  } else {
    qat->set_bn_frozen(c.method != QatMethod::Tutorial);
    qg::testing::train_steps(*qat, train, 8, 0.01);
  }
  qat->freeze();
  qat->eval();

  const runtime::Model model =
      convert(*qat, {{1, 28, 28}, SyntheticDigits::kMean, SyntheticDigits::kStd, {}});
  const char* first_op = runtime::op_name(model.ops[0]);
  switch (c.layout) {
    case Layout::kBatchNormAfterRelu:
      EXPECT_STREQ(runtime::op_name(model.ops[3]), "mul_add");
      break;
    case Layout::kBatchNormOnInput:
      EXPECT_STREQ(first_op, "mul_add");
      break;
    case Layout::kAvgPoolFirst:
      EXPECT_STREQ(first_op, "avg_pool2d");
      break;
  }
  const QParams out = qat->layers().back()->output_point()->qparams();
  NoGradGuard no_grad;
  const std::vector<float> fake = (*qat)(test.images(0, test.size())).to_vector();
  const runtime::IntTensor codes = runtime::run(model, runtime::quantize_pixels(model, test.pixels));
  const std::vector<int64_t> predicted = runtime::predict(codes);
  int64_t same_class = 0, differing_codes = 0, correct = 0;
  for (int64_t i = 0; i < test.size(); ++i) {
    int64_t fake_best = 0;
    for (int64_t k = 0; k < 10; ++k) {
      const float v = fake[static_cast<size_t>(i * 10 + k)];
      if (v > fake[static_cast<size_t>(i * 10 + fake_best)]) fake_best = k;
      const int32_t fake_code = static_cast<int32_t>(std::nearbyint(v / out.scale[0])) + out.zero_point[0];
      differing_codes += fake_code != codes.data[static_cast<size_t>(i * 10 + k)];
    }
    same_class += fake_best == predicted[static_cast<size_t>(i)];
    correct += predicted[static_cast<size_t>(i)] == test.labels[static_cast<size_t>(i)];
  }
  EXPECT_GE(static_cast<double>(same_class) / test.size(), 0.999);
  EXPECT_EQ(differing_codes, 0) << "the fake-quant model rounds exactly as the integer model";
  if (c.bits >= 4) {
    EXPECT_GT(correct, 900) << "the quantized model should still classify the synthetic digits";
  }
}

std::vector<LayoutCase> layout_cases() {
  std::vector<LayoutCase> cases;
  for (const Layout l : {Layout::kBatchNormAfterRelu, Layout::kBatchNormOnInput, Layout::kAvgPoolFirst}) {
    cases.push_back({l, QatMethod::Tutorial, 8});
    cases.push_back({l, QatMethod::Tutorial, 4});
    cases.push_back({l, QatMethod::Ema, 4});
    cases.push_back({l, QatMethod::Lsq, 8});
    cases.push_back({l, QatMethod::Lsq, 2});
  }
  return cases;
}

std::string layout_case_name(const ::testing::TestParamInfo<LayoutCase>& info) {
  static const char* const names[] = {"BatchNormAfterRelu", "BatchNormOnInput", "AvgPoolFirst"};
  return std::string(names[static_cast<int>(info.param.layout)]) + "_" + qat_method_name(info.param.method) +
         "_" + std::to_string(info.param.bits) + "bit";
}

INSTANTIATE_TEST_SUITE_P(Layouts, QuantizableLayouts, ::testing::ValuesIn(layout_cases()), layout_case_name);

}  // namespace
}  // namespace qg::quant
