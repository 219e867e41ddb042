// learnable_run_sums (quant/learnable_gradients.h), the chunked, laned and threaded sums of a learnable
// quantizer's backward pass, against learnable_run_sums_reference, the plain loop in index order: bit for bit
// on data whose every partial sum is exact in double (so any difference is a wrong index, lane or chunk), to
// rounding on random data, and bit for bit across thread counts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/parallel.h"
#include "quant/learnable_gradients.h"

namespace qg::quant {
namespace {

struct Data {
  std::vector<float> grad, x, x_hat, in_range;
  std::vector<LearnableRun> runs;

  LearnableBackwardInputs inputs() const {
    return {grad.data(), x.data(), x_hat.data(), in_range.data(), static_cast<int64_t>(grad.size())};
  }
};

// Runs of these sizes, back to back, each with its own step size: empty, shorter than the eight lanes, whole
// and partial vectors, and one, two and three chunks with and without a tail.
const std::vector<int64_t> kSizes = {0,
                                     1,
                                     7,
                                     8,
                                     9,
                                     63,
                                     kLearnableChunk - 1,
                                     kLearnableChunk,
                                     kLearnableChunk + 1,
                                     2 * kLearnableChunk + 13,
                                     3 * kLearnableChunk};

// exact: values on a grid of 1/64 in [-4, 4] and step sizes that are powers of two, so every product is a
// multiple of 2^-18 below 2^10 and every sum of the runs above is exact in double.
Data make_data(bool exact, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> grid(-256, 256);
  std::uniform_real_distribution<float> uniform(-4.0f, 4.0f);
  const auto value = [&] { return exact ? static_cast<float>(grid(gen)) / 64.0f : uniform(gen); };
  const float scales[] = {0.25f, 0.5f, 1.0f, 2.0f};
  Data d;
  int64_t begin = 0;
  for (size_t r = 0; r < kSizes.size(); ++r) {
    const float s = exact ? scales[r % 4] : 0.01f + 0.3f * static_cast<float>(r);
    d.runs.push_back({begin, kSizes[r], s});
    begin += kSizes[r];
  }
  for (int64_t i = 0; i < begin; ++i) {
    d.grad.push_back(value());
    d.x.push_back(value());
    d.x_hat.push_back(value());
    d.in_range.push_back(gen() % 3 == 0 ? 0.0f : 1.0f);
  }
  return d;
}

struct Result {
  std::vector<float> dx;
  std::vector<LearnableSums> sums;
};

Result fast(const Data& d, int threads) {
  const int saved = parallel::num_threads();
  parallel::set_num_threads(threads);
  Result r;
  r.dx.assign(d.grad.size(), std::numeric_limits<float>::quiet_NaN());
  r.sums = learnable_run_sums(d.inputs(), d.runs, r.dx.data());
  parallel::set_num_threads(saved);
  return r;
}

Result reference(const Data& d) {
  Result r;
  r.dx.assign(d.grad.size(), std::numeric_limits<float>::quiet_NaN());
  r.sums = learnable_run_sums_reference(d.inputs(), d.runs, r.dx.data());
  return r;
}

TEST(LearnableGradients, EqualsTheReferenceBitForBitWhenTheSumsAreExact) {
  const Data d = make_data(true, 1);
  const Result got = fast(d, 2), want = reference(d);
  EXPECT_EQ(got.dx, want.dx);
  ASSERT_EQ(got.sums.size(), d.runs.size());
  for (size_t r = 0; r < d.runs.size(); ++r) {
    EXPECT_EQ(got.sums[r].ds, want.sums[r].ds) << "run " << r << " of " << d.runs[r].size;
    EXPECT_EQ(got.sums[r].dz, want.sums[r].dz) << "run " << r << " of " << d.runs[r].size;
  }
  // The data is not trivial: the big runs have sums of both kinds that are not zero.
  EXPECT_NE(want.sums.back().ds, 0.0);
  EXPECT_NE(want.sums.back().dz, 0.0);
}

TEST(LearnableGradients, EqualsTheReferenceToRoundingOnRandomData) {
  const Data d = make_data(false, 2);
  const Result got = fast(d, 2), want = reference(d);
  EXPECT_EQ(got.dx, want.dx);  // dx is a copy or a zero: no rounding
  for (size_t r = 0; r < d.runs.size(); ++r) {
    // Each term is at most 8 * 8 / s in size; double sums of up to 3 chunks' terms agree to 1e-12 of that.
    const double bound = 1e-12 * 64.0 / d.runs[r].scale * static_cast<double>(d.runs[r].size + 1);
    EXPECT_NEAR(got.sums[r].ds, want.sums[r].ds, bound) << "run " << r;
    EXPECT_NEAR(got.sums[r].dz, want.sums[r].dz, bound) << "run " << r;
  }
}

TEST(LearnableGradients, DoesNotDependOnTheThreadCount) {
  const Data d = make_data(false, 3);
  const Result one = fast(d, 1);
  for (const int threads : {2, 3}) {
    const Result other = fast(d, threads);
    EXPECT_EQ(other.dx, one.dx) << threads << " threads";
    for (size_t r = 0; r < d.runs.size(); ++r) {
      EXPECT_EQ(other.sums[r].ds, one.sums[r].ds) << threads << " threads, run " << r;
      EXPECT_EQ(other.sums[r].dz, one.sums[r].dz) << threads << " threads, run " << r;
    }
  }
}

TEST(LearnableGradients, ClampedElementsDoNotReadTheirInput) {
  // Where a value was clamped, dx̂/ds = x̂ / s does not involve x: an infinite x there (an exploding
  // activation, clamped to qmax) leaves the sums finite, in the vector body and in the tail alike.
  Data d = make_data(true, 4);
  for (size_t i = 0; i < d.x.size(); ++i) {
    if (d.in_range[i] == 0.0f) d.x[i] = std::numeric_limits<float>::infinity();
  }
  const Result got = fast(d, 2), want = reference(d);
  for (size_t r = 0; r < d.runs.size(); ++r) {
    EXPECT_TRUE(std::isfinite(got.sums[r].ds)) << "run " << r;
    EXPECT_EQ(got.sums[r].ds, want.sums[r].ds) << "run " << r;
    EXPECT_EQ(got.sums[r].dz, want.sums[r].dz) << "run " << r;
  }
}

}  // namespace
}  // namespace qg::quant
