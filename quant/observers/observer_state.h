// Reading an ObserverState back (quant/observer.h): every field is checked, because the state comes from a
// checkpoint file, and a wrong or missing field must say which observer and which field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quant/observer.h"

namespace qg::quant {

/// scalars[key] as a double; throws std::invalid_argument "<who> observer state: ..." when missing or not a
/// finite number.
double state_double(const ObserverState& state, const std::string& key, const std::string& who);
/// scalars[key] as a float (saved from a float, so the conversion is exact).
float state_float(const ObserverState& state, const std::string& key, const std::string& who);
/// scalars[key] as a boolean.
bool state_bool(const ObserverState& state, const std::string& key, const std::string& who);
/// scalars[key] as a non-negative integer.
uint64_t state_uint(const ObserverState& state, const std::string& key, const std::string& who);
/// scalars[key] as an array of non-negative integers.
std::vector<uint64_t> state_uint_array(const ObserverState& state, const std::string& key,
                                       const std::string& who);
/// scalars[key] as a string.
std::string state_string(const ObserverState& state, const std::string& key, const std::string& who);

}  // namespace qg::quant
