#include "app/quant_flags.h"

#include <algorithm>
#include <cstdint>

#include "config/object_reader.h"
#include "config/quant_recipe.h"

namespace qg::app {

std::vector<FlagSpec> quant_flag_specs(QuantMethod method) {
  std::vector<FlagSpec> specs{
      {"config", "C", "model config (JSON), e.g. configs/mnist_cnn.json (required)"},
      {"bits", "B", "bit width 1..8 of weights and activations (default: the config's quant.bits)"},
      {"from", "CKPT", "float checkpoint from `train` (default: train the float model first)"},
      {"method", "NAME",
       method == QuantMethod::Qat
           ? "tutorial | ema | lsq | binary: how the grids are found (default: quant.method; docs/config.md)"
           : "tutorial | ema: how the observers calibrate (default: quant.method; a config's lsq or binary "
             "calibrates as ema)"},
      {"input-bits", "B", "bit width of the model input (default: --bits; 8 under binary)"},
      {"first-layer-bits", "B", "bit width of the first conv/linear layer's weights (default: --bits)"},
      {"last-layer-bits", "B",
       "bit width of the last layer's weights and output (default: --bits; 8 under binary)"},
      {"observer", "NAME", "minmax | moving_average_minmax | percentile | histogram (tutorial, ema)"},
      {"per-channel", "", "quantize weights per output channel (the default of ema, lsq and binary)"},
      {"per-tensor", "", "one weight scale per tensor (the tutorial's default)"},
      {"inspect", "",
       method == QuantMethod::Qat
           ? "print (and report) each quantizer's grid, error (SQNR), clamping and code changes"
           : "print (and report) each quantizer's grid, error (SQNR) and clamping over the calibration"},
      {"float-epochs", "N", "epochs of float training when there is no --from"},
      {"lr", "X", "learning rate of float training when there is no --from"},
      {"seed", "S", "override train.seed"},
      {"data", "DIR", "dataset folder (default: the config's data.root)"},
      {"train-limit", "N",
       method == QuantMethod::Qat ? "train (and calibrate) on the first N training images only (default: all)"
                                  : "calibrate (and train a float model) on the first N training images only "
                                    "(default: all)"},
      {"test-limit", "N", "evaluate on the first N test images only (default: all)"},
      {"threads", "T", "OpenBLAS threads (default: all cores)"},
      {"out", "MODEL",
       "integer model file to write (default: runs/<config>_ptq_int<bits>.qgm from ptq, _qat_ from "
       "train_qat)"},
      {"report", "FILE", "write a JSON report"}};
  if (method == QuantMethod::Qat) {
    specs.insert(specs.begin() + 3, {"epochs", "N", "QAT epochs (default: the config's quant.qat_epochs)"});
    specs.insert(specs.begin() + 4,
                 {"qat-lr", "X", "QAT learning rate (default: the method's, quant.qat_lr)"});
    specs.insert(specs.begin() + 5, {"qat-optimizer", "NAME", "sgd | adam (default: the method's)"});
    specs.insert(specs.begin() + 6,
                 {"lr-schedule", "NAME",
                  "constant | step | cosine, per step over the QAT epochs (default: the method's)"});
    specs.insert(specs.begin() + 7,
                 {"warmup-epochs", "X",
                  "linear learning-rate warm-up (default: the method's, 0.5 except tutorial 0)"});
    specs.insert(specs.begin() + 8,
                 {"weight-decay", "X", "QAT weight decay, never on learned step sizes (default 0)"});
    specs.insert(
        specs.begin() + 9,
        {"freeze-bn-epoch", "N|never",
         "freeze BatchNorm statistics after N QAT epochs (default: the method's, 0 except tutorial never)"});
    specs.insert(specs.begin() + 10,
                 {"freeze-observers-epoch", "N|never",
                  "freeze the observers after N QAT epochs (tutorial, ema; default never)"});
    specs.insert(specs.begin() + 11,
                 {"ste", "NAME", "identity (the tutorial's) | clipped (PyTorch's) (tutorial, ema)"});
    specs.push_back(
        {"checkpoint", "CKPT",
         "QAT checkpoint, saved after every QAT epoch (default: the --resume one, else --out as .qat.ckpt)"});
    specs.push_back(
        {"checkpoint-every", "N", "also checkpoint every N training steps (default 0: epoch ends only)"});
    specs.push_back({"resume", "CKPT",
                     "continue a stopped run: its QAT checkpoint, or the float one of its float phase"});
  } else {
    specs.insert(specs.begin() + 3, {"batches", "N", "calibration batches (default: quant.ptq_batches)"});
  }
  return specs;
}

QuantJob quant_job_from_flags(const Flags& flags, QuantMethod method) {
  QuantJob job;
  job.method = method;
  job.config_path = flags.get("config");
  if (flags.has("bits")) job.bits = flags.get_int("bits", 1, 8);
  job.from = flags.optional("from");
  if (method == QuantMethod::Qat) {
    if (flags.has("epochs")) job.qat_epochs = flags.get_int("epochs", 0, 10000);
    if (flags.has("qat-lr")) job.qat_lr = flags.get_double("qat-lr", 0.0, 1e3);
    job.qat_optimizer = flags.optional("qat-optimizer");
    job.lr_schedule = flags.optional("lr-schedule");
    if (flags.has("warmup-epochs")) job.warmup_epochs = flags.get_double("warmup-epochs", 0.0, 1e6);
    if (flags.has("weight-decay")) job.weight_decay = flags.get_double("weight-decay", 0.0, 1.0);
    const auto epoch = [&](const char* name) -> std::optional<int64_t> {
      if (!flags.has(name)) return std::nullopt;
      if (flags.get(name) == "never") return qg::config::QuantConfig::kNever;
      return flags.get_int(name, 0, 100000);
    };
    job.freeze_bn_epoch = epoch("freeze-bn-epoch");
    job.freeze_observers_epoch = epoch("freeze-observers-epoch");
  } else if (flags.has("batches")) {
    job.ptq_batches = flags.get_int("batches", 1, 1 << 30);
  }
  job.quant_method = flags.optional("method");
  if (job.quant_method) {
    const auto& names = config::method_names();
    if (std::find(names.begin(), names.end(), *job.quant_method) == names.end())
      throw UsageError("--method expects one of " + config::join(names) + ", got \"" + *job.quant_method +
                       "\"");
  }
  if (method == QuantMethod::Ptq && job.quant_method &&
      (*job.quant_method == "lsq" || *job.quant_method == "binary")) {
    throw UsageError(
        "--method " + *job.quant_method +
        " learns its grids during QAT; PTQ calibrates observers: use --method tutorial or ema, or train_qat");
  }
  if (flags.has("input-bits")) job.input_bits = flags.get_int("input-bits", 1, 8);
  if (flags.has("first-layer-bits")) job.first_layer_bits = flags.get_int("first-layer-bits", 1, 8);
  if (flags.has("last-layer-bits")) job.last_layer_bits = flags.get_int("last-layer-bits", 1, 8);
  job.inspect = flags.has("inspect");
  job.observer = flags.optional("observer");
  if (flags.has("per-channel") && flags.has("per-tensor"))
    throw UsageError("--per-channel and --per-tensor contradict each other: give one");
  if (flags.has("per-channel")) job.per_channel = true;
  if (flags.has("per-tensor")) job.per_channel = false;
  if (method == QuantMethod::Qat) job.ste = flags.optional("ste");
  if (flags.has("float-epochs")) job.overrides.epochs = flags.get_int("float-epochs", 0, 100000);
  if (flags.has("lr")) job.overrides.lr = flags.get_double("lr", 0.0, 1e6);
  if (flags.has("seed")) job.overrides.seed = flags.get_int("seed", 0, INT64_MAX);
  job.overrides.data_root = flags.optional("data");
  if (flags.has("train-limit")) job.overrides.train_limit = flags.get_int("train-limit", 1, INT64_MAX);
  if (flags.has("test-limit")) job.overrides.test_limit = flags.get_int("test-limit", 1, INT64_MAX);
  if (flags.has("threads")) job.threads = flags.get_int("threads", 1, 64);
  job.out = flags.optional("out").value_or("");
  job.report = flags.optional("report");
  if (method == QuantMethod::Qat) {
    job.resume = flags.optional("resume");
    job.checkpoint = flags.optional("checkpoint").value_or("");
    if (flags.has("checkpoint-every")) job.checkpoint_every = flags.get_int("checkpoint-every", 0, INT64_MAX);
    if (job.resume && job.from) throw UsageError("--from and --resume cannot be combined");
  }
  return job;
}

}  // namespace qg::app
