// A near miss the check must catch: the gradients are right except that input channel c is taken to be ci,
// forgetting the group offset group(co) * C_in/groups: right for every convolution with groups = 1.
#include "exercises/conv2d_backward/conv2d_backward.h"

namespace exercise {

qg::kernel::Conv2dGrads conv2d_backward(const qg::Tensor& grad_output, const qg::Tensor& input,
                                        const qg::Tensor& weight, const qg::kernel::Conv2dGeometry& g) {
  qg::Tensor grad_input = qg::Tensor::zeros(input.shape()), grad_weight = qg::Tensor::zeros(weight.shape());
  qg::Tensor grad_bias = qg::Tensor::zeros({g.out_channels});
  const float *gy = grad_output.data(), *x = input.data(), *w = weight.data();
  float *gx = grad_input.data(), *gw = grad_weight.data(), *gb = grad_bias.data();
  const int64_t cin_g = g.in_channels_per_group();
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t co = 0; co < g.out_channels; ++co)
      for (int64_t oh = 0; oh < g.out_height; ++oh)
        for (int64_t ow = 0; ow < g.out_width; ++ow) {
          const float go = gy[((n * g.out_channels + co) * g.out_height + oh) * g.out_width + ow];
          gb[co] += go;
          for (int64_t ci = 0; ci < cin_g; ++ci)
            for (int64_t ki = 0; ki < g.kernel_height; ++ki)
              for (int64_t kj = 0; kj < g.kernel_width; ++kj) {
                const int64_t c = ci;  // the bug: no group offset (co / (C_out/groups)) * cin_g
                const int64_t ih = oh * g.stride - g.padding + ki * g.dilation;
                const int64_t iw = ow * g.stride - g.padding + kj * g.dilation;
                if (ih < 0 || ih >= g.in_height || iw < 0 || iw >= g.in_width) continue;
                const int64_t xi = ((n * g.in_channels + c) * g.in_height + ih) * g.in_width + iw;
                const int64_t wi = ((co * cin_g + ci) * g.kernel_height + ki) * g.kernel_width + kj;
                gx[xi] += go * w[wi];
                gw[wi] += go * x[xi];
              }
        }
  return {grad_input, grad_weight, grad_bias};
}

}  // namespace exercise
