#include <gtest/gtest.h>

#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "nn/layers.h"
#include "quant/bn_fold.h"

namespace qg::quant {
namespace {

TEST(BnFold, FoldedConvEqualsConvThenBatchNormInEval) {
  Generator gen(21);
  nn::Conv2d conv(3, 6, 3, {1, 1, 1, 1}, true, gen);
  nn::BatchNorm2d bn(6);
  bn.running_mean.copy_from(Tensor::uniform({6}, -1.0f, 1.0f, gen));
  bn.running_var.copy_from(Tensor::uniform({6}, 0.2f, 3.0f, gen));
  bn.weight.copy_from(Tensor::uniform({6}, 0.5f, 2.0f, gen));
  bn.bias.copy_from(Tensor::uniform({6}, -1.0f, 1.0f, gen));
  conv.eval();
  bn.eval();
  NoGradGuard no_grad;
  const Tensor x = Tensor::randn({4, 3, 9, 9}, gen);
  const std::vector<float> expected = bn(conv(x)).to_vector();
  const FoldedConv f =
      fold_batch_norm(conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.weight, bn.bias, bn.eps);
  const std::vector<float> folded = nn::functional::conv2d(x, f.weight, f.bias, conv.options).to_vector();
  ASSERT_EQ(folded.size(), expected.size());
  double max_diff = 0;
  for (size_t i = 0; i < folded.size(); ++i)
    max_diff = std::max(max_diff, double(std::abs(folded[i] - expected[i])));
  EXPECT_LT(max_diff, 1e-5) << "max |folded - conv+bn| = " << max_diff;
}

TEST(BnFold, WorksWithoutConvBias) {
  const Tensor w = Tensor::ones({2, 1, 1, 1}), mean = Tensor::from_vector({1, 2}, {2});
  const Tensor var = Tensor::from_vector({4, 9}, {2});
  const FoldedConv f = fold_batch_norm(w, Tensor(), mean, var, Tensor(), Tensor(), 0.0f);
  EXPECT_EQ(f.weight.to_vector(), (std::vector<float>{0.5f, 1.0f / 3.0f}));
  EXPECT_EQ(f.bias.to_vector(), (std::vector<float>{-0.5f, -2.0f / 3.0f}));
}

TEST(BnFold, GradientsFlowToWeightBiasGammaAndBeta) {
  Generator gen(4);
  const Tensor mean = Tensor::uniform({3}, -1, 1, gen), var = Tensor::uniform({3}, 0.5f, 2, gen);
  std::vector<Tensor> inputs{Tensor::randn({3, 2, 1, 1}, gen).set_requires_grad(true),
                             Tensor::randn({3}, gen).set_requires_grad(true),
                             Tensor::uniform({3}, 0.5f, 2, gen).set_requires_grad(true),
                             Tensor::randn({3}, gen).set_requires_grad(true)};
  const auto weight_then_bias = [&](const std::vector<Tensor>& v) {
    const FoldedConv f = fold_batch_norm(v[0], v[1], mean, var, v[2], v[3], 1e-5f);
    return add(sum(f.weight, {1, 2, 3}), f.bias);
  };
  const GradcheckResult r = gradcheck(weight_then_bias, inputs);
  EXPECT_TRUE(r.ok) << r.message;
}

}  // namespace
}  // namespace qg::quant
