#include "onnx_io/onnx_runtime_process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "onnx_io/onnx_error.h"
#include "util/atomic_file.h"

extern char** environ;

namespace qg::onnx_io {

namespace fs = std::filesystem;

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string script_path() {
  return env_or("QG_ORT_RUN", std::string(QG_SOURCE_DIR) + "/scripts/ort-run.js");
}
std::string node_path() {
  return env_or("QG_NODE", "node");
}

// A folder of its own under TMPDIR, removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "qg-ort-XXXXXX").string();
    if (!mkdtemp(pattern.data()))
      throw OnnxError("cannot create a temporary folder: " + std::string(strerror(errno)));
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct ProcessResult {
  int status = -1;  // exit status, or -1 when it did not exit normally
  std::string out;
  std::string err;
};

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs node with `args`, stdout and stderr captured in files of `dir`.
ProcessResult run_node(const std::vector<std::string>& args, const fs::path& dir) {
  std::vector<std::string> argv_strings{node_path()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  const std::string out_path = (dir / "stdout").string();
  const std::string err_path = (dir / "stderr").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw OnnxError("cannot run Node.js (\"" + node_path() + "\": " + strerror(rc) +
                    "): ONNX Runtime runs under Node.js (Debian: nodejs; scripts/get-ort)");
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) throw OnnxError("waitpid on Node.js failed: " + std::string(strerror(errno)));
  }
  ProcessResult result;
  result.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  result.out = read_all(out_path);
  result.err = read_all(err_path);
  return result;
}

std::string first_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  if (const size_t eol = text.find('\n'); eol != std::string::npos) text.resize(eol);
  if (text.rfind("ort-run: ", 0) == 0) text.erase(0, 9);
  return text.empty() ? "no message" : text;
}

void check_exit(const ProcessResult& r) {
  if (r.status != 0) throw OnnxError("ONNX Runtime: " + first_line(r.err));
}

std::string join(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ',';  // (not `(i ? "," : "") + ...`: GCC 12 warns a false -Wrestrict on it)
    s += std::to_string(dims[i]);
  }
  return s;
}

size_t element_bytes(const std::string& type) {
  if (type == "float32" || type == "int32") return 4;
  if (type == "uint8" || type == "int8") return 1;
  if (type == "int64") return 8;
  throw OnnxError("ONNX Runtime output of type " + type + " is not supported");
}

}  // namespace

std::vector<float> OrtOutput::floats() const {
  if (type != "float32") throw OnnxError("output \"" + name + "\" is " + type + ", not float32");
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

std::vector<int32_t> OrtOutput::ints() const {
  std::vector<int32_t> v;
  if (type == "uint8") {
    for (const char c : bytes)
      v.push_back(static_cast<uint8_t>(c));
  } else if (type == "int8") {
    for (const char c : bytes)
      v.push_back(static_cast<int8_t>(c));
  } else if (type == "int32") {
    v.resize(bytes.size() / 4);
    std::memcpy(v.data(), bytes.data(), v.size() * 4);
  } else {
    throw OnnxError("output \"" + name + "\" is " + type + ", not an 8- or 32-bit integer type");
  }
  return v;
}

const OrtOutput& OrtRun::output(const std::string& name) const {
  for (const OrtOutput& o : outputs) {
    if (o.name == name) return o;
  }
  throw OnnxError("ONNX Runtime gave no output named \"" + name + "\"");
}

bool onnx_runtime_available(std::string* why_not) {
  try {
    if (!fs::exists(script_path())) throw OnnxError(script_path() + ": no such file");
    TempDir dir;
    // Node's own report of a failed require starts with a source location: print the message instead.
    const std::string probe =
        "try { require(require.resolve('onnxruntime-node', {paths: [" +
        nlohmann::json(env_or("QG_ORT_DIR", std::string(QG_SOURCE_DIR) + "/.deps/onnxruntime")).dump() +
        "]})); } catch (e) { console.error(e.message.split('\\n')[0]); process.exit(1); }";
    const ProcessResult r = run_node({"-e", probe}, dir.path());
    if (r.status != 0)
      throw OnnxError("onnxruntime-node does not load (run scripts/get-ort): " + first_line(r.err));
    return true;
  } catch (const std::exception& e) {
    if (why_not) *why_not = e.what();
    return false;
  }
}

OrtRun run_onnx_runtime(const std::string& model_path, std::span<const float> input,
                        const std::vector<int64_t>& shape, const OrtOptions& options) {
  TempDir dir;
  const fs::path input_path = dir.path() / "input.f32";
  util::write_file_atomically(
      input_path.string(), std::string_view(reinterpret_cast<const char*>(input.data()), input.size_bytes()));
  const fs::path out_dir = dir.path() / "out";
  const ProcessResult r =
      run_node({script_path(), "--model", model_path, "--input", input_path.string(), "--shape", join(shape),
                "--out-dir", out_dir.string(), "--batch", std::to_string(options.batch), "--threads",
                std::to_string(options.threads)},
               dir.path());
  check_exit(r);
  const nlohmann::json manifest = nlohmann::json::parse(read_all(out_dir / "outputs.json"));
  OrtRun run;
  run.seconds = manifest.at("seconds").get<double>();
  run.version = manifest.at("onnxruntime").get<std::string>();
  for (const nlohmann::json& o : manifest.at("outputs")) {
    OrtOutput out;
    out.name = o.at("name").get<std::string>();
    out.type = o.at("type").get<std::string>();
    out.shape = o.at("shape").get<std::vector<int64_t>>();
    out.bytes = read_all(out_dir / o.at("file").get<std::string>());
    int64_t n = 1;
    for (const int64_t d : out.shape)
      n *= d;
    if (out.bytes.size() != static_cast<size_t>(n) * element_bytes(out.type))
      throw OnnxError("ONNX Runtime output \"" + out.name + "\": file size does not match its shape");
    run.outputs.push_back(std::move(out));
  }
  return run;
}

OrtBench bench_onnx_runtime(const std::string& model_path, const std::vector<int64_t>& sample, int64_t batch,
                            int64_t threads, double seconds) {
  TempDir dir;
  const ProcessResult r = run_node(
      {script_path(), "--bench", "--model", model_path, "--shape", join(sample), "--batch",
       std::to_string(batch), "--threads", std::to_string(threads), "--seconds", std::to_string(seconds)},
      dir.path());
  check_exit(r);
  const nlohmann::json report = nlohmann::json::parse(r.out);
  return {report.at("images_per_second").get<double>(), report.at("median_ms").get<double>(),
          report.at("runs").get<int64_t>()};
}

}  // namespace qg::onnx_io
