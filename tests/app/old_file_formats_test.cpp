// Files written by earlier builds still load (tests/fixtures/formats/README.md says which build wrote each):
// version-1 checkpoints, from before checkpoints moved into the file container (util/container.h), and
// model files of versions 1 and 2, whose bytes the container keeps exactly.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app/experiment.h"
#include "app/qat_recipe.h"
#include "app/quantize_job.h"
#include "config/builder.h"
#include "config/loader.h"
#include "datasets/test_files.h"
#include "fuzz/fuzz_configs.h"
#include "nn/checkpoint.h"
#include "nn/optim/sgd.h"
#include "quant/qat_model.h"
#include "runtime/model_file.h"
#include "util/atomic_file.h"
#include "util/binary_io.h"

namespace qg {
namespace {

std::string fixture(const std::string& name) {
  return std::string(QG_FIXTURES_DIR) + "/formats/" + name;
}

uint32_t version_of(const std::string& bytes) {
  return util::read_le<uint32_t>(bytes, 8);
}

// The float model of a config, as the tools build it.
struct FloatModel {
  explicit FloatModel(const char* config_text)
      : config(config::parse_config_text(config_text, "fixture config")), model([&] {
          Generator gen(config.train.seed);
          return config::build_model(config, gen);
        }()) {}
  config::ModelConfig config;
  std::shared_ptr<nn::Graph> model;
};

TEST(OldFileFormats, Version1FloatCheckpointLoadsIntoItsModel) {
  const std::string path = fixture("minmax_float_v1.ckpt");
  ASSERT_EQ(version_of(util::read_file(path)), 1u);
  FloatModel target(fuzz::kMinMaxConfig);
  const nn::Checkpoint checkpoint = app::load_training_checkpoint(path, *target.model, "fuzz_minmax");
  EXPECT_EQ(checkpoint.metadata["kind"], "float");
  EXPECT_EQ(checkpoint.metadata["epoch"], 0);
  nn::Sgd optimizer(target.model->parameters(), {.lr = 0.01, .momentum = 0.5});
  app::restore_optimizer(checkpoint, optimizer, path);
  // The model now holds the saved values, bit for bit.
  for (const auto& [name, tensor] : target.model->state())
    EXPECT_EQ(tensor.to_vector(), checkpoint.find("model." + name).to_vector()) << name;
}

TEST(OldFileFormats, Version1QatCheckpointRestoresItsQatModel) {
  const std::string path = fixture("lsq_qat_v1.ckpt");
  ASSERT_EQ(version_of(util::read_file(path)), 1u);
  FloatModel target(fuzz::kLsqConfig);
  const auto qat = quant::prepare_qat(*target.model, app::layer_settings(target.config));
  nn::Sgd optimizer(qat->parameters(), {.lr = 0.01, .momentum = 0.5});
  const nn::Checkpoint checkpoint = nn::load_checkpoint(path);
  EXPECT_EQ(checkpoint.metadata["kind"], "qat");
  app::restore_qat_checkpoint(checkpoint, path, target.config, *qat, optimizer);
  // The QAT model (its learned step sizes and zero points included) now holds the saved values.
  for (const auto& [name, tensor] : qat->state())
    EXPECT_EQ(tensor.to_vector(), checkpoint.find("model." + name).to_vector()) << name;
}

TEST(OldFileFormats, Version1CheckpointSavedAgainIsVersion2WithTheSameContents) {
  data::testing::TempDir dir;
  const nn::Checkpoint old = nn::load_checkpoint(fixture("lsq_qat_v1.ckpt"));
  nn::save_checkpoint(dir.file("again.ckpt"), old);
  EXPECT_EQ(version_of(util::read_file(dir.file("again.ckpt"))), 2u);
  const nn::Checkpoint again = nn::load_checkpoint(dir.file("again.ckpt"));
  EXPECT_EQ(again.metadata, old.metadata);
  ASSERT_EQ(again.tensors.size(), old.tensors.size());
  for (size_t i = 0; i < old.tensors.size(); ++i) {
    EXPECT_EQ(again.tensors[i].first, old.tensors[i].first);
    EXPECT_EQ(again.tensors[i].second.shape(), old.tensors[i].second.shape());
    EXPECT_EQ(again.tensors[i].second.to_vector(), old.tensors[i].second.to_vector()) << old.tensors[i].first;
  }
}

// A model file that loads is saved again to the very same bytes: the format did not change.
TEST(OldFileFormats, ModelFilesOfVersions1And2LoadAndSaveToTheSameBytes) {
  for (const auto& [name, version] : {std::pair{"minmax_v1.qgm", 1u}, {"lsq_mul_add_v2.qgm", 2u}}) {
    const std::string bytes = util::read_file(fixture(name));
    ASSERT_EQ(version_of(bytes), version) << name;
    const runtime::Model model = runtime::load_model(fixture(name));
    const std::vector<uint8_t> saved = runtime::serialize_model(model);
    EXPECT_EQ(std::string(saved.begin(), saved.end()), bytes) << name;
  }
}

}  // namespace
}  // namespace qg
