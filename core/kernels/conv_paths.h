// The two fast convolution paths behind core/kernels/conv.h, and how they share a batch between threads.
// Internal to core/kernels: conv.cpp picks a path and runs it over the batch with parallel_for.
//
//   direct (conv_direct.cpp)  stride 1 and a small receptive field (C_in/groups * kH * kW <= 32): every
//                             output plane is a sum of shifted copies of the input planes, computed
//                             straight from the input; no column matrix, no GEMM. The tutorial's first
//                             conv (1 input channel) and its grouped conv (2 channels per group) take it.
//   shifted (conv_shifted.cpp) other stride-1 convolutions: one GEMM per kernel tap whose right-hand side
//                             is the input planes themselves, shifted; no im2col copy.
//   gemm   (conv_gemm.cpp)    anything else (stride > 1): im2col + OpenBLAS sgemm.
//
// Both compute a range of images at a time. The backward pass splits the batch into `backward_slices`
// fixed slices; each slice writes its own partial weight and bias gradients, which conv.cpp then sums in
// slice order, so the result does not depend on how many threads ran the slices.
#pragma once

#include <cstdint>
#include <vector>

#include "core/kernels/conv.h"

namespace qg::kernel::conv_paths {

/// A stride-1 conv over zero-padded input planes, seen as shifted rows: output position q (the "gappy"
/// output plane, rows padded_width apart) reads input position q + offsets[t] for kernel tap t.
struct PaddedTaps {
  int64_t padded_height = 0, padded_width = 0;
  int64_t plane = 0;             // padded_height * padded_width
  int64_t span = 0;              // L: positions q of the gappy output plane
  int64_t taps = 0;              // kH * kW
  std::vector<int64_t> offsets;  // o_t = (ki * padded_width + kj) * dilation
};
PaddedTaps padded_taps(const Conv2dGeometry& g);

/// Images [begin, end) of a batch.
struct ImageRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

/// Slices of the batch for the backward pass: min(batch, 16), a function of the batch size alone.
int64_t backward_slices(int64_t batch);
/// Images of slice `s` of `slices` (contiguous, sizes differing by at most one).
ImageRange slice_images(int64_t batch, int64_t slices, int64_t s);

/// Where the gradients of a range of images go. Pointers are null when that gradient is not wanted.
///   input:  the whole batch's [N, C_in, H, W] gradient; the path overwrites the range's images;
///   weight: this slice's partial [C_out, C_in/G, kH, kW], overwritten with the range's sum;
///   bias:   this slice's partial sums [C_out], overwritten.
struct GradTargets {
  float* input = nullptr;
  float* weight = nullptr;
  double* bias = nullptr;
};

bool direct_applies(const Conv2dGeometry& g);

/// Output images of `range` ([N, C_out, H_out, W_out] at `output`), from contiguous input and weight.
void direct_forward(const float* input, const float* weight, const float* bias, const Conv2dGeometry& g,
                    ImageRange range, float* output);
void direct_backward(const float* grad_output, const float* input, const float* weight,
                     const Conv2dGeometry& g, ImageRange range, const GradTargets& targets);

bool shifted_applies(const Conv2dGeometry& g);
void shifted_forward(const float* input, const float* weight, const float* bias, const Conv2dGeometry& g,
                     ImageRange range, float* output);
void shifted_backward(const float* grad_output, const float* input, const float* weight,
                      const Conv2dGeometry& g, ImageRange range, const GradTargets& targets);

/// Forward over `range` in chunks of chunk images (im2col of the chunk, one GEMM per group).
void gemm_forward(const float* input, const float* weight, const float* bias, const Conv2dGeometry& g,
                  ImageRange range, float* output);
void gemm_backward(const float* grad_output, const float* input, const float* weight, const Conv2dGeometry& g,
                   ImageRange range, const GradTargets& targets);

/// The bias gradient of one range: sums[c] = sum of grad_output over the range's (n, c) planes.
void bias_grad_sums(const float* grad_output, const Conv2dGeometry& g, ImageRange range, double* sums);

}  // namespace qg::kernel::conv_paths
