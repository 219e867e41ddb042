// QuantParams: the affine quantization of one tensor, r = scale * (q - zero_point).
//
// Codes q are integers of `bits` bits (1..8): unsigned codes live in [0, 2^bits - 1] (the tutorial's
// choice for weights and activations), signed codes in [-2^(bits-1), 2^(bits-1) - 1]. The zero point
// is itself a code in that range, so real 0 is exactly representable: padding with the zero point
// pads with real 0, and ReLU is max(q, zero_point).
//
// One exception: signed 1-bit codes are binary, {-1, +1} (XNOR-Net weights; 0 is not a code, the zero point
// is 0). They hold a sign, so only weights may be binary: an activation needs real 0 as a code.
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
  int32_t qmax() const {
    return is_signed ? (binary() ? 1 : (int32_t{1} << (bits - 1)) - 1) : (int32_t{1} << bits) - 1;
  }
  /// Signed 1-bit: the codes -1 and +1.
  bool binary() const { return bits == 1 && is_signed; }

  /// Throws std::invalid_argument starting with `what` unless bits is in 1..8, scale is finite and
  /// positive, and zero_point lies in [qmin, qmax] (is 0 for binary codes).
  void validate(const std::string& what) const;
  /// validate(), and refuses binary codes: an activation's codes must include real 0.
  void validate_activation(const std::string& what) const;

  friend bool operator==(const QuantParams&, const QuantParams&) = default;
};

/// "scale 0.0123, zero point 7, 8-bit unsigned": for error messages.
std::string quant_to_string(const QuantParams& params);

/// The code range of a bit width and signedness, without a scale: [qmin, qmax] (for binary codes, code 0
/// lies inside the range but is not a code: check is_code).
int32_t code_min(int bits, bool is_signed);
int32_t code_max(int bits, bool is_signed);

/// Whether `code` is a code of (bits, is_signed): in [code_min, code_max], and not 0 when binary.
bool is_code(int32_t code, int bits, bool is_signed);

/// Throws std::invalid_argument starting with `what` unless 1 <= bits <= 8.
void check_bits(int bits, const std::string& what);

}  // namespace qg::runtime
