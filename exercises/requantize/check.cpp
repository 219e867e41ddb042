// Checks exercise::requantize_to_code (your file) against qg::runtime::requantize_to_code (the library's):
// the same output code, exactly, on ties, saturation, clamping and random accumulators and multipliers.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "exercises/common/check.h"
#include "exercises/requantize/requantize.h"

namespace {

using qg::runtime::QuantizedMultiplier;

void compare(exercise::Check& check, int32_t acc, QuantizedMultiplier m, int32_t zero, int32_t lo,
             int32_t hi) {
  const std::string inputs =
      "requantize_to_code(acc=" + std::to_string(acc) + ", {multiplier=" + std::to_string(m.multiplier) +
      ", shift=" + std::to_string(m.shift) +
      "} (M = " + exercise::Check::show(qg::runtime::dequantize_multiplier(m)) +
      "), zero=" + std::to_string(zero) + ", lo=" + std::to_string(lo) + ", hi=" + std::to_string(hi) + ")";
  check.equal(inputs, "code", exercise::requantize_to_code(acc, m, zero, lo, hi),
              qg::runtime::requantize_to_code(acc, m, zero, lo, hi));
}

void check_requantize(exercise::Check& check) {
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max(), kMin = std::numeric_limits<int32_t>::min();
  // The worked example and its neighbours, unclamped: M = 0.25.
  const QuantizedMultiplier quarter = qg::runtime::quantize_multiplier(0.25);
  for (int32_t acc = -12; acc <= 12; ++acc)
    compare(check, acc, quarter, 0, kMin, kMax);

  // Ties: M = 2^-k and acc = (2j + 1) 2^(k-1) put acc * M exactly on j + 1/2, of either sign.
  for (int k = 1; k <= 20; ++k) {
    const QuantizedMultiplier m = qg::runtime::quantize_multiplier(std::ldexp(1.0, -k));
    for (int32_t j = -6; j <= 6; ++j) {
      const int32_t acc = (2 * j + 1) * (int32_t{1} << (k - 1));
      compare(check, acc, m, 0, kMin, kMax);
      compare(check, acc, m, 3, -128, 127);
    }
  }
  // Ties with a multiplier that is not a power of two: M = 3/8, acc = 4 -> 1.5, acc = -4 -> -1.5.
  const QuantizedMultiplier three_eighths = qg::runtime::quantize_multiplier(0.375);
  for (int32_t acc : {4, -4, 12, -12, 20, -20})
    compare(check, acc, three_eighths, 0, kMin, kMax);

  // Saturation of round(acc * M) to +-(2^31 - 1), then Z added in 64 bits and the clamp.
  for (double real : {1.0, 2.0, 1000.0, 1.5, 0.999999})
    for (int32_t acc : {kMax, kMin, kMin + 1, kMax - 1, 1 << 30, -(1 << 30)})
      for (int32_t zero : {0, 100, -100})
        compare(check, acc, qg::runtime::quantize_multiplier(real), zero, kMin, kMax);

  // M = 0 and clamps to 8-bit and fused-ReLU ranges.
  for (int32_t acc : {0, 1, -1, 1000, -1000})
    compare(check, acc, QuantizedMultiplier{}, 7, 0, 255);
  const std::vector<std::pair<int32_t, int32_t>> ranges = {
      {0, 255}, {-128, 127}, {0, 15}, {-8, 7}, {40, 255}};

  // Random: multipliers as conv layers have them (1e-5 .. 1), accumulators over many magnitudes.
  std::mt19937 gen(11);
  std::uniform_real_distribution<double> log_m(std::log(1e-5), std::log(1.0));
  std::uniform_int_distribution<int32_t> bits(1, 31);
  std::uniform_int_distribution<int32_t> zeros(-128, 255);
  for (int i = 0; i < 50000; ++i) {
    const QuantizedMultiplier m = qg::runtime::quantize_multiplier(std::exp(log_m(gen)));
    const int32_t b = bits(gen);
    const int32_t limit = b == 31 ? kMax : (int32_t{1} << b) - 1;
    const int32_t acc = std::uniform_int_distribution<int32_t>(-limit, limit)(gen);
    const auto [lo, hi] = ranges[i % ranges.size()];
    compare(check, acc, m, zeros(gen), i % 7 == 0 ? kMin : lo, i % 7 == 0 ? kMax : hi);
  }
}

}  // namespace

int main(int argc, char** argv) {
  return exercise::run_check("requantize", argc, argv, check_requantize);
}
