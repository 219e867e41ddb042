#include "fuzz/targets.h"

namespace qg::fuzz {

const std::vector<Target>& all_targets() {
  static const std::vector<Target> targets = {
      {"idx", idx},   {"config", config}, {"checkpoint", checkpoint}, {"model_file", model_file},
#ifdef QG_FUZZ_ONNX
      {"onnx", onnx},
#endif
  };
  return targets;
}

}  // namespace qg::fuzz
