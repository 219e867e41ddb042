#include "runtime/dims.h"

#include <stdexcept>

namespace qg::runtime {

std::string dims_to_string(const Dims& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) text += ",";
    text += std::to_string(dims[i]);
  }
  return text + "]";
}

int64_t checked_numel(const Dims& dims, const std::string& what) {
  int64_t count = 1;
  for (const int64_t d : dims) {
    if (d < 0) throw std::invalid_argument(what + ": negative dimension in shape " + dims_to_string(dims));
    // Dividing first keeps the test itself from overflowing.
    if (d > 0 && count > kMaxElements / d) {
      throw std::invalid_argument(what + ": shape " + dims_to_string(dims) + " has more than 2^28 elements");
    }
    count *= d;
  }
  return count;
}

}  // namespace qg::runtime
