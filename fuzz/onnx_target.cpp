// Fuzz target: float ONNX models, through the importer (onnx_io/import_float.h): protobuf parsing, the
// importer's own checks, the mapping to a config and tensors, ONNX's checker. See fuzz/targets.h.
#include <string_view>

#include "config/builder.h"
#include "config/config_json.h"
#include "config/loader.h"
#include "fuzz/targets.h"
#include "nn/checkpoint.h"
#include "onnx_io/import_float.h"
#include "onnx_io/onnx_error.h"

namespace qg::fuzz {

namespace {

// An imported model must be what the tools take: its config reads back the same, and its checkpoint loads
// into the config's model, strictly.
void check_imported(const onnx_io::ImportedModel& imported) {
  const config::ModelConfig reread = config::parse_config(imported.config_json, "fuzz onnx config");
  require(config::config_to_json(reread) == imported.config_json,
          "the imported config does not read back the same");
  require(imported.layers.size() == reread.layers.size(), "one ImportedLayer per config layer");
  (void)imported.config_json.dump(2);  // what qimport writes: must be valid JSON text (UTF-8)
  (void)imported.checkpoint.metadata.dump();
  if (reread.parameter_count() + reread.buffer_count() > 1'000'000)
    return;  // building costs time, not coverage
  Generator gen(reread.train.seed);
  const std::shared_ptr<nn::Graph> model = config::build_model(reread, gen);
  try {
    nn::copy_state(imported.checkpoint, "model.", model->state(), "fuzz onnx");
  } catch (const nn::CheckpointError& e) {
    throw FuzzFinding(std::string("the imported checkpoint does not fit its config: ") + e.what());
  }
}

}  // namespace

int onnx(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  onnx_io::ImportedModel imported;
  try {
    imported = onnx_io::import_float_bytes(bytes, "fuzz.onnx");
  } catch (const onnx_io::OnnxError&) {
    return 0;  // the documented error: the file, the node, what is wrong
  }
  check_imported(imported);
  return 0;
}

}  // namespace qg::fuzz
