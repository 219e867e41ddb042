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
#include <functional>
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

/// The output gradient a backward pass reads, one image at a time: either image n's planes inside the
/// batch's [N, C_out, H_out, W_out] gradient, or planes made on demand for image n into per-thread scratch
/// (conv_max_pool.cpp unpools them there, so that the full-size gradient never exists). A path must be done
/// with image n's planes before it asks for another image on the same thread.
class OutputGrads {
 public:
  /// Images of a whole batch's gradient (contiguous).
  OutputGrads(const float* batch, const Conv2dGeometry& g);
  /// Images written by make(n, dst) into dst (image_size(g) floats) when asked for.
  OutputGrads(std::function<void(int64_t n, float* dst)> make, const Conv2dGeometry& g);
  /// Image n's C_out planes [H_out, W_out], one after the other.
  const float* image(int64_t n) const;

 private:
  const float* batch_ = nullptr;
  std::function<void(int64_t, float*)> make_;
  int64_t image_size_ = 0;
};

/// The path a convolution takes: `path` when it can compute g (else std::invalid_argument), or
/// conv2d_auto_path's choice for ConvPath::Auto.
ConvPath choose_path(const Conv2dGeometry& g, ConvPath path);

/// Images per forward task: 1 on the direct and shifted paths (an image's work fits in L1/L2); on the GEMM
/// path chunks of at most conv2d_chunk_samples images and at least about 8 tasks to share between threads
/// (1 in split-invariant mode: an image's output must not depend on the GEMM's width).
int64_t forward_task_images(const Conv2dGeometry& g, ConvPath chosen);

/// Output images of `range` on the chosen path (direct_forward, shifted_forward or gemm_forward below).
void forward_images(const float* input, const float* weight, const float* bias, const Conv2dGeometry& g,
                    ConvPath chosen, ImageRange range, float* output);

/// conv2d_backward with the output gradient read through `grad_output` (see OutputGrads).
Conv2dGrads backward_images(const OutputGrads& grad_output, const Tensor& input, const Tensor& weight,
                            const Conv2dGeometry& g, const Conv2dGradRequest& request, ConvPath chosen);

bool direct_applies(const Conv2dGeometry& g);

/// Output images of `range` ([N, C_out, H_out, W_out] at `output`), from contiguous input and weight.
void direct_forward(const float* input, const float* weight, const float* bias, const Conv2dGeometry& g,
                    ImageRange range, float* output);
void direct_backward(const OutputGrads& grad_output, const float* input, const float* weight,
                     const Conv2dGeometry& g, ImageRange range, const GradTargets& targets);

bool shifted_applies(const Conv2dGeometry& g);
void shifted_forward(const float* input, const float* weight, const float* bias, const Conv2dGeometry& g,
                     ImageRange range, float* output);
void shifted_backward(const OutputGrads& grad_output, const float* input, const float* weight,
                      const Conv2dGeometry& g, ImageRange range, const GradTargets& targets);

/// Forward over `range` in chunks of chunk images (im2col of the chunk, one GEMM per group).
void gemm_forward(const float* input, const float* weight, const float* bias, const Conv2dGeometry& g,
                  ImageRange range, float* output);
void gemm_backward(const OutputGrads& grad_output, const float* input, const float* weight,
                   const Conv2dGeometry& g, ImageRange range, const GradTargets& targets);

/// The bias gradient of one range: sums[c] = sum of grad_output over the range's (n, c) planes.
void bias_grad_sums(const OutputGrads& grad_output, const Conv2dGeometry& g, ImageRange range, double* sums);

}  // namespace qg::kernel::conv_paths
