// Replaces the global operator new/delete of the test_datasets binary (allowed once per program, C++20
// [replacement.functions]) with malloc/free plus a record of the largest request.
#include "allocation_probe.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::size_t> g_largest{0};
}

namespace qg::data::testing {

void reset_largest_allocation() {
  g_largest.store(0);
}
std::size_t largest_allocation() {
  return g_largest.load();
}

}  // namespace qg::data::testing

void* operator new(std::size_t size) {
  std::size_t seen = g_largest.load(std::memory_order_relaxed);
  while (size > seen && !g_largest.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
