#include "core/batch_reduction.h"

#include <cassert>
#include <utility>
#include <vector>

namespace qg::batch_reduction {

namespace {

bool g_split_invariant = false;
const CrossProcessSum* g_cross_process_sum = nullptr;

// S(first, first + count) of the halving tree, left in partial `first`.
template <class T>
void tree_sum_range(T* partials, int64_t first, int64_t count, int64_t size) {
  if (count == 1) return;
  const int64_t left = count / 2;
  tree_sum_range(partials, first, left, size);
  tree_sum_range(partials, first + left, count - left, size);
  T* __restrict out = partials + first * size;
  const T* __restrict right = partials + (first + left) * size;
  for (int64_t i = 0; i < size; ++i)
    out[i] += right[i];
}

// S(first, first + count) into out, leaves from `leaf`; scratch[d] is the buffer of tree depth d.
template <class T, class Leaf>
void tree_sum_depth_first(int64_t first, int64_t count, int64_t size, const Leaf& leaf, T* out,
                          std::vector<std::vector<T>>& scratch, size_t depth) {
  if (count == 1) {
    leaf(first, out);
    return;
  }
  const int64_t left = count / 2;
  tree_sum_depth_first(first, left, size, leaf, out, scratch, depth + 1);
  T* right = scratch[depth].data();  // scratch is sized up front: deeper calls never reallocate it
  tree_sum_depth_first(first + left, count - left, size, leaf, right, scratch, depth + 1);
  for (int64_t i = 0; i < size; ++i)
    out[i] += right[i];
}

template <class T>
void tree_sum_of_any(int64_t count, int64_t size, const std::function<void(int64_t, T*)>& leaf, T* out) {
  assert(count >= 1);
  size_t depth = 0;  // of the tree: the larger half has ceil(count / 2) leaves
  for (int64_t n = count; n > 1; n = (n + 1) / 2)
    ++depth;
  std::vector<std::vector<T>> scratch(depth, std::vector<T>(static_cast<size_t>(size)));
  tree_sum_depth_first(0, count, size, leaf, out, scratch, 0);
}

}  // namespace

void tree_sum_of(int64_t count, int64_t size, const std::function<void(int64_t, float*)>& leaf, float* out) {
  tree_sum_of_any(count, size, leaf, out);
}
void tree_sum_of(int64_t count, int64_t size, const std::function<void(int64_t, double*)>& leaf,
                 double* out) {
  tree_sum_of_any(count, size, leaf, out);
}

bool split_invariant() {
  return g_split_invariant;
}

ScopedSplitInvariant::ScopedSplitInvariant(bool on) : previous_(g_split_invariant) {
  g_split_invariant = on;
}
ScopedSplitInvariant::~ScopedSplitInvariant() {
  g_split_invariant = previous_;
}

void tree_sum(float* partials, int64_t count, int64_t size) {
  assert(count >= 1);
  tree_sum_range(partials, 0, count, size);
}
void tree_sum(double* partials, int64_t count, int64_t size) {
  assert(count >= 1);
  tree_sum_range(partials, 0, count, size);
}

ScopedCrossProcessSum::ScopedCrossProcessSum(const CrossProcessSum* sum) : previous_(g_cross_process_sum) {
  g_cross_process_sum = sum;
}
ScopedCrossProcessSum::~ScopedCrossProcessSum() {
  g_cross_process_sum = previous_;
}

void cross_process_sum(std::span<float> values) {
  if (g_cross_process_sum) g_cross_process_sum->sum(values);
}
void cross_process_sum(std::span<double> values) {
  if (g_cross_process_sum) g_cross_process_sum->sum(values);
}
bool cross_process_sum_installed() {
  return g_cross_process_sum != nullptr;
}

}  // namespace qg::batch_reduction
