// JsonField: typed, checked reads from a parsed JSON document that name the JSON pointer of the
// offending value in their errors, e.g. "/ops/2/weight/scales/3: expected a number, found string".
//
// load_model() reads the model header through this so that every malformed or missing field is
// reported by its path instead of as a bare nlohmann::json type error.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace qg::runtime {

/// Thrown by JsonField reads; what() is "<path>: <problem>".
class JsonFieldError : public std::runtime_error {
 public:
  JsonFieldError(const std::string& path, const std::string& problem)
      : std::runtime_error((path.empty() ? "/" : path) + ": " + problem) {}
};

class JsonField {
 public:
  /// The document root (path "").
  explicit JsonField(const nlohmann::json& value, std::string path = "")
      : value_(&value), path_(std::move(path)) {}

  const nlohmann::json& value() const { return *value_; }
  const std::string& path() const { return path_; }

  /// Required member of an object.
  JsonField operator[](std::string_view key) const;
  /// Element of an array.
  JsonField operator[](size_t index) const;
  bool has(std::string_view key) const;
  bool is_null() const { return value_->is_null(); }

  /// An integer in [min, max] (a JSON number without fraction).
  int64_t as_int(int64_t min, int64_t max) const;
  /// A finite number.
  double as_double() const;
  bool as_bool() const;
  std::string as_string() const;
  /// The size of an array; with `expected` >= 0 it must be exactly that.
  size_t array_size(int64_t expected = -1) const;
  std::vector<int64_t> as_int_array(int64_t min, int64_t max, int64_t expected_size = -1) const;
  std::vector<double> as_double_array(int64_t expected_size = -1) const;

  [[noreturn]] void fail(const std::string& problem) const { throw JsonFieldError(path_, problem); }

 private:
  void expect_object() const;
  const nlohmann::json* value_;
  std::string path_;
};

}  // namespace qg::runtime
