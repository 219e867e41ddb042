// Test helpers for the ONNX export tests: ONNX Runtime must be installed (CI runs scripts/get-ort), a temporary
// folder for exported files, and random pixels for a model's input.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "onnx_io/onnx_runtime_process.h"
#include "runtime/model.h"

namespace qg::onnx_io::testing {

/// Fails the calling test (never skips it) when Node.js or onnxruntime-node is missing. Call it as
/// ASSERT_NO_FATAL_FAILURE(require_onnx_runtime()) (or in SetUp) so that the test stops there.
inline void require_onnx_runtime() {
  std::string why;
  ASSERT_TRUE(onnx_runtime_available(&why)) << "ONNX Runtime is needed by this test and is not available ("
                                            << why << "): run scripts/get-ort (CI installs it)";
}

/// `n` samples of uniformly random pixels shaped like the model's input.
inline std::vector<uint8_t> random_pixels(std::mt19937& rng, const runtime::Model& model, int64_t n) {
  int64_t sample = 1;
  for (int64_t d : model.input.shape)
    sample *= d;
  std::uniform_int_distribution<int> pixel(0, 255);
  std::vector<uint8_t> pixels(static_cast<size_t>(n * sample));
  for (auto& p : pixels)
    p = static_cast<uint8_t>(pixel(rng));
  return pixels;
}

}  // namespace qg::onnx_io::testing
