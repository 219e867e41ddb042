// Fuzz target: checkpoints, and what the tools do with one. See fuzz/targets.h.
#include <memory>
#include <string>

#include "app/experiment.h"
#include "app/qat_recipe.h"
#include "app/quantize_job.h"
#include "config/builder.h"
#include "config/loader.h"
#include "fuzz/fuzz_configs.h"
#include "fuzz/memory_file.h"
#include "fuzz/targets.h"
#include "nn/checkpoint.h"
#include "nn/optim/sgd.h"
#include "util/binary_io.h"
#include "util/checksum.h"
#include "util/container.h"

namespace qg::fuzz {

namespace {

// A config with its float model, its QAT model and the QAT model's optimizer: what a checkpoint is loaded
// into. Built once; loading only copies values, so the state left by one input does not change how the next
// one is checked.
struct LoadTarget {
  explicit LoadTarget(const char* config_text)
      : config(config::parse_config_text(config_text, "fuzz config")),
        model(build(config)),
        qat(quant::prepare_qat(*model, app::layer_settings(config))),
        optimizer(qat->parameters(), {.lr = 0.01, .momentum = 0.5}) {}

  static std::shared_ptr<nn::Graph> build(const config::ModelConfig& c) {
    Generator gen(c.train.seed);
    return config::build_model(c, gen);
  }

  config::ModelConfig config;
  std::shared_ptr<nn::Graph> model;
  std::shared_ptr<quant::QatModel> qat;
  nn::Sgd optimizer;
};

// What `train --resume`, `train_qat --from` and `train_qat --resume` do with a loaded checkpoint. Each step
// may refuse the checkpoint with a CheckpointError, and nothing else.
void use_checkpoint(const nn::Checkpoint& checkpoint, LoadTarget& target) {
  try {
    nn::copy_state(checkpoint, "model.", target.model->state(), "fuzz");
  } catch (const nn::CheckpointError&) {
  }
  try {
    app::resume_progress(checkpoint, "fuzz", target.config, 100, 25);
  } catch (const nn::CheckpointError&) {
  }
  (void)app::metadata_string(checkpoint.metadata, "kind");
  (void)app::metadata_number(checkpoint.metadata, "float_test_accuracy", 0.0);
  try {
    app::restore_qat_checkpoint(checkpoint, "fuzz", target.config, *target.qat, target.optimizer);
  } catch (const nn::CheckpointError&) {
  }
}

void load(const std::string& path) {
  static LoadTarget minmax(kMinMaxConfig), percentile(kPercentileConfig), lsq(kLsqConfig);
  nn::Checkpoint checkpoint;
  try {
    checkpoint = nn::load_checkpoint(path);
  } catch (const nn::CheckpointError&) {
    return;  // the documented error: path, offset or JSON path, what is wrong
  }
  use_checkpoint(checkpoint, minmax);
  use_checkpoint(checkpoint, percentile);
  use_checkpoint(checkpoint, lsq);
}

}  // namespace

int checkpoint(const uint8_t* data, size_t size) {
  static MemoryFile file("qg_fuzz_checkpoint");
  std::string bytes(reinterpret_cast<const char*>(data), size);
  load(file.write(bytes));
  // The same bytes with their trailing checksum recomputed, so that the fuzzer gets past it to the header:
  // the CRC-32 of the file container (util/container.h), or a version-1 checkpoint's FNV-1a 64.
  const bool version1 = bytes.size() >= 12 && util::read_le<uint32_t>(bytes, 8) == 1;
  const size_t checksum_bytes = version1 ? 8 : util::kContainerChecksumSize;
  if (bytes.size() >= checksum_bytes) {
    std::string fixed = bytes.substr(0, bytes.size() - checksum_bytes);
    if (version1) {
      util::append_le<uint64_t>(fixed, util::fnv1a64(fixed));
    } else {
      util::append_le<uint32_t>(fixed, util::crc32(util::byte_span(fixed)));
    }
    if (fixed != bytes) load(file.write(fixed));
  }
  return 0;
}

}  // namespace qg::fuzz
