#include "quant/statistics_sync.h"

namespace qg::quant {

namespace {
const StatisticsSync* g_sync = nullptr;  // the training loop's, while it runs (one per process)
}  // namespace

ScopedStatisticsSync::ScopedStatisticsSync(const StatisticsSync* sync) : previous_(g_sync) {
  g_sync = sync;
}

ScopedStatisticsSync::~ScopedStatisticsSync() {
  g_sync = previous_;
}

bool statistics_sync_installed() {
  return g_sync != nullptr;
}

void sync_min(std::span<float> values) {
  if (g_sync) g_sync->min(values);
}

void sync_max(std::span<float> values) {
  if (g_sync) g_sync->max(values);
}

void sync_sum(std::span<double> values) {
  if (g_sync) g_sync->sum(values);
}

}  // namespace qg::quant
