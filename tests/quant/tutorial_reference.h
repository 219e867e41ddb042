// The tutorial's QAT pipeline on fixed synthetic data, reduced to one digest: what tests/quant/
// tutorial_reference_test.cpp pins so that the tutorial's method stays bit-identical to the implementation
// it was recorded from (the `tutorial` method must reproduce the seed's experiment exactly; issue 11).
//
// This header uses only API that the recording commit had too, so tests/fixtures/make_tutorial_reference.sh
// can compile it against that commit and print the digest it produced.
#pragma once

#include <cstdio>
#include <string>

#include "common/synthetic_digits.h"
#include "quant/convert.h"
#include "quant/qat_model.h"
#include "runtime/model_file.h"
#include "runtime/run.h"
#include "util/checksum.h"

namespace qg::testing {

/// Net or NetBN, 40 float steps, the tutorial's QAT (min/max observers, identity STE, unsigned codes,
/// `bits` everywhere) for 10 steps, freeze, convert; the FNV-1a digest of the serialized integer model
/// (without metadata) and of the logit codes on 200 test images, as 16 hex digits each.
inline std::string tutorial_pipeline_digest(bool with_bn, int bits, bool per_channel) {
  const SyntheticDigits train(1024, 1), test(200, 2);
  auto net = tutorial_net(with_bn, 7);
  train_steps(*net, train, 40);
  quant::QuantSettings settings;
  settings.activation = settings.weight = {bits, false, false};
  settings.per_channel_weights = per_channel;
  auto qat = quant::prepare_qat(*net, settings);
  qat->set_observing(true);
  train_steps(*qat, train, 10, 0.01);
  qat->freeze();
  qat->eval();
  const runtime::Model model =
      quant::convert(*qat, {{1, 28, 28}, SyntheticDigits::kMean, SyntheticDigits::kStd, {}});
  const std::vector<uint8_t> bytes = runtime::serialize_model(model);
  const runtime::IntTensor logits = runtime::run(model, runtime::quantize_pixels(model, test.pixels));
  const std::string codes(reinterpret_cast<const char*>(logits.data.data()),
                          logits.data.size() * sizeof(int32_t));
  char out[40];
  std::snprintf(out, sizeof out, "%016llx-%016llx",
                static_cast<unsigned long long>(util::fnv1a64(
                    std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()))),
                static_cast<unsigned long long>(util::fnv1a64(codes)));
  return out;
}

}  // namespace qg::testing
