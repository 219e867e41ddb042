// train: trains a config's float model on MNIST (or Fashion-MNIST), the tutorial's train.py.
//
//   build/tools/train --config configs/mnist_cnn.json --epochs 5 --report runs/train.json
//   mpirun -np 4 build/tools/train --config configs/mnist_cnn.json --threads 1   (data parallel:
//                                                                         docs/distributed.md)
#include <cstdio>

#include "app/distributed.h"
#include "app/flags.h"
#include "app/train_job.h"

int main(int argc, char** argv) {
  using namespace qg::app;
  distributed::MpiSession mpi(argc, argv, "train");  // data parallel when started by mpirun
  return mpi.finish(run_tool("train", [&] {
    Flags flags(
        "train", "Trains the float model of a JSON config and saves a checkpoint.",
        {{"config", "C", "model config (JSON), e.g. configs/mnist_cnn.json (required)"},
         {"epochs", "N", "override train.epochs"},
         {"batch-size", "B", "override train.batch_size"},
         {"lr", "X", "override train.lr"},
         {"seed", "S", "override train.seed"},
         {"threads", "T", "OpenBLAS threads (default: all cores)"},
         {"data", "DIR", "dataset folder (default: the config's data.root)"},
         {"train-limit", "N", "train on the first N training images only (default: all)"},
         {"test-limit", "N", "evaluate on the first N test images only (default: all)"},
         {"out", "CKPT", "checkpoint to write (default: the --resume one, else runs/<config name>.ckpt)"},
         {"resume", "CKPT", "continue a stopped run exactly where its checkpoint left it"},
         {"checkpoint-every", "N", "also checkpoint every N training steps (default 0: epoch ends only)"},
         {"report", "FILE", "write a JSON report"}});
    flags.parse(argc, argv);
    if (flags.help_requested()) {
      std::printf("%s", flags.usage().c_str());
      return 0;
    }
    TrainJob job;
    job.config_path = flags.get("config");
    if (flags.has("epochs")) job.overrides.epochs = flags.get_int("epochs", 0, 100000);
    if (flags.has("batch-size")) job.overrides.batch_size = flags.get_int("batch-size", 1, 1 << 20);
    if (flags.has("lr")) job.overrides.lr = flags.get_double("lr", 0.0, 1e6);
    if (flags.has("seed")) job.overrides.seed = flags.get_int("seed", 0, INT64_MAX);
    if (flags.has("threads")) job.threads = flags.get_int("threads", 1, 64);
    job.overrides.data_root = flags.optional("data");
    if (flags.has("train-limit")) job.overrides.train_limit = flags.get_int("train-limit", 1, INT64_MAX);
    if (flags.has("test-limit")) job.overrides.test_limit = flags.get_int("test-limit", 1, INT64_MAX);
    job.out = flags.optional("out").value_or("");
    job.resume = flags.optional("resume");
    if (flags.has("checkpoint-every")) job.checkpoint_every = flags.get_int("checkpoint-every", 0, INT64_MAX);
    job.report = flags.optional("report");
    run_train_job(job);
    return 0;
  }));
}
