#include "config/summary.h"

#include <cstdio>

#include "config/layer_kind.h"

namespace qg::config {

namespace {

const std::string kRule(64, '-');
const std::string kDoubleRule(64, '=');

// torchsummary's "{:>20}  {:>25} {:>15}".
std::string table_row(const std::string& layer, const std::string& shape, const std::string& params) {
  char line[128];
  std::snprintf(line, sizeof line, "%20s  %25s %15s\n", layer.c_str(), shape.c_str(), params.c_str());
  return line;
}

// "[-1, 40, 26, 26]": the batch axis as -1, as torchsummary prints it.
std::string torch_shape(const Shape& sample_shape) {
  std::string out = "[-1";
  for (const int64_t d : sample_shape) {
    out += ", ";
    out += std::to_string(d);
  }
  return out + "]";
}

std::string megabytes_line(const char* label, double bytes) {
  char line[96];
  std::snprintf(line, sizeof line, "%s (MB): %0.2f\n", label, bytes / (1024.0 * 1024.0));
  return line;
}

int64_t numel(const Shape& shape) {
  int64_t n = 1;
  for (const int64_t d : shape)
    n *= d;
  return n;
}

std::string row_label(const ModelConfig& config, int64_t i) {
  if (i == LayerSpec::kModelInput) return "input";
  return config.layers[static_cast<std::size_t>(i)].kind->module + "-" + std::to_string(i);
}

// For a graph: which layers each layer reads, where that is not simply the layer before it.
std::string graph_inputs_text(const ModelConfig& config) {
  std::string out = kRule + "\n";
  for (std::size_t i = 0; i < config.layers.size(); ++i) {
    const std::vector<int64_t>& inputs = config.layers[i].input_layers;
    if (inputs == std::vector<int64_t>{static_cast<int64_t>(i) - 1}) continue;
    std::string line = row_label(config, static_cast<int64_t>(i)) + " reads";
    for (std::size_t j = 0; j < inputs.size(); ++j)
      line += (j == 0 ? " " : ", ") + row_label(config, inputs[j]);
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string with_thousands_separators(int64_t n) {
  const std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string summary(const ModelConfig& config) {
  std::string out = config.name + ": input " + torch_shape(config.input_shape) + "\n";
  out += kRule + "\n" + table_row("Layer (type)", "Output Shape", "Param #") + kDoubleRule + "\n";
  int64_t activations = 0;
  for (std::size_t i = 0; i < config.layers.size(); ++i) {
    const LayerSpec& layer = config.layers[i];
    out += table_row(layer.kind->module + "-" + std::to_string(i), torch_shape(layer.output_shape),
                     with_thousands_separators(layer.parameter_count));
    activations += numel(layer.output_shape);
  }
  if (!config.is_chain()) out += graph_inputs_text(config);
  const int64_t params = config.parameter_count();
  const int64_t buffers = config.buffer_count();
  out += kDoubleRule + "\n";
  out += "Total params: " + with_thousands_separators(params) + "\n";
  out += "Trainable params: " + with_thousands_separators(params) + "\n";
  out += "Non-trainable (buffers): " + with_thousands_separators(buffers) + "\n";
  out += kRule + "\n";

  // Sizes for one sample in float32, as torchsummary estimates them: every layer's output is kept for
  // the backward pass, and each has a gradient of the same size (hence the factor 2).
  const double input_bytes = 4.0 * static_cast<double>(numel(config.input_shape));
  const double pass_bytes = 2.0 * 4.0 * static_cast<double>(activations);
  const double params_bytes = 4.0 * static_cast<double>(params + buffers);
  out += megabytes_line("Input size", input_bytes);
  out += megabytes_line("Forward/backward pass size", pass_bytes);
  out += megabytes_line("Params size", params_bytes);
  out += megabytes_line("Estimated Total Size", input_bytes + pass_bytes + params_bytes);
  out += kRule + "\n";
  return out;
}

}  // namespace qg::config
