#include "runtime/ops/conv2d_dot.h"

#include <algorithm>
#include <cassert>

#include "runtime/ops/channel_codes.h"
#include "runtime/ops/stride_phases.h"

namespace qg::runtime {

namespace {

// At most this many stride phases (stride_h * stride_w; the plan holds one entry per phase). Larger strides
// (a stride wider than the image, which the loader allows up to 2^30) take the int16 path.
constexpr int64_t kMaxDotPhases = 64;
constexpr size_t kPackedCacheSize = 8;

using phases::inside_range;
using phases::InsideRange;
using phases::TapRead;

// Phase (r_h, r_w) of the padded input: whether a tap reads it, and its rows and columns inside the image.
struct Phase {
  int64_t r_h = 0, r_w = 0;
  bool used = false;
  InsideRange rows, columns;
};

// The geometry of one call: the stride-phase split of its input (stride_phases.h: sizes, and where each
// tap reads), and how the engine's words are laid out.
struct DotPlan : phases::StridePhases {
  std::vector<Phase> phase_planes;  // per phase: whether read, where the image lies in it
  int64_t span = 0;                 // L = (H_out - 1) * phase_w + W_out: the gappy output positions
  int64_t positions = 0;            // L rounded up to the engine's step
  int64_t plane_step = 0;           // words or values per phase plane: positions + the largest tap offset
  int64_t cin = 0, cout = 0, taps = 0, products = 0;  // per group; products = K
  int kpw = 4;                                        // k-values per word
  bool by_channels = false;                           // words hold kpw channels of one tap, else kpw taps
  int64_t channel_blocks = 0;                         // ceil(cin / kpw) when by_channels
  int64_t words = 0;                                  // words per output
};

// With `pooled`, only the outputs a following 2x2 pool reads are computed: an even number of rows and
// columns.
DotPlan plan_of(const Conv2d& op, const Dims& input_shape, int8::Isa isa, bool pooled) {
  DotPlan p;
  static_cast<phases::StridePhases&>(p) = phases::stride_phases(op, input_shape);
  const int64_t rows = pooled ? p.out_height / 2 * 2 : p.out_height;
  const int64_t columns = pooled ? p.out_width / 2 * 2 : p.out_width;
  p.span = (rows - 1) * p.phase_w + columns;
  p.positions = int8::round_up(p.span, int8::kPanelStep);
  p.cin = op.in_channels / op.groups;
  p.cout = op.out_channels / op.groups;
  p.taps = op.window.kernel[0] * op.window.kernel[1];
  p.products = p.cin * p.taps;
  p.phase_planes.reserve(static_cast<size_t>(p.phases));
  for (int64_t r_h = 0; r_h < p.stride_h; ++r_h) {
    for (int64_t r_w = 0; r_w < p.stride_w; ++r_w) {
      p.phase_planes.push_back({r_h, r_w, false, inside_range(p.height, p.pad_h, p.stride_h, r_h, p.phase_h),
                                inside_range(p.width, p.pad_w, p.stride_w, r_w, p.phase_w)});
    }
  }
  for (const TapRead& read : p.reads)
    p.phase_planes[static_cast<size_t>(read.phase)].used = true;
  // The last tap reads furthest (a_h and a_w grow with ki and kj).
  p.plane_step = std::max(p.positions + p.reads.back().offset, p.phase_h * p.phase_w);
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
  std::vector<int64_t> constants;       // bias + (qmin_in - Z1) Sw[c] + K (qmin_in - Z1)(m[c] - Z2[c])
  std::vector<int32_t> weight_offsets;  // m[c] - Z2[c]
  std::vector<bool> group_needs_sums;   // per group: whether a channel's offset is not 0 (S is computed)
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

// The midpoint m[c] of output channel oc's weights (conv2d_dot.h): its zero point Z2[c] when every code q2
// of the channel has q2 - Z2[c] in the engine's [-128, 127] (then m[c] - Z2[c] = 0 and the channel needs no
// S), else the middle of the code range.
int32_t channel_midpoint(const Conv2d& op, int64_t oc, int64_t products) {
  const int32_t zero = op.weight.zero_point(oc);
  const auto first = op.weight.codes.begin() + oc * products;
  const auto [low, high] = std::minmax_element(first, first + products);
  return *low - zero >= -128 && *high - zero <= 127 ? zero : op.weight.middle();
}

std::shared_ptr<const PackedConv> pack(const Conv2d& op, const DotPlan& p, int8::Isa isa) {
  auto packed = std::make_shared<PackedConv>();
  packed->source = source_of(op, isa);
  packed->words = p.words;
  std::vector<int32_t> middle(static_cast<size_t>(op.out_channels));
  for (int64_t oc = 0; oc < op.out_channels; ++oc)
    middle[static_cast<size_t>(oc)] = channel_midpoint(op, oc, p.products);
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
                         middle[static_cast<size_t>(oc)];
        }
        packed->weights[static_cast<size_t>((g * (p.cout + 1) + c) * p.words + w)] =
            int8::pack_weights(isa, values);
      }
    }
  }
  packed->group_needs_sums.assign(static_cast<size_t>(op.groups), false);
  for (int64_t oc = 0; oc < op.out_channels; ++oc) {
    const int32_t m = middle[static_cast<size_t>(oc)];
    int64_t weight_sum = 0;
    for (int64_t k = 0; k < p.products; ++k)
      weight_sum += op.weight.codes[static_cast<size_t>(oc * p.products + k)] - m;
    const int64_t offset = m - op.weight.zero_point(oc);
    const int64_t bias = op.bias.empty() ? 0 : op.bias[static_cast<size_t>(oc)];
    packed->constants.push_back(bias + input_offset * weight_sum + p.products * input_offset * offset);
    packed->weight_offsets.push_back(static_cast<int32_t>(offset));
    if (offset != 0) packed->group_needs_sums[static_cast<size_t>(oc / p.cout)] = true;
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

// One phase plane of one channel, phase_h x phase_w values: the a-values q - qmin of the input where the
// plane's (i, j) lies in the image (phase.rows x phase.columns), `pad` elsewhere. `first` is the input code
// at (phase.rows.begin, phase.columns.begin); the next row is `row_step` further on, the next column
// `column_step`. kColumnStep is that step when known at compile time (1 or 2: loops the compiler vectorises,
// with shuffles for 2), or 0.
template <int64_t kColumnStep>
void fill_phase_plane(const int32_t* first, int64_t row_step, int64_t column_step, int32_t qmin, int32_t pad,
                      const Phase& phase, int64_t phase_h, int64_t phase_w, int32_t* plane) {
  const InsideRange& rows = phase.rows;
  const InsideRange& columns = phase.columns;
  const int64_t n = columns.end - columns.begin;
  std::fill(plane, plane + rows.begin * phase_w, pad);
  for (int64_t i = rows.begin; i < rows.end; ++i, first += row_step) {
    int32_t* row = plane + i * phase_w;
    int32_t* inside = row + columns.begin;
    std::fill(row, inside, pad);
    const int64_t step = kColumnStep > 0 ? kColumnStep : column_step;
    for (int64_t j = 0; j < n; ++j)
      inside[j] = first[j * step] - qmin;
    std::fill(inside + n, row + phase_w, pad);
  }
  std::fill(plane + rows.end * phase_w, plane + phase_h * phase_w, pad);
}

// values[(ci * phases + r) * plane_step + i * phase_w + j] = a of group `group` at padded position
// (i s_h + r_h, j s_w + r_w), r = r_h s_w + r_w: the phase planes of each channel (at stride 1 the padded
// plane itself). Padding, and the places of a phase plane beyond the padded input, hold a = Z1 - qmin; the
// tail of each plane_step values (read by the last, partly unused, outputs) 0; then one more plane of zeros.
// Phases no tap reads are left as they are. Only the im2col layout goes through these int32 planes; words of
// channels are gathered from the codes directly (fill_channel_words).
void fill_values(const Conv2d& op, const DotPlan& p, int64_t group, std::span<const int32_t> input,
                 AlignedVector<int32_t>& values) {
  const int32_t qmin = op.input_quant.qmin();
  const int32_t pad = op.input_quant.zero_point - qmin;
  const int64_t planes = p.cin * p.phases, plane_size = p.phase_h * p.phase_w;
  int32_t* const zeros =
      grow_to(values, static_cast<size_t>((planes + 1) * p.plane_step)) + planes * p.plane_step;
  std::fill(zeros, zeros + p.plane_step, 0);  // a plane of zeros after the planes
  for (int64_t r = 0; r < p.phases; ++r) {
    const Phase& phase = p.phase_planes[static_cast<size_t>(r)];
    if (!phase.used) continue;
    const bool empty = phase.rows.begin == phase.rows.end || phase.columns.begin == phase.columns.end;
    // The input position of the phase's first value inside the image.
    const int64_t y = phase.rows.begin * p.stride_h + phase.r_h - p.pad_h;
    const int64_t x = phase.columns.begin * p.stride_w + phase.r_w - p.pad_w;
    for (int64_t ci = 0; ci < p.cin; ++ci) {
      int32_t* plane = values.data() + (ci * p.phases + r) * p.plane_step;
      if (empty) {
        std::fill(plane, plane + plane_size, pad);
      } else {
        const int32_t* first = input.data() + ((group * p.cin + ci) * p.height + y) * p.width + x;
        const int64_t row_step = p.stride_h * p.width;
        if (p.stride_w == 1) {
          fill_phase_plane<1>(first, row_step, 1, qmin, pad, phase, p.phase_h, p.phase_w, plane);
        } else if (p.stride_w == 2) {
          fill_phase_plane<2>(first, row_step, 2, qmin, pad, phase, p.phase_h, p.phase_w, plane);
        } else {
          fill_phase_plane<0>(first, row_step, p.stride_w, qmin, pad, phase, p.phase_h, p.phase_w, plane);
        }
      }
      std::fill(plane + plane_size, plane + p.plane_step, 0);
    }
  }
}

// Whether the input codes of a group can be packed into words as they are: stride 1 and no padding (the
// input is its own padded plane), and codes that are already the a-values (code minimum 0). Only for words
// of channels (an im2col of taps reads beyond the plane).
bool codes_are_values(const Conv2d& op, const DotPlan& p) {
  return p.by_channels && p.phases == 1 && p.pad_h == 0 && p.pad_w == 0 && op.input_quant.qmin() == 0;
}

// rows[t * channel_blocks + b] = where the words of tap t of channel block b start in the by_channels layout
// (words[b][r][q], plane_step words per phase plane r; tap t reads its phase plane from o_t on).
void point_rows_at_channel_words(const DotPlan& p, Scratch& scratch) {
  for (int64_t b = 0; b < p.channel_blocks; ++b) {
    for (int64_t t = 0; t < p.taps; ++t) {
      const TapRead& read = p.reads[static_cast<size_t>(t)];
      scratch.rows[static_cast<size_t>(t * p.channel_blocks + b)] =
          scratch.words.data() + (b * p.phases + read.phase) * p.plane_step + read.offset;
    }
  }
}

// The by_channels words of group `group` in one pass from the input codes: words[b][r][q] packs the a-values
// q - qmin of the kpw channels of block b at position q of phase plane r (as fill_values would lay them out),
// the padding word (a = Z1 - qmin) where the plane lies outside the image, and 0 beyond the plane (read only
// by outputs that are dropped) and for channels past cin. Phases no tap reads are left as they are.
void fill_channel_words(const Conv2d& op, const DotPlan& p, int8::Isa isa, int64_t group,
                        std::span<const int32_t> input, Scratch& scratch) {
  assert(p.by_channels);
  const int32_t qmin = op.input_quant.qmin();
  const int32_t pad = op.input_quant.zero_point - qmin;
  const int64_t plane_size = p.phase_h * p.phase_w;
  grow_to(scratch.rows, static_cast<size_t>(p.words));
  grow_to(scratch.words, static_cast<size_t>(p.channel_blocks * p.phases * p.plane_step));
  for (int64_t b = 0; b < p.channel_blocks; ++b) {
    const int channels = static_cast<int>(std::min<int64_t>(p.kpw, p.cin - b * p.kpw));
    int32_t pads[4] = {0, 0, 0, 0};
    std::fill(pads, pads + channels, pad);
    const uint32_t pad_word = int8::pack_activations(isa, pads);
    for (int64_t r = 0; r < p.phases; ++r) {
      const Phase& phase = p.phase_planes[static_cast<size_t>(r)];
      if (!phase.used) continue;
      uint32_t* plane = scratch.words.data() + (b * p.phases + r) * p.plane_step;
      std::fill(plane, plane + plane_size, pad_word);  // the image's part is written over below
      std::fill(plane + plane_size, plane + p.plane_step, 0u);
      const int64_t rows = phase.rows.end - phase.rows.begin;
      const int64_t columns = phase.columns.end - phase.columns.begin;
      if (rows == 0 || columns == 0) continue;
      // The input position of the phase's first value inside the image.
      const int64_t y = phase.rows.begin * p.stride_h + phase.r_h - p.pad_h;
      const int64_t x = phase.columns.begin * p.stride_w + phase.r_w - p.pad_w;
      const int32_t* sources[4] = {};
      for (int c = 0; c < channels; ++c)
        sources[c] = input.data() + ((group * p.cin + b * p.kpw + c) * p.height + y) * p.width + x;
      int8::gather_words(isa, sources, channels, qmin, rows, columns, p.stride_h * p.width, p.stride_w,
                         plane + phase.rows.begin * p.phase_w + phase.columns.begin, p.phase_w);
    }
  }
  point_rows_at_channel_words(p, scratch);
}

// The activation words and, in `rows`, where the words of each k-group start (indexed by position q).
// The a-values come from `planes`: the phase planes of fill_values (`plane_stride` apart, `plane_size`
// valid values each) for the im2col layout, or the input codes themselves (codes_are_values: words of
// channels, one phase, planes H*W apart).
// `zeros` holds p.plane_step zeros (the source of padding slots).
void fill_words(const DotPlan& p, int8::Isa isa, const int32_t* planes, int64_t plane_stride,
                int64_t plane_size, const int32_t* zeros, Scratch& scratch) {
  grow_to(scratch.rows, static_cast<size_t>(p.words));
  if (p.by_channels) {
    // words[b][r][q] = the kpw channels of block b at position q of phase plane r; tap t of block b starts
    // at o_t in its phase plane.
    grow_to(scratch.words, static_cast<size_t>(p.channel_blocks * p.phases * p.plane_step));
    for (int64_t b = 0; b < p.channel_blocks; ++b) {
      for (int64_t r = 0; r < p.phases; ++r) {
        if (!p.phase_planes[static_cast<size_t>(r)].used) continue;
        const int32_t* sources[4] = {zeros, zeros, zeros, zeros};
        for (int j = 0; j < p.kpw; ++j) {
          const int64_t channel = b * p.kpw + j;
          if (channel < p.cin) sources[j] = planes + (channel * p.phases + r) * plane_stride;
        }
        uint32_t* dst = scratch.words.data() + (b * p.phases + r) * p.plane_step;
        int8::interleave_words(isa, sources, plane_size, dst);
        std::fill(dst + plane_size, dst + p.plane_step, 0u);  // read only by outputs that are dropped
      }
    }
    point_rows_at_channel_words(p, scratch);
    return;
  }
  // An explicit im2col: words[w][q] = the kpw (channel, tap) values of k-group w for output q.
  grow_to(scratch.words, static_cast<size_t>(p.words * p.positions));
  for (int64_t w = 0; w < p.words; ++w) {
    const int32_t* sources[4] = {zeros, zeros, zeros, zeros};
    for (int j = 0; j < p.kpw; ++j) {
      const Slot slot = slot_of(p, w, j);
      if (slot.channel < 0) continue;
      const TapRead& read = p.reads[static_cast<size_t>(slot.tap)];
      sources[j] = planes + (slot.channel * p.phases + read.phase) * plane_stride + read.offset;
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
  return products < int8::kMaxDotProducts && op.window.stride[0] * op.window.stride[1] <= kMaxDotPhases;
}

namespace {

// Runs `finish(g, plan, packed, sums)` after the engine has filled scratch.dots for each group g: rows
// 0..cout-1 hold D of the group's output channels; sums points at S (row cout), or is null when every
// channel of the group has weight offset 0 (S is then not computed).
template <class Finish>
void for_each_group(const Conv2d& op, const Dims& input_shape, std::span<const int32_t> input, bool pooled,
                    Scratch& scratch, int8::Isa isa, Finish finish) {
  assert(conv2d_dot_applies(op));
  const DotPlan p = plan_of(op, input_shape, isa, pooled);
  const PackedConv& packed = packed_weights(op, p, isa, scratch);
  grow_to(scratch.dots, static_cast<size_t>((p.cout + 1) * p.positions));
  const bool in_place = codes_are_values(op, p);
  const int64_t plane = p.height * p.width;
  if (in_place) {  // just the plane of zeros
    int32_t* const zeros = grow_to(scratch.values, static_cast<size_t>(p.plane_step));
    std::fill(zeros, zeros + p.plane_step, 0);
  }
  for (int64_t g = 0; g < op.groups; ++g) {
    if (in_place) {
      fill_words(p, isa, input.data() + g * p.cin * plane, plane, plane, scratch.values.data(), scratch);
    } else if (p.by_channels) {
      fill_channel_words(op, p, isa, g, input, scratch);
    } else {
      fill_values(op, p, g, input, scratch.values);
      fill_words(p, isa, scratch.values.data(), p.plane_step, p.plane_step,
                 scratch.values.data() + p.cin * p.phases * p.plane_step, scratch);
    }
    const bool sums = packed.group_needs_sums[static_cast<size_t>(g)];
    int8::dot_panel(isa, scratch.rows.data(), p.words, packed.weights.data() + g * (p.cout + 1) * p.words,
                    sums ? p.cout + 1 : p.cout, p.positions, scratch.dots.data(), p.positions);
    finish(g, p, packed, sums ? scratch.dots.data() + p.cout * p.positions : nullptr);
  }
}

}  // namespace

void conv2d_dot(const Conv2d& op, const Dims& input_shape, std::span<const int32_t> input,
                std::span<int32_t> output, RequantMode mode, Scratch& scratch, int8::Isa isa) {
  const OutputStage& stage = op.output_stage;
  for_each_group(op, input_shape, input, false, scratch, isa,
                 [&](int64_t g, const DotPlan& p, const PackedConv& packed, const int32_t* sums) {
                   const int64_t out_plane = p.out_height * p.out_width;
                   int32_t* const codes = grow_to(scratch.codes, static_cast<size_t>(p.span));
                   for (int64_t c = 0; c < p.cout; ++c) {
                     const int64_t oc = g * p.cout + c;
                     const int32_t* d = scratch.dots.data() + c * p.positions;
                     const int32_t offset = packed.weight_offsets[static_cast<size_t>(oc)];
                     const int64_t constant = packed.constants[static_cast<size_t>(oc)];
                     int32_t* out = output.data() + oc * out_plane;
                     channel_codes(stage, oc, mode, isa,
                                   {d, sums, offset, constant, p.phase_w, p.out_height, p.out_width}, out,
                                   codes);
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
  for_each_group(op, input_shape, input, true, scratch, isa,
                 [&](int64_t g, const DotPlan& p, const PackedConv& packed, const int32_t* sums) {
                   const int64_t pooled_h = p.out_height / 2, pooled_w = p.out_width / 2,
                                 pooled_plane = pooled_h * pooled_w;
                   // The pooled accumulators of one channel (the generic kernels and the float modes).
                   int32_t* maxima = grow_to(scratch.codes, static_cast<size_t>(pooled_plane));
                   for (int64_t c = 0; c < p.cout; ++c) {
                     const int64_t oc = g * p.cout + c;
                     int32_t* codes = output.data() + oc * pooled_plane;  // written in place
                     const int32_t* d = scratch.dots.data() + c * p.positions;
                     const int32_t offset = packed.weight_offsets[static_cast<size_t>(oc)];
                     const int64_t constant = packed.constants[static_cast<size_t>(oc)];
                     if (mode == RequantMode::Integer) {
                       const OutputStage& stage = op.output_stage;
                       const QuantizedMultiplier m =
                           stage.multipliers[stage.per_channel() ? static_cast<size_t>(oc) : 0];
                       int8::pool_requantize(isa, d, sums, offset, constant, p.phase_w, pooled_h, pooled_w,
                                             m.multiplier, m.shift, stage.output.zero_point, stage.clamp_min,
                                             stage.clamp_max, maxima, codes);
                     } else {
                       int8::pool_accumulators(d, sums, offset, constant, p.phase_w, pooled_h, pooled_w,
                                               maxima);
                       channel_codes(op.output_stage, oc, mode, isa,
                                     {maxima, nullptr, 0, 0, pooled_plane, 1, pooled_plane}, codes, nullptr);
                     }
                   }
                 });
}

}  // namespace qg::runtime
