// docs/config.md stays true: it shows the shipped configs as they are and documents every key.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/config_json.h"
#include "config/layer_kind.h"
#include "config/quant_recipe.h"
#include "config/section_readers.h"
#include "config_test_helpers.h"

namespace qg::config {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string& docs() {
  static const std::string text = read_text(std::string(QG_SOURCE_DIR) + "/docs/config.md");
  return text;
}

TEST(Docs, ShowTheShippedConfigsVerbatim) {
  for (const char* file : {"mnist_cnn.json", "mnist_cnn_bn.json"}) {
    const std::string config = read_text(testing::shipped_config(file));
    ASSERT_FALSE(config.empty());
    EXPECT_NE(docs().find("```json\n" + config + "```"), std::string::npos)
        << file << " differs from docs/config.md";
  }
}

TEST(Docs, DocumentEveryLayerTypeAndKey) {
  for (const LayerKind& kind : layer_kinds()) {
    EXPECT_NE(docs().find("| `" + kind.name + "`"), std::string::npos) << kind.name;
    for (const std::string& key : layer_keys(kind)) {
      if (key == "type") continue;
      EXPECT_NE(docs().find("`" + key + "`"), std::string::npos) << kind.name << "." << key;
    }
  }
}

// The layer table of section 2.1 is the registry's, row for row (config/layer_kind.h): a kind, alias, key or
// default added in code and not in the docs, or the reverse, fails here.
TEST(Docs, LayerTableIsTheRegistry) {
  const std::string header =
      "| type | keys (default) | module | input -> output (batch axis N not shown) |\n| --- | --- | --- | "
      "--- |\n";
  const size_t start = docs().find(header);
  ASSERT_NE(start, std::string::npos) << "docs/config.md lost its layer table's header";
  size_t end = start + header.size();
  while (end < docs().size() && docs()[end] == '|')
    end = docs().find('\n', end) + 1;
  std::string expected = header;
  for (const LayerKind& kind : layer_kinds())
    expected += layer_kind_docs_row(kind) + "\n";
  EXPECT_EQ(docs().substr(start, end - start), expected)
      << "docs/config.md's layer table must be, verbatim:\n"
      << expected;
}

TEST(Docs, DocumentEverySetting) {
  // config_to_json writes every setting, so its keys are the schema's keys.
  const nlohmann::json document = config_to_json(ModelConfig{});
  for (const char* section : {"train", "data"}) {
    for (const auto& [key, value] : document.at(section).items()) {
      EXPECT_NE(docs().find("| `" + key + "` |"), std::string::npos) << section << "." << key;
    }
  }
  // The quant section writes its optional keys only when set: its reader's list is the schema.
  for (const std::string& key : quant_keys()) {
    EXPECT_NE(docs().find("| `" + key + "` |"), std::string::npos) << "quant." << key;
  }
  for (const std::string& key : layer_quant_keys()) {
    EXPECT_NE(docs().find("`" + key + "`"), std::string::npos) << "layer quant." << key;
  }
  // The methods' defaults are printed from the one table that defines them (config/quant_recipe.cpp).
  EXPECT_NE(docs().find(method_defaults_markdown()), std::string::npos)
      << "docs/config.md must contain, verbatim:\n"
      << method_defaults_markdown();
  for (const auto& [key, value] : document.items()) {
    EXPECT_NE(docs().find("| `" + key + "` |"), std::string::npos) << key;
  }
  EXPECT_NE(docs().find("| `description` |"), std::string::npos);
}

}  // namespace
}  // namespace qg::config
