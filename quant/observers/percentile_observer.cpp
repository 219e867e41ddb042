#include "quant/observers/percentile_observer.h"

#include <cmath>
#include <stdexcept>

#include "quant/observers/minmax_observer.h"
#include "quant/observers/observer_state.h"
#include "quant/statistics_sync.h"

namespace qg::quant {

PercentileObserver::PercentileObserver(QuantSpec spec, double percentile, int64_t bins)
    : Observer(spec), percentile_(percentile), histogram_(bins) {
  // The config loader checks the same range with the JSON path (config/settings_reader.cpp), so a tool
  // never gets here with a bad value; this guards callers in code.
  if (!(percentile > 50.0 && percentile <= 100.0)) {
    throw std::invalid_argument("percentile observer: percentile must be in (50, 100], got " +
                                std::to_string(percentile));
  }
}

void PercentileObserver::observe(const Tensor& x) {
  if (statistics_sync_installed()) {  // its histogram would need merging over the processes: not done
    throw std::invalid_argument(
        "percentile (histogram) observer: cannot be used in data-parallel training (its histograms are not "
        "combined "
        "across processes); use \"minmax\" or \"moving_average_minmax\", or run one process");
  }
  if (x.numel() == 0) return;
  const auto [lo, hi] = tensor_min_max(x, "percentile observer");  // refuses NaN and Inf
  histogram_.add(x, lo, hi);
  range_.reset();
}

std::pair<float, float> PercentileObserver::range() const {
  if (histogram_.count() == 0) return {0.0f, 0.0f};
  if (!range_) {
    // Nearest rank among all values seen: rank round(q / 100 * (n - 1)) for the q-th percentile.
    const auto at = [&](double q) {
      const double rank = q / 100.0 * static_cast<double>(histogram_.count() - 1);
      return histogram_.value_at_rank(static_cast<uint64_t>(std::llround(rank)));
    };
    range_ = {at(100.0 - percentile_), at(percentile_)};
  }
  return *range_;
}

QParams PercentileObserver::qparams() const {
  if (histogram_.count() == 0)
    throw std::logic_error("percentile observer: qparams() requested before any tensor was observed");
  const auto [lo, hi] = range();
  return make_per_tensor(lo, hi, spec_);
}

// The state lists only the bins in use (most of 2048 are empty in a typical activation's histogram):
// scalars "used" (their indices, ascending) and "counts"; values: their minima, then their maxima.
ObserverState PercentileObserver::state() const {
  const Histogram::State h = histogram_.state();
  std::vector<uint64_t> used, counts;
  std::vector<float> maxs;
  ObserverState state;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    if (h.counts[i] == 0) continue;
    used.push_back(i);
    counts.push_back(h.counts[i]);
    state.values.push_back(h.mins[i]);
    maxs.push_back(h.maxs[i]);
  }
  state.values.insert(state.values.end(), maxs.begin(), maxs.end());
  state.scalars = {{"type", type_name()},
                   {"percentile", percentile_},
                   {"bins", static_cast<uint64_t>(histogram_.bins())},
                   {"seen", histogram_.count()},
                   {"low", h.low},
                   {"width", h.width},
                   {"used", used},
                   {"counts", counts}};
  return state;
}

void PercentileObserver::load_state(const ObserverState& state) {
  check_state_type(state);
  const std::string who = type_name() + " observer state";
  if (state_uint(state, "bins", type_name()) != static_cast<uint64_t>(histogram_.bins()) ||
      state_double(state, "percentile", type_name()) != percentile_) {
    throw std::invalid_argument(who + ": saved with another percentile or number of bins");
  }
  const std::vector<uint64_t> used = state_uint_array(state, "used", type_name());
  const std::vector<uint64_t> counts = state_uint_array(state, "counts", type_name());
  if (counts.size() != used.size() || state.values.size() != 2 * used.size()) {
    throw std::invalid_argument(
        who + ": " + std::to_string(used.size()) + " bins in use need as many counts " +
        "and twice as many values (their minima, then maxima), found " + std::to_string(counts.size()) +
        " and " + std::to_string(state.values.size()));
  }
  const auto bins = static_cast<size_t>(histogram_.bins());
  Histogram::State h{state_double(state, "low", type_name()), state_double(state, "width", type_name()),
                     std::vector<uint64_t>(bins, 0), std::vector<float>(bins, 0.0f),
                     std::vector<float>(bins, 0.0f)};
  for (size_t k = 0; k < used.size(); ++k) {
    if (used[k] >= bins || (k > 0 && used[k] <= used[k - 1]) || counts[k] == 0) {
      throw std::invalid_argument(who + ": \"used\" must list bins in use below " + std::to_string(bins) +
                                  ", ascending, each with a positive count");
    }
    h.counts[used[k]] = counts[k];
    h.mins[used[k]] = state.values[k];
    h.maxs[used[k]] = state.values[used.size() + k];
  }
  Histogram restored(histogram_.bins());
  restored.load(h, who);  // all checks before this observer changes
  if (restored.count() != state_uint(state, "seen", type_name()))
    throw std::invalid_argument(who + ": \"seen\" is not the sum of the counts");
  histogram_ = std::move(restored);
  range_.reset();
}

}  // namespace qg::quant
