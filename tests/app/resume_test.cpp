// Crash-safe training: a run that stops (here: a "crash" thrown from the step hook) and is resumed from its
// last checkpoint takes exactly the steps the uninterrupted run takes. With one thread, every loss and every
// final weight is bit-identical, and so is the final checkpoint file.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "app/quantize_job.h"
#include "app/tiny_run.h"
#include "app/train_job.h"
#include "nn/checkpoint.h"
#include "runtime/model_file.h"

namespace qg::app {
namespace {

using qg::testing::TinyConfig;
using qg::testing::TinyWorld;

struct SimulatedCrash : std::runtime_error {
  SimulatedCrash() : std::runtime_error("simulated crash") {}
};

/// Losses by step (and in the order they came), recorded by a StepHook; optionally "crashes" after the
/// `crash_after`-th step it sees.
struct LossRecorder {
  std::map<int64_t, float> losses;
  std::vector<float> sequence;
  int64_t crash_after = -1;
  StepHook hook() {
    return [this](const TrainingProgress& p, float loss, nn::Module&) {
      losses[p.step] = loss;
      sequence.push_back(loss);
      if (static_cast<int64_t>(sequence.size()) == crash_after) throw SimulatedCrash();
    };
  }
};

/// Bitwise float equality: EXPECT_EQ on floats would call -0 and +0 equal.
bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

void expect_same_losses(const std::map<int64_t, float>& reference, const std::map<int64_t, float>& resumed,
                        int64_t first_step) {
  ASSERT_FALSE(resumed.empty());
  EXPECT_EQ(resumed.begin()->first, first_step) << "the resumed run must start right after its checkpoint";
  for (const auto& [step, loss] : resumed) {
    ASSERT_TRUE(reference.count(step)) << "step " << step << " is not in the uninterrupted run";
    EXPECT_TRUE(same_bits(reference.at(step), loss))
        << "step " << step << ": uninterrupted " << reference.at(step) << ", resumed " << loss;
  }
  EXPECT_EQ(resumed.rbegin()->first, reference.rbegin()->first) << "both runs must end at the same step";
}

/// Every tensor of two checkpoints bit for bit, and the metadata; and the files byte for byte.
void expect_same_checkpoint(const std::string& a, const std::string& b) {
  const nn::Checkpoint x = nn::load_checkpoint(a), y = nn::load_checkpoint(b);
  ASSERT_EQ(x.tensors.size(), y.tensors.size());
  for (size_t i = 0; i < x.tensors.size(); ++i) {
    const auto& [name, t] = x.tensors[i];
    EXPECT_EQ(name, y.tensors[i].first);
    ASSERT_EQ(t.shape(), y.tensors[i].second.shape()) << name;
    const Tensor u = t.contiguous(), v = y.tensors[i].second.contiguous();
    EXPECT_EQ(std::memcmp(u.data(), v.data(), static_cast<size_t>(u.numel()) * sizeof(float)), 0) << name;
  }
  EXPECT_EQ(x.metadata, y.metadata);
  EXPECT_EQ(util::read_file(a), util::read_file(b));
}

class FloatResume : public ::testing::Test {
 protected:
  TrainJob job(const std::string& out, LossRecorder& recorder) const {
    TrainJob j;
    j.config_path = world.config_path();
    j.overrides.epochs = 3;  // 256 images / 32 = 8 steps per epoch, 24 in all
    j.threads = 1;
    j.out = world.file(out);
    j.quiet = true;
    j.on_step = recorder.hook();
    return j;
  }
  TinyWorld world;
};

TEST_F(FloatResume, FromAStepCheckpointInTheMiddleOfAnEpochIsBitIdentical) {
  LossRecorder reference;
  const TrainOutcome uninterrupted = run_train_job(job("reference.ckpt", reference));
  ASSERT_EQ(reference.losses.size(), 24u);

  LossRecorder crashing;
  crashing.crash_after = 13;  // step checkpoints at 5 and 10; step 13 is lost with the crash
  TrainJob first = job("run.ckpt", crashing);
  first.checkpoint_every = 5;
  EXPECT_THROW(run_train_job(first), SimulatedCrash);
  const nn::Checkpoint saved = nn::load_checkpoint(first.out);
  EXPECT_EQ(saved.metadata["progress"]["step"], 10);
  EXPECT_EQ(saved.metadata["progress"]["epoch"], 2);
  EXPECT_EQ(saved.metadata["progress"]["batches_done"], 2);

  LossRecorder resumed;
  TrainJob second = job("run.ckpt", resumed);
  second.checkpoint_every = 5;
  second.resume = first.out;
  const TrainOutcome r = run_train_job(second);
  expect_same_losses(reference.losses, resumed.losses, 11);
  expect_same_checkpoint(world.file("reference.ckpt"), first.out);
  // Epoch 2 straddles the crash: its mean loss includes the batches trained before it, exactly.
  ASSERT_EQ(r.epoch_loss.size(), 2u);
  EXPECT_EQ(r.epoch_loss[0], uninterrupted.epoch_loss[1]);
  EXPECT_EQ(r.epoch_loss[1], uninterrupted.epoch_loss[2]);
  EXPECT_EQ(r.test.predictions, uninterrupted.test.predictions);
}

TEST_F(FloatResume, FromAnEpochEndCheckpointIsBitIdentical) {
  LossRecorder reference;
  run_train_job(job("reference.ckpt", reference));

  LossRecorder crashing;
  crashing.crash_after = 20;  // in epoch 3; the last checkpoint is the end of epoch 2 (step 16)
  EXPECT_THROW(run_train_job(job("run.ckpt", crashing)), SimulatedCrash);
  EXPECT_EQ(nn::load_checkpoint(world.file("run.ckpt")).metadata["epoch"], 2);

  LossRecorder resumed;
  TrainJob second = job("run.ckpt", resumed);
  second.resume = world.file("run.ckpt");
  run_train_job(second);
  expect_same_losses(reference.losses, resumed.losses, 17);
  expect_same_checkpoint(world.file("reference.ckpt"), world.file("run.ckpt"));
}

TEST_F(FloatResume, SameSeedAndThreadsGiveTheSameRunTwice) {
  LossRecorder a, b;
  TrainJob first = job("a.ckpt", a), second = job("b.ckpt", b);
  first.threads = second.threads = 2;
  run_train_job(first);
  run_train_job(second);
  EXPECT_EQ(a.losses, b.losses);
  expect_same_checkpoint(first.out, second.out);
}

TEST_F(FloatResume, RefusesACheckpointOfAnotherSeedOrBatchSize) {
  LossRecorder crashing;
  crashing.crash_after = 3;
  TrainJob first = job("run.ckpt", crashing);
  first.checkpoint_every = 2;
  EXPECT_THROW(run_train_job(first), SimulatedCrash);

  LossRecorder unused;
  TrainJob other_seed = job("run.ckpt", unused);
  other_seed.resume = first.out;
  other_seed.overrides.seed = 4;
  try {
    run_train_job(other_seed);
    FAIL() << "resumed with another seed";
  } catch (const nn::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("seed 3, but this run uses seed 4"), std::string::npos) << e.what();
  }
  TrainJob other_batch = job("run.ckpt", unused);
  other_batch.resume = first.out;
  other_batch.overrides.batch_size = 16;
  try {
    run_train_job(other_batch);
    FAIL() << "resumed in the middle of an epoch with another batch size";
  } catch (const nn::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("batch size 32"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(unused.losses.empty()) << "nothing may be trained before the checks";
}

// QAT: the observers' running ranges (and the percentile observer's sample and generator) are part of the
// state; without them the resumed run would quantize with other parameters and drift.
class QatResume : public ::testing::TestWithParam<TinyConfig> {
 protected:
  void SetUp() override {
    world.write_config(GetParam());
    TrainJob float_job;  // the float model both QAT runs start from
    float_job.config_path = world.config_path();
    float_job.overrides.epochs = 1;
    float_job.threads = 1;
    float_job.out = world.file("float.ckpt");
    float_job.quiet = true;
    run_train_job(float_job);
  }
  QuantJob job(const std::string& name, LossRecorder& recorder) const {
    QuantJob j;
    j.method = QuantMethod::Qat;
    j.config_path = world.config_path();
    j.from = world.file("float.ckpt");
    j.threads = 1;
    j.out = world.file(name + ".qgm");
    j.checkpoint = world.file(name + ".qat.ckpt");
    j.quiet = true;
    j.on_step = recorder.hook();
    return j;
  }
  TinyWorld world;
};

TEST_P(QatResume, FromAStepCheckpointIsBitIdentical) {
  LossRecorder reference;
  const QuantOutcome uninterrupted = run_quant_job(job("reference", reference));
  ASSERT_EQ(reference.losses.size(), 16u);  // 2 QAT epochs of 8 steps

  LossRecorder crashing;
  crashing.crash_after = 7;
  QuantJob first = job("run", crashing);
  first.checkpoint_every = 3;  // saved after steps 3 and 6
  EXPECT_THROW(run_quant_job(first), SimulatedCrash);
  const nn::Checkpoint saved = nn::load_checkpoint(first.checkpoint);
  EXPECT_EQ(saved.metadata["kind"], "qat");
  EXPECT_EQ(saved.metadata["progress"]["step"], 6);
  for (const auto& [name, scalars] : saved.metadata["observers"].items()) {
    if (scalars.contains("observed")) {
      EXPECT_TRUE(scalars["observed"].get<bool>()) << name;
    }
  }

  LossRecorder resumed;
  QuantJob second = job("run", resumed);
  second.from.reset();
  second.resume = first.checkpoint;
  second.checkpoint_every = 3;
  const QuantOutcome r = run_quant_job(second);
  expect_same_losses(reference.losses, resumed.losses, 7);
  expect_same_checkpoint(world.file("reference.qat.ckpt"), first.checkpoint);
  EXPECT_EQ(util::read_file(world.file("reference.qgm")), util::read_file(first.out))
      << "the integer model files must be byte-identical";
  EXPECT_EQ(r.integer.predictions, uninterrupted.integer.predictions);
  EXPECT_EQ(r.float_accuracy, uninterrupted.float_accuracy);
}

TEST_P(QatResume, RefusesACheckpointOfAnotherBitWidth) {
  LossRecorder crashing;
  crashing.crash_after = 4;
  QuantJob first = job("run", crashing);
  first.checkpoint_every = 2;
  EXPECT_THROW(run_quant_job(first), SimulatedCrash);

  LossRecorder unused;
  QuantJob second = job("run", unused);
  second.from.reset();
  second.resume = first.checkpoint;
  second.bits = 4;
  try {
    run_quant_job(second);
    FAIL() << "resumed an 8-bit QAT run at 4 bits";
  } catch (const nn::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("quant.bits = 8, but this run has 4"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(unused.losses.empty());
}

TinyConfig with_observer(const std::string& observer, bool per_channel,
                         const std::string& method = "tutorial") {
  TinyConfig c;
  c.method = method;
  c.observer = observer;
  c.per_channel = per_channel;
  return c;
}

// The learned methods add trained step sizes and zero points (saved as parameters, with their optimizer
// state) and a cosine learning-rate schedule (a function of the step), and freeze the BatchNorm.
INSTANTIATE_TEST_SUITE_P(
    Observers, QatResume,
    ::testing::Values(with_observer("minmax", false), with_observer("moving_average_minmax", true),
                      with_observer("percentile", false), with_observer("moving_average_minmax", true, "ema"),
                      with_observer("minmax", true, "lsq"), with_observer("minmax", true, "binary")),
    [](const auto& info) {
      return info.param.method + "_" + info.param.observer + (info.param.per_channel ? "_per_channel" : "");
    });

// train_qat without --from trains the float model first; a run stopped there resumes from that float
// checkpoint, finishes the float training and then QAT, exactly as an uninterrupted run.
TEST(QatResumeFromFloatPhase, ContinuesTheFloatTrainingThenQat) {
  TinyWorld world;
  const std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(world.work.path());  // the float phase writes runs/<config>.ckpt here
  struct Restore {
    std::filesystem::path dir;
    ~Restore() { std::filesystem::current_path(dir); }
  } restore{previous};

  const auto make_job = [&](const std::string& name, LossRecorder& recorder) {
    QuantJob j;
    j.method = QuantMethod::Qat;
    j.config_path = world.config_path();
    j.overrides.epochs = 2;
    j.threads = 1;
    j.out = world.file(name + ".qgm");
    j.quiet = true;
    j.checkpoint_every = 4;
    j.on_step = recorder.hook();
    return j;
  };
  LossRecorder reference;
  run_quant_job(make_job("reference", reference));
  ASSERT_EQ(reference.sequence.size(), 32u);  // 16 float steps, then 16 QAT steps
  std::filesystem::rename("runs/tiny_cnn_bn.ckpt", "reference_float.ckpt");

  LossRecorder crashing;
  crashing.crash_after = 10;  // in the float phase, after the step-8 checkpoint
  EXPECT_THROW(run_quant_job(make_job("run", crashing)), SimulatedCrash);
  LossRecorder resumed;
  QuantJob second = make_job("run", resumed);
  second.resume = "runs/tiny_cnn_bn.ckpt";
  run_quant_job(second);
  // float steps 9..16 (after the step-8 checkpoint), then all of QAT
  ASSERT_EQ(resumed.sequence.size(), 24u);
  for (size_t i = 0; i < resumed.sequence.size(); ++i) {
    EXPECT_TRUE(same_bits(resumed.sequence[i], reference.sequence[8 + i])) << "loss " << i;
  }
  expect_same_checkpoint("reference_float.ckpt", "runs/tiny_cnn_bn.ckpt");
  EXPECT_EQ(util::read_file(world.file("reference.qgm")), util::read_file(world.file("run.qgm")));
}

}  // namespace
}  // namespace qg::app
