// Checks exercise::quantize_multiplier (your file) against qg::runtime::quantize_multiplier (the library's):
// the same {multiplier, shift}, exactly, and an error where the library throws.
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "exercises/common/check.h"
#include "exercises/quantize_multiplier/quantize_multiplier.h"

namespace {

using qg::runtime::QuantizedMultiplier;

std::string describe(double m) {
  std::ostringstream out;
  out.precision(17);
  out << "quantize_multiplier(" << m << ")";
  return out.str();
}

void compare(exercise::Check& check, double m) {
  const QuantizedMultiplier library = qg::runtime::quantize_multiplier(m);
  const QuantizedMultiplier yours = exercise::quantize_multiplier(m);
  check.equal(describe(m), "multiplier", yours.multiplier, library.multiplier);
  check.equal(describe(m), "shift", yours.shift, library.shift);
}

void check_quantize_multiplier(exercise::Check& check) {
  // Edge cases: 0, powers of two, the worked example, fractions that round up to 1, the smallest multipliers.
  for (double m : {0.0, 1.0 / 24.0, 0.5, 0.25, 1.0, 2.0, 0.75, 1.0 / 3.0, 0.1, 0.9999999})
    compare(check, m);
  for (int k = -40; k < 30; ++k) {
    compare(check, std::ldexp(1.0, k));                         // exactly a power of two
    compare(check, std::ldexp(1.0 - std::ldexp(1.0, -33), k));  // fraction * 2^31 = 2^31 - 0.25: rounds up
    compare(check, std::ldexp(1.0 - std::ldexp(1.0, -31), k));  // fraction * 2^31 = 2^31 - 1: exact
    compare(check, std::ldexp(0.5 + std::ldexp(1.0, -33), k));  // 2^30 + 0.25: rounds down
    compare(check, std::ldexp(0.5 + 3 * std::ldexp(1.0, -33), k));  // 2^30 + 0.75: rounds up
    compare(check, std::ldexp(0.5 + std::ldexp(1.0, -32), k));      // 2^30 + 0.5: a tie, away from zero
  }
  compare(check, std::numeric_limits<double>::denorm_min());

  // Random multipliers: most in (0, 1), as a conv layer's S_in S_w / S_out; some in [1, 2^30).
  std::mt19937_64 gen(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < 20000; ++i)
    compare(check, unit(gen));
  for (int i = 0; i < 2000; ++i)
    compare(check, std::ldexp(unit(gen), -(i % 40)));
  for (int i = 0; i < 2000; ++i)
    compare(check, std::ldexp(0.5 + unit(gen) / 2, 1 + i % 29));

  // Bad input is an error, as in the library.
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (double bad :
       {-1.0, -1e-300, nan, inf, -inf, std::ldexp(1.0, 30), std::ldexp(1.0, 30) - std::ldexp(1.0, -23)})
    check.throws(describe(bad), [&] { exercise::quantize_multiplier(bad); });
}

}  // namespace

int main(int argc, char** argv) {
  return exercise::run_check("quantize_multiplier", argc, argv, check_quantize_multiplier);
}
