// Learning-rate schedules as closed-form functions of the optimizer step.
//
// PyTorch's schedulers (torch.optim.lr_scheduler) are stateful objects stepped once per epoch or batch;
// here a schedule is the closed form of the same curves, evaluated at the global step. A resumed run knows
// its step count (app/training.h TrainingProgress), so it sets exactly the rate the uninterrupted run would
// have, with no scheduler state to save.
//
// clang-format off
//   warm-up (LinearLR):        lr(t) = base · (f + (1 − f) · t / W)                   for t < W
//   then, with u = t − W and T = total_steps − W:
//   constant:                  lr = base
//   step (StepLR):             lr = base · gamma^floor(u / step_size)
//   cosine (CosineAnnealingLR): lr = min_lr + (base − min_lr) · (1 + cos(π · min(u, T) / T)) / 2
// clang-format on
#pragma once

#include <cstdint>
#include <string>

namespace qg::nn {

enum class LrScheduleKind { Constant, Step, Cosine };

struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::Constant;
  double base_lr = 0.01;
  int64_t total_steps = 0;           ///< cosine: steps to anneal over (warm-up included)
  int64_t step_size = 0;             ///< step: steps between decays (> 0)
  double gamma = 0.1;                ///< step: decay factor
  double min_lr = 0.0;               ///< cosine: the final rate (eta_min)
  int64_t warmup_steps = 0;          ///< linear warm-up over the first warmup_steps steps
  double warmup_start_factor = 0.1;  ///< the warm-up starts at base_lr · warmup_start_factor

  /// The learning rate of optimizer step `step` (0-based). Throws std::invalid_argument when the schedule
  /// is inconsistent (validate()).
  double lr_at(int64_t step) const;
  /// Throws std::invalid_argument naming the field unless base_lr > 0, step schedules have step_size > 0,
  /// 0 < warmup_start_factor <= 1 and min_lr <= base_lr.
  void validate() const;
};

/// "constant", "step", "cosine".
const char* lr_schedule_name(LrScheduleKind kind);
/// The inverse; throws std::invalid_argument listing the names.
LrScheduleKind parse_lr_schedule(const std::string& name);

}  // namespace qg::nn
