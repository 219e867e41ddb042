// QuantParams: the affine quantization of one tensor, r = scale * (q - zero_point).
//
// Codes q are integers of `bits` bits (1..8): unsigned codes live in [0, 2^bits - 1] (the tutorial's
// choice for weights and activations), signed codes in [-2^(bits-1), 2^(bits-1) - 1]. The zero point
// is itself a code in that range, so real 0 is exactly representable: padding with the zero point
// pads with real 0, and ReLU is max(q, zero_point).
#pragma once

#include <cstdint>
#include <string>

namespace qg::runtime {

struct QuantParams {
  double scale = 1.0;
  int32_t zero_point = 0;
  int bits = 8;
  bool is_signed = false;

  int32_t qmin() const { return is_signed ? -(int32_t{1} << (bits - 1)) : 0; }
  int32_t qmax() const { return is_signed ? (int32_t{1} << (bits - 1)) - 1 : (int32_t{1} << bits) - 1; }

  /// Throws std::invalid_argument starting with `what` unless bits is in 1..8, scale is finite and
  /// positive, and zero_point lies in [qmin, qmax].
  void validate(const std::string& what) const;

  friend bool operator==(const QuantParams&, const QuantParams&) = default;
};

/// "scale 0.0123, zero point 7, 8-bit unsigned": for error messages.
std::string quant_to_string(const QuantParams& params);

/// The code range of a bit width and signedness, without a scale: [qmin, qmax].
int32_t code_min(int bits, bool is_signed);
int32_t code_max(int bits, bool is_signed);

/// Throws std::invalid_argument starting with `what` unless 1 <= bits <= 8.
void check_bits(int bits, const std::string& what);

}  // namespace qg::runtime
