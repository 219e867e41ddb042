// The text-level checks: syntax errors with line and column, the nesting-depth guard, duplicate keys.
#include <gtest/gtest.h>

#include <regex>

#include "config/json_text.h"
#include "config/loader.h"
#include "config_test_helpers.h"

namespace qg::config {
namespace {

using testing::expect_text_error;

/// nlohmann's own "parse error at line L, column C" for `text`, to check our position against.
std::string nlohmann_position(const std::string& text) {
  try {
    [[maybe_unused]] const nlohmann::json document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    std::smatch match;
    const std::string what = e.what();
    if (std::regex_search(what, match, std::regex("line [0-9]+, column [0-9]+"))) return match.str();
  }
  return "(no position)";
}

TEST(JsonText, SyntaxErrorNamesLineColumnAndByte) {
  // The stray comma is on line 3; the error is found at the "}" on line 4, column 1, byte 55.
  const std::string text = "{\n  \"name\": \"net\",\n  \"input\": {\"shape\": [1, 28, 28]},\n}";
  try {
    parse_config_text(text, "x.json");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.pointer(), "");
    EXPECT_EQ(message.rfind(
                  "x.json: invalid JSON at line 4, column 1 (byte " + std::to_string(text.size()) + "): ", 0),
              0u)
        << message;
    EXPECT_NE(message.find("syntax error while parsing object key"), std::string::npos) << message;
    EXPECT_EQ(message.find("[json.exception"), std::string::npos)
        << "nlohmann's prefix should be stripped: " << message;
  }
}

TEST(JsonText, OurLineAndColumnAgreeWithNlohmanns) {
  for (const std::string text :
       {"", "{", "{\"a\": }", "{\n\n  \"a\": 1,\n  \"b\" 2}", "[1, 2,\n 3,,]", "{\"a\":\n tru}"}) {
    SCOPED_TRACE(text);
    try {
      parse_config_text(text, "x.json");
      FAIL() << "no error";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("invalid JSON at " + nlohmann_position(text)), std::string::npos)
          << e.what();
    }
  }
}

TEST(JsonText, AnOffendingNewlineIsReportedAtTheEndOfItsLine) {
  // nlohmann counts the newline before reporting, and so says "line 2, column 0".
  expect_text_error("{\"s\": \"unterminated\n\"}", "",
                    {"invalid JSON at line 1, column 20 (byte 20)", "control character"});
}

TEST(JsonText, PositionOfByte) {
  const std::string text = "ab\ncd\n\nef";
  EXPECT_EQ(position_of_byte(text, 1).line, 1u);
  EXPECT_EQ(position_of_byte(text, 1).column, 1u);
  EXPECT_EQ(position_of_byte(text, 3).column, 3u);  // the first "\n" ends line 1
  EXPECT_EQ(position_of_byte(text, 4).line, 2u);
  EXPECT_EQ(position_of_byte(text, 4).column, 1u);
  EXPECT_EQ(position_of_byte(text, 8).line, 4u);
  EXPECT_EQ(position_of_byte(text, 9).column, 2u);
  EXPECT_EQ(position_of_byte(text, 100).line, 4u);  // past the end: the end
  EXPECT_EQ(position_of_byte(text, 100).column, 3u);
  EXPECT_EQ(position_of_byte("", 1).line, 1u);
  EXPECT_EQ(position_of_byte("", 1).column, 1u);
}

/// {"name": "net", "deep": [[[...0...]]]} with `depth` levels in total (the top-level object counts).
std::string nested_config(std::size_t depth) {
  const std::size_t arrays = depth - 1;
  return "{\"name\": \"net\", \"deep\": " + std::string(arrays, '[') + "0" + std::string(arrays, ']') + "}";
}

TEST(JsonText, NestingUpToTheLimitReachesTheSchemaCheck) {
  // Valid JSON, so the error comes from the schema: the unknown key, not the depth.
  expect_text_error(nested_config(kMaxJsonDepth), "/deep", {"unknown key for the top level"});
}

TEST(JsonText, NestingBeyondTheLimitIsRejectedBeforeParsing) {
  expect_text_error(nested_config(kMaxJsonDepth + 1), "/deep/0/0/0/...",
                    {"JSON nested deeper than 64 levels"});
}

TEST(JsonText, VeryDeepNestingDoesNotCrash) {
  // Deep enough to overflow the stack of any recursive walk of the document.
  expect_text_error(nested_config(1000000), "/deep/0/0/0/...", {"JSON nested deeper than 64 levels"});
  expect_text_error(std::string(1000000, '['), "/0/0/0/0/...", {"JSON nested deeper than 64 levels"});
}

TEST(JsonText, DepthPointerFollowsKeysAndIndices) {
  std::string deep_object;
  for (std::size_t i = 0; i < kMaxJsonDepth; ++i)
    deep_object += "{\"k\": ";
  deep_object += "1" + std::string(kMaxJsonDepth, '}');
  expect_text_error("{\"layers\": [1, 2, " + deep_object + "]}", "/layers/2/k/k/...", {"nested deeper"});
}

TEST(JsonText, DuplicateKeysAreRejected) {
  expect_text_error(R"({"name": "net", "train": {"lr": 0.1, "epochs": 1, "lr": 0.01}})", "/train/lr",
                    {"duplicate key \"lr\""});
  expect_text_error(R"({"layers": [{"type": "relu"}, {"type": "relu", "type": "flatten"}]})",
                    "/layers/1/type", {"duplicate key \"type\""});
}

TEST(JsonText, SameKeyInDifferentObjectsIsFine) {
  EXPECT_NO_THROW(parse_json_text(R"({"a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 3}, {"x": 4}]})", "x.json"));
}

}  // namespace
}  // namespace qg::config
