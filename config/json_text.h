// Turning config text into a JSON document, safely and with errors a person can act on.
//
// Before the document is built, one streaming (SAX) pass over the text checks three things:
//  - syntax: the error names the line and column (computed here) and nlohmann's byte position;
//  - nesting depth: nlohmann's DOM is walked recursively by dump() and by comparisons, so a hostile
//    file of 100000 nested "[" could overflow the stack later; anything deeper than kMaxJsonDepth is
//    rejected (a config needs 3 levels);
//  - duplicate keys: nlohmann silently keeps the last of `"lr": 0.1, ..., "lr": 0.01`; here it is an error.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace qg::config {

inline constexpr std::size_t kMaxJsonDepth = 64;

/// Parses `text`; throws ConfigError prefixed with `source` on any of the problems above.
nlohmann::json parse_json_text(const std::string& text, const std::string& source);

struct TextPosition {
  std::size_t line = 1;    // 1-based
  std::size_t column = 1;  // 1-based, in bytes
};

/// The line and column of the `byte`-th character of `text` (1-based, as nlohmann's parse_error::byte
/// counts); positions past the end map to the end of the text.
TextPosition position_of_byte(const std::string& text, std::size_t byte);

}  // namespace qg::config
