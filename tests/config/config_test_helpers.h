// Shared helpers for the config tests: the shipped configs' paths and an assertion on ConfigError.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "config/loader.h"

namespace qg::config::testing {

inline std::string shipped_config(const std::string& file) {
  return std::string(QG_SOURCE_DIR) + "/configs/" + file;
}

/// A small valid config (the tutorial's Net) to mutate in the error tests.
inline nlohmann::json net_document() {
  return nlohmann::json::parse(R"({
    "name": "net",
    "input": {"shape": [1, 28, 28]},
    "layers": [
      {"type": "conv2d", "out_channels": 40, "kernel_size": 3, "stride": 1},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
      {"type": "conv2d", "out_channels": 40, "kernel_size": 3, "stride": 1, "groups": 20},
      {"type": "relu"},
      {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
      {"type": "flatten"},
      {"type": "linear", "out_features": 10}
    ]
  })");
}

/// Runs `parse`, expects a ConfigError located at `pointer` whose message starts with "x.json: " and
/// contains every one of `words`.
template <class Parse, class Words = std::initializer_list<std::string>>
void expect_config_error(Parse parse, const std::string& pointer, const Words& words) {
  try {
    parse();
    ADD_FAILURE() << "expected a ConfigError at " << pointer;
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.pointer(), pointer) << message;
    EXPECT_EQ(e.source(), "x.json") << message;
    EXPECT_EQ(message.rfind("x.json: " + (pointer.empty() ? "" : pointer + ": "), 0), 0u) << message;
    for (const std::string& word : words)
      EXPECT_NE(message.find(word), std::string::npos) << "'" << word << "' not in: " << message;
  }
}

inline void expect_document_error(const nlohmann::json& document, const std::string& pointer,
                                  std::initializer_list<std::string> words) {
  expect_config_error([&] { parse_config(document, "x.json"); }, pointer, words);
}

inline void expect_text_error(const std::string& text, const std::string& pointer,
                              std::initializer_list<std::string> words) {
  expect_config_error([&] { parse_config_text(text, "x.json"); }, pointer, words);
}

}  // namespace qg::config::testing
