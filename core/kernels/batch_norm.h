// Batch-normalisation kernels over the channel axis of a contiguous [N, C, S] buffer (S = H*W, or 1 for an
// [N, C] input); nn/functional/batch_norm.cpp wraps them as an autograd Function and states the math.
// Channel c's statistics run over its M = N*S values. Sums are taken per plane in float with several
// independent accumulators (so the compiler vectorises them), and across planes in double. Channels (for
// the sums) and planes (for the element-wise passes) are shared between threads; each channel's sums are
// taken by one thread in plane order, so the results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/tensor.h"

namespace qg::kernel {

struct ChannelLayout {
  int64_t batch = 0, channels = 0, spatial = 1;
  int64_t count() const { return batch * spatial; }  // M, the values per channel
  /// Whether a batch of this layout has batch statistics: two values per channel or more. With one, the
  /// variance is 0 and every normalised value 0; PyTorch refuses such a training batch ("Expected more
  /// than 1 value per channel when training"), and so do channel_statistics, nn::functional::batch_norm and
  /// the tools, which check their training batches before any training (app/training_batches.h).
  bool has_batch_statistics() const { return count() >= 2; }
};

/// [N, C] or [N, C, H, W] -> its [N, C, S] layout.
ChannelLayout channel_layout(const Shape& shape);

/// Per-channel mean and biased variance (divided by M) of a contiguous input. Throws std::invalid_argument
/// unless layout.has_batch_statistics().
///
/// With split-invariant sums on (core/batch_reduction.h) the sums run per image, then over the images in
/// the halving tree, then over the processes of a data-parallel run when a cross-process sum is installed
/// (SyncBatchNorm): `count` is then the values per channel of the global batch.
struct ChannelStats {
  std::vector<float> mean, var;
  int64_t count = 0;  // M, the values per channel the statistics are over
};
ChannelStats channel_statistics(const Tensor& x, const ChannelLayout& layout);

/// running = (1 - momentum) running + momentum batch, with the *unbiased* batch variance (times
/// count / (count - 1), count = M values per channel) for running_var, as PyTorch does. In place.
void update_running_statistics(Tensor& running_mean, Tensor& running_var, const ChannelStats& batch,
                               int64_t count, float momentum);

/// y = x * scale[c] + shift[c] per channel (the whole normalisation folded into one multiply-add).
Tensor channel_affine(const Tensor& x, const std::vector<float>& scale, const std::vector<float>& shift,
                      const ChannelLayout& layout);
/// One plane of it: dst[i] = src[i] * scale + shift for i < count (what channel_affine computes per plane).
void channel_affine_plane(const float* src, float* dst, int64_t count, float scale, float shift);

/// A gradient the backward kernels below read one (n, c) plane of S values at a time: either the planes of a
/// contiguous [N, C, S] tensor, or planes made on demand by make(n, c, dst) into per-thread scratch
/// (batch_norm_max_pool.h unpools them there, so that the full-size gradient never exists). A kernel is done
/// with one plane before it asks for the next on the same thread.
class GradPlanes {
 public:
  GradPlanes(const Tensor& grad, const ChannelLayout& layout);  // grad contiguous, of the layout's shape
  GradPlanes(std::function<void(int64_t n, int64_t c, float* dst)> make, const ChannelLayout& layout);
  /// Plane (n, c): S floats, valid until the next call on this thread.
  const float* plane(int64_t n, int64_t c) const;

 private:
  const float* batch_ = nullptr;
  std::function<void(int64_t, int64_t, float*)> make_;
  ChannelLayout layout_;
};

/// Per-channel sum(g) and sum(g * (x - mean[c])), the two reductions of the batch-norm backward. With
/// split-invariant sums on, they are over the global batch as channel_statistics's (`count` values per
/// channel), and `image_grad` / `image_grad_centered` hold each image's own sums ([N, C]), from which the
/// layer's weight and bias gradients are added up the same way the other parameters' are (this process's
/// images only: the gradient all-reduce adds the processes).
struct ChannelGradSums {
  std::vector<double> grad, grad_centered;
  int64_t count = 0;
  std::vector<double> image_grad, image_grad_centered;
};
ChannelGradSums channel_grad_sums(const GradPlanes& grad, const Tensor& x, const std::vector<float>& mean,
                                  const ChannelLayout& layout);

/// dx = scale[c] * (g - a[c] - (x - mean[c]) * b[c]) per channel: the batch-norm input gradient
/// (a = b = 0 in eval mode).
Tensor channel_input_grad(const GradPlanes& grad, const Tensor& x, const std::vector<float>& mean,
                          const std::vector<float>& scale, const std::vector<float>& a,
                          const std::vector<float>& b, const ChannelLayout& layout);

}  // namespace qg::kernel
