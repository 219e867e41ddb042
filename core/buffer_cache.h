// The buffer cache: recycled memory for the large buffers a training step allocates again and again.
//
// A training step allocates the same tensors, of the same sizes, at every step: activations, gradients,
// scratch matrices. Handed straight to malloc, each large block is mmap-ed, page-faulted in (the kernel
// zeroes every page) and unmapped again at every step, which cost more system time than the step's
// arithmetic. The cache keeps freed blocks of 64 KiB and more, by size, and hands them out again; smaller
// blocks go straight to operator new. Blocks are 64-byte aligned (one cache line, a whole AVX-512 vector).
//
// `Buffer<T>` is a std::vector whose elements are NOT initialised by `Buffer<T>(n)` or `resize(n)` (the
// allocator default-initialises), for buffers a kernel overwrites entirely; `Buffer<T>(n, value)` still
// fills. Tensor storage is a Buffer<float> (core/tensor.h).
#pragma once

#include <cstddef>
#include <new>
#include <utility>
#include <vector>

namespace qg {

namespace buffer_cache {

/// `bytes` of 64-byte aligned memory (a recycled block when one of that size is cached).
void* allocate(size_t bytes);
/// Returns a block from allocate(bytes) (same `bytes`) to the cache, or frees it when the cache is full.
void deallocate(void* block, size_t bytes) noexcept;

struct Stats {
  size_t cached_bytes = 0;  ///< held by the cache, free for reuse
  size_t hits = 0;          ///< large allocations served from the cache
  size_t misses = 0;        ///< large allocations that went to operator new
};
Stats stats();

/// Frees every cached block (memory in use is not affected).
void release();

/// Largest number of bytes the cache holds before it frees returned blocks instead (default 512 MiB).
void set_capacity(size_t bytes);

}  // namespace buffer_cache

/// A std::allocator for buffer_cache memory whose value-initialisation leaves elements uninitialised.
template <class T>
struct BufferAllocator {
  using value_type = T;

  BufferAllocator() = default;
  template <class U>
  BufferAllocator(const BufferAllocator<U>&) noexcept {}

  T* allocate(size_t n) { return static_cast<T*>(buffer_cache::allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { buffer_cache::deallocate(p, n * sizeof(T)); }

  /// `Buffer<T>(n)` and `resize(n)` construct with no arguments: default-initialise (no zeroing).
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }

  template <class U>
  bool operator==(const BufferAllocator<U>&) const noexcept {
    return true;
  }
};

template <class T>
using Buffer = std::vector<T, BufferAllocator<T>>;

}  // namespace qg
