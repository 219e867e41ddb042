// A one-line progress bar with rate and ETA, redrawn in place ("\r") when stdout is a terminal and
// silent otherwise (logs and CI keep only the tutorial-style lines).
//
//   [=========>          ] 28160/60000  9,812 img/s  ETA 3s
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace qg::app {

class ProgressBar {
 public:
  /// `total` units (images); `label` is printed before the bar. Enabled only on a terminal unless forced.
  ProgressBar(std::string label, int64_t total, bool force_enable = false);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Marks `done` units complete (absolute count) and redraws at most ~10 times a second.
  void update(int64_t done);
  /// Clears the bar's line so that a normal log line can be printed.
  void clear();
  /// Clears the bar for good.
  void finish();
  bool enabled() const { return enabled_; }

  /// The bar text for a state, e.g. for tests: rate in units per second, ETA in seconds.
  static std::string render(const std::string& label, int64_t done, int64_t total, double seconds,
                            int width = 24);

 private:
  std::string label_;
  int64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

/// Seconds as "1h02m", "3m07s" or "12s".
std::string format_duration(double seconds);

}  // namespace qg::app
