// Whether operations record the graph. Off inside Function::forward/backward, in evaluation loops
// (`NoGradGuard guard;`) and in optimizers. Thread-local, like torch.no_grad().
#pragma once

namespace qg {

class GradMode {
 public:
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

/// RAII: disables graph recording for its scope and restores the previous mode after.
class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace qg
