// QuantSettings: how one QAT layer quantizes — its bit widths, how its grids are found, and its STE.
// app/ fills them from the config's quant section (config::resolve_quant, one table per method); quant/
// only carries them out.
#pragma once

#include <optional>
#include <string>

#include "quant/fake_quantize.h"
#include "quant/observer.h"
#include "quant/qparams.h"

namespace qg::quant {

/// How the quantization grids are found (train_qat --method; docs/05-quantization.md, 5.8).
enum class QatMethod {
  Tutorial,  ///< observers (by default running min/max) and the identity STE: the tutorial's recipe
  Ema,       ///< moving-average observers, clipped STE, symmetric per-channel weights (PyTorch's QAT)
  Lsq,       ///< learned step sizes (LSQ) and zero points (LSQ+)
  Binary,    ///< binary weights (XNOR-Net) and learned activation step sizes
};

/// "tutorial", "ema", "lsq", "binary".
const char* qat_method_name(QatMethod method);
/// The inverse; throws std::invalid_argument listing the names.
QatMethod parse_qat_method(const std::string& name);

struct QuantSettings {
  QatMethod method = QatMethod::Tutorial;
  QuantSpec activation;  // the layer's output (unsigned, asymmetric by default: the tutorial's)
  QuantSpec weight;
  std::optional<QuantSpec> input;  // the model input, quantized by the first layer; default: `activation`
  ObserverKind activation_observer = ObserverKind::MinMax;
  bool per_channel_weights = false;
  float observer_momentum = 0.1f;
  double percentile = 99.99;
  Ste ste = Ste::Identity;
  /// The ReLU after a conv/linear is applied before its output quantizer (PyTorch's fused ConvReLU2d), so the
  /// grid spends no codes on negative values the ReLU removes. The tutorial quantizes before the ReLU.
  bool fuse_relu = false;

  const QuantSpec& input_spec() const { return input ? *input : activation; }
  /// Throws std::invalid_argument when a spec is out of range or the method cannot use it (e.g. learned
  /// weights must be signed and symmetric, binary activations do not exist).
  void validate() const;
};

}  // namespace qg::quant
