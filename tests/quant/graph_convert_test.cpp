// Graph models (residual adds, concatenations, relu6, dropout, global average pooling) convert to integer
// graphs that compute exactly what their fake-quant models compute: the same class on >= 99.9 % of inputs
// and every logit code identical, for every method and at 8, 4 and 2 bits, after QAT (with the BatchNorms
// folded inside the branches) and after PTQ.
#include <gtest/gtest.h>

#include <cmath>

#include "common/synthetic_digits.h"
#include "nn/layers.h"
#include "quant/convert.h"
#include "quant/qat/qadd.h"
#include "quant/qat/qconcat.h"
#include "quant/qat_model.h"
#include "runtime/run.h"

namespace qg::quant {
namespace {

using nn::Graph;
using qg::testing::SyntheticDigits;

std::shared_ptr<nn::Conv2d> conv(int64_t in, int64_t out, int64_t k, int64_t stride, Generator& gen) {
  return std::make_shared<nn::Conv2d>(in, out, k, nn::functional::Conv2dOptions{stride, k / 2, 1, 1}, false,
                                      gen);
}

/// 28x28 -> stem conv-bn-relu (8) -> a residual block (conv-bn-relu, conv-bn, add-relu) -> a downsampling
/// block with a 1x1 projection shortcut (16) -> a concat of the block and a relu6 branch -> relu6 -> dropout ->
/// global average pool -> flatten -> linear 10.
std::shared_ptr<Graph> residual_net(uint64_t seed) {
  using namespace nn;
  Generator gen(seed);
  auto g = std::make_shared<Graph>();
  g->add(conv(1, 8, 3, 2, gen));  // 0: [8,14,14]
  g->add(std::make_shared<BatchNorm2d>(8));
  g->add(std::make_shared<ReLU>());  // 2: stem
  g->add(conv(8, 8, 3, 1, gen));
  g->add(std::make_shared<BatchNorm2d>(8));
  g->add(std::make_shared<ReLU>());
  g->add(conv(8, 8, 3, 1, gen));
  g->add(std::make_shared<BatchNorm2d>(8));  // 7: branch
  g->add(std::make_shared<Add>(), {7, 2});   // 8
  g->add(std::make_shared<ReLU>());          // 9: block 1
  g->add(conv(8, 16, 3, 2, gen));            // 10: [16,7,7]
  g->add(std::make_shared<BatchNorm2d>(16));
  g->add(std::make_shared<ReLU>());
  g->add(conv(16, 16, 3, 1, gen));
  g->add(std::make_shared<BatchNorm2d>(16));     // 14: branch
  g->add(conv(8, 16, 1, 2, gen), {9});           // 15: projection shortcut
  g->add(std::make_shared<BatchNorm2d>(16));     // 16
  g->add(std::make_shared<Add>(), {14, 16});     // 17
  g->add(std::make_shared<ReLU>());              // 18: block 2
  g->add(conv(16, 4, 1, 1, gen));                // 19: a side branch
  g->add(std::make_shared<ReLU6>());             // 20
  g->add(std::make_shared<Concat>(), {18, 20});  // 21: [20,7,7]
  g->add(std::make_shared<ReLU6>());             // 22: no output stage before it: the op clip
  g->add(std::make_shared<Dropout>(0.1f, seed));
  g->add(std::make_shared<GlobalAvgPool2d>());
  g->add(std::make_shared<Flatten>());
  g->add(std::make_shared<Linear>(20, 10, true, gen));
  return g;
}

struct Case {
  QatMethod method;
  int bits;
  bool qat;
};

std::string Name(const ::testing::TestParamInfo<Case>& info) {
  return std::string(qat_method_name(info.param.method)) + "_" + std::to_string(info.param.bits) + "bit_" +
         (info.param.qat ? "QAT" : "PTQ");
}

QuantSettings settings_for(const Case& c) {
  QuantSettings s;
  s.method = c.method;
  s.activation = {c.bits, false, false};
  s.weight = {c.bits, c.method != QatMethod::Tutorial, c.method != QatMethod::Tutorial};
  if (c.method != QatMethod::Tutorial) {
    s.fuse_relu = true;
    s.per_channel_weights = true;
  }
  if (c.method == QatMethod::Ema) {
    s.activation_observer = ObserverKind::MovingAverageMinMax;
    s.ste = Ste::Clipped;
  }
  return s;
}

class GraphConvert : public ::testing::TestWithParam<Case> {};

TEST_P(GraphConvert, IntegerGraphMatchesFakeQuantGraph) {
  const Case c = GetParam();
  const SyntheticDigits train(1024, 1), test(500, 2);
  auto net = residual_net(7);
  qg::testing::train_steps(*net, train, 30);

  auto qat = prepare_qat(*net, settings_for(c));
  // The BatchNorms inside the branches are folded into their convs, and the adds take their ReLUs.
  int adds = 0, concats = 0;
  for (const auto& layer : qat->layers()) {
    adds += dynamic_cast<const QAdd*>(layer.get()) != nullptr;
    concats += dynamic_cast<const QConcat*>(layer.get()) != nullptr;
    EXPECT_EQ(layer->type_name().find("QBatchNorm"), std::string::npos) << layer->describe();
  }
  EXPECT_EQ(adds, 2);
  EXPECT_EQ(concats, 1);
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
  int graph_ops = 0;
  for (const runtime::Node& node : model.ops)
    graph_ops +=
        std::holds_alternative<runtime::Add>(node.op()) || std::holds_alternative<runtime::Concat>(node.op());
  EXPECT_EQ(graph_ops, 3);
  // The relu6 after the concat is the op clip; the one after the side branch's conv is its output stage's
  // clamp; dropout is no op at all.
  int clips = 0;
  for (const runtime::Node& node : model.ops)
    clips += std::holds_alternative<runtime::Clip>(node.op());
  EXPECT_EQ(clips, 1);
  const QParams out = qat->layers().back()->output_point()->qparams();

  NoGradGuard no_grad;
  const std::vector<float> fake = (*qat)(test.images(0, test.size())).to_vector();
  const runtime::IntTensor codes = runtime::run(model, runtime::quantize_pixels(model, test.pixels));
  const std::vector<int64_t> predicted = runtime::predict(codes);
  ASSERT_EQ(static_cast<int64_t>(predicted.size()), test.size());
  int64_t same_class = 0, differing_codes = 0;
  for (int64_t i = 0; i < test.size(); ++i) {
    int64_t fake_best = 0;
    for (int64_t k = 0; k < 10; ++k) {
      const float v = fake[static_cast<size_t>(i * 10 + k)];
      if (v > fake[static_cast<size_t>(i * 10 + fake_best)]) fake_best = k;
      const int32_t fake_code = static_cast<int32_t>(std::nearbyint(v / out.scale[0])) + out.zero_point[0];
      differing_codes += fake_code != codes.data[static_cast<size_t>(i * 10 + k)];
    }
    same_class += fake_best == predicted[static_cast<size_t>(i)];
  }
  EXPECT_GE(static_cast<double>(same_class) / test.size(), 0.999);
  EXPECT_EQ(differing_codes, 0) << "the fake-quant graph rounds exactly as the integer graph";
}

INSTANTIATE_TEST_SUITE_P(Methods, GraphConvert,
                         ::testing::Values(Case{QatMethod::Tutorial, 8, false},
                                           Case{QatMethod::Tutorial, 8, true}, Case{QatMethod::Ema, 8, true},
                                           Case{QatMethod::Lsq, 8, true}, Case{QatMethod::Lsq, 4, true},
                                           Case{QatMethod::Lsq, 2, true},
                                           Case{QatMethod::Tutorial, 4, false}),
                         Name);

TEST(GraphPrepare, ABatchNormWhoseConvAlsoFeedsAnotherLayerIsNotFolded) {
  using namespace nn;
  Generator gen(1);
  Graph g;
  g.add(conv(1, 4, 3, 1, gen));             // 0, read by 1 and by 3
  g.add(std::make_shared<BatchNorm2d>(4));  // 1
  g.add(std::make_shared<ReLU>());          // 2
  g.add(std::make_shared<Add>(), {2, 0});   // 3
  g.add(std::make_shared<GlobalAvgPool2d>());
  g.add(std::make_shared<Flatten>());
  g.add(std::make_shared<Linear>(4, 10, true, gen));
  const auto qat = prepare_qat(g, QuantSettings{});
  EXPECT_EQ(qat->layers()[0]->type_name(), "QConv2d");
  EXPECT_EQ(qat->layers()[1]->type_name(), "QBatchNorm2d");
  EXPECT_EQ(qat->inputs(3), (std::vector<int64_t>{2, 0}));
}

TEST(GraphPrepare, RefusesAnAddOfTheFloatInputAndTwoReadersOfTheInput) {
  using namespace nn;
  Generator gen(1);
  Graph g;
  g.add(conv(1, 1, 3, 1, gen));
  g.add(std::make_shared<Add>(), {0, Graph::kGraphInput});
  g.add(std::make_shared<Flatten>());
  try {
    prepare_qat(g, QuantSettings{});
    ADD_FAILURE() << "two readers of the model input were accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("2 layers read the model input"), std::string::npos) << e.what();
  }
  Graph h;
  h.add(std::make_shared<ReLU>());
  h.add(conv(1, 1, 3, 1, gen), {0});
  h.add(std::make_shared<ReLU>(), {0});
  EXPECT_THROW(prepare_qat(h, QuantSettings{}), std::invalid_argument);
}

}  // namespace
}  // namespace qg::quant
