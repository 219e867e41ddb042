#include "config/layer_site.h"

#include "util/json_pointer.h"

namespace qg::config {

ConfigError LayerSite::error(const std::string& detail) const {
  return ConfigError(source, pointer, detail);
}

ConfigError LayerSite::error(const char* key, const std::string& detail) const {
  return ConfigError(source, util::json_pointer_append(pointer, key), detail);
}

int64_t LayerSite::checked_numel(const Shape& dims, const std::string& what) const {
  int64_t n = 1;
  for (const int64_t d : dims) {
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxTensorElements) {
      throw error(name + " " + what + " would have more than " + std::to_string(kMaxTensorElements) +
                  " elements (2^28, the most the integer runtime of ptq and train_qat takes for one tensor)");
    }
  }
  return n;
}

void LayerSite::require_image_input(const Shape& in) const {
  if (in.size() == 3) return;
  throw error(name + " expects a 4-D input [N, C, H, W] but receives " + batch_shape_string(in) +
              "; it cannot come after flatten or linear");
}

int64_t LayerSite::agree(int64_t given, int64_t actual, const char* key, const std::string& what,
                         const Shape& in) const {
  if (given != 0 && given != actual) {
    throw error(key, name + " " + key + " is " + std::to_string(given) + " but its input " +
                         batch_shape_string(in) + " has " + std::to_string(actual) + " " + what);
  }
  return actual;
}

std::string batch_shape_string(const Shape& sample_shape) {
  std::string out = "[N";
  for (const int64_t d : sample_shape) {
    out += ',';  // appended separately: `"," + std::to_string(d)` trips a false g++ 12 -Wrestrict warning
    out += std::to_string(d);
  }
  return out + "]";
}

}  // namespace qg::config
