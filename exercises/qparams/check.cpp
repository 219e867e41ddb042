// Checks exercise::compute_scale_zero_point (your file) against qg::quant::compute_scale_zero_point (the
// library's) on every bit width, sign and symmetry, random ranges and the edge cases the task names.
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "exercises/common/check.h"
#include "exercises/qparams/qparams.h"

namespace {

using qg::quant::QuantSpec;

std::string describe(float min, float max, const QuantSpec& spec) {
  return "compute_scale_zero_point(min=" + exercise::Check::show(min) +
         ", max=" + exercise::Check::show(max) + ", " + std::to_string(spec.bits) + "-bit " +
         (spec.is_signed ? "signed" : "unsigned") + (spec.symmetric ? " symmetric" : " asymmetric") + ")";
}

void compare(exercise::Check& check, float min, float max, const QuantSpec& spec) {
  const std::string inputs = describe(min, max, spec);
  float scale = -1.0f, library_scale = 0.0f;
  int32_t zero_point = -12345, library_zero_point = 0;
  qg::quant::compute_scale_zero_point(min, max, spec, library_scale, library_zero_point);
  exercise::compute_scale_zero_point(min, max, spec, scale, zero_point);
  check.close(inputs, "scale", scale, library_scale, 0.0, 1e-6);
  check.equal(inputs, "zero_point", zero_point, library_zero_point);
}

std::vector<QuantSpec> all_specs() {
  std::vector<QuantSpec> specs;
  for (int bits = 8; bits >= 1; --bits)
    for (bool is_signed : {false, true})
      for (bool symmetric : {false, true})
        specs.push_back({bits, is_signed, symmetric});
  return specs;
}

void check_qparams(exercise::Check& check) {
  const std::vector<QuantSpec> specs = all_specs();
  // Edge cases first: each is named by its inputs when it fails.
  const float kTiny = std::numeric_limits<float>::denorm_min();
  const std::vector<std::pair<float, float>> edges = {
      {-1.0f, 1.0f}, {0.0f, 1.0f},   {-1.0f, 0.0f},   {2.0f, 6.0f},      {-6.0f, -2.0f},  {0.0f, 0.0f},
      {3.0f, 3.0f},  {-3.0f, -3.0f}, {-kTiny, kTiny}, {-1e-30f, 1e-30f}, {-1e30f, 1e30f}, {-0.5f, 127.25f}};
  for (const QuantSpec& spec : specs)
    for (auto [min, max] : edges)
      compare(check, min, max, spec);

  // Zero points exactly on a tie: with scale s = 2^-k and max = (qmax - t - 0.5) s, min = (qmin - t - 0.5) s,
  // qmax - max / scale = t + 0.5 exactly. Half to even gives t or t + 1, whichever is even.
  for (const QuantSpec& spec : specs) {
    if (spec.symmetric || spec.binary()) continue;
    for (int k : {0, 3, 7}) {
      const double s = std::ldexp(1.0, -k);
      for (int t = spec.qmin(); t < spec.qmax(); ++t) {
        const float max = static_cast<float>((spec.qmax() - t - 0.5) * s);
        const float min = static_cast<float>((spec.qmin() - t - 0.5) * s);
        compare(check, min, max, spec);
      }
    }
  }

  // Random ranges over many magnitudes, crossing zero or not.
  std::mt19937 gen(2024);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::uniform_int_distribution<int> magnitude(-6, 6);
  for (int i = 0; i < 3000; ++i) {
    const QuantSpec& spec = specs[i % specs.size()];
    const float a = (unit(gen) * 2.0f - 1.0f) * std::pow(10.0f, static_cast<float>(magnitude(gen)));
    const float b = (unit(gen) * 2.0f - 1.0f) * std::pow(10.0f, static_cast<float>(magnitude(gen)));
    compare(check, std::min(a, b), std::max(a, b), spec);
  }

  // Bad input is an error, as in the library.
  float scale = 0.0f;
  int32_t zero_point = 0;
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  check.throws("bits = 0", [&] {
    exercise::compute_scale_zero_point(-1, 1, {0, false, false}, scale, zero_point);
  });
  check.throws("bits = 9", [&] {
    exercise::compute_scale_zero_point(-1, 1, {9, false, false}, scale, zero_point);
  });
  check.throws("min = NaN", [&] { exercise::compute_scale_zero_point(nan, 1, {}, scale, zero_point); });
  check.throws("max = +inf", [&] { exercise::compute_scale_zero_point(-1, inf, {}, scale, zero_point); });
}

}  // namespace

int main(int argc, char** argv) {
  return exercise::run_check("qparams", argc, argv, check_qparams);
}
