#include "bench/memory_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/parallel.h"

namespace qg::bench {

namespace {

struct Kernel {
  std::string name;
  int arrays_moved;  // per element, as STREAM counts them
  std::function<void(int64_t begin, int64_t end)> body;
};

// Runs body over [0, elements) split into one fixed block per thread, and returns the seconds it took.
double timed_pass(const Kernel& kernel, int64_t elements, int threads) {
  const auto start = std::chrono::steady_clock::now();
  parallel::parallel_for(
      threads, [&](int64_t t) { kernel.body(elements * t / threads, elements * (t + 1) / threads); });
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

nlohmann::json measure_memory_bandwidth(int64_t elements, int threads, int repeats) {
  std::vector<double> a(static_cast<size_t>(elements), 1.0), b(a.size(), 2.0), c(a.size(), 0.0);
  const double s = 3.0;
  const std::vector<Kernel> kernels = {
      {"copy", 2, [&](int64_t i0, int64_t i1) { std::copy(a.begin() + i0, a.begin() + i1, c.begin() + i0); }},
      {"scale", 2,
       [&](int64_t i0, int64_t i1) {
         for (int64_t i = i0; i < i1; ++i)
           b[static_cast<size_t>(i)] = s * c[static_cast<size_t>(i)];
       }},
      {"add", 3,
       [&](int64_t i0, int64_t i1) {
         for (int64_t i = i0; i < i1; ++i)
           c[static_cast<size_t>(i)] = a[static_cast<size_t>(i)] + b[static_cast<size_t>(i)];
       }},
      {"triad", 3,
       [&](int64_t i0, int64_t i1) {
         for (int64_t i = i0; i < i1; ++i)
           a[static_cast<size_t>(i)] = b[static_cast<size_t>(i)] + s * c[static_cast<size_t>(i)];
       }},
  };
  const int previous_threads = parallel::num_threads();
  parallel::set_num_threads(threads);
  // STREAM's order: each repetition runs the four kernels once; the first repetition is a warm-up (it also
  // faults the pages in).
  std::vector<std::vector<double>> rates(kernels.size());
  for (int rep = 0; rep <= repeats; ++rep) {
    for (size_t k = 0; k < kernels.size(); ++k) {
      const double seconds = timed_pass(kernels[k], elements, threads);
      if (rep > 0) {
        const double bytes = static_cast<double>(kernels[k].arrays_moved) * sizeof(double) * elements;
        rates[k].push_back(bytes / seconds * 1e-9);
      }
    }
  }
  parallel::set_num_threads(previous_threads);
  nlohmann::json result = {{"array_mb", static_cast<double>(elements) * sizeof(double) / 1e6},
                           {"threads", threads},
                           {"checksum", a[0] + b[0] + c[0]}};  // keeps the passes from being optimised away
  for (size_t k = 0; k < kernels.size(); ++k) {
    std::sort(rates[k].begin(), rates[k].end());
    result[kernels[k].name] = {{"best_gbs", rates[k].back()}, {"median_gbs", rates[k][rates[k].size() / 2]}};
  }
  return result;
}

}  // namespace qg::bench
