#include "runtime/quant_params.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace qg::runtime {

void check_bits(int bits, const std::string& what) {
  if (bits < 1 || bits > 8) {
    throw std::invalid_argument(what + ": bit width must be 1..8, found " + std::to_string(bits));
  }
}

int32_t code_min(int bits, bool is_signed) {
  return QuantParams{1.0, 0, bits, is_signed}.qmin();
}
int32_t code_max(int bits, bool is_signed) {
  return QuantParams{1.0, 0, bits, is_signed}.qmax();
}

void QuantParams::validate(const std::string& what) const {
  check_bits(bits, what);
  if (!std::isfinite(scale) || scale <= 0.0) {
    throw std::invalid_argument(what + ": scale must be finite and positive, found " + std::to_string(scale));
  }
  if (zero_point < qmin() || zero_point > qmax()) {
    throw std::invalid_argument(what + ": zero point " + std::to_string(zero_point) + " is outside the " +
                                std::to_string(bits) + "-bit code range [" + std::to_string(qmin()) + ", " +
                                std::to_string(qmax()) + "]");
  }
}

std::string quant_to_string(const QuantParams& params) {
  std::ostringstream text;
  text << "scale " << params.scale << ", zero point " << params.zero_point << ", " << params.bits << "-bit "
       << (params.is_signed ? "signed" : "unsigned");
  return text.str();
}

}  // namespace qg::runtime
