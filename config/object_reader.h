// ObjectReader: typed, range-checked access to one JSON object of a config.
//
// It exists so that every error reads the same way, naming the file, the JSON pointer and what was
// expected versus found:
//
//   configs/x.json: /layers/3/kernel_size: expected a positive integer, found "3"
//   configs/x.json: /train/learning_rate: unknown key for train (did you mean "lr"?); expected one of ...
//
// The allowed keys are given up front and checked in the constructor, so a typo is reported as the typo
// rather than as the required key it misspells being missing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config_error.h"

namespace qg::config {

/// The largest integer a config field accepts: sizes beyond this are typos, and keeping every field
/// below 2^31 keeps the shape arithmetic far from int64 overflow.
inline constexpr int64_t kMaxConfigInteger = 2147483647;

/// Inclusive integer range [min, max].
struct IntRange {
  int64_t min = 1;
  int64_t max = kMaxConfigInteger;
  /// "a positive integer", "a non-negative integer" or "an integer in [1, 8]".
  std::string describe() const;
};
inline constexpr IntRange kPositive{1, kMaxConfigInteger};
inline constexpr IntRange kNonNegative{0, kMaxConfigInteger};

/// Real interval with open or closed ends, e.g. (0, 1].
struct NumberRange {
  double min = 0.0;
  double max = 0.0;
  bool min_open = false;
  bool max_open = false;
  bool contains(double x) const;
  /// "a positive number", "a non-negative number" or "a number in (0, 1]".
  std::string describe() const;
};
NumberRange positive_numbers();
NumberRange non_negative_numbers();

/// A short rendering of a JSON value for "found ..." in messages: scalars and flat arrays as JSON text
/// (truncated), nested containers by kind. Never recursive, so safe on any document.
std::string describe_found(const nlohmann::json& value);

/// Checks that `value` (at `pointer`) is an integer in `range`.
int64_t read_integer(const nlohmann::json& value, const std::string& pointer, const std::string& source,
                     IntRange range);

class ObjectReader {
 public:
  /// `what` names the object in messages ("train", "conv2d"). Throws ConfigError if `value` is not an
  /// object or has a key not in `allowed_keys`.
  ObjectReader(const nlohmann::json& value, std::string pointer, std::string source, std::string what,
               std::vector<std::string> allowed_keys);

  bool has(const std::string& key) const { return object_.contains(key); }
  /// The value of a required key of any type.
  const nlohmann::json& required(const std::string& key, const std::string& expected) const;

  int64_t integer(const std::string& key, IntRange range) const;
  int64_t integer(const std::string& key, IntRange range, int64_t fallback) const;
  uint64_t unsigned_integer(const std::string& key, uint64_t fallback) const;
  double number(const std::string& key, NumberRange range, double fallback) const;
  bool boolean(const std::string& key, bool fallback) const;
  std::string string(const std::string& key, const std::string& fallback) const;
  /// A string that must be one of `choices`.
  std::string choice(const std::string& key, const std::vector<std::string>& choices,
                     const std::string& fallback) const;

  /// The pointer of `key` inside this object, e.g. "/layers/3" + "stride" -> "/layers/3/stride".
  std::string pointer(const std::string& key) const;
  const std::string& pointer() const { return pointer_; }
  /// An error located at `key` (or at the object itself).
  ConfigError error(const std::string& key, const std::string& detail) const;
  ConfigError error(const std::string& detail) const;

 private:
  void reject_unknown_keys() const;

  const nlohmann::json& object_;
  std::string pointer_;
  std::string source_;
  std::string what_;
  std::vector<std::string> allowed_keys_;
};

/// "a, b, c": for "expected one of ..." lists.
std::string join(const std::vector<std::string>& items);

}  // namespace qg::config
