#include "app/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <sstream>

namespace qg::app {

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  return buf;
}

std::string ProgressBar::render(const std::string& label, int64_t done, int64_t total, double seconds,
                                int width) {
  const double fraction = total > 0 ? std::min(1.0, static_cast<double>(done) / total) : 1.0;
  const int filled = static_cast<int>(fraction * width);
  std::ostringstream out;
  out << label << " [";
  for (int i = 0; i < width; ++i)
    out << (i < filled ? '=' : (i == filled ? '>' : ' '));
  out << "] " << done << "/" << total;
  if (seconds > 0 && done > 0) {
    const double rate = done / seconds;
    out << "  " << static_cast<int64_t>(rate) << " img/s  ETA " << format_duration((total - done) / rate);
  }
  return out.str();
}

ProgressBar::ProgressBar(std::string label, int64_t total, bool force_enable)
    : label_(std::move(label)),
      total_(total),
      enabled_(force_enable || ::isatty(STDOUT_FILENO)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::update(int64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  std::printf("\r\033[K%s", render(label_, done, total_, seconds).c_str());
  std::fflush(stdout);
  drawn_ = true;
}

void ProgressBar::clear() {
  if (!enabled_ || !drawn_) return;
  std::printf("\r\033[K");
  std::fflush(stdout);
  drawn_ = false;
}

void ProgressBar::finish() {
  clear();
  enabled_ = false;
}

}  // namespace qg::app
