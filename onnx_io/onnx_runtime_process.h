// Running an ONNX model in ONNX Runtime, the runtime practitioners deploy with, from C++: a child process runs
// scripts/ort-run.js under Node.js with the npm package onnxruntime-node (scripts/get-ort installs it). ONNX
// Runtime's C API header does not ship in that package, and a process boundary keeps quantgrad's libraries free
// of a second inference runtime: qexport --check, the ONNX tests and bench/run use this.
//
// Where things are: the script is QG_ORT_RUN (environment) or the source tree's scripts/ort-run.js; Node.js is
// QG_NODE or `node` on the PATH; the package is QG_ORT_DIR or the source tree's .deps/onnxruntime.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace qg::onnx_io {

/// One graph output over all samples: its name, ONNX element type ("float32", "uint8", "int8", "int32",
/// "int64"), shape [N, ...] and raw little-endian bytes.
struct OrtOutput {
  std::string name;
  std::string type;
  std::vector<int64_t> shape;
  std::string bytes;

  /// The values as float (type float32) or as integers (uint8, int8, int32); throws OnnxError otherwise.
  std::vector<float> floats() const;
  std::vector<int32_t> ints() const;
};

struct OrtRun {
  std::vector<OrtOutput> outputs;  ///< in the graph's output order
  double seconds = 0;              ///< inside ONNX Runtime, all batches (session creation excluded)
  std::string version;             ///< ONNX Runtime's version

  /// The output named `name`; throws OnnxError if there is none.
  const OrtOutput& output(const std::string& name) const;
};

struct OrtOptions {
  int64_t batch = 64;   ///< samples per session.run
  int64_t threads = 1;  ///< intra-op threads
};

/// True when Node.js, the script and onnxruntime-node are all there (a check that runs `node` once).
bool onnx_runtime_available(std::string* why_not = nullptr);

/// Runs the model file `model_path` on `input` (float32, shape `shape` = [N, sample...]). Throws OnnxError
/// with the script's one-line message when ONNX Runtime cannot load or run the model, or when Node.js or the
/// package is missing ("... (run scripts/get-ort)").
OrtRun run_onnx_runtime(const std::string& model_path, std::span<const float> input,
                        const std::vector<int64_t>& shape, const OrtOptions& options = {});

/// Median time of one session.run on a batch of `batch` zero samples of shape `sample`: {images/s, ms}.
struct OrtBench {
  double images_per_second = 0;
  double median_ms = 0;
  int64_t runs = 0;
};
OrtBench bench_onnx_runtime(const std::string& model_path, const std::vector<int64_t>& sample, int64_t batch,
                            int64_t threads, double seconds);

}  // namespace qg::onnx_io
