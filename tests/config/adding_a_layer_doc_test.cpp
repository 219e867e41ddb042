// docs/06-adding-a-layer.md copies real code: every ```cpp block under a line "`<path>`:" must appear
// verbatim in that file, so the walkthrough cannot drift from the code the build compiles.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace {

std::string read_source(const std::string& relative) {
  std::ifstream in(std::string(QG_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(AddingALayerDoc, EveryCodeBlockIsInTheFileItNames) {
  const std::string doc = read_source("docs/06-adding-a-layer.md");
  ASSERT_FALSE(doc.empty());
  int blocks = 0;
  for (size_t at = doc.find("```cpp\n"); at != std::string::npos; at = doc.find("```cpp\n", at + 1)) {
    // The line two above the fence: "`path`:".
    const size_t label_end = doc.rfind(":\n\n", at);
    const size_t label_start = doc.rfind('\n', label_end - 1) + 1;
    const std::string label = doc.substr(label_start, label_end - label_start);
    ASSERT_TRUE(label.size() > 2 && label.front() == '`' && label.back() == '`')
        << "unlabelled block at " << at;
    const std::string path = label.substr(1, label.size() - 2);
    const size_t body = at + 7;
    const size_t end = doc.find("\n```\n", body);
    ASSERT_NE(end, std::string::npos);
    const std::string code = doc.substr(body, end - body + 1);
    const std::string source = read_source(path);
    ASSERT_FALSE(source.empty()) << path << " not found";
    EXPECT_NE(source.find(code), std::string::npos) << "this block is not in " << path << ":\n" << code;
    ++blocks;
  }
  EXPECT_GE(blocks, 10);
}

}  // namespace
