// tools/ste_demo shows what its text claims: under the true gradient of round() the weights never change
// (so the loss on its fixed batch never moves), under the straight-through estimator they do and the loss
// falls. Read from what the tool prints.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "datasets/test_files.h"
#include "tools/subprocess.h"

namespace qg::testing {
namespace {

struct Row {
  double loss, gradient, moved;
};

// The "step N loss L |dL/dW| G |W - W0| D" rows of each of the two runs, in order.
std::vector<std::vector<Row>> rows_of(const std::string& out) {
  std::vector<std::vector<Row>> runs;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("weights through", 0) == 0) runs.emplace_back();
    long long step = 0;
    Row r{};
    if (std::sscanf(line.c_str(), " step %lld loss %lf |dL/dW| %lf |W - W0| %lf", &step, &r.loss, &r.gradient,
                    &r.moved) == 4) {
      if (runs.empty())
        ADD_FAILURE() << "a step before any run: " << line;
      else
        runs.back().push_back(r);
    }
  }
  return runs;
}

TEST(SteDemo, TheTrueGradientLeavesTheWeightsAndLossAloneTheSteLearns) {
  data::testing::TempDir cwd;
  const ProcessResult r = run_tool_process("ste_demo", {}, cwd.path().string(), cwd.file("demo"));
  ASSERT_TRUE(r.exited && r.exit_code == 0) << r.err;
  const std::vector<std::vector<Row>> runs = rows_of(r.out);
  ASSERT_EQ(runs.size(), 2u) << r.out;
  ASSERT_EQ(runs[0].size(), 6u) << r.out;
  ASSERT_EQ(runs[1].size(), 6u) << r.out;
  for (const Row& row : runs[0]) {  // true gradient of round(): nothing moves
    EXPECT_EQ(row.gradient, 0.0);
    EXPECT_EQ(row.moved, 0.0);
    EXPECT_EQ(row.loss, runs[0].front().loss);
  }
  EXPECT_EQ(runs[1].front().loss, runs[0].front().loss) << "both runs start from the same weights and batch";
  EXPECT_GT(runs[1].back().moved, 1.0);
  EXPECT_LT(runs[1].back().loss, 0.1 * runs[1].front().loss);
  EXPECT_NE(r.out.find("true gradient: the weights never changed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("straight-through estimator: the weights moved and the loss fell"), std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace qg::testing
