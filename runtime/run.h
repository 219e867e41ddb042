// Running a model: quantize the input, run the integer ops, read the result.
//
//     IntTensor codes  = quantize_pixels(model, pixels);           // uint8 [N, C, H, W] -> codes
//     IntTensor logits = run(model, codes, {.threads = 2});        // integer-only
//     std::vector<int64_t> classes = predict(logits);             // argmax, no floats needed
//     std::vector<float> reals = dequantize(model, logits);       // S (q - Z), if the values are wanted
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "runtime/int_tensor.h"
#include "runtime/model.h"

namespace qg::runtime {

struct RunOptions {
  RequantMode mode = RequantMode::Integer;    ///< FloatReference: the tutorial's round(M * acc) in double
  int threads = 1;                            ///< >= 1; the batch is split into this many contiguous parts
  KernelChoice kernels = KernelChoice::Fast;  ///< Reference: the naive loops (for tests and debugging)
};

/// Runs `model` on a batch of input codes `[N, <input shape>]` and returns the output codes
/// `[N, <output shape>]` (e.g. [N, classes]). Validates the model and that every input code is in the
/// input's code range first; throws std::invalid_argument naming what is wrong. Results do not depend
/// on `threads`: samples are independent and each is computed by exactly one thread.
IntTensor run(const Model& model, const IntTensor& input, const RunOptions& options = {});

/// The activation buffers run() keeps per thread for `model` (each code an int32; the kernels' Scratch is
/// not counted): a model with a large linear layer on the dot path is computed in blocks of samples, op by
/// op, so each buffer holds a block's values; a conv fused with the 2x2 max pool after it never stores its
/// full-size output. Throws std::invalid_argument for an invalid model, as run() does.
struct RunBuffers {
  int64_t samples_per_block = 1;
  size_t buffers = 0;
  int64_t bytes = 0;  ///< all buffers of one thread together
};
RunBuffers run_buffers(const Model& model, const RunOptions& options = {});

/// uint8 pixels of N whole samples laid out like model.input.shape -> input codes `[N, <input shape>]`.
IntTensor quantize_pixels(const Model& model, std::span<const uint8_t> pixels);

/// Already-normalised floats of N whole samples -> input codes (to compare with the float fake-quant model).
IntTensor quantize_normalized(const Model& model, std::span<const float> values);

/// Output codes -> real values S (q - Z), same layout.
std::vector<float> dequantize(const Model& model, const IntTensor& output);

/// Index of the largest code of each sample of a [N, K] tensor (ties go to the lowest index).
std::vector<int64_t> predict(const IntTensor& output);

}  // namespace qg::runtime
