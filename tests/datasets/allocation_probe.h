// Records the largest single heap allocation, to prove that a reader does not allocate what a corrupt
// header promises. On Linux a huge malloc may "succeed" without touching memory, so watching the process
// size would not catch it; watching the requested sizes does.
#pragma once

#include <cstddef>

namespace qg::data::testing {

/// Forgets the allocations recorded so far.
void reset_largest_allocation();
/// The largest size passed to operator new since the last reset.
std::size_t largest_allocation();

}  // namespace qg::data::testing
