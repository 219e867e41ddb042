// Keeps docs/ROBUSTNESS.md true: every test its tables name exists, and every error case of the tools
// test (tests/tools/tool_errors_test.cpp) has its row in the table.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>

#include "util/atomic_file.h"

namespace qg::app {
namespace {

namespace fs = std::filesystem;

std::string source(const std::string& relative) {
  return util::read_file((fs::path(QG_SOURCE_DIR) / relative).string());
}

// Test references in the last column of the document's table rows: `Suite.Test` or `Suite.Test/Case`.
std::vector<std::string> referenced_tests(const std::string& doc) {
  std::vector<std::string> found;
  static const std::regex reference(R"(`([A-Za-z0-9_]+\.[A-Za-z0-9_]+(/[A-Za-z0-9_]+)?)`)");
  std::istringstream lines(doc);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("|", 0) != 0) continue;
    const std::string last_cell = line.substr(line.rfind('|', line.size() - 2));
    for (auto it = std::sregex_iterator(last_cell.begin(), last_cell.end(), reference);
         it != std::sregex_iterator(); ++it) {
      found.push_back((*it)[1]);
    }
  }
  return found;
}

// `text` between two `mark`s. (Built by appending: GCC 12's -Wrestrict misfires on "x" + s + "x" at -O3.)
std::string enclosed(const std::string& text, const std::string& mark) {
  std::string out = mark;
  out += text;
  out += mark;
  return out;
}

// Every test source file, by path.
std::map<std::string, std::string> test_sources() {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(QG_SOURCE_DIR) / "tests")) {
    if (entry.path().extension() == ".cpp")
      files[entry.path().string()] = util::read_file(entry.path().string());
  }
  return files;
}

TEST(RobustnessDoc, EveryTestItNamesExists) {
  const std::vector<std::string> references = referenced_tests(source("docs/ROBUSTNESS.md"));
  ASSERT_GE(references.size(), 60u) << "docs/ROBUSTNESS.md names too few tests; was its table lost?";
  const auto sources = test_sources();
  for (const std::string& ref : references) {
    const size_t dot = ref.find('.'), slash = ref.find('/');
    const std::string suite = ref.substr(0, dot);
    const std::string test = ref.substr(dot + 1, (slash == std::string::npos ? ref.size() : slash) - dot - 1);
    std::string declared = suite;  // as in TEST(Suite, Test), TEST_F(...), TEST_P(...)
    declared += ", ";
    declared += test;
    declared += ")";
    bool found = false;
    for (const auto& [path, text] : sources) {
      if (text.find(declared) == std::string::npos) continue;
      // A parameterised case: its name is a string literal in the same file.
      found =
          slash == std::string::npos || text.find(enclosed(ref.substr(slash + 1), "\"")) != std::string::npos;
      if (found) break;
    }
    EXPECT_TRUE(found) << "docs/ROBUSTNESS.md names `" << ref << "`, which no test defines";
  }
}

TEST(RobustnessDoc, EveryToolErrorCaseHasItsRow) {
  const std::string doc = source("docs/ROBUSTNESS.md");
  const std::string cases = source("tests/tools/tool_errors_test.cpp");
  static const std::regex case_name(
      R"re(\{"([A-Z][A-Za-z0-9]+)",\s*"(train|train_qat|ptq|qinfer|sweep)",)re");
  int count = 0;
  for (auto it = std::sregex_iterator(cases.begin(), cases.end(), case_name); it != std::sregex_iterator();
       ++it) {
    ++count;
    const std::string ref = enclosed("ToolErrors.OneLineNonZeroExitNothingLeftBehind/" + (*it)[1].str(), "`");
    EXPECT_NE(doc.find(ref), std::string::npos) << "docs/ROBUSTNESS.md has no row for " << ref;
  }
  EXPECT_GE(count, 40) << "the case table of tool_errors_test.cpp was not found";
}

}  // namespace
}  // namespace qg::app
