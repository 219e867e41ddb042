#include "quant/qat_settings.h"

#include <stdexcept>

namespace qg::quant {

namespace {
constexpr QatMethod kMethods[] = {QatMethod::Tutorial, QatMethod::Ema, QatMethod::Lsq, QatMethod::Binary};
}

const char* qat_method_name(QatMethod method) {
  switch (method) {
    case QatMethod::Tutorial:
      return "tutorial";
    case QatMethod::Ema:
      return "ema";
    case QatMethod::Lsq:
      return "lsq";
    case QatMethod::Binary:
      return "binary";
  }
  return "?";
}

QatMethod parse_qat_method(const std::string& name) {
  for (const QatMethod m : kMethods) {
    if (name == qat_method_name(m)) return m;
  }
  throw std::invalid_argument("unknown QAT method \"" + name + "\" (expected tutorial, ema, lsq or binary)");
}

void QuantSettings::validate() const {
  activation.validate();
  weight.validate();
  input_spec().validate();
  const std::string method_name = qat_method_name(method);
  if (activation.binary() || input_spec().binary()) {
    throw std::invalid_argument("quant: activations cannot be binary (signed 1-bit): real 0 must be a code");
  }
  const bool learned = method == QatMethod::Lsq || method == QatMethod::Binary;
  if (learned && (activation.is_signed || input_spec().is_signed)) {
    throw std::invalid_argument(
        "quant: method " + method_name +
        " learns a zero point where activations can be negative; use unsigned activations");
  }
  if (learned && !(weight.is_signed && weight.symmetric)) {
    throw std::invalid_argument("quant: method " + method_name +
                                " needs signed, symmetric weights (zero point 0)");
  }
}

}  // namespace qg::quant
