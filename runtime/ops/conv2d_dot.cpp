#include "runtime/ops/conv2d_dot.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace qg::runtime {

namespace {

constexpr int64_t kMaxDotProducts = 65536;  // K * 255 * 128 < 2^31: D fits int32
constexpr size_t kPackedCacheSize = 8;

int64_t round_up(int64_t value, int64_t step) {
  return (value + step - 1) / step * step;
}

// The geometry of one call.
struct DotPlan {
  int64_t height = 0, width = 0, out_height = 0, out_width = 0;
  int64_t pad_h = 0, pad_w = 0;
  int64_t padded_h = 0, padded_w = 0;
  int64_t span = 0;       // L = (H_out - 1) * Wp + W_out: the gappy output positions
  int64_t positions = 0;  // L rounded up to the engine's step
  int64_t stride = 0;     // words or values per plane: positions + the largest tap offset
  int64_t cin = 0, cout = 0, taps = 0, products = 0;  // per group; products = K
  std::vector<int64_t> offsets;                       // per tap
  int kpw = 4;                                        // k-values per word
  bool by_channels = false;                           // words hold kpw channels of one tap, else kpw taps
  int64_t channel_blocks = 0;                         // ceil(cin / kpw) when by_channels
  int64_t words = 0;                                  // words per output
};

// With `pooled`, only the outputs a following 2x2 pool reads are computed: an even number of rows and
// columns.
DotPlan plan_of(const Conv2d& op, const Dims& input_shape, int8::Isa isa, bool pooled) {
  DotPlan p;
  p.height = input_shape[1];
  p.width = input_shape[2];
  p.out_height = op.window.output_size(p.height, 0, Conv2d::kName);
  p.out_width = op.window.output_size(p.width, 1, Conv2d::kName);
  p.pad_h = op.window.padding[0];
  p.pad_w = op.window.padding[1];
  p.padded_h = p.height + 2 * p.pad_h;
  p.padded_w = p.width + 2 * p.pad_w;
  const int64_t rows = pooled ? p.out_height / 2 * 2 : p.out_height;
  const int64_t columns = pooled ? p.out_width / 2 * 2 : p.out_width;
  p.span = (rows - 1) * p.padded_w + columns;
  p.positions = round_up(p.span, int8::kPanelStep);
  p.cin = op.in_channels / op.groups;
  p.cout = op.out_channels / op.groups;
  p.taps = op.window.kernel[0] * op.window.kernel[1];
  p.products = p.cin * p.taps;
  for (int64_t ki = 0; ki < op.window.kernel[0]; ++ki) {
    for (int64_t kj = 0; kj < op.window.kernel[1]; ++kj)
      p.offsets.push_back(ki * op.window.dilation[0] * p.padded_w + kj * op.window.dilation[1]);
  }
  p.stride = std::max(p.positions + p.offsets.back(), p.padded_h * p.padded_w);
  p.kpw = int8::k_per_word(isa);
  p.by_channels = p.cin >= p.kpw;
  p.channel_blocks = (p.cin + p.kpw - 1) / p.kpw;
  p.words = p.by_channels ? p.taps * p.channel_blocks : (p.products + p.kpw - 1) / p.kpw;
  return p;
}

// The (channel, tap) of value j of word w (channel -1: a padding value, weight and activation 0).
struct Slot {
  int64_t channel = -1, tap = 0;
};

Slot slot_of(const DotPlan& p, int64_t w, int j) {
  if (p.by_channels) {
    const int64_t channel = (w % p.channel_blocks) * p.kpw + j;
    return {channel < p.cin ? channel : -1, w / p.channel_blocks};
  }
  const int64_t k = w * p.kpw + j;  // k = channel * taps + tap, the weight's own order
  return k < p.products ? Slot{k / p.taps, k % p.taps} : Slot{};
}

// The middle of the weight code range: w = q2 - m lies in [-128, 127].
int32_t weight_middle(const QuantizedWeights& weight) {
  return weight.is_signed ? 0 : int32_t{1} << (weight.bits - 1);
}

}  // namespace

// A conv's weights packed for the engine, and the per-channel constants of the expansion above. Kept in
// the worker's Scratch; `source` holds what it was packed from, so a changed op is packed again.
struct PackedConv {
  struct Source {
    const Conv2d* op = nullptr;
    int8::Isa isa = int8::Isa::Portable;
    std::vector<int16_t> codes;
    std::vector<int32_t> zero_points, bias;
    QuantParams input_quant;
    Window2d window;
    int64_t in_channels = 0, out_channels = 0, groups = 0;
    int weight_bits = 0;
    bool weight_signed = false;
    bool operator==(const Source&) const = default;
  } source;
  int64_t words = 0;
  std::vector<uint32_t> weights;        // [groups][cout + 1][words]; row cout of a group is all ones
  std::vector<int64_t> constants;       // bias + (qmin_in - Z1) Sw[c] + K (qmin_in - Z1)(m - Z2[c])
  std::vector<int32_t> weight_offsets;  // m - Z2[c]
};

namespace {

PackedConv::Source source_of(const Conv2d& op, int8::Isa isa) {
  return {&op,
          isa,
          op.weight.codes,
          op.weight.zero_points,
          op.bias,
          op.input_quant,
          op.window,
          op.in_channels,
          op.out_channels,
          op.groups,
          op.weight.bits,
          op.weight.is_signed};
}

std::shared_ptr<const PackedConv> pack(const Conv2d& op, const DotPlan& p, int8::Isa isa) {
  auto packed = std::make_shared<PackedConv>();
  packed->source = source_of(op, isa);
  packed->words = p.words;
  const int32_t middle = weight_middle(op.weight);
  const int64_t input_offset = op.input_quant.qmin() - op.input_quant.zero_point;
  packed->weights.assign(static_cast<size_t>(op.groups * (p.cout + 1) * p.words), 0);
  for (int64_t g = 0; g < op.groups; ++g) {
    for (int64_t c = 0; c <= p.cout; ++c) {
      const bool ones = c == p.cout;
      const int64_t oc = g * p.cout + c;
      for (int64_t w = 0; w < p.words; ++w) {
        int32_t values[4] = {0, 0, 0, 0};
        for (int j = 0; j < p.kpw; ++j) {
          const Slot slot = slot_of(p, w, j);
          if (slot.channel < 0) continue;
          values[j] =
              ones ? 1
                   : op.weight.codes[static_cast<size_t>((oc * p.cin + slot.channel) * p.taps + slot.tap)] -
                         middle;
        }
        packed->weights[static_cast<size_t>((g * (p.cout + 1) + c) * p.words + w)] =
            int8::pack_weights(isa, values);
      }
    }
  }
  for (int64_t oc = 0; oc < op.out_channels; ++oc) {
    int64_t weight_sum = 0;
    for (int64_t k = 0; k < p.products; ++k)
      weight_sum += op.weight.codes[static_cast<size_t>(oc * p.products + k)] - middle;
    const int64_t offset = middle - op.weight.zero_point(oc);
    const int64_t bias = op.bias.empty() ? 0 : op.bias[static_cast<size_t>(oc)];
    packed->constants.push_back(bias + input_offset * weight_sum + p.products * input_offset * offset);
    packed->weight_offsets.push_back(static_cast<int32_t>(offset));
  }
  return packed;
}

// The packed weights of `op` from the scratch's cache, packed afresh when missing or out of date.
const PackedConv& packed_weights(const Conv2d& op, const DotPlan& p, int8::Isa isa, Scratch& scratch) {
  for (Scratch::PackedEntry& entry : scratch.packed) {
    if (entry.conv->source.op != &op || entry.conv->source.isa != isa) continue;
    const bool checked = scratch.run_id != 0 && entry.checked_in_run == scratch.run_id;
    if (!checked && !(entry.conv->source == source_of(op, isa))) entry.conv = pack(op, p, isa);
    entry.checked_in_run = scratch.run_id;
    return *entry.conv;
  }
  if (scratch.packed.size() == kPackedCacheSize) scratch.packed.erase(scratch.packed.begin());
  scratch.packed.push_back({pack(op, p, isa), scratch.run_id});
  return *scratch.packed.back().conv;
}

// values[ci * p.stride + y * Wp + x] = a of group `group` at padded position (y, x); padding a = Z1 - qmin;
// the tail of each row of `stride` values (read by the last, partly unused, outputs) 0; then one more row
// of zeros.
void fill_values(const Conv2d& op, const DotPlan& p, int64_t group, std::span<const int32_t> input,
                 std::vector<int32_t>& values) {
  const int32_t qmin = op.input_quant.qmin();
  const int32_t pad = op.input_quant.zero_point - qmin;
  int32_t* const zeros = grow_to(values, static_cast<size_t>((p.cin + 1) * p.stride)) + p.cin * p.stride;
  std::fill(zeros, zeros + p.stride, 0);  // a row of zeros after the planes
  for (int64_t ci = 0; ci < p.cin; ++ci) {
    int32_t* plane = values.data() + ci * p.stride;
    const int32_t* src = input.data() + (group * p.cin + ci) * p.height * p.width;
    std::fill(plane, plane + p.pad_h * p.padded_w, pad);
    for (int64_t y = 0; y < p.height; ++y) {
      int32_t* row = plane + (y + p.pad_h) * p.padded_w;
      std::fill(row, row + p.pad_w, pad);
      const int32_t* src_row = src + y * p.width;
      for (int64_t x = 0; x < p.width; ++x)
        row[p.pad_w + x] = src_row[x] - qmin;
      std::fill(row + p.pad_w + p.width, row + p.padded_w, pad);
    }
    std::fill(plane + (p.pad_h + p.height) * p.padded_w, plane + p.padded_h * p.padded_w, pad);
    std::fill(plane + p.padded_h * p.padded_w, plane + p.stride, 0);
  }
}

// Whether the input codes of a group can be packed into words as they are: no padding, and codes that are
// already the a-values (code minimum 0). Only for words of channels (an im2col of taps reads beyond them).
bool codes_are_values(const Conv2d& op, const DotPlan& p) {
  return p.by_channels && p.pad_h == 0 && p.pad_w == 0 && op.input_quant.qmin() == 0;
}

// The activation words and, in `rows`, where the words of each k-group start (indexed by position q).
// The a-values come from `planes` (`plane_stride` apart, `plane_size` valid values each): either
// fill_values's padded planes, or the input codes themselves (codes_are_values). `zeros` holds p.stride
// zeros (the source of padding slots).
void fill_words(const DotPlan& p, int8::Isa isa, const int32_t* planes, int64_t plane_stride,
                int64_t plane_size, const int32_t* zeros, Scratch& scratch) {
  grow_to(scratch.rows, static_cast<size_t>(p.words));
  if (p.by_channels) {
    // words[b][q] = the kpw channels of block b at plane position q; tap t of block b starts at o_t.
    grow_to(scratch.words, static_cast<size_t>(p.channel_blocks * p.stride));
    for (int64_t b = 0; b < p.channel_blocks; ++b) {
      const int32_t* sources[4] = {zeros, zeros, zeros, zeros};
      for (int j = 0; j < p.kpw; ++j) {
        const int64_t channel = b * p.kpw + j;
        if (channel < p.cin) sources[j] = planes + channel * plane_stride;
      }
      uint32_t* dst = scratch.words.data() + b * p.stride;
      int8::interleave_words(isa, sources, plane_size, dst);
      std::fill(dst + plane_size, dst + p.stride, 0u);  // read only by outputs that are dropped
      for (int64_t t = 0; t < p.taps; ++t)
        scratch.rows[static_cast<size_t>(t * p.channel_blocks + b)] = dst + p.offsets[static_cast<size_t>(t)];
    }
    return;
  }
  // An explicit im2col: words[w][q] = the kpw (channel, tap) values of k-group w for output q.
  grow_to(scratch.words, static_cast<size_t>(p.words * p.positions));
  for (int64_t w = 0; w < p.words; ++w) {
    const int32_t* sources[4] = {zeros, zeros, zeros, zeros};
    for (int j = 0; j < p.kpw; ++j) {
      const Slot slot = slot_of(p, w, j);
      if (slot.channel >= 0)
        sources[j] = planes + slot.channel * plane_stride + p.offsets[static_cast<size_t>(slot.tap)];
    }
    uint32_t* dst = scratch.words.data() + w * p.positions;
    int8::interleave_words(isa, sources, p.positions, dst);
    scratch.rows[static_cast<size_t>(w)] = dst;
  }
}

}  // namespace

bool conv2d_dot_applies(const Conv2d& op) {
  const int64_t products =
      op.in_channels / std::max<int64_t>(op.groups, 1) * op.window.kernel[0] * op.window.kernel[1];
  return op.window.stride[0] == 1 && op.window.stride[1] == 1 && products < kMaxDotProducts;
}

namespace {

// Runs `finish(g, plan, packed, dots)` after the engine has filled scratch.dots for each group g: rows
// 0..cout-1 hold D of the group's output channels, row cout holds S.
template <class Finish>
void for_each_group(const Conv2d& op, const Dims& input_shape, std::span<const int32_t> input, bool pooled,
                    Scratch& scratch, int8::Isa isa, Finish finish) {
  assert(conv2d_dot_applies(op));
  const DotPlan p = plan_of(op, input_shape, isa, pooled);
  const PackedConv& packed = packed_weights(op, p, isa, scratch);
  grow_to(scratch.dots, static_cast<size_t>((p.cout + 1) * p.positions));
  const bool in_place = codes_are_values(op, p);
  const int64_t plane = p.height * p.width;
  if (in_place) {  // just the row of zeros
    int32_t* const zeros = grow_to(scratch.values, static_cast<size_t>(p.stride));
    std::fill(zeros, zeros + p.stride, 0);
  }
  for (int64_t g = 0; g < op.groups; ++g) {
    if (in_place) {
      fill_words(p, isa, input.data() + g * p.cin * plane, plane, plane, scratch.values.data(), scratch);
    } else {
      fill_values(op, p, g, input, scratch.values);
      fill_words(p, isa, scratch.values.data(), p.stride, p.stride, scratch.values.data() + p.cin * p.stride,
                 scratch);
    }
    int8::dot_panel(isa, scratch.rows.data(), p.words, packed.weights.data() + g * (p.cout + 1) * p.words,
                    p.cout + 1, p.positions, scratch.dots.data(), p.positions);
    finish(g, p, packed);
  }
}

// codes[i] = the output stage of channel oc for the accumulators acc[i].
void requantize_accumulators(const OutputStage& stage, int64_t oc, RequantMode mode, int8::Isa isa,
                             const int32_t* acc, int32_t* codes, int64_t n) {
  if (mode == RequantMode::Integer) {
    const QuantizedMultiplier m = stage.multipliers[stage.per_channel() ? static_cast<size_t>(oc) : 0];
    int8::requantize_row(isa, acc, acc, 0, 0, m.multiplier, m.shift, stage.output.zero_point, stage.clamp_min,
                         stage.clamp_max, codes, n);
  } else {
    for (int64_t i = 0; i < n; ++i)
      codes[i] = stage.apply(acc[i], oc, mode);
  }
}

}  // namespace

void conv2d_dot(const Conv2d& op, const Dims& input_shape, std::span<const int32_t> input,
                std::span<int32_t> output, RequantMode mode, Scratch& scratch, int8::Isa isa) {
  const OutputStage& stage = op.output_stage;
  for_each_group(op, input_shape, input, false, scratch, isa,
                 [&](int64_t g, const DotPlan& p, const PackedConv& packed) {
                   const int64_t out_plane = p.out_height * p.out_width;
                   grow_to(scratch.codes, static_cast<size_t>(p.positions));
                   const int32_t* sums = scratch.dots.data() + p.cout * p.positions;  // S: the row of ones
                   for (int64_t c = 0; c < p.cout; ++c) {
                     const int64_t oc = g * p.cout + c;
                     const int32_t* d = scratch.dots.data() + c * p.positions;
                     const int32_t offset = packed.weight_offsets[static_cast<size_t>(oc)];
                     const int64_t constant = packed.constants[static_cast<size_t>(oc)];
                     int32_t* codes = scratch.codes.data();
                     if (mode == RequantMode::Integer) {
                       const QuantizedMultiplier m =
                           stage.multipliers[stage.per_channel() ? static_cast<size_t>(oc) : 0];
                       int8::requantize_row(isa, d, sums, offset, constant, m.multiplier, m.shift,
                                            stage.output.zero_point, stage.clamp_min, stage.clamp_max, codes,
                                            p.span);
                     } else {
                       for (int64_t q = 0; q < p.span; ++q) {
                         const auto acc = static_cast<int32_t>(d[q] + int64_t{offset} * sums[q] + constant);
                         codes[q] = stage.apply(acc, oc, mode);
                       }
                     }
                     int32_t* out = output.data() + oc * out_plane;
                     for (int64_t oh = 0; oh < p.out_height; ++oh)
                       std::memcpy(out + oh * p.out_width, codes + oh * p.padded_w,
                                   static_cast<size_t>(p.out_width) * sizeof(int32_t));
                   }
                 });
}

bool pool_fuses(const MaxPool2d& pool) {
  const Window2d& w = pool.window;
  return w.kernel == std::array<int64_t, 2>{2, 2} && w.stride == std::array<int64_t, 2>{2, 2} &&
         w.padding == std::array<int64_t, 2>{0, 0} && w.dilation == std::array<int64_t, 2>{1, 1};
}

void conv2d_dot_pooled(const Conv2d& op, const MaxPool2d& pool, const Dims& input_shape,
                       std::span<const int32_t> input, std::span<int32_t> output, RequantMode mode,
                       Scratch& scratch, int8::Isa isa) {
  assert(pool_fuses(pool));
  (void)pool;
  for_each_group(
      op, input_shape, input, true, scratch, isa, [&](int64_t g, const DotPlan& p, const PackedConv& packed) {
        const int64_t pooled_h = p.out_height / 2, pooled_w = p.out_width / 2,
                      pooled_plane = pooled_h * pooled_w;
        grow_to(scratch.codes, static_cast<size_t>(2 * pooled_plane));
        int32_t* maxima = scratch.codes.data();                // the pooled accumulators of one channel
        int32_t* codes = scratch.codes.data() + pooled_plane;  // and their codes
        const int32_t* sums = scratch.dots.data() + p.cout * p.positions;
        for (int64_t c = 0; c < p.cout; ++c) {
          const int64_t oc = g * p.cout + c;
          const int32_t* d = scratch.dots.data() + c * p.positions;
          const int32_t offset = packed.weight_offsets[static_cast<size_t>(oc)];
          const int64_t constant = packed.constants[static_cast<size_t>(oc)];
          if (mode == RequantMode::Integer) {
            const OutputStage& stage = op.output_stage;
            const QuantizedMultiplier m =
                stage.multipliers[stage.per_channel() ? static_cast<size_t>(oc) : 0];
            int8::pool_requantize(isa, d, sums, offset, constant, p.padded_w, pooled_h, pooled_w,
                                  m.multiplier, m.shift, stage.output.zero_point, stage.clamp_min,
                                  stage.clamp_max, maxima, codes);
          } else {
            int8::pool_accumulators(d, sums, offset, constant, p.padded_w, pooled_h, pooled_w, maxima);
            requantize_accumulators(op.output_stage, oc, mode, isa, maxima, codes, pooled_plane);
          }
          std::memcpy(output.data() + oc * pooled_plane, codes,
                      static_cast<size_t>(pooled_plane) * sizeof(int32_t));
        }
      });
}

}  // namespace qg::runtime
