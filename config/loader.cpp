#include "config/loader.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config_json.h"
#include "config/dataset_info.h"
#include "config/json_text.h"
#include "config/object_reader.h"
#include "config/quant_recipe.h"
#include "config/section_readers.h"
#include "config/shape_inference.h"
#include "util/json_pointer.h"

namespace qg::config {

namespace {

using json = nlohmann::json;

std::string read_file(const std::string& path) {
  // A directory opens without error on Linux and reads as empty text; say what it is instead.
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored))
    throw ConfigError(path, "", "is a directory, not a config file");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw ConfigError(path, "", std::string("cannot open the config file (") + std::strerror(errno) + ")");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path, "", "cannot read the config file");
  return text.str();
}

Shape read_input_shape(const ObjectReader& top, const std::string& source) {
  const ObjectReader input(top.required("input", "an object {\"shape\": [C, H, W]}"), "/input", source,
                           "input", {"shape"});
  const json& shape = input.required("shape", "[C, H, W]");
  if (!shape.is_array() || shape.size() != 3) {
    throw input.error("shape", "expected [C, H, W] (3 positive integers), found " + describe_found(shape));
  }
  Shape out;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    out.push_back(read_integer(shape[i], util::json_pointer_append("/input/shape", i), source, kPositive));
  }
  return out;
}

std::vector<LayerSpec> read_layers(const ObjectReader& top, const std::string& source) {
  const json& layers = top.required("layers", "a non-empty array of layers");
  if (!layers.is_array() || layers.empty()) {
    throw top.error("layers", "expected a non-empty array of layers, found " + describe_found(layers));
  }
  std::vector<LayerSpec> out;
  for (std::size_t i = 0; i < layers.size(); ++i)
    out.push_back(read_layer(layers[i], util::json_pointer_append("/layers", i), source));
  return out;
}

// The model must fit the data: its input is one sample (checked before shape inference, whose errors
// would otherwise be about the wrong input) and its output one score per class.
void check_input_fits_dataset(const ModelConfig& config) {
  const DatasetInfo& dataset = *find_dataset(config.data.dataset);
  if (config.input_shape != dataset.sample_shape) {
    throw ConfigError(config.source, "/input/shape",
                      dataset.name + " samples are " + to_string(dataset.sample_shape) +
                          " but the input shape is " + to_string(config.input_shape));
  }
}

void check_output_fits_dataset(const ModelConfig& config) {
  const DatasetInfo& dataset = *find_dataset(config.data.dataset);
  const int64_t classes = config.output_shape().at(0);
  if (classes != dataset.num_classes) {
    throw ConfigError(config.source, util::json_pointer_append("/layers", config.layers.size() - 1),
                      "the model outputs " + std::to_string(classes) + " classes but " + dataset.name +
                          " has " + std::to_string(dataset.num_classes));
  }
}

}  // namespace

ModelConfig parse_config(const json& document, const std::string& source_name) {
  if (!document.is_object()) {
    throw ConfigError(source_name, "",
                      "expected a JSON object at the top level, found " + describe_found(document));
  }
  const ObjectReader top(document, "", source_name, "the top level",
                         {"name", "description", "input", "layers", "train", "data", "quant"});
  ModelConfig config;
  config.source = source_name;
  const json& name = top.required("name", "a non-empty string");
  if (!name.is_string() || name.get<std::string>().empty()) {
    throw top.error("name", "expected a non-empty string, found " + describe_found(name));
  }
  config.name = name.get<std::string>();
  config.description = top.string("description", "");
  config.input_shape = read_input_shape(top, source_name);
  config.layers = read_layers(top, source_name);
  if (top.has("train")) config.train = read_train(document.at("train"), source_name);
  if (top.has("data")) config.data = read_data(document.at("data"), source_name);
  if (top.has("quant")) config.quant = read_quant(document.at("quant"), source_name);

  check_input_fits_dataset(config);
  infer_shapes(config);
  check_output_fits_dataset(config);
  resolve_layer_quant(config);  // its checks: every layer's widths work with its method
  return config;
}

ModelConfig parse_config_text(const std::string& text, const std::string& source_name) {
  return parse_config(parse_json_text(text, source_name), source_name);
}

ModelConfig load_config(const std::string& path) {
  return parse_config_text(read_file(path), path);
}

ModelConfig revalidate(const ModelConfig& config) {
  return parse_config(config_to_json(config), config.source);
}

}  // namespace qg::config
