#include "quant/observers/observer_state.h"

#include <cmath>
#include <stdexcept>

namespace qg::quant {

namespace {

const nlohmann::json& field(const ObserverState& state, const std::string& key, const std::string& who) {
  if (!state.scalars.is_object() || !state.scalars.contains(key)) {
    throw std::invalid_argument(who + " observer state: missing \"" + key + "\"");
  }
  return state.scalars.at(key);
}

[[noreturn]] void wrong_type(const std::string& key, const std::string& who, const char* expected,
                             const nlohmann::json& found) {
  throw std::invalid_argument(who + " observer state: \"" + key + "\" must be " + expected + ", found " +
                              found.dump().substr(0, 40));
}

}  // namespace

double state_double(const ObserverState& state, const std::string& key, const std::string& who) {
  const nlohmann::json& value = field(state, key, who);
  if (!value.is_number() || !std::isfinite(value.get<double>()))
    wrong_type(key, who, "a finite number", value);
  return value.get<double>();
}

float state_float(const ObserverState& state, const std::string& key, const std::string& who) {
  return static_cast<float>(state_double(state, key, who));
}

bool state_bool(const ObserverState& state, const std::string& key, const std::string& who) {
  const nlohmann::json& value = field(state, key, who);
  if (!value.is_boolean()) wrong_type(key, who, "true or false", value);
  return value.get<bool>();
}

uint64_t state_uint(const ObserverState& state, const std::string& key, const std::string& who) {
  const nlohmann::json& value = field(state, key, who);
  if (!value.is_number_unsigned()) wrong_type(key, who, "a non-negative integer", value);
  return value.get<uint64_t>();
}

std::vector<uint64_t> state_uint_array(const ObserverState& state, const std::string& key,
                                       const std::string& who) {
  const nlohmann::json& value = field(state, key, who);
  if (!value.is_array()) wrong_type(key, who, "an array of non-negative integers", value);
  std::vector<uint64_t> out;
  out.reserve(value.size());
  for (const nlohmann::json& item : value) {
    if (!item.is_number_unsigned()) wrong_type(key, who, "an array of non-negative integers", item);
    out.push_back(item.get<uint64_t>());
  }
  return out;
}

std::string state_string(const ObserverState& state, const std::string& key, const std::string& who) {
  const nlohmann::json& value = field(state, key, who);
  if (!value.is_string()) wrong_type(key, who, "a string", value);
  return value.get<std::string>();
}

}  // namespace qg::quant
