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

bool is_code(int32_t code, int bits, bool is_signed) {
  const QuantParams q{1.0, 0, bits, is_signed};
  return code >= q.qmin() && code <= q.qmax() && !(q.binary() && code == 0);
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
  if (binary() && zero_point != 0) {
    throw std::invalid_argument(what + ": binary (signed 1-bit) codes need zero point 0, found " +
                                std::to_string(zero_point));
  }
}

void QuantParams::validate_activation(const std::string& what) const {
  validate(what);
  if (binary()) {
    throw std::invalid_argument(
        what + ": an activation cannot have binary (signed 1-bit) codes; real 0 must be a code");
  }
}

std::string quant_to_string(const QuantParams& params) {
  std::ostringstream text;
  text << "scale " << params.scale << ", zero point " << params.zero_point << ", " << params.bits << "-bit "
       << (params.is_signed ? "signed" : "unsigned");
  return text.str();
}

}  // namespace qg::runtime
