#include "config/object_reader.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <sstream>

#include "util/json_pointer.h"

namespace qg::config {

namespace {

using json = nlohmann::json;

std::string format_number(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

// Levenshtein distance, for "did you mean" hints on misspelt keys.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> previous(b.size() + 1), current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

// The allowed key closest to `key`, if it is close enough to be a likely typo.
std::string closest_key(const std::string& key, const std::vector<std::string>& allowed) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, key.size() / 3) + 1;
  for (const std::string& candidate : allowed) {
    const std::size_t d = edit_distance(key, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace

std::string IntRange::describe() const {
  if (max == kMaxConfigInteger && min == 1) return "a positive integer";
  if (max == kMaxConfigInteger && min == 0) return "a non-negative integer";
  return "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
}

bool NumberRange::contains(double x) const {
  const bool above = min_open ? x > min : x >= min;
  const bool below = max_open ? x < max : x <= max;
  return above && below;
}

std::string NumberRange::describe() const {
  if (max == std::numeric_limits<double>::infinity() && min == 0.0) {
    return min_open ? "a positive number" : "a non-negative number";
  }
  return std::string("a number in ") + (min_open ? "(" : "[") + format_number(min) + ", " +
         format_number(max) + (max_open ? ")" : "]");
}

NumberRange positive_numbers() {
  return {0.0, std::numeric_limits<double>::infinity(), true, true};
}
NumberRange non_negative_numbers() {
  return {0.0, std::numeric_limits<double>::infinity(), false, true};
}

std::string describe_found(const json& value) {
  constexpr std::size_t kMaxChars = 60;
  auto truncated = [](std::string text) {
    return text.size() > kMaxChars ? text.substr(0, kMaxChars) + "..." : text;
  };
  if (value.is_object()) return value.empty() ? "{}" : "an object";
  if (value.is_array()) {
    const bool flat =
        std::none_of(value.begin(), value.end(), [](const json& v) { return v.is_structured(); });
    return flat ? truncated(value.dump()) : "an array of " + std::to_string(value.size()) + " elements";
  }
  return truncated(value.dump());
}

int64_t read_integer(const json& value, const std::string& pointer, const std::string& source,
                     IntRange range) {
  const std::string expected = "expected " + range.describe() + ", found " + describe_found(value);
  if (!value.is_number_integer()) throw ConfigError(source, pointer, expected);
  // Anything above kMaxConfigInteger (including values that do not fit int64) is "too large".
  const bool too_large = value.is_number_unsigned()
                             ? value.get<uint64_t>() > static_cast<uint64_t>(kMaxConfigInteger)
                             : value.get<int64_t>() > kMaxConfigInteger;
  if (too_large) throw ConfigError(source, pointer, expected + " (too large)");
  const int64_t x = value.get<int64_t>();
  if (x < range.min || x > range.max) throw ConfigError(source, pointer, expected);
  return x;
}

ObjectReader::ObjectReader(const json& value, std::string pointer, std::string source, std::string what,
                           std::vector<std::string> allowed_keys)
    : object_(value),
      pointer_(std::move(pointer)),
      source_(std::move(source)),
      what_(std::move(what)),
      allowed_keys_(std::move(allowed_keys)) {
  if (!object_.is_object())
    throw error("expected an object for " + what_ + ", found " + describe_found(object_));
  reject_unknown_keys();
}

void ObjectReader::reject_unknown_keys() const {
  for (const auto& [key, value] : object_.items()) {
    if (std::find(allowed_keys_.begin(), allowed_keys_.end(), key) != allowed_keys_.end()) continue;
    const std::string hint = closest_key(key, allowed_keys_);
    throw error(key, "unknown key for " + what_ + (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") +
                         "; expected one of " + join(allowed_keys_));
  }
}

const json& ObjectReader::required(const std::string& key, const std::string& expected) const {
  assert(std::find(allowed_keys_.begin(), allowed_keys_.end(), key) != allowed_keys_.end());
  if (!has(key)) throw error(key, "missing required key for " + what_ + " (expected " + expected + ")");
  return object_.at(key);
}

int64_t ObjectReader::integer(const std::string& key, IntRange range) const {
  return read_integer(required(key, range.describe()), pointer(key), source_, range);
}

int64_t ObjectReader::integer(const std::string& key, IntRange range, int64_t fallback) const {
  return has(key) ? integer(key, range) : fallback;
}

uint64_t ObjectReader::unsigned_integer(const std::string& key, uint64_t fallback) const {
  if (!has(key)) return fallback;
  const json& value = object_.at(key);
  const bool ok = value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0);
  if (!ok) throw error(key, "expected a non-negative integer, found " + describe_found(value));
  return value.get<uint64_t>();
}

double ObjectReader::number(const std::string& key, NumberRange range, double fallback) const {
  if (!has(key)) return fallback;
  const json& value = object_.at(key);
  if (!value.is_number() || !range.contains(value.get<double>())) {
    throw error(key, "expected " + range.describe() + ", found " + describe_found(value));
  }
  return value.get<double>();
}

bool ObjectReader::boolean(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const json& value = object_.at(key);
  if (!value.is_boolean()) throw error(key, "expected true or false, found " + describe_found(value));
  return value.get<bool>();
}

std::string ObjectReader::string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const json& value = object_.at(key);
  if (!value.is_string()) throw error(key, "expected a string, found " + describe_found(value));
  return value.get<std::string>();
}

std::string ObjectReader::choice(const std::string& key, const std::vector<std::string>& choices,
                                 const std::string& fallback) const {
  if (!has(key)) return fallback;
  const json& value = object_.at(key);
  const bool ok = value.is_string() &&
                  std::find(choices.begin(), choices.end(), value.get<std::string>()) != choices.end();
  if (!ok) throw error(key, "expected one of " + join(choices) + ", found " + describe_found(value));
  return value.get<std::string>();
}

std::string ObjectReader::pointer(const std::string& key) const {
  return util::json_pointer_append(pointer_, key);
}

ConfigError ObjectReader::error(const std::string& key, const std::string& detail) const {
  return ConfigError(source_, pointer(key), detail);
}

ConfigError ObjectReader::error(const std::string& detail) const {
  return ConfigError(source_, pointer_, detail);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace qg::config
