#include "nn/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace qg::nn {

void LrSchedule::validate() const {
  const auto fail = [](const std::string& what) { throw std::invalid_argument("lr schedule: " + what); };
  if (!(base_lr > 0.0) || !std::isfinite(base_lr)) fail("the learning rate must be positive and finite");
  if (kind == LrScheduleKind::Step && step_size <= 0) fail("a step schedule needs step_size > 0");
  if (kind == LrScheduleKind::Step && !(gamma > 0.0 && gamma <= 1.0)) fail("gamma must be in (0, 1]");
  if (!(warmup_start_factor > 0.0 && warmup_start_factor <= 1.0))
    fail("warmup_start_factor must be in (0, 1]");
  if (warmup_steps < 0 || total_steps < 0) fail("step counts must be non-negative");
  if (!(min_lr >= 0.0 && min_lr <= base_lr)) fail("min_lr must be in [0, base_lr]");
}

double LrSchedule::lr_at(int64_t step) const {
  validate();
  if (step < warmup_steps) {
    const double t = static_cast<double>(step) / static_cast<double>(warmup_steps);
    return base_lr * (warmup_start_factor + (1.0 - warmup_start_factor) * t);
  }
  const int64_t u = step - warmup_steps;
  switch (kind) {
    case LrScheduleKind::Constant:
      return base_lr;
    case LrScheduleKind::Step:
      return base_lr * std::pow(gamma, static_cast<double>(u / step_size));
    case LrScheduleKind::Cosine: {
      const int64_t span = total_steps - warmup_steps;
      if (span <= 0) return base_lr;
      const double progress = static_cast<double>(std::min(u, span)) / static_cast<double>(span);
      return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    }
  }
  return base_lr;
}

const char* lr_schedule_name(LrScheduleKind kind) {
  switch (kind) {
    case LrScheduleKind::Constant:
      return "constant";
    case LrScheduleKind::Step:
      return "step";
    case LrScheduleKind::Cosine:
      return "cosine";
  }
  return "?";
}

LrScheduleKind parse_lr_schedule(const std::string& name) {
  for (const LrScheduleKind kind : {LrScheduleKind::Constant, LrScheduleKind::Step, LrScheduleKind::Cosine}) {
    if (name == lr_schedule_name(kind)) return kind;
  }
  throw std::invalid_argument("unknown lr schedule \"" + name + "\" (expected constant, step or cosine)");
}

}  // namespace qg::nn
