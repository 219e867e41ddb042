// QuantStats: what a quantization point did to the tensors that went through it, for `--inspect`.
//
// The error x̂ − x of each value is split by where it came from:
//   rounding  |x̂ − x| <= S/2: the value lay inside the grid's range and was rounded to the nearest level;
//   clipping  |x̂ − x| >  S/2: the value lay outside and was clamped to the end of the range.
// SQNR = 10 log10(Σ x² / Σ (x̂ − x)²) in dB, for the total error and for each part. For a weight the point
// can also track its integer codes, to count how many changed level during an epoch (and how often they
// flipped from one step to the next: the oscillation Nagel et al. 2022 describe in low-bit QAT).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "quant/qparams.h"

namespace qg::quant {

struct QuantStats {
  int64_t values = 0;        // values seen
  int64_t clamped = 0;       // of which clipped
  double signal = 0.0;       // Σ x²
  double rounding = 0.0;     // Σ (x̂ − x)² over rounded values
  double clipping = 0.0;     // Σ (x̂ − x)² over clipped values
  bool track_codes = false;  // weights: keep the codes
  std::vector<int16_t> epoch_start_codes, last_codes;
  int64_t step_flips = 0;  // codes that differed from the previous forward's, summed over forwards

  /// Adds one forward's input x and output x̂ quantized with q (per tensor, or per channel along axis 0 for
  /// weights [C, ...]; activations are per tensor).
  void add(const Tensor& x, const Tensor& x_hat, const QParams& q);
  /// Starts a new epoch: keeps the last codes as the epoch's starting codes, clears the sums.
  void start_epoch();
  /// Codes that differ between the epoch's start and the last forward (0 before two forwards).
  int64_t codes_changed() const;

  double clamped_share() const { return values ? static_cast<double>(clamped) / values : 0.0; }
  /// 10 log10(signal / error) in dB for error = rounding + clipping, rounding or clipping; +inf for no error.
  double sqnr_db() const;
  double rounding_sqnr_db() const;
  double clipping_sqnr_db() const;
};

}  // namespace qg::quant
