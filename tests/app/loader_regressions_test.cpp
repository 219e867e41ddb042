// Problems the fuzzers, the sanitizers and the fault-injection tests found, each kept as a test of its own
// (inputs too large to commit as fuzz/regressions/ files are made here).
#include <gtest/gtest.h>

#include <limits>

#include "datasets/test_files.h"
#include "nn/checkpoint.h"
#include "quant/observers/minmax_observer.h"
#include "util/atomic_file.h"
#include "util/binary_io.h"
#include "util/checksum.h"

namespace qg {
namespace {

// A checkpoint whose header is `header`, with a correct checksum (nn/checkpoint.h's layout).
std::string checkpoint_bytes(const std::string& header) {
  std::string bytes("QGCKPT\0\1", 8);
  util::append_le<uint32_t>(bytes, 1);
  util::append_le<uint64_t>(bytes, header.size());
  bytes += header;
  util::append_le<uint64_t>(bytes, util::fnv1a64(bytes));
  return bytes;
}

// Found by design review, confirmed with the checkpoint fuzz target under ASan: nlohmann::json parses
// deep nesting iteratively, but copying the parsed metadata recurses once per level, so a 200 kB header of
// 100000 nested arrays overflowed the stack (SIGSEGV; ASan: stack-overflow in basic_json's copy
// constructor) in every tool that loads a checkpoint (train --resume, train_qat --from/--resume, ptq --from,
// sweep --from). The config and model-file loaders already cap nesting at 64 levels.
TEST(CheckpointLoader, RefusesADeeplyNestedHeaderInsteadOfOverflowingTheStack) {
  data::testing::TempDir dir;
  const int depth = 100000;
  const std::string header =
      "{\"metadata\":" + std::string(depth, '[') + std::string(depth, ']') + ",\"tensors\":[]}";
  util::write_file_atomically(dir.file("deep.ckpt"), checkpoint_bytes(header));
  EXPECT_THROW(nn::load_checkpoint(dir.file("deep.ckpt")), nn::CheckpointError);
}

TEST(CheckpointLoader, AcceptsOrdinaryNesting) {
  data::testing::TempDir dir;
  const std::string header = "{\"metadata\":{\"a\":[[[1]]]},\"tensors\":[]}";
  util::write_file_atomically(dir.file("ok.ckpt"), checkpoint_bytes(header));
  EXPECT_EQ(nn::load_checkpoint(dir.file("ok.ckpt")).metadata["a"][0][0][0], 1);
}

// Found by the divergence tests: the min/max reductions skip NaN (every comparison with NaN is false), so a
// NaN weight passed the observers' finiteness check and surfaced steps later, far from its cause.
TEST(MinMaxObservers, RefuseNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Tensor::from_vector({1.0f, nan, -2.0f, 3.0f}, {2, 2});
  quant::MinMaxObserver minmax({8});
  EXPECT_THROW(minmax.observe(x), quant::NonFiniteObservation);
  EXPECT_FALSE(minmax.has_observed());
  quant::MovingAverageMinMaxObserver moving({8}, 0.1f);
  EXPECT_THROW(moving.observe(x), quant::NonFiniteObservation);
  quant::PerChannelMinMaxObserver per_channel({8});
  EXPECT_THROW(per_channel.observe(x), quant::NonFiniteObservation);
  EXPECT_FALSE(per_channel.has_observed());
}

}  // namespace
}  // namespace qg
