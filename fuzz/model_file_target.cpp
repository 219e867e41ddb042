// Fuzz target: the integer model file loader. See fuzz/targets.h.
#include <algorithm>
#include <span>
#include <vector>

#include "fuzz/targets.h"
#include "runtime/model_file.h"
#include "runtime/run.h"
#include "util/checksum.h"

namespace qg::fuzz {

namespace {

// Runs one all-zero sample through a model the loader accepted: its validation promises a model that runs.
// Only small models, so that a valid but huge one cannot make a timeout of it.
void run_if_small(const runtime::Model& model) {
  const runtime::ModelPlan plan = runtime::plan_model(model);
  int64_t activations = 0;
  for (const runtime::Activation& a : plan.activations) {
    int64_t n = 1;
    for (const int64_t d : a.shape) {
      if (__builtin_mul_overflow(n, d, &n)) return;
    }
    if (__builtin_add_overflow(activations, n, &activations)) return;
  }
  if (activations > 4096) return;
  int64_t pixels = 1;
  for (const int64_t d : model.input.shape)
    pixels *= d;
  const std::vector<uint8_t> zeros(static_cast<size_t>(pixels), 0);
  const runtime::IntTensor logits = runtime::run(model, runtime::quantize_pixels(model, zeros));
  require(!runtime::predict(logits).empty(), "run() gave no prediction");
}

void load(std::span<const uint8_t> bytes) {
  runtime::Model model;
  try {
    model = runtime::deserialize_model(bytes, "fuzz");
  } catch (const runtime::ModelFileError&) {
    return;  // the documented error: "load_model: <source>: " and what is wrong
  }
  // What loads must save again, and what that saves must load to the same bytes.
  const std::vector<uint8_t> saved = runtime::serialize_model(model);
  const std::vector<uint8_t> again =
      runtime::serialize_model(runtime::deserialize_model(saved, "fuzz (saved)"));
  require(saved == again, "a loaded model does not survive a save/load round trip");
  run_if_small(model);
}

}  // namespace

int model_file(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  load(bytes);
  constexpr size_t kCrcBytes = util::kContainerChecksumSize;  // the trailing CRC-32 of everything before it
  if (size >= kCrcBytes) {
    std::vector<uint8_t> fixed(data, data + size);
    const uint32_t crc = util::crc32(bytes.first(size - kCrcBytes));
    for (size_t i = 0; i < kCrcBytes; ++i)
      fixed[size - kCrcBytes + i] = static_cast<uint8_t>(crc >> (8 * i));
    if (!std::equal(fixed.begin(), fixed.end(), data)) load(fixed);
  }
  return 0;
}

}  // namespace qg::fuzz
