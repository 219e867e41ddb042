#include "quant/points/learned_point.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "core/batch_reduction.h"
#include "quant/fake_quantize.h"
#include "quant/fake_quantize_learnable.h"
#include "quant/observers/minmax_observer.h"
#include "quant/observers/observer_state.h"
#include "quant/output_requantize.h"
#include "quant/statistics_sync.h"

namespace qg::quant {

namespace {

constexpr float kMinScale = std::numeric_limits<float>::epsilon();

// sum |p[i]| for i in [0, n), in double, in index order.
double abs_sum(const float* p, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i)
    sum += std::fabs(p[i]);
  return sum;
}

// sum |x| over a whole activation tensor [B, ...], split-invariant (core/batch_reduction.h): per image,
// then the halving tree over the images.
double batch_abs_sum(const Tensor& c) {
  const int64_t images = c.shape()[0], per_image = images > 0 ? c.numel() / images : 0;
  if (images == 0) return 0.0;
  std::vector<double> sums(static_cast<size_t>(images));
  for (int64_t n = 0; n < images; ++n)
    sums[static_cast<size_t>(n)] = abs_sum(c.data() + n * per_image, per_image);
  batch_reduction::tree_sum(sums.data(), images, 1);
  return sums[0];
}

// mean |x| of each slice along axis 0 (one slice when channels == 1), over the global batch: in a
// data-parallel run the sums and counts of every process's shard are added first (quant/statistics_sync.h).
std::vector<double> mean_abs(const Tensor& x, int64_t channels, bool batch_axis) {
  const Tensor c = x.contiguous();
  const int64_t inner = c.numel() / channels;
  std::vector<double> sums(static_cast<size_t>(channels) + 1, 0.0);  // then the count of each slice
  if (batch_axis && channels == 1 && c.dim() > 0 && batch_reduction::split_invariant()) {
    sums[0] = batch_abs_sum(c);
  } else {
    for (int64_t ch = 0; ch < channels; ++ch)
      sums[static_cast<size_t>(ch)] = abs_sum(c.data() + ch * inner, inner);
  }
  sums.back() = static_cast<double>(inner);
  sync_sum(sums);
  const double count = sums.back();
  std::vector<double> means(static_cast<size_t>(channels), 0.0);
  for (int64_t ch = 0; ch < channels; ++ch)
    means[static_cast<size_t>(ch)] = count > 0 ? sums[static_cast<size_t>(ch)] / count : 0.0;
  return means;
}

}  // namespace

LearnedPoint::LearnedPoint(const LearnedPointOptions& options) : options_(options) {
  options_.spec.validate();
  if (options_.spec.binary())
    throw std::invalid_argument("LearnedPoint: binary codes have no step size to learn");
  if (options_.channels < 1) throw std::invalid_argument("LearnedPoint: channels must be positive");
  if (options_.learn_zero_point && options_.channels != 1) {
    throw std::invalid_argument("LearnedPoint: a learned zero point is per tensor");
  }
  scale_ = Tensor::ones({options_.channels});
  scale_.set_requires_grad(true);
  if (options_.learn_zero_point) {
    zero_point_ = Tensor::zeros({1});
    zero_point_.set_requires_grad(true);
  }
}

double LearnedPoint::positive_levels() const {
  const QuantSpec& s = options_.spec;
  if (options_.learn_zero_point) return s.qmax() - s.qmin();
  return s.is_signed ? s.qmax() : s.qmax() - s.qmin();
}

float LearnedPoint::grad_scale(const Tensor& x) const {
  const int64_t n = options_.is_weight ? x.numel() / options_.channels
                                       : (x.dim() > 0 && x.shape()[0] > 0 ? x.numel() / x.shape()[0] : 1);
  return static_cast<float>(1.0 /
                            std::sqrt(static_cast<double>(std::max<int64_t>(n, 1)) * positive_levels()));
}

void LearnedPoint::initialize(const Tensor& x) {
  if (x.numel() == 0)
    throw std::invalid_argument("LearnedPoint: cannot initialise a step size from an empty tensor");
  auto [lo, hi] = tensor_min_max(x, "LearnedPoint");  // refuses NaN/Inf like an observer
  (void)hi;
  sync_min(std::span(&lo, 1));  // the global batch's minimum in a data-parallel run
  const std::vector<double> means = mean_abs(x, options_.channels, !options_.is_weight);
  const double root = std::sqrt(positive_levels());
  for (int64_t c = 0; c < options_.channels; ++c) {
    const double s = 2.0 * means[static_cast<size_t>(c)] / root;
    scale_.data()[c] = s > kMinScale ? static_cast<float>(s) : 1.0f;  // all zeros: any step represents them
  }
  if (zero_point_.defined()) zero_point_.data()[0] = static_cast<float>(-lo / scale_.data()[0]);
  clamp_parameters();
  initialized_ = true;
}

void LearnedPoint::clamp_parameters() {
  for (int64_t c = 0; c < scale_.numel(); ++c)
    scale_.data()[c] = std::max(scale_.data()[c], kMinScale);
  if (zero_point_.defined()) {
    zero_point_.data()[0] = std::clamp(zero_point_.data()[0], static_cast<float>(options_.spec.qmin()),
                                       static_cast<float>(options_.spec.qmax()));
  }
}

Tensor LearnedPoint::operator()(const Tensor& x, bool) {
  if (frozen_) return record(x, fake_quantize(x, *frozen_, Ste::Clipped));
  if (!initialized_) initialize(x.detach());
  clamp_parameters();
  return record(
      x, fake_quantize_learnable(x, scale_, zero_point_, options_.spec, grad_scale(x), !options_.is_weight));
}

Tensor LearnedPoint::requantize(const Tensor& y, float input_scale, const QParams& weight, bool) {
  if (frozen_) return record(y, fake_requantize(y, input_scale, weight, *frozen_, Ste::Clipped));
  if (!initialized_) initialize(y.detach());
  clamp_parameters();
  return record(y, fake_requantize_learnable(y, input_scale, weight, scale_, zero_point_, options_.spec,
                                             grad_scale(y)));
}

QParams LearnedPoint::qparams() const {
  if (frozen_) return *frozen_;
  if (!initialized_)
    throw std::logic_error("LearnedPoint: qparams() requested before the step size was initialised");
  QParams q = learnable_qparams(scale_, zero_point_, options_.spec);
  // As the next forward will clamp them: an optimizer step may have left a step size at or below zero.
  for (float& s : q.scale)
    s = std::max(s, kMinScale);
  return q;
}

void LearnedPoint::freeze() {
  clamp_parameters();
  frozen_ = qparams();
}

ObserverState LearnedPoint::state() const {
  ObserverState s;
  s.scalars = {{"type", kind()}, {"initialized", initialized_}};
  return s;
}

void LearnedPoint::load_state(const ObserverState& state) {
  const std::string who = kind();
  const std::string type = state_string(state, "type", who);
  if (type != kind()) {
    throw std::invalid_argument(who + " quantizer: cannot load the state of a \"" + type + "\" quantizer");
  }
  initialized_ = state_bool(state, "initialized", who);
}

nn::NamedTensors LearnedPoint::parameters() const {
  nn::NamedTensors p{{"scale", scale_}};
  if (zero_point_.defined()) p.emplace_back("zero_point", zero_point_);
  return p;
}

}  // namespace qg::quant
