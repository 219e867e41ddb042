#include "quant/learnable_gradients.h"

#include <algorithm>
#include <cassert>

#include "core/parallel.h"
#include "core/simd.h"

namespace qg::quant {

namespace {

using simd::Float8;
using Double8 = double __attribute__((vector_size(64)));
using Int8 = int32_t __attribute__((vector_size(32)));
using Long8 = int64_t __attribute__((vector_size(64)));

// One element: writes dx[i] and adds its terms to ds and dz, exactly as the reference loop does. Subtracting
// 0.0 from dz for an element in range leaves dz unchanged bit for bit (also -0.0 and NaN), so the loop has no
// branch on the mask (at 2-3 bits a large share of values is clamped, in no pattern a predictor can follow).
[[gnu::always_inline]] inline void add_element(const LearnableBackwardInputs& in, int64_t i, float s,
                                               float* dx, double& ds, double& dz) {
  const bool inside = in.in_range[i] != 0.0f;
  const float g = in.grad[i];
  dx[i] = inside ? g : 0.0f;
  const float step_grad = inside ? (in.x_hat[i] - in.x[i]) / s : in.x_hat[i] / s;  // dx̂/ds
  ds += static_cast<double>(g) * static_cast<double>(step_grad);
  dz -= inside ? 0.0 : static_cast<double>(g) * static_cast<double>(s);  // dx̂/dz = -s where clamped
}

// One chunk [begin, begin + size) in eight double lanes, then its tail in order (learnable_gradients.h).
// The same operations as add_element on eight elements at once: (x̂ − 0) / s is x̂ / s bit for bit.
QG_SIMD_CLONES LearnableSums chunk_sums(const LearnableBackwardInputs& in, int64_t begin, int64_t size,
                                        float s, float* dx) {
  Double8 ds_lanes = {}, dz_lanes = {};
  const Double8 s_lanes = Double8{} + static_cast<double>(s);
  const int64_t whole = size / 8 * 8;
  for (int64_t i = begin; i < begin + whole; i += 8) {
    const Float8 g = simd::load8(in.grad + i);
    const Int8 inside = simd::load8(in.in_range + i) != 0.0f;  // -1 inside, 0 where clamped
    simd::store8(dx + i, inside ? g : Float8{});
    const Float8 step_grad = (simd::load8(in.x_hat + i) - (inside ? simd::load8(in.x + i) : Float8{})) / s;
    const Double8 g_wide = __builtin_convertvector(g, Double8);
    ds_lanes += g_wide * __builtin_convertvector(step_grad, Double8);
    dz_lanes -= __builtin_convertvector(inside, Long8) ? Double8{} : g_wide * s_lanes;
  }
  LearnableSums sums;
  sums.ds = ((ds_lanes[0] + ds_lanes[1]) + (ds_lanes[2] + ds_lanes[3])) +
            ((ds_lanes[4] + ds_lanes[5]) + (ds_lanes[6] + ds_lanes[7]));
  sums.dz = ((dz_lanes[0] + dz_lanes[1]) + (dz_lanes[2] + dz_lanes[3])) +
            ((dz_lanes[4] + dz_lanes[5]) + (dz_lanes[6] + dz_lanes[7]));
  for (int64_t i = begin + whole; i < begin + size; ++i)
    add_element(in, i, s, dx, sums.ds, sums.dz);
  return sums;
}

int64_t chunks_of(const LearnableRun& run) {
  return (run.size + kLearnableChunk - 1) / kLearnableChunk;
}

[[maybe_unused]] bool runs_fit(const LearnableBackwardInputs& in, std::span<const LearnableRun> runs) {
  return std::all_of(runs.begin(), runs.end(), [&](const LearnableRun& run) {
    return run.begin >= 0 && run.size >= 0 && run.begin + run.size <= in.n;
  });
}

}  // namespace

std::vector<LearnableSums> learnable_run_sums(const LearnableBackwardInputs& in,
                                              std::span<const LearnableRun> runs, float* dx) {
  assert(runs_fit(in, runs));
  // Chunk k of the whole list: first[r] is the number of chunks before run r.
  std::vector<int64_t> first(runs.size() + 1, 0);
  for (size_t r = 0; r < runs.size(); ++r)
    first[r + 1] = first[r] + chunks_of(runs[r]);
  std::vector<LearnableSums> chunk(static_cast<size_t>(first.back()));
  std::vector<size_t> run_of(chunk.size());
  for (size_t r = 0; r < runs.size(); ++r) {
    for (int64_t k = first[r]; k < first[r + 1]; ++k)
      run_of[static_cast<size_t>(k)] = r;
  }
  parallel::parallel_for(first.back(), [&](int64_t k) {
    const size_t r = run_of[static_cast<size_t>(k)];
    const int64_t offset = (k - first[r]) * kLearnableChunk;
    const int64_t size = std::min(kLearnableChunk, runs[r].size - offset);
    chunk[static_cast<size_t>(k)] = chunk_sums(in, runs[r].begin + offset, size, runs[r].scale, dx);
  });
  std::vector<LearnableSums> sums(runs.size());
  for (size_t r = 0; r < runs.size(); ++r) {
    for (int64_t k = first[r]; k < first[r + 1]; ++k) {  // in chunk order
      sums[r].ds += chunk[static_cast<size_t>(k)].ds;
      sums[r].dz += chunk[static_cast<size_t>(k)].dz;
    }
  }
  return sums;
}

std::vector<LearnableSums> learnable_run_sums_reference(const LearnableBackwardInputs& in,
                                                        std::span<const LearnableRun> runs, float* dx) {
  assert(runs_fit(in, runs));
  std::vector<LearnableSums> sums(runs.size());
  for (size_t r = 0; r < runs.size(); ++r) {
    for (int64_t i = runs[r].begin; i < runs[r].begin + runs[r].size; ++i)
      add_element(in, i, runs[r].scale, dx, sums[r].ds, sums[r].dz);
  }
  return sums;
}

}  // namespace qg::quant
