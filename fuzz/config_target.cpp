// Fuzz target: the JSON model config loader. See fuzz/targets.h.
#include <string>

#include "config/builder.h"
#include "config/loader.h"
#include "config/summary.h"
#include "fuzz/targets.h"

namespace qg::fuzz {

int config(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  config::ModelConfig accepted;
  try {
    accepted = config::parse_config_text(text, "fuzz");
  } catch (const config::ConfigError&) {
    return 0;  // the documented error: file, JSON pointer, expected and found
  }
  // The tools change fields from the command line and revalidate; a config the loader accepted must pass.
  try {
    config::revalidate(accepted);
  } catch (const config::ConfigError& e) {
    throw FuzzFinding(std::string("revalidate() rejects a config that parse_config_text accepted: ") +
                      e.what());
  }
  (void)config::summary(accepted);
  // Building allocates every parameter: only for configs of modest size (the shape inference has already
  // refused anything above config::kMaxTensorElements per tensor).
  if (accepted.parameter_count() + accepted.buffer_count() <= (int64_t{1} << 16)) {
    Generator gen(1);
    const auto model = config::build_model(accepted, gen);
    require(model->parameter_count() == accepted.parameter_count(),
            "the built model's parameter count differs");
  }
  return 0;
}

}  // namespace qg::fuzz
