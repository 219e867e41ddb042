// train_qat: Quantization-aware training: float model -> QAT -> integer-only model.
//
//   build/tools/train_qat --config configs/mnist_cnn.json --bits 8 --report runs/train_qat.json
#include <cstdio>

#include "app/quant_flags.h"

int main(int argc, char** argv) {
  using namespace qg::app;
  return run_tool("train_qat", [&] {
    Flags flags("train_qat", "Quantization-aware training: float model -> QAT -> integer-only model.",
                quant_flag_specs(QuantMethod::Qat));
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    run_quant_job(quant_job_from_flags(flags, QuantMethod::Qat));
    return 0;
  });
}
