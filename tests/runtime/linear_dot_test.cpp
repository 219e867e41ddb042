// The dot-product linear layer (linear_dot.h), bit-exact (EXPECT_EQ) with linear_reference:
//  * in every instruction set this CPU runs (AVX-512 VNNI, AVX2, portable), on random layers (odd feature
//    counts, 1- to 8-bit signed and unsigned weights per tensor and per channel, with and without bias,
//    fused ReLU and the clamps of narrow outputs), random numbers of samples (1 to 40: partial vectors of
//    16), both requantization modes;
//  * on 784- and 1024-wide 8-bit layers fed the extreme input codes;
//  * after an op's weights change in place (the packed-weight cache must notice);
//  * through run(): multi-layer perceptrons on every batch size around the block sizes and 1 to 3 threads,
//    against run() with the reference kernels.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "random_models.h"
#include "runtime/accumulator_bound.h"
#include "runtime/ops/linear_dot.h"
#include "runtime/run.h"

namespace qg::runtime {
namespace {

using testing::LayerBits;

// linear_reference on each of the `samples` samples of `input`.
std::vector<int32_t> reference_outputs(const Linear& op, int64_t samples, const std::vector<int32_t>& input,
                                       RequantMode mode) {
  std::vector<int32_t> out(static_cast<size_t>(samples * op.out_features));
  for (int64_t n = 0; n < samples; ++n) {
    linear_reference(op,
                     std::span(input).subspan(static_cast<size_t>(n * op.in_features),
                                              static_cast<size_t>(op.in_features)),
                     std::span(out).subspan(static_cast<size_t>(n * op.out_features),
                                            static_cast<size_t>(op.out_features)),
                     mode);
  }
  return out;
}

// linear_dot in every instruction set and both modes against the reference; returns how many outputs were
// not all equal (a check that the case tested something).
int expect_every_isa_exact(const Linear& op, int64_t samples, const std::vector<int32_t>& input,
                           Scratch& scratch) {
  int varied = 0;
  for (const RequantMode mode : {RequantMode::Integer, RequantMode::FloatReference}) {
    const std::vector<int32_t> expected = reference_outputs(op, samples, input, mode);
    varied += testing::distinct_values(expected) > 1 ? 1 : 0;
    for (const int8::Isa isa : int8::available_isas()) {
      std::vector<int32_t> actual(expected.size(), -12345);
      linear_dot(op, samples, input, actual, mode, scratch, isa);
      EXPECT_EQ(actual, expected) << int8::isa_name(isa) << ", " << samples << " samples, " << op.in_features
                                  << " -> " << op.out_features << ", " << op.weight.bits << "-bit "
                                  << (op.weight.is_signed ? "signed" : "unsigned") << " weights"
                                  << (mode == RequantMode::Integer ? "" : ", float reference");
    }
  }
  return varied;
}

TEST(LinearDotPath, BitExactWithReferenceInEveryInstructionSet) {
  std::mt19937 rng(41);
  std::uniform_int_distribution<int64_t> in_features(1, 300), out_features(1, 40), samples_of(1, 40);
  std::uniform_int_distribution<int> bits(1, 8);
  std::bernoulli_distribution coin(0.5);
  Scratch scratch;
  int varied = 0, cases = 0, odd = 0, per_channel = 0;
  for (int i = 0; i < 150; ++i) {
    const QuantParams input = testing::random_activation_quant(rng, bits(rng), coin(rng));
    const Linear op = testing::random_linear(rng, input, in_features(rng), out_features(rng),
                                             testing::random_layer_bits(rng));
    ASSERT_TRUE(linear_dot_applies(op));
    const int64_t samples = samples_of(rng);
    odd += op.in_features % 4 != 0 ? 1 : 0;
    per_channel += op.weight.per_channel() ? 1 : 0;
    varied += expect_every_isa_exact(op, samples, testing::random_codes(rng, samples * op.in_features, input),
                                     scratch);
    cases += 2;
  }
  EXPECT_GT(odd, 75);
  EXPECT_GT(per_channel, 40);
  EXPECT_GT(varied, cases / 2);
}

TEST(LinearDotPath, WideLayersOnExtremeInputs) {
  std::mt19937 rng(42);
  Scratch scratch;
  for (const int64_t in_features : {784, 1024}) {
    for (const bool per_channel : {false, true}) {
      const QuantParams input = testing::random_activation_quant(rng, 8, false);
      LayerBits b;
      b.per_channel = per_channel;
      const Linear op = testing::random_linear(rng, input, in_features, 64, b);
      check_accumulator_bound(in_features, input, op.weight, op.bias, "test");  // the kernels' precondition
      const int64_t samples = 17;
      std::vector<int32_t> codes = testing::random_codes(rng, samples * in_features, input);
      std::fill(codes.begin(), codes.begin() + in_features, input.qmin());  // sample 0: all lowest
      std::fill(codes.begin() + in_features, codes.begin() + 2 * in_features, input.qmax());  // 1: highest
      EXPECT_GT(expect_every_isa_exact(op, samples, codes, scratch), 0);
    }
  }
}

TEST(LinearDotPath, NoticesWeightsChangedInPlace) {
  std::mt19937 rng(43);
  Scratch scratch;  // keeps the packed weights of the ops it has seen, keyed by the op's address
  for (int i = 0; i < 10; ++i) {
    const QuantParams input = testing::random_activation_quant(rng, 8, false);
    Linear op = testing::random_linear(rng, input, 50 + i, 12, testing::random_layer_bits(rng));
    const int64_t samples = 9;
    const std::vector<int32_t> codes = testing::random_codes(rng, samples * op.in_features, input);
    std::vector<int32_t> before(static_cast<size_t>(samples * op.out_features));
    linear_dot(op, samples, codes, before, RequantMode::Integer, scratch, int8::best_isa());
    // Same op object, new weights and bias: the cache must not serve the old packing.
    const int32_t qmin = code_min(op.weight.bits, op.weight.is_signed);
    const int32_t qmax = code_max(op.weight.bits, op.weight.is_signed);
    for (auto& code : op.weight.codes)
      code = static_cast<int16_t>(qmin + qmax - code);
    for (auto& b : op.bias)
      b = -b;
    std::vector<int32_t> actual(before.size(), -12345);
    linear_dot(op, samples, codes, actual, RequantMode::Integer, scratch, int8::best_isa());
    EXPECT_EQ(actual, reference_outputs(op, samples, codes, RequantMode::Integer)) << "case " << i;
  }
}

// A 3-layer perceptron on a 1x16x20 input: flatten, linear (fused ReLU), linear (fused ReLU), linear. The first
// layer has 320 x 205 = 65600 weights, enough for run() to compute blocks of samples (kMinBlockedWeights).
Model mlp(std::mt19937& rng, const LayerBits& b) {
  Model model;
  model.input.shape = {1, 16, 20};
  model.input.quant = testing::random_quant(rng, 8, false);
  model.input.mean = {0.1307};
  model.input.stddev = {0.3081};
  LayerBits relu = b;
  relu.fused_relu = true;
  model.add(Flatten{});
  model.add(testing::random_linear(rng, model.output.quant, 320, 205, relu));
  model.add(testing::random_linear(rng, model.output.quant, 205, 20, relu));
  model.add(testing::random_linear(rng, model.output.quant, 20, 10, b));
  return model;
}

TEST(RunFastKernels, PerceptronsEqualTheReferenceOnAnyBatchAndThreadCount) {
  std::mt19937 rng(44);
  for (int i = 0; i < 6; ++i) {
    LayerBits b;
    b.weight_bits = 2 + i;
    b.weight_signed = i % 2 == 1;
    b.per_channel = i % 3 == 0;
    const Model model = mlp(rng, b);
    // Around the sizes where run() switches path (4 samples) and fills its blocks (16).
    for (const int64_t batch : {1, 3, 4, 5, 15, 16, 17, 40}) {
      const IntTensor input = testing::random_input(rng, model, batch);
      const IntTensor expected = run(model, input, {.kernels = KernelChoice::Reference});
      for (const int threads : {1, 2, 3}) {
        const IntTensor actual = run(model, input, {.threads = threads});
        ASSERT_EQ(actual.data, expected.data)
            << "model " << i << ", batch " << batch << ", " << threads << " threads";
      }
    }
  }
}

// What run() keeps per thread (qinfer's memory report): a perceptron large enough for blocks holds every
// buffer for 16 samples; a conv fused with its 2x2 max pool never stores the conv's full-size output; the
// reference kernels do neither.
TEST(RunBuffers, CountBlocksAndFusedSteps) {
  std::mt19937 rng(45);
  const Model perceptron = mlp(rng, LayerBits{});
  const ModelPlan perceptron_plan = plan_model(perceptron);
  const RunBuffers blocked = run_buffers(perceptron);
  EXPECT_EQ(blocked.samples_per_block, 16);
  EXPECT_EQ(blocked.buffers, perceptron_plan.buffers.buffers());
  EXPECT_EQ(blocked.bytes, 16 * perceptron_plan.buffers.bytes());
  const RunBuffers reference = run_buffers(perceptron, {.kernels = KernelChoice::Reference});
  EXPECT_EQ(reference.samples_per_block, 1);
  EXPECT_EQ(reference.bytes, perceptron_plan.buffers.bytes());

  const Model cnn = testing::small_cnn(rng, LayerBits{});  // conv (4 x 9 x 9) then 2x2 max pool: fused
  const ModelPlan cnn_plan = plan_model(cnn);
  const RunBuffers fused = run_buffers(cnn);
  EXPECT_EQ(fused.samples_per_block, 1);
  EXPECT_LT(fused.bytes, cnn_plan.buffers.bytes());
  EXPECT_EQ(run_buffers(cnn, {.kernels = KernelChoice::Reference}).bytes, cnn_plan.buffers.bytes());
}

}  // namespace
}  // namespace qg::runtime
