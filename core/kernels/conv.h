// 2-D convolution kernels (non-differentiable; nn/functional/conv2d.cpp wraps them as an autograd
// Function). Input [N, C_in, H, W], weight [C_out, C_in/groups, kH, kW], output [N, C_out, H_out, W_out].
//
// The fast path is im2col + GEMM: every receptive field of the input is copied into one column of a
// matrix, so that the convolution of a group becomes one matrix product over the whole batch:
//
//     columns [C_in*kH*kW, N*H_out*W_out]     row (c, ki, kj), column (n, oh, ow):
//         columns[(c, ki, kj), (n, oh, ow)] = input[n, c, oh*stride - padding + ki*dilation,
//                                                         ow*stride - padding + kj*dilation]  (0 outside)
//     output_g [C_out/groups, N*H_out*W_out] = weight_g [C_out/groups, K_g] x columns_g [K_g, N*H_out*W_out]
//
// with K_g = C_in/groups*kH*kW. Group g's rows of `columns` and of `weight` are contiguous blocks, so a
// group is a pointer offset into both, never a copy. The gradients are two more products:
//     grad_weight_g = grad_output_g x columns_g^T,     grad_columns_g = weight_g^T x grad_output_g,
// and col2im (the adjoint of im2col) sums grad_columns back onto the input positions they came from.
//
// The batch is processed in chunks of samples whose column matrix is about 1 MB (conv2d_chunk_samples):
// a few large GEMMs per chunk instead of one per sample, while the column matrix stays in cache instead
// of streaming N times its size through memory. Backward recomputes a chunk's columns from the input
// rather than keeping the whole batch's matrix alive in the graph (PyTorch does the same).
//
// conv2d_reference / conv2d_backward_reference are the naive direct loops, kept as the definition the
// fast path is tested against.
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

/// Writes the column matrix [column_rows, column_cols] of the g.batch samples at `input` (contiguous
/// [N, C_in, H, W]) into `columns`; see the header comment.
void im2col(const float* input, const Conv2dGeometry& g, float* columns);
/// The adjoint of im2col: adds every column entry back onto the input element it was copied from.
/// `input_grad` points to N*C_in*H*W floats and is accumulated into (zero it first).
void col2im(const float* columns, const Conv2dGeometry& g, float* input_grad);

/// Output [N, C_out, H_out, W_out]: per chunk, im2col, one GEMM per group, then the bias is added while
/// reordering the GEMM's [C_out, N*P] result to [N, C_out, P]. `input` and `weight` must be contiguous;
/// `bias` is [C_out] or undefined.
Tensor conv2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, const Conv2dGeometry& g);

/// Gradients of a convolution; a member is undefined when it was not requested.
struct Conv2dGrads {
  Tensor input, weight, bias;
};
struct Conv2dGradRequest {
  bool input = true, weight = true, bias = true;
};

/// Backward of conv2d_forward, given the forward's contiguous input and weight.
Conv2dGrads conv2d_backward(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                            const Conv2dGeometry& g, const Conv2dGradRequest& request);

/// Naive direct convolution (seven nested loops): the reference definition.
Tensor conv2d_reference(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const Conv2dGeometry& g);
/// Naive gradients of conv2d_reference w.r.t. input, weight and bias (the bias gradient is always given).
Conv2dGrads conv2d_backward_reference(const Tensor& grad_output, const Tensor& input, const Tensor& weight,
                                      const Conv2dGeometry& g);

}  // namespace qg::kernel
