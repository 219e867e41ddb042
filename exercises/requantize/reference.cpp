// The library's own function behind the exercise's signature: ctest's exercise.requantize.reference_passes
// builds the check with this file to prove that the check passes on the library's version.
#include "exercises/requantize/requantize.h"

namespace exercise {

int32_t requantize_to_code(int32_t acc, qg::runtime::QuantizedMultiplier m, int32_t zero, int32_t lo,
                           int32_t hi) {
  return qg::runtime::requantize_to_code(acc, m, zero, lo, hi);
}

}  // namespace exercise
