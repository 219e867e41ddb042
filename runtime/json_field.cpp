#include "runtime/json_field.h"

#include <cmath>

#include "util/json_pointer.h"

namespace qg::runtime {

void JsonField::expect_object() const {
  if (!value_->is_object()) fail(std::string("expected an object, found ") + value_->type_name());
}

JsonField JsonField::operator[](std::string_view key) const {
  expect_object();
  const auto it = value_->find(key);
  const std::string child = util::json_pointer_append(path_, key);
  if (it == value_->end()) throw JsonFieldError(child, "missing field");
  return JsonField(*it, child);
}

JsonField JsonField::operator[](size_t index) const {
  if (!value_->is_array()) fail(std::string("expected an array, found ") + value_->type_name());
  if (index >= value_->size()) fail("index " + std::to_string(index) + " is past the end of the array");
  return JsonField((*value_)[index], util::json_pointer_append(path_, index));
}

bool JsonField::has(std::string_view key) const {
  expect_object();
  return value_->contains(key);
}

int64_t JsonField::as_int(int64_t min, int64_t max) const {
  int64_t v = 0;
  if (value_->is_number_unsigned()) {
    const auto u = value_->get<uint64_t>();
    if (u > static_cast<uint64_t>(max))
      fail("expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], found " +
           std::to_string(u));
    v = static_cast<int64_t>(u);
  } else if (value_->is_number_integer()) {
    v = value_->get<int64_t>();
  } else {
    fail(std::string("expected an integer, found ") +
         (value_->is_number() ? value_->dump() : value_->type_name()));
  }
  if (v < min || v > max) {
    fail("expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], found " +
         std::to_string(v));
  }
  return v;
}

double JsonField::as_double() const {
  if (!value_->is_number()) fail(std::string("expected a number, found ") + value_->type_name());
  const auto v = value_->get<double>();
  if (!std::isfinite(v)) fail("expected a finite number");
  return v;
}

bool JsonField::as_bool() const {
  if (!value_->is_boolean()) fail(std::string("expected true or false, found ") + value_->type_name());
  return value_->get<bool>();
}

std::string JsonField::as_string() const {
  if (!value_->is_string()) fail(std::string("expected a string, found ") + value_->type_name());
  return value_->get<std::string>();
}

size_t JsonField::array_size(int64_t expected) const {
  if (!value_->is_array()) fail(std::string("expected an array, found ") + value_->type_name());
  if (expected >= 0 && value_->size() != static_cast<size_t>(expected)) {
    fail("expected an array of " + std::to_string(expected) + " elements, found " +
         std::to_string(value_->size()));
  }
  return value_->size();
}

std::vector<int64_t> JsonField::as_int_array(int64_t min, int64_t max, int64_t expected_size) const {
  std::vector<int64_t> values(array_size(expected_size));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = (*this)[i].as_int(min, max);
  return values;
}

std::vector<double> JsonField::as_double_array(int64_t expected_size) const {
  std::vector<double> values(array_size(expected_size));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = (*this)[i].as_double();
  return values;
}

}  // namespace qg::runtime
