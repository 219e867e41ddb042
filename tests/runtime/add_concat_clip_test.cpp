// The ops of graphs (issue 12): add, concat and clip. Hand-computed cases, the scalar functions add_code and
// concat_code against double precision over every pair or every code of many quantizations (at most one code
// apart), both kernels of each op equal to the scalar function on every element, their validation, and
// global average pooling as avg_pool2d with the whole image as its window.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "error_text.h"
#include "random_models.h"
#include "runtime/op.h"

namespace qg::runtime {
namespace {

using testing::contains;
using testing::error_of;

// zero + round(x), x rounded half away from zero (as the ops round before adding the zero point), clamped to
// [lo, hi]: what the ops' one rounding aims at.
int32_t rounded_code(int32_t zero, double x, int32_t lo, int32_t hi) {
  return static_cast<int32_t>(std::clamp<double>(zero + std::round(x), lo, hi));
}

// The real sum of two codes, as an output code computed in double precision.
int32_t add_in_double(int32_t a, int32_t b, const QuantParams& qa, const QuantParams& qb,
                      const QuantParams& out, int32_t lo, int32_t hi) {
  const double real = qa.scale * (a - qa.zero_point) + qb.scale * (b - qb.zero_point);
  return rounded_code(out.zero_point, real / out.scale, lo, hi);
}

// op_output of a brace-initialized list of activations.
Activation output_of(const Op& op, const std::vector<Activation>& inputs) {
  return op_output(op, inputs);
}

std::vector<int32_t> every_code(const QuantParams& q) {
  std::vector<int32_t> codes;
  for (int32_t c = q.qmin(); c <= q.qmax(); ++c)
    codes.push_back(c);
  return codes;
}

TEST(Add, HandComputedCaseWithTiesAndAFusedReLU) {
  // a: S 0.5, Z 10; b: S 0.25, Z 100; out: S 1, Z 5. twice_max = 1, M_a = 1/2, M_b = 1/4, M_out = 2^-20.
  const QuantParams qa{0.5, 10, 8, false}, qb{0.25, 100, 8, false}, out{1.0, 5, 8, false};
  const AddParams p = make_add_params(qa, qb, out, 0, 255);
  EXPECT_EQ(p.input_multipliers[0], (QuantizedMultiplier{1 << 30, 0}));   // 0.5
  EXPECT_EQ(p.input_multipliers[1], (QuantizedMultiplier{1 << 30, -1}));  // 0.25
  EXPECT_EQ(p.output_multiplier, (QuantizedMultiplier{1 << 30, -19}));    // 2^-20
  // 2 + 2 = 4 -> 9; -2 + 0 -> 3; 0.5 + 0 -> 1 (a tie, away from zero) -> 6; -0.5 -> -1 -> 4.
  EXPECT_EQ(add_code(14, 108, p), 9);
  EXPECT_EQ(add_code(6, 100, p), 3);
  EXPECT_EQ(add_code(11, 100, p), 6);
  EXPECT_EQ(add_code(9, 100, p), 4);
  EXPECT_EQ(add_code(255, 255, p), 166) << "122.5 + 38.75 = 161.25";
  EXPECT_EQ(add_code(255, 255, make_add_params(qa, qb, {0.5, 5, 8, false}, 0, 255)), 255)
      << "322.5 saturates";
  const AddParams relu = make_add_params(qa, qb, out, out.zero_point, 255);
  EXPECT_EQ(add_code(6, 100, relu), 5) << "a negative sum clamps at Z_out: a fused ReLU";
  EXPECT_EQ(add_code(14, 108, relu), 9);
}

TEST(Add, WithinOneCodeOfDoublePrecisionOnEveryPair) {
  std::mt19937 rng(121);
  int64_t total = 0, exact = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const int bits = 2 + trial % 7;
    const QuantParams qa = testing::random_activation_quant(rng, bits, rng() % 2 == 0);
    const QuantParams qb = testing::nearby_quant(rng, qa, 2 + static_cast<int>(rng() % 7), rng() % 2 == 0);
    QuantParams out = testing::random_activation_quant(rng, bits, rng() % 2 == 0);
    // Output scales from a twentieth to 20 times the inputs' (coarse outputs clamp, fine ones round).
    out.scale =
        std::max(qa.scale, qb.scale) * std::exp(std::uniform_real_distribution<double>(-3.0, 3.0)(rng));
    const int32_t lo = trial % 3 == 0 ? out.zero_point : out.qmin();
    const AddParams p = make_add_params(qa, qb, out, lo, out.qmax());
    for (const int32_t a : every_code(qa)) {
      for (const int32_t b : every_code(qb)) {
        const int32_t code = add_code(a, b, p), expected = add_in_double(a, b, qa, qb, out, lo, out.qmax());
        ASSERT_LE(std::abs(code - expected), 1) << "trial " << trial << ", a " << a << ", b " << b;
        exact += code == expected;
        ++total;
      }
    }
  }
  std::cout << "add_code equals the double-precision code on " << exact << " of " << total << " pairs\n";
  EXPECT_GT(exact, total - total / 1000) << "off by one only next to a rounding tie";
}

// The ratio of input b's scale to input a's for a trial: either input the coarser, up to e^4 times, and every
// ninth trial extreme, so that the finer input's multiplier has the smallest shift (-31) or is {0, 0}.
double scale_ratio(std::mt19937& rng, int trial) {
  if (trial % 9 == 4) return std::ldexp(1.0, -32) * (trial % 2 == 0 ? 1.0 : 3.0);  // M_b 2^-33 or 1.5 * 2^-32
  if (trial % 9 == 8) return std::ldexp(1.0, 40);                                  // M_a 2^-41: {0, 0}
  return std::exp(std::uniform_real_distribution<double>(-4.0, 4.0)(rng));
}

// An output scale for inputs whose coarser scale is `coarse`: from a twentieth to 20 times it, sometimes
// 10^-7 times (round(a' + b') * M_out then leaves int32 and saturates) or 10^3 times (every sum is a few codes).
double output_scale(std::mt19937& rng, int trial, double coarse) {
  if (trial % 7 == 3) return coarse * 1e-7;
  if (trial % 7 == 5) return coarse * 1e3;
  return coarse * std::exp(std::uniform_real_distribution<double>(-3.0, 3.0)(rng));
}

// A clamp range inside the output codes: the whole range, a fused ReLU's [Z, qmax], or a random one.
std::pair<int32_t, int32_t> clamp_range(std::mt19937& rng, int trial, const QuantParams& out) {
  if (trial % 3 == 0) return {out.qmin(), out.qmax()};
  if (trial % 3 == 1) return {out.zero_point, out.qmax()};
  const int32_t lo = std::uniform_int_distribution<int32_t>(out.qmin(), out.qmax())(rng);
  return {lo, std::uniform_int_distribution<int32_t>(lo, out.qmax())(rng)};
}

TEST(Add, BothKernelsEqualAddCodeOnEveryElement) {
  std::mt19937 rng(122);
  Scratch scratch;
  for (int trial = 0; trial < 120; ++trial) {
    // Each input with its own bit width (2..8) and signedness, the output with a third; every fifth trial two
    // 8-bit inputs with their zero points at the ends of the range (a ReLU's output has Z = 0), so that
    // |code - Z| reaches its largest value, 255.
    QuantParams qa = testing::random_activation_quant(rng, 2 + static_cast<int>(rng() % 7), rng() % 2 == 0);
    QuantParams qb = testing::random_activation_quant(rng, 2 + static_cast<int>(rng() % 7), rng() % 2 == 0);
    if (trial % 5 == 0) {
      qa = {qa.scale, qa.is_signed ? -128 : 0, 8, qa.is_signed};
      qb = {qb.scale, qb.is_signed ? 127 : 255, 8, qb.is_signed};
    }
    qb.scale = qa.scale * scale_ratio(rng, trial);
    QuantParams out = testing::random_activation_quant(rng, 2 + static_cast<int>(rng() % 7), rng() % 2 == 0);
    out.scale = output_scale(rng, trial, std::max(qa.scale, qb.scale));
    const auto [lo, hi] = clamp_range(rng, trial, out);
    const Add op = Add::make(qa, qb, out, lo, hi);
    // Every pair of codes, in an odd-sized tensor (the vectorised loop's tail is used too).
    std::vector<int32_t> a, b;
    for (const int32_t x : every_code(qa)) {
      for (const int32_t y : every_code(qb)) {
        a.push_back(x);
        b.push_back(y);
      }
    }
    a.push_back(qa.qmax());
    b.push_back(qb.qmin());
    std::vector<int32_t> expected(a.size()), reference(a.size()), fast(a.size());
    for (size_t i = 0; i < a.size(); ++i)
      expected[i] = add_code(a[i], b[i], op.params);
    const Dims shape{static_cast<int64_t>(a.size())};
    const std::vector<Activation> inputs{{shape, qa}, {shape, qb}};
    ASSERT_EQ(op_output(op, inputs).shape, shape);
    const std::vector<std::span<const int32_t>> values{a, b};
    op_forward(op, inputs, values, reference, {.kernels = KernelChoice::Reference, .scratch = scratch});
    op_forward(op, inputs, values, fast, {.kernels = KernelChoice::Fast, .scratch = scratch});
    ASSERT_EQ(reference, expected) << "trial " << trial;
    ASSERT_EQ(fast, expected) << "trial " << trial << ": " << quant_to_string(qa) << " + "
                              << quant_to_string(qb) << " -> " << quant_to_string(out) << ", clamp [" << lo
                              << ", " << hi << "]";
  }
}

TEST(Add, Int32RescaleEqualsAddRescaledInputOnEveryCodeDistance) {
  // Every shift an input multiplier can have (M <= 1/2: shift -31..0), its smallest, largest and random
  // multipliers, and the zero multiplier {0, 0}; every d = code - Z an input can have (|d| <= 255).
  std::mt19937 rng(124);
  std::vector<QuantizedMultiplier> multipliers{{0, 0}};
  for (int shift = kMinMultiplierShift; shift <= 0; ++shift) {
    for (const int32_t m : {int32_t{1} << 30, (int32_t{1} << 30) + 1, std::numeric_limits<int32_t>::max()})
      multipliers.push_back({m, shift});
    for (int trial = 0; trial < 30; ++trial)
      multipliers.push_back(
          {std::uniform_int_distribution<int32_t>(int32_t{1} << 30, std::numeric_limits<int32_t>::max())(rng),
           shift});
  }
  int64_t compared = 0;
  for (const QuantizedMultiplier& m : multipliers) {
    AddParams p;
    const size_t k = compared % 2;  // both inputs' slots
    p.input_zero_points[k] = std::uniform_int_distribution<int32_t>(-128, 255)(rng);
    p.input_multipliers[k] = m;
    const Int32Rescale rescale = make_int32_rescale(p, k);
    for (int32_t d = -kMaxCodeDistance; d <= kMaxCodeDistance; ++d) {
      const int32_t code = p.input_zero_points[k] + d;
      ASSERT_EQ(int32_rescaled_input(code, rescale), add_rescaled_input(code, k, p))
          << "multiplier " << m.multiplier << ", shift " << m.shift << ", d " << d;
      ++compared;
    }
  }
  EXPECT_EQ(compared, static_cast<int64_t>(multipliers.size()) * (2 * kMaxCodeDistance + 1));
}

TEST(Add, FastKernelClampsCodesOutsideTheInputRange) {
  // No op produces such codes; the fast kernel must still stay defined (no int32 overflow) and reads them
  // as the code at distance 255 from the zero point on their side. The output grid is wide enough that no
  // sum below clamps, so a code read one step off would show.
  const QuantParams qa{0.5, 10, 8, false}, qb{0.25, 100, 8, false}, out{1.5, 128, 8, false};
  const AddParams p = make_add_params(qa, qb, out, out.qmin(), out.qmax());
  const auto nearest = [](int32_t code, int32_t zero) { return std::clamp(code, zero - 255, zero + 255); };
  for (const int32_t outside :
       {std::numeric_limits<int32_t>::min(), -1000, 5000, std::numeric_limits<int32_t>::max()}) {
    // `outside` as a, beside every code of b; then as b, beside every code of a.
    for (const int k : {0, 1}) {
      const std::vector<int32_t> codes = every_code(k == 0 ? qb : qa);
      const std::vector<int32_t> column(codes.size(), outside);
      const std::vector<int32_t>& a = k == 0 ? column : codes;
      const std::vector<int32_t>& b = k == 0 ? codes : column;
      std::vector<int32_t> fast(codes.size());
      add_fast(p, a, b, fast);
      for (size_t i = 0; i < codes.size(); ++i) {
        const int32_t expected = add_code(nearest(a[i], qa.zero_point), nearest(b[i], qb.zero_point), p);
        ASSERT_GT(expected, out.qmin());
        ASSERT_LT(expected, out.qmax());
        ASSERT_EQ(fast[i], expected) << "a " << a[i] << ", b " << b[i];
      }
    }
  }
}

TEST(Add, RefusesInconsistentInputsAndParameters) {
  const QuantParams qa{0.5, 10, 8, false}, qb{0.25, 100, 8, false}, out{1.0, 5, 8, false};
  const Add op = Add::make(qa, qb, out, 0, 255);
  const std::vector<Activation> good{{{2, 3, 3}, qa}, {{2, 3, 3}, qb}};
  ASSERT_NO_THROW(op_output(op, good));
  EXPECT_EQ(error_of([&] {
              output_of(op, {{{2, 3, 3}, qa}, {{2, 9}, qb}});
            }),
            "the inputs have different shapes [2,3,3] and [2,9] (add does not broadcast)");
  EXPECT_TRUE(contains(error_of([&] {
                         output_of(op, {{{2, 3, 3}, qb}, {{2, 3, 3}, qb}});
                       }),
                       "input 0 has scale 0.25, zero point 100"));
  EXPECT_EQ(error_of([&] { op_output(op, std::vector<Activation>{good[0]}); }), "takes 2 inputs but reads 1");
  EXPECT_TRUE(contains(error_of([&] { Add::make(qa, qb, out, 10, 5); }),
                       "clamp range [10, 5] is not an ordered range inside the output codes [0, 255]"));
  EXPECT_TRUE(contains(error_of([&] {
                         Add::make(qa, qb, {1e-20, 5, 8, false}, 0, 255);
                       }),
                       "the output scale 1e-20 is too small for the input scales 0.5 and 0.25"));
  Add stale = op;
  stale.input_quant[1].scale = 0.3;  // changed without remaking the fixed-point parameters
  EXPECT_TRUE(contains(error_of([&] {
                         output_of(stale, {{{2, 3, 3}, qa}, {{2, 3, 3}, stale.input_quant[1]}});
                       }),
                       "the fixed-point parameters do not match make_add_params"));
}

TEST(Concat, HandComputedCaseCopiesAndRequantizes) {
  // Input 0 has the output's quantization (copied); input 1 (S 0.5, Z 3) is requantized to (S 0.25, Z 10).
  const QuantParams out{0.25, 10, 8, false}, other{0.5, 3, 8, false};
  const Concat op = Concat::make({out, other}, out);
  EXPECT_TRUE(op.params[0].identity);
  EXPECT_FALSE(op.params[1].identity);
  EXPECT_EQ(op.params[1].multiplier, (QuantizedMultiplier{1 << 30, 2}));  // 2
  const std::vector<Activation> inputs{{{1, 1, 2}, out}, {{2, 1, 2}, other}};
  EXPECT_EQ(op_output(op, inputs).shape, (Dims{3, 1, 2}));
  const std::vector<int32_t> a{0, 255}, b{5, 3, 0, 255};
  std::vector<int32_t> output(6);
  Scratch scratch;
  const std::vector<std::span<const int32_t>> values{a, b};
  // 5 -> 10 + 2 * 2 = 14; 3 -> 10; 0 -> 10 - 6 = 4; 255 -> 10 + 504 clamps at 255.
  for (const KernelChoice kernels : {KernelChoice::Reference, KernelChoice::Fast}) {
    op_forward(op, inputs, values, output, {.kernels = kernels, .scratch = scratch});
    EXPECT_EQ(output, (std::vector<int32_t>{0, 255, 14, 10, 4, 255}));
  }
}

TEST(Concat, WithinOneCodeOfDoublePrecisionOnEveryCodeAndKernelsEqualConcatCode) {
  std::mt19937 rng(123);
  Scratch scratch;
  int64_t total = 0, exact = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const int bits = 2 + trial % 7;
    const int count = 2 + trial % 3;
    const QuantParams out = testing::random_activation_quant(rng, bits, rng() % 2 == 0);
    std::vector<QuantParams> quants;
    std::vector<Activation> inputs;
    std::vector<std::vector<int32_t>> codes;
    for (int k = 0; k < count; ++k) {
      QuantParams q = testing::nearby_quant(rng, out, 2 + static_cast<int>(rng() % 7), rng() % 2 == 0);
      if (trial % 5 == 0) q.scale = out.scale * std::exp(std::uniform_real_distribution<double>(-4, 4)(rng));
      quants.push_back(q);
      codes.push_back(every_code(q));
      inputs.push_back({{static_cast<int64_t>(codes.back().size())}, q});
    }
    const Concat op = Concat::make(quants, out);
    std::vector<int32_t> expected;
    for (int k = 0; k < count; ++k) {
      const QuantParams& q = quants[static_cast<size_t>(k)];
      for (const int32_t c : codes[static_cast<size_t>(k)]) {
        const int32_t code = concat_code(c, op.params[static_cast<size_t>(k)]);
        const int32_t ideal =
            rounded_code(out.zero_point, q.scale / out.scale * (c - q.zero_point), out.qmin(), out.qmax());
        ASSERT_LE(std::abs(code - ideal), 1) << "trial " << trial << ", input " << k << ", code " << c;
        if (q == out) {
          ASSERT_EQ(code, c) << "an input on the output's grid keeps its codes";
        }
        exact += code == ideal;
        ++total;
        expected.push_back(code);
      }
    }
    const Dims shape = op_output(op, inputs).shape;
    ASSERT_EQ(shape, (Dims{static_cast<int64_t>(expected.size())}));
    std::vector<std::span<const int32_t>> values(codes.begin(), codes.end());
    std::vector<int32_t> reference(expected.size()), fast(expected.size());
    op_forward(op, inputs, values, reference, {.kernels = KernelChoice::Reference, .scratch = scratch});
    op_forward(op, inputs, values, fast, {.kernels = KernelChoice::Fast, .scratch = scratch});
    ASSERT_EQ(reference, expected) << "trial " << trial;
    ASSERT_EQ(fast, expected) << "trial " << trial;
  }
  std::cout << "concat_code equals the double-precision code on " << exact << " of " << total << " codes\n";
  EXPECT_GT(exact, total - total / 1000);
}

TEST(Concat, RefusesMismatchedShapesAndQuantizations) {
  const QuantParams q{0.1, 0, 8, false};
  const Concat op = Concat::make({q, q}, q);
  EXPECT_EQ(output_of(op, {{{2, 4, 4}, q}, {{3, 4, 4}, q}}).shape, (Dims{5, 4, 4}));
  EXPECT_EQ(output_of(op, {{{2}, q}, {{3}, q}}).shape, (Dims{5}));
  EXPECT_EQ(
      error_of([&] {
        output_of(op, {{{2, 4, 4}, q}, {{3, 4, 5}, q}});
      }),
      "input 1 has shape [3,4,5], which does not match input 0's [2,4,4] outside the channel axis (dim 0)");
  EXPECT_EQ(
      error_of([&] {
        output_of(op, {{{2, 4, 4}, q}, {{32}, q}});
      }),
      "input 1 has shape [32], which does not match input 0's [2,4,4] outside the channel axis (dim 0)");
  EXPECT_EQ(error_of([&] {
              output_of(op, {{{2}, q}, {{3}, q}, {{4}, q}});
            }),
            "the op was built for 2 inputs but reads 3 values");
  EXPECT_EQ(error_of([&] {
              op_output(op, std::vector<Activation>{{{2}, q}});
            }),
            "takes 2 or more inputs but reads 1");
  EXPECT_TRUE(contains(error_of([&] {
                         output_of(op, {{{2}, q}, {{3}, {0.2, 0, 8, false}}});
                       }),
                       "input 1 has scale 0.2"));
  EXPECT_TRUE(contains(error_of([&] {
                         Concat::make({q, {1.0, 0, 8, false}}, {1e-10, 0, 8, false});  // S_1 / S_out = 1e10
                       }),
                       "input 1: quantize_multiplier: multiplier must be finite and in [0, 2^30)"));
}

TEST(Clip, ClampsCodesAndKeepsTheQuantization) {
  const QuantParams q{0.05, 20, 8, false};
  const Clip relu6{20, 140};  // [Z, Z + 6 / S]
  const Activation incoming{{5}, q};
  const Activation out = op_output(relu6, incoming);
  EXPECT_EQ(out.shape, incoming.shape);
  EXPECT_EQ(out.quant, q);
  const std::vector<int32_t> input{0, 19, 20, 100, 141, 255};
  std::vector<int32_t> output(input.size());
  Scratch scratch;
  op_forward(relu6, incoming, input, output, {.scratch = scratch});
  EXPECT_EQ(output, (std::vector<int32_t>{20, 20, 20, 100, 140, 140}));
  EXPECT_EQ(error_of([&] {
              op_output(Clip{30, 10}, incoming);
            }),
            "clamp range [30, 10] is not an ordered range inside the input codes [0, 255]");
  EXPECT_EQ(error_of([&] {
              op_output(Clip{-1, 10}, incoming);
            }),
            "clamp range [-1, 10] is not an ordered range inside the input codes [0, 255]");
}

// Global average pooling is avg_pool2d with kernel = stride = (H, W): [C, H, W] -> [C, 1, 1], each channel's
// mean of q - Z rounded half away from zero, the mean of the real values to within half a step.
TEST(AvgPool2d, GlobalAveragePoolingIsTheWholeImageAsTheWindow) {
  std::mt19937 rng(124);
  Scratch scratch;
  for (int trial = 0; trial < 50; ++trial) {
    const int64_t c = 1 + trial % 4, h = 1 + static_cast<int64_t>(rng() % 7),
                  w = 1 + static_cast<int64_t>(rng() % 7);
    const QuantParams q = testing::random_activation_quant(rng, 2 + trial % 7, trial % 2 == 0);
    const AvgPool2d pool{testing::window(1)};
    AvgPool2d global = pool;
    global.window.kernel = global.window.stride = {h, w};
    const Activation in{{c, h, w}, q};
    ASSERT_EQ(op_output(global, in).shape, (Dims{c, 1, 1}));
    const std::vector<int32_t> codes = testing::random_codes(rng, c * h * w, q);
    std::vector<int32_t> out(static_cast<size_t>(c));
    op_forward(global, in, codes, out, {.scratch = scratch});
    for (int64_t ch = 0; ch < c; ++ch) {
      double sum = 0, real = 0;
      for (int64_t i = ch * h * w; i < (ch + 1) * h * w; ++i) {
        sum += codes[static_cast<size_t>(i)] - q.zero_point;
        real += q.scale * (codes[static_cast<size_t>(i)] - q.zero_point);
      }
      const double mean = sum / static_cast<double>(h * w);  // exact for these sizes, ties included
      ASSERT_EQ(out[static_cast<size_t>(ch)], q.zero_point + static_cast<int32_t>(std::round(mean)))
          << "trial " << trial << ", channel " << ch;
      ASSERT_LE(std::abs(q.scale * (out[static_cast<size_t>(ch)] - q.zero_point) -
                         real / static_cast<double>(h * w)),
                q.scale * (0.5 + 1e-9));
    }
  }
}

}  // namespace
}  // namespace qg::runtime
