// Scratch: working memory a fast kernel reuses from one sample to the next within a run().
//
// Each worker thread of run() owns one Scratch (kept from one run() to the next); kernels grow_to() its
// vectors, which reallocates only when a larger size than ever before is asked for, so steady-state
// inference allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

namespace qg::runtime {

struct PackedConv;    // runtime/ops/conv2d_dot.cpp: a conv's weights packed for the dot-product path
struct PackedLinear;  // runtime/ops/linear_dot.cpp: a linear layer's weights, likewise

/// An allocator whose blocks start on a 64-byte cache line: a 512-bit load from an aligned row never spans
/// two lines (which made the dot path's engine up to 15 % slower when the heap happened to return a block
/// 16 bytes off).
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  CacheLineAllocator() = default;
  template <class U>
  explicit CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlignment); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const {
    return true;
  }
};

/// A vector on cache-line-aligned memory.
template <class T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

/// Makes `v` hold at least `n` elements and returns its data. It never shrinks: the layers of a model ask
/// for different sizes in turn, and a vector resized down and up again zero-fills the regrown part on
/// every sample (that memset once cost 5 % of int8 inference).
template <class T, class Allocator>
T* grow_to(std::vector<T, Allocator>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

struct Scratch {
  std::vector<int16_t> offsets;  ///< input codes minus the input zero point (im2col rows for conv)
  std::vector<int32_t> sums;     ///< per row of `offsets`: the sum of its entries

  // The dot-product conv path (runtime/ops/conv2d_dot.h).
  AlignedVector<int32_t> values;      ///< one group's input phase planes as a = q - qmin, padded
  AlignedVector<uint32_t> words;      ///< the same packed into 32-bit words of k-values
  std::vector<const uint32_t*> rows;  ///< where each word row starts
  AlignedVector<int32_t> dots;        ///< D[c][q]: the dot products, one row per output channel (+1)
  AlignedVector<int32_t> codes;       ///< one channel's requantized codes over the gappy positions
  // The linear dot path (runtime/ops/linear_dot.h) uses words, rows, dots and codes the same way, with the
  // samples of a block as the positions.

  /// Packed weights, reused while their op is unchanged. Checking that costs a copy and a comparison of
  /// the op's weights, so it is done once per run() (which numbers its calls in `run_id`) rather than once
  /// per sample; with run_id 0 (a kernel called directly) it is done on every call.
  struct PackedEntry {
    std::shared_ptr<const PackedConv> conv;
    uint64_t checked_in_run = 0;
  };
  std::vector<PackedEntry> packed;
  /// The same for the linear layers' dot path (runtime/ops/linear_dot.h).
  struct PackedLinearEntry {
    std::shared_ptr<const PackedLinear> linear;
    uint64_t checked_in_run = 0;
  };
  std::vector<PackedLinearEntry> packed_linears;
  uint64_t run_id = 0;
};

}  // namespace qg::runtime
