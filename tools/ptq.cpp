// ptq: Post-training quantization: float model -> calibration -> integer-only model.
//
//   build/tools/ptq --config configs/mnist_cnn.json --bits 8 --report runs/ptq.json
#include <cstdio>

#include "app/quant_flags.h"

int main(int argc, char** argv) {
  using namespace qg::app;
  return run_tool("ptq", [&] {
    Flags flags("ptq", "Post-training quantization: float model -> calibration -> integer-only model.",
                quant_flag_specs(QuantMethod::Ptq));
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    run_quant_job(quant_job_from_flags(flags, QuantMethod::Ptq));
    return 0;
  });
}
