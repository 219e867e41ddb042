// Seeded random numbers. Every random factory takes a Generator so that runs are reproducible;
// `default_generator()` is a process-wide one reseeded by `manual_seed`, as in PyTorch.
#pragma once

#include <cstdint>
#include <random>

namespace qg {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : engine_(seed) {}
  void seed(uint64_t seed) { engine_.seed(seed); }

  float uniform(float low, float high) { return std::uniform_real_distribution<float>(low, high)(engine_); }
  float normal(float mean, float stddev) { return std::normal_distribution<float>(mean, stddev)(engine_); }
  /// Uniform integer in [0, n).
  uint64_t below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(engine_); }
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace qg
