// Replays every committed fuzz input through its target (fuzz/targets.h), in every build: the seed corpus
// (fuzz/corpus/<target>/) and the inputs that once made a target fail (fuzz/regressions/<target>/). So a
// fuzz finding, once fixed, stays fixed even where libFuzzer is not built.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <ostream>

#include "fuzz/targets.h"
#include "util/atomic_file.h"

namespace qg::fuzz {
namespace {

namespace fs = std::filesystem;

}  // namespace

void PrintTo(const Target& target, std::ostream* out) {
  *out << target.name;
}

namespace {

class FuzzInputs : public ::testing::TestWithParam<Target> {};

// Every file of fuzz/<kind>/<target>/, sorted by name.
std::vector<fs::path> inputs(const std::string& kind, const std::string& target) {
  std::vector<fs::path> files;
  const fs::path dir = fs::path(QG_SOURCE_DIR) / "fuzz" / kind / target;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().filename() != "README.md") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void replay(const Target& target, const fs::path& file) {
  const std::string bytes = util::read_file(file.string());
  EXPECT_NO_THROW(target.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())) << file;
}

TEST_P(FuzzInputs, SeedCorpusLoadsOrIsRefusedCleanly) {
  const std::vector<fs::path> files = inputs("corpus", GetParam().name);
  ASSERT_GE(files.size(), 5u) << "the seed corpus of " << GetParam().name << " is missing";
  for (const fs::path& file : files)
    replay(GetParam(), file);
}

TEST_P(FuzzInputs, RegressionInputsStayFixed) {
  for (const fs::path& file : inputs("regressions", GetParam().name))
    replay(GetParam(), file);
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzInputs, ::testing::ValuesIn(all_targets()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace qg::fuzz
