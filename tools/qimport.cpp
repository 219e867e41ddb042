// qimport: a float ONNX model, such as torch.onnx.export writes, in as a quantgrad config and float checkpoint,
// which train_qat, ptq and qinfer then take as if `train` had written them.
//
//   build/tools/qimport --onnx net.onnx --out-config runs/net.json --out-ckpt runs/net.ckpt
//   build/tools/ptq --config runs/net.json --from runs/net.ckpt --bits 8
#include <cstdio>

#include "app/flags.h"
#include "onnx_io/import_job.h"

int main(int argc, char** argv) {
  using namespace qg::app;
  return run_tool("qimport", [&] {
    Flags flags("qimport",
                "Imports a float ONNX model (Conv, Relu, Clip, MaxPool, AveragePool, GlobalAveragePool, "
                "BatchNormalization, Flatten/Reshape, Gemm, MatMul+Add, Add, Concat) as a config and a float "
                "checkpoint.",
                {{"onnx", "M.onnx", "the ONNX model to read (required)"},
                 {"out-config", "C.json", "model config to write (required)"},
                 {"out-ckpt", "CKPT", "float checkpoint to write (required)"},
                 {"name", "NAME", "the config's name (default: the ONNX file's name without extension)"},
                 {"dataset", "NAME", "mnist | fashion-mnist: the config's data section (default: mnist)"}});
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    qg::onnx_io::ImportJob job;
    job.onnx_path = flags.get("onnx");
    job.config_out = flags.get("out-config");
    job.checkpoint_out = flags.get("out-ckpt");
    job.options.name = flags.optional("name").value_or("");
    job.options.dataset = flags.optional("dataset").value_or("mnist");
    if (job.options.dataset != "mnist" && job.options.dataset != "fashion-mnist")
      throw UsageError("--dataset must be mnist or fashion-mnist, got \"" + job.options.dataset + "\"");
    std::printf("%s", qg::onnx_io::run_import_job(job).c_str());
    return 0;
  });
}
