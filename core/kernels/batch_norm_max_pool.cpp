#include "core/kernels/batch_norm_max_pool.h"

#include <algorithm>
#include <cassert>

#include "core/buffer_cache.h"
#include "core/parallel.h"

namespace qg::kernel {

namespace {

[[maybe_unused]] bool pool_reads(const ChannelLayout& l, const Pool2dGeometry& pool) {
  return pool.batch == l.batch && pool.channels == l.channels && pool.in_height * pool.in_width == l.spatial;
}

}  // namespace

MaxPool2dResult channel_affine_max_pool2d(const Tensor& x, const std::vector<float>& scale,
                                          const std::vector<float>& shift, const ChannelLayout& l,
                                          const Pool2dGeometry& pool) {
  assert(x.is_contiguous() && pool_reads(l, pool));
  MaxPool2dResult result = max_pool2d_empty_result(pool);
  const int64_t planes = l.batch * l.channels;
  // About 16K values a task, as channel_affine shares its planes.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(l.spatial, 1));
  parallel::parallel_for(parallel::task_count(planes, grain), [&](int64_t task) {
    thread_local Buffer<float> normalised;  // one plane, pooled while in L1
    normalised.resize(static_cast<size_t>(l.spatial));
    for (int64_t p = task * grain; p < std::min(planes, (task + 1) * grain); ++p) {
      const int64_t c = p % l.channels;
      channel_affine_plane(x.data() + p * l.spatial, normalised.data(), l.spatial, scale[c], shift[c]);
      max_pool2d_forward_planes(normalised.data(), pool, p, p + 1, result.output.data(), result.argmax);
    }
  });
  return result;
}

GradPlanes max_pool2d_grad_planes(const Tensor& grad_output, const MaxPool2dArgmax& argmax,
                                  const Pool2dGeometry& pool) {
  assert(grad_output.is_contiguous());
  const ChannelLayout layout{pool.batch, pool.channels, pool.in_height * pool.in_width};
  return GradPlanes(
      [&grad_output, &argmax, pool](int64_t n, int64_t c, float* dst) {
        const int64_t p = n * pool.channels + c;
        max_pool2d_backward_planes(grad_output.data(), argmax, pool, p, p + 1, dst);
      },
      layout);
}

}  // namespace qg::kernel
