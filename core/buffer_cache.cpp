#include "core/buffer_cache.h"

#include <mutex>
#include <unordered_map>

namespace qg::buffer_cache {

namespace {

constexpr std::align_val_t kAlignment{64};
constexpr size_t kSmallest = size_t{64} << 10;  // smaller blocks are not cached
constexpr size_t kPage = size_t{4} << 10;

// Large blocks are rounded up to whole pages, so that a block is reused by any request of its rounded size.
size_t rounded(size_t bytes) {
  return bytes < kSmallest ? bytes : (bytes + kPage - 1) / kPage * kPage;
}

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // rounded size -> blocks
  size_t capacity = size_t{512} << 20;
  Stats stats;
};

// Never destroyed (deliberately leaked): tensors in static storage are freed after function-local statics
// would have been destroyed, and must still find the cache.
Cache& cache() {
  static Cache* const c = new Cache;
  return *c;
}

}  // namespace

void* allocate(size_t bytes) {
  const size_t size = rounded(bytes);
  if (size >= kSmallest) {
    Cache& c = cache();
    const std::lock_guard lock(c.mutex);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* block = it->second.back();
      it->second.pop_back();
      c.stats.cached_bytes -= size;
      ++c.stats.hits;
      return block;
    }
    ++c.stats.misses;
  }
  return ::operator new(size == 0 ? 1 : size, kAlignment);
}

void deallocate(void* block, size_t bytes) noexcept {
  if (!block) return;
  const size_t size = rounded(bytes);
  if (size >= kSmallest) {
    Cache& c = cache();
    const std::lock_guard lock(c.mutex);
    if (c.stats.cached_bytes + size <= c.capacity) {
      try {
        c.free_blocks[size].push_back(block);
        c.stats.cached_bytes += size;
        return;
      } catch (...) {  // no memory for the bookkeeping: free the block instead
      }
    }
  }
  ::operator delete(block, kAlignment);
}

Stats stats() {
  Cache& c = cache();
  const std::lock_guard lock(c.mutex);
  return c.stats;
}

void release() {
  Cache& c = cache();
  const std::lock_guard lock(c.mutex);
  for (auto& [size, blocks] : c.free_blocks) {
    for (void* block : blocks)
      ::operator delete(block, kAlignment);
  }
  c.free_blocks.clear();
  c.stats.cached_bytes = 0;
}

void set_capacity(size_t bytes) {
  Cache& c = cache();
  {
    const std::lock_guard lock(c.mutex);
    c.capacity = bytes;
    if (c.stats.cached_bytes <= bytes) return;
  }
  release();
}

}  // namespace qg::buffer_cache
