#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "nn/checkpoint.h"
#include "nn/layers.h"
#include "util/atomic_file.h"

namespace qg::nn {
namespace {

namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("qg_ckpt_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static std::shared_ptr<Sequential> model(uint64_t seed, int64_t width = 4) {
    Generator gen(seed);
    auto net = std::make_shared<Sequential>();
    net->add(std::make_shared<Conv2d>(1, width, 3, functional::Conv2dOptions{}, true, gen));
    net->add(std::make_shared<BatchNorm2d>(width));
    net->add(std::make_shared<Linear>(width, 3, true, gen));
    return net;
  }

  static void expect_same_state(const Module& a, const Module& b) {
    const NamedTensors sa = a.state(), sb = b.state();
    ASSERT_EQ(sa.size(), sb.size());
    for (size_t i = 0; i < sa.size(); ++i)
      EXPECT_EQ(sa[i].second.to_vector(), sb[i].second.to_vector()) << sa[i].first;
  }

  std::string expect_load_error(const std::string& file, Module& into) {
    try {
      load_module(file, into);
    } catch (const CheckpointError& e) {
      return e.what();
    }
    ADD_FAILURE() << "loading " << file << " did not throw";
    return "";
  }

  fs::path dir_;
};

TEST_F(CheckpointTest, RoundTripIsBitExactWithMetadata) {
  auto a = model(1), b = model(2);
  a->named_buffers()[0].second.fill(0.25f);  // running_mean
  save_module(path("m.ckpt"), *a, {{"epoch", 3}, {"config", "mnist_cnn"}});
  load_module(path("m.ckpt"), *b);
  expect_same_state(*a, *b);
  EXPECT_EQ(load_checkpoint(path("m.ckpt")).metadata["epoch"], 3);
  EXPECT_FALSE(fs::exists(path("m.ckpt.tmp." + std::to_string(::getpid()))));
}

TEST_F(CheckpointTest, TruncatedFileIsRejectedAndModelUntouched) {
  auto a = model(1), b = model(2), b_before = model(2);
  save_module(path("m.ckpt"), *a);
  const std::string bytes = util::read_file(path("m.ckpt"));
  for (size_t keep : {size_t{0}, size_t{10}, size_t{30}, bytes.size() / 2, bytes.size() - 1}) {
    util::write_file_atomically(path("t.ckpt"), std::string_view(bytes).substr(0, keep));
    const std::string message = expect_load_error(path("t.ckpt"), *b);
    EXPECT_NE(message.find("t.ckpt"), std::string::npos) << message;
    EXPECT_TRUE(message.find("truncated") != std::string::npos ||
                message.find("checksum") != std::string::npos || message.find("magic") != std::string::npos)
        << message;
    expect_same_state(*b, *b_before);
  }
}

TEST_F(CheckpointTest, FlippedByteFailsTheChecksum) {
  auto a = model(1), b = model(2);
  save_module(path("m.ckpt"), *a);
  std::string bytes = util::read_file(path("m.ckpt"));
  bytes[bytes.size() - 20] ^= 0x40;  // inside the tensor data
  util::write_file_atomically(path("c.ckpt"), bytes);
  EXPECT_NE(expect_load_error(path("c.ckpt"), *b).find("checksum mismatch"), std::string::npos);
}

TEST_F(CheckpointTest, BadMagicAndVersion) {
  auto b = model(2);
  util::write_file_atomically(path("x.ckpt"), std::string(64, 'x'));
  EXPECT_NE(expect_load_error(path("x.ckpt"), *b).find("bad magic"), std::string::npos);
  auto a = model(1);
  save_module(path("m.ckpt"), *a);
  std::string bytes = util::read_file(path("m.ckpt"));
  bytes[8] = 9;  // version field
  util::write_file_atomically(path("v.ckpt"), bytes);
  EXPECT_NE(expect_load_error(path("v.ckpt"), *b).find("unsupported format version 9"), std::string::npos);
}

TEST_F(CheckpointTest, MissingUnexpectedAndMisshapenTensors) {
  auto wide = model(1, 8), narrow = model(1, 4);
  save_module(path("wide.ckpt"), *wide);
  const std::string shape_msg = expect_load_error(path("wide.ckpt"), *narrow);
  EXPECT_NE(shape_msg.find("\"0.weight\" has shape [8,1,3,3] but the model expects [4,1,3,3]"),
            std::string::npos)
      << shape_msg;

  Sequential smaller;
  smaller.add(std::make_shared<Conv2d>(1, 4, 3));
  save_module(path("small.ckpt"), smaller);
  EXPECT_NE(expect_load_error(path("small.ckpt"), *narrow).find("missing tensor \"1.weight\""),
            std::string::npos);
  save_module(path("big.ckpt"), *narrow);
  try {
    load_module(path("big.ckpt"), smaller);
    FAIL();
  } catch (const CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected tensor \"1.weight\""), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointTest, MissingFileNamesThePath) {
  auto b = model(2);
  EXPECT_NE(expect_load_error(path("nope.ckpt"), *b).find("nope.ckpt"), std::string::npos);
}

TEST_F(CheckpointTest, SavingOverAnExistingFileIsAtomic) {
  auto a = model(1), b = model(2), c = model(3);
  save_module(path("m.ckpt"), *a);
  // An unwritable destination folder: the save fails and leaves no partial file behind.
  EXPECT_THROW(save_module((dir_ / "missing-dir" / "m.ckpt").string(), *b), std::runtime_error);
  load_module(path("m.ckpt"), *c);
  expect_same_state(*a, *c);
}

}  // namespace
}  // namespace qg::nn
