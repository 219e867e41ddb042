// 2-D convolution kernels (non-differentiable; nn/functional/conv2d.cpp wraps them as an autograd
// Function). Input [N, C_in, H, W], weight [C_out, C_in/groups, kH, kW], output [N, C_out, H_out, W_out].
//
// Three fast paths (conv_paths.h), chosen per geometry:
//
// * direct, for stride 1 and a small receptive field (C_in/groups * kH * kW <= 32, e.g. the first layer of
//   an image model, or a grouped conv with few channels per group), except 1x1 convs over more than 8
//   channels: each output plane is a sum of shifted input planes (conv_direct.cpp), computed without any
//   intermediate matrix;
// * shifted GEMM, for the other stride-1 convs with at most 24 taps and an output plane of 64 positions or
//   more: one matrix product per kernel tap, reading the input planes in place (conv_shifted.cpp);
// * im2col + GEMM for the rest (stride > 1, large kernels, small planes): every receptive field of the input is copied into one column
//   of a matrix, so that the convolution of a group becomes one matrix product:
//
//     columns [C_in*kH*kW, N*H_out*W_out]     row (c, ki, kj), column (n, oh, ow):
//         columns[(c, ki, kj), (n, oh, ow)] = input[n, c, oh*stride - padding + ki*dilation,
//                                                         ow*stride - padding + kj*dilation]  (0 outside)
//     output_g [C_out/groups, N*H_out*W_out] = weight_g [C_out/groups, K_g] x columns_g [K_g, N*H_out*W_out]
//
//   with K_g = C_in/groups*kH*kW. Group g's rows of `columns` and of `weight` are contiguous blocks, so a
//   group is a pointer offset into both, never a copy. The gradients are two more products:
//     grad_weight_g = grad_output_g x columns_g^T,     grad_columns_g = weight_g^T x grad_output_g,
//   and col2im (the adjoint of im2col) sums grad_columns back onto the input positions they came from.
//   The forward pass works on chunks of samples whose column matrix is at most about 1 MB
//   (conv2d_chunk_samples); backward recomputes one sample's columns at a time from the input rather than
//   keeping the whole batch's matrix alive in the graph (PyTorch does the same).
//
// Both paths split the batch across threads (core/parallel.h). The weight and bias gradients are summed
// per fixed slice of the batch and the slices added in order, so results do not depend on the thread count.
//
// conv2d_reference / conv2d_backward_reference are the naive direct loops, kept as the definition both
// fast paths are tested against.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace qg::kernel {

/// Every size a convolution needs, computed once from validated shapes and options.
struct Conv2dGeometry {
  int64_t batch = 0, in_channels = 0, in_height = 0, in_width = 0;
  int64_t out_channels = 0, kernel_height = 0, kernel_width = 0;
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  int64_t out_height = 0, out_width = 0;

  int64_t in_channels_per_group() const { return in_channels / groups; }
  int64_t out_channels_per_group() const { return out_channels / groups; }
  /// K_g: the length of one receptive field of one group (a row of weight_g).
  int64_t patch_size() const { return in_channels_per_group() * kernel_height * kernel_width; }
  /// Rows of the column matrix: C_in * kH * kW.
  int64_t column_rows() const { return in_channels * kernel_height * kernel_width; }
  /// Columns of the column matrix: N * H_out * W_out.
  int64_t column_cols() const { return batch * out_height * out_width; }
};

/// Geometry of convolving an input of shape `input` with a weight of shape `weight`. Shapes and options
/// must already be validated (nn::functional::conv2d does that); the output size must be >= 1.
Conv2dGeometry conv2d_geometry(const Shape& input, const Shape& weight, int64_t stride, int64_t padding,
                               int64_t dilation, int64_t groups);

/// Samples per chunk of the batch (>= 1): as many as keep the chunk's column matrix near 1 MB.
int64_t conv2d_chunk_samples(const Conv2dGeometry& g);

/// Which fast path a convolution takes: the automatic choice, or one forced (for tests and benchmarks).
enum class ConvPath { Auto, Direct, Shifted, Gemm };
/// Whether the direct path can compute `g` (stride 1, C_in/groups * kH * kW <= 32).
bool conv2d_direct_applies(const Conv2dGeometry& g);
/// Whether the shifted-GEMM path can compute `g` (stride 1).
bool conv2d_shifted_applies(const Conv2dGeometry& g);
/// The path ConvPath::Auto takes: direct where it applies, unless the kernel is 1x1 over more than 8 input
/// channels per group; else shifted GEMM for stride 1 unless the kernel
/// has more than 24 taps, or more than one tap and an output plane of fewer than 64 positions; else im2col +
/// GEMM.
ConvPath conv2d_auto_path(const Conv2dGeometry& g);

/// Writes the column matrix [column_rows, column_cols] of the g.batch samples at `input` (contiguous
/// [N, C_in, H, W]) into `columns`; see the header comment.
void im2col(const float* input, const Conv2dGeometry& g, float* columns);
/// The adjoint of im2col: adds every column entry back onto the input element it was copied from.
/// `input_grad` points to N*C_in*H*W floats and is accumulated into (zero it first).
void col2im(const float* columns, const Conv2dGeometry& g, float* input_grad);

/// Output [N, C_out, H_out, W_out]. `input` and `weight` must be contiguous; `bias` is [C_out] or undefined.
/// Throws std::invalid_argument when `path` forces a path on a geometry it cannot compute.
Tensor conv2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dGeometry& g,
                      ConvPath path = ConvPath::Auto);

/// Gradients of a convolution; a member is undefined when it was not requested.
struct Conv2dGrads {
  Tensor input, weight, bias;
};
struct Conv2dGradRequest {
  bool input = true, weight = true, bias = true;
};

/// Backward of conv2d_forward, given the forward's contiguous input and weight.
Conv2dGrads conv2d_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                            const Conv2dGeometry& g, const Conv2dGradRequest& request,
                            ConvPath path = ConvPath::Auto);

/// Naive direct convolution (seven nested loops): the reference definition.
Tensor conv2d_reference(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const Conv2dGeometry& g);
/// Naive gradients of conv2d_reference w.r.t. input, weight and bias (the bias gradient is always given).
Conv2dGrads conv2d_backward_reference(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                                      const Conv2dGeometry& g);

}  // namespace qg::kernel
