#include "core/random.h"

namespace qg {

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) {
  default_generator().seed(seed);
}

}  // namespace qg
