// train_qat: Quantization-aware training: float model -> QAT -> integer-only model.
//
//   build/tools/train_qat --config configs/mnist_cnn.json --bits 8 --report runs/train_qat.json
//   mpirun -np 4 build/tools/train_qat ... --threads 1   (data parallel: docs/distributed.md)
#include <cstdio>

#include "app/distributed.h"
#include "app/quant_flags.h"

int main(int argc, char** argv) {
  using namespace qg::app;
  distributed::MpiSession mpi(argc, argv, "train_qat");  // data parallel when started by mpirun
  return mpi.finish(run_tool("train_qat", [&] {
    Flags flags("train_qat", "Quantization-aware training: float model -> QAT -> integer-only model.",
                quant_flag_specs(QuantMethod::Qat));
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    run_quant_job(quant_job_from_flags(flags, QuantMethod::Qat));
    return 0;
  }));
}
