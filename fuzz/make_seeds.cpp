// Writes the seed corpus of every fuzz target: valid files made by quantgrad's own writers, and a few
// broken ones of each kind, so that the fuzzer starts from inputs that reach deep into each loader.
//
//   make fuzz_make_seeds && build/fuzz/fuzz_make_seeds fuzz/corpus .
//
// (second argument: the source root, for the shipped configs). The committed fuzz/corpus/ was made this
// way; inputs the fuzzers found interesting later were added to it as they are.
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/experiment.h"
#include "app/qat_recipe.h"
#include "app/quantize_job.h"
#include "autograd/grad_mode.h"
#include "config/builder.h"
#include "config/loader.h"
#include "fuzz/fuzz_configs.h"
#include "nn/checkpoint.h"
#include "nn/functional/loss.h"
#include "nn/optim/sgd.h"
#ifdef QG_FUZZ_ONNX
#include "onnx_io/export_float.h"
#endif
#include "quant/convert.h"
#include "runtime/model_file.h"
#include "util/atomic_file.h"

namespace {

using namespace qg;
namespace fs = std::filesystem;

std::string gzip(const std::string& bytes) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, bytes.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string idx(uint32_t magic, const std::vector<uint32_t>& dims, size_t payload_bytes) {
  std::string out = be32(magic);
  for (uint32_t d : dims)
    out += be32(d);
  for (size_t i = 0; i < payload_bytes; ++i)
    out += static_cast<char>((i * 37) % 10);
  return out;
}

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  util::write_file_atomically((dir / name).string(), bytes);
  std::printf("%s (%zu bytes)\n", (dir / name).c_str(), bytes.size());
}

void idx_seeds(const fs::path& dir) {
  const std::string labels = idx(0x801, {5}, 5), images = idx(0x803, {2, 3, 3}, 18);
  write(dir, "labels_plain", labels);
  write(dir, "images_plain", images);
  write(dir, "labels_gzip", gzip(labels));
  write(dir, "images_gzip", gzip(images));
  write(dir, "images_gzip_two_members", gzip(images.substr(0, 10)) + gzip(images.substr(10)));
  write(dir, "images_gzip_trailing_bytes", gzip(images) + "junk");
  write(dir, "images_claiming_2pow31", idx(0x803, {1u << 31, 28, 28}, 16));
  write(dir, "images_claiming_2pow31_gzip", gzip(idx(0x803, {1u << 31, 28, 28}, 16)));
  write(dir, "images_truncated", images.substr(0, images.size() - 3));
  write(dir, "labels_magic_of_images", idx(0x803, {5}, 5));
  write(dir, "empty", "");
}

void config_seeds(const fs::path& dir, const fs::path& source_root) {
  for (const char* name : {"mnist_cnn.json", "mnist_cnn_bn.json", "fashion_cnn_bn.json"}) {
    write(dir, name, util::read_file((source_root / "configs" / name).string()));
  }
  write(dir, "fuzz_minmax.json", fuzz::kMinMaxConfig);
  write(dir, "fuzz_percentile.json", fuzz::kPercentileConfig);
  write(dir, "fuzz_lsq.json", fuzz::kLsqConfig);
  write(dir, "syntax_error.json", R"({"name": "x", "layers": [)");
  write(dir, "duplicate_key.json",
        R"({"name": "x", "name": "y", "input": {"shape": [1, 28, 28]}, "layers": []})");
  write(dir, "nested_100.json", std::string(100, '[') + std::string(100, ']'));
  write(
      dir, "huge_linear.json",
      R"({"name": "x", "input": {"shape": [1, 28, 28]}, "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 2147483647}]})");
}

// A QAT model of `config_text` that has observed one batch and taken one SGD step.
struct QatSeed {
  explicit QatSeed(const char* config_text)
      : config(config::parse_config_text(config_text, "seed")),
        model([&] {
          Generator gen(config.train.seed);
          return config::build_model(config, gen);
        }()),
        qat(quant::prepare_qat(*model, app::layer_settings(config))),
        optimizer(qat->parameters(), {.lr = 0.01, .momentum = 0.5}) {
    Generator gen(9);
    qat->train();
    qat->set_observing(true);
    const Tensor x = Tensor::uniform({2, 1, 28, 28}, -0.4f, 2.8f, gen);
    const Tensor loss = nn::functional::cross_entropy((*qat)(x), {1, 3});
    loss.backward();
    optimizer.step();
  }
  config::ModelConfig config;
  std::shared_ptr<nn::Graph> model;
  std::shared_ptr<quant::QatModel> qat;
  nn::Sgd optimizer;
};

// A conv with deterministic weights (a 3x3 kernel, padding 1, per-channel scales) and a fused ReLU.
runtime::Conv2d seed_conv(const runtime::QuantParams& in, int64_t in_channels, int64_t out_channels,
                          const runtime::QuantParams& out) {
  runtime::Conv2d conv;
  conv.in_channels = in_channels;
  conv.out_channels = out_channels;
  conv.window.kernel = {3, 3};
  conv.window.padding = {1, 1};
  conv.input_quant = in;
  const int64_t count = out_channels * in_channels * 9;
  std::vector<float> w(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    w[static_cast<size_t>(i)] = 0.1f * static_cast<float>(std::sin(0.7 * static_cast<double>(i)));
  const std::vector<double> scales(static_cast<size_t>(out_channels), 0.1 / 127);
  const std::vector<int32_t> zeros(static_cast<size_t>(out_channels), 0);
  conv.weight = runtime::quantize_weights(w, {out_channels, in_channels, 3, 3}, scales, zeros, 8, true);
  conv.bias =
      runtime::quantize_bias(std::vector<float>(static_cast<size_t>(out_channels), 0.05f), in.scale, scales);
  conv.output_stage = runtime::OutputStage::make(in.scale, scales, out, /*fused_relu=*/true);
  return conv;
}

// A graph (format version 3) with every op of version 3: a residual block (two convs and an add with a fused
// ReLU), a clip, a concat of the clip with the block's first conv, global average pooling, flatten, linear.
runtime::Model graph_seed() {
  const runtime::QuantParams in{0.02, 128, 8, false}, mid{0.05, 0, 8, false}, sum{0.08, 0, 8, false};
  runtime::Model model;
  model.input = {{1, 8, 8}, in, {0.1307}, {0.3081}};
  model.add(seed_conv(in, 1, 4, mid));   // value 1
  model.add(seed_conv(mid, 4, 4, mid));  // value 2
  model.add(runtime::Add::make(mid, mid, sum, sum.zero_point, sum.qmax()), {1, 2});
  model.add(runtime::Clip{0, 75});  // a ReLU6 on (0.08, 0): 6 / 0.08 = 75
  model.add(runtime::Concat::make({sum, mid}, sum), {4, 1});
  runtime::AvgPool2d global;
  global.window.kernel = global.window.stride = {8, 8};
  model.add(global).add(runtime::Flatten{});
  runtime::Linear linear;
  linear.in_features = 8;
  linear.out_features = 3;
  linear.input_quant = sum;
  std::vector<float> w(24);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = 0.05f * static_cast<float>(std::cos(static_cast<double>(i)));
  linear.weight = runtime::quantize_weights(w, {3, 8}, {0.05 / 127}, {0}, 8, true);
  linear.output_stage = runtime::OutputStage::make(sum.scale, {0.05 / 127}, {0.01, 128, 8, false}, false);
  model.add(linear);
  model.metadata = {{"config", "graph_seed"}};
  return model;
}

void checkpoint_and_model_seeds(const fs::path& checkpoints, const fs::path& models) {
  const fs::path tmp = fs::temp_directory_path() / "qg_fuzz_seed.bin";
  for (const char* text : {fuzz::kMinMaxConfig, fuzz::kPercentileConfig, fuzz::kLsqConfig}) {
    QatSeed seed(text);
    const std::string name = seed.config.name;
    const app::TrainingProgress progress{
        .epoch = 1, .batches_done = 3, .step = 3, .loss_sum = 6.5, .images = 12};

    app::save_training_checkpoint(tmp.string(), *seed.model, &seed.optimizer,
                                  app::checkpoint_metadata("float", seed.config, progress, 100));
    write(checkpoints, name + "_float.ckpt", util::read_file(tmp.string()));
    app::save_qat_checkpoint(tmp.string(), *seed.qat, seed.optimizer,
                             app::qat_checkpoint_metadata(seed.config, progress, 100));
    const std::string qat_bytes = util::read_file(tmp.string());
    write(checkpoints, name + "_qat.ckpt", qat_bytes);
    write(checkpoints, name + "_qat_truncated.ckpt", qat_bytes.substr(0, qat_bytes.size() / 2));

    seed.qat->freeze();
    const runtime::Model model = quant::convert(*seed.qat, {.input_shape = {1, 28, 28},
                                                            .input_mean = 0.1307,
                                                            .input_std = 0.3081,
                                                            .metadata = {{"config", name}}});
    const std::vector<uint8_t> bytes = runtime::serialize_model(model);
    const std::string model_bytes(bytes.begin(), bytes.end());
    write(models, name + ".qgm", model_bytes);
    write(models, name + "_truncated.qgm", model_bytes.substr(0, model_bytes.size() - 9));
    std::string newer = model_bytes;
    // An unknown format version; the CRC no longer matches either (the target recomputes it).
    newer[8] = static_cast<char>(runtime::kModelFormatVersion + 1);
    write(models, name + "_newer_version.qgm", newer);
  }
  const std::vector<uint8_t> graph = runtime::serialize_model(graph_seed());
  write(models, "graph.qgm", std::string(graph.begin(), graph.end()));
  write(models, "empty.qgm", "");
  write(models, "a_checkpoint.qgm", util::read_file((checkpoints / "fuzz_minmax_float.ckpt").string()));
  // A checkpoint as nn::save_module writes it: no training metadata at all.
  QatSeed plain(fuzz::kMinMaxConfig);
  nn::save_module(tmp.string(), *plain.model);
  write(checkpoints, "save_module.ckpt", util::read_file(tmp.string()));
  fs::remove(tmp);
}

#ifdef QG_FUZZ_ONNX
// Float ONNX models: the small PyTorch exports of tests/fixtures/onnx/ (imported and refused ones), the
// fuzz configs and a graph of every remaining layer kind through the float exporter, and broken copies.
void onnx_seeds(const fs::path& dir, const fs::path& source_root) {
  for (const char* name : {"avgpool_padded", "global_pool_relu6", "matmuls", "residual", "refused_ceil_mode",
                           "refused_sigmoid"}) {
    const std::string file = std::string(name) + ".onnx";
    write(dir, file, util::read_file((source_root / "tests" / "fixtures" / "onnx" / file).string()));
  }
  const char* graph = R"({
    "name": "fuzz_graph", "input": {"shape": [1, 28, 28]},
    "layers": [
      {"type": "conv2d", "out_channels": 2, "kernel_size": 4, "stride": 4, "padding": 1, "name": "a"},
      {"type": "relu6", "name": "r"},
      {"type": "add", "inputs": ["a", "r"], "name": "s"},
      {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "inputs": ["s"], "name": "p"},
      {"type": "concat", "inputs": ["p", "p"]},
      {"type": "global_avgpool"},
      {"type": "flatten"},
      {"type": "linear", "out_features": 10}
    ]})";
  const fs::path tmp = fs::temp_directory_path() / "qg_fuzz_seed.onnx";
  for (const char* text : {fuzz::kMinMaxConfig, fuzz::kLsqConfig, graph}) {
    const config::ModelConfig config = config::parse_config_text(text, "seed");
    Generator gen(config.train.seed);
    onnx_io::export_float_model(config, *config::build_model(config, gen), tmp.string());
    const std::string bytes = util::read_file(tmp.string());
    write(dir, config.name + ".onnx", bytes);
    write(dir, config.name + "_truncated.onnx", bytes.substr(0, bytes.size() * 2 / 3));
  }
  fs::remove(tmp);
  write(dir, "empty.onnx", "");
}
#endif

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_make_seeds <corpus folder> <source root>\n");
    return 2;
  }
  try {
    const fs::path corpus(argv[1]);
    idx_seeds(corpus / "idx");
    config_seeds(corpus / "config", argv[2]);
    checkpoint_and_model_seeds(corpus / "checkpoint", corpus / "model_file");
#ifdef QG_FUZZ_ONNX
    onnx_seeds(corpus / "onnx", argv[2]);
#endif
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seeds: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
