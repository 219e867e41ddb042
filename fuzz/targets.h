// The fuzz targets: one function per kind of file a user can hand to quantgrad. Each takes arbitrary bytes
// and must return normally: either the input loads (and then passes the checks the target adds), or the
// loader throws its documented error type, which the target catches. Anything else is a finding: another
// exception escaping, a FuzzFinding thrown by a target's own check, a crash, a sanitizer report, a hang,
// an allocation far beyond the input's size.
//
// The same functions run in two places: under libFuzzer (fuzz/libfuzzer_entry.cpp, built with QG_FUZZ=ON),
// and in the ordinary test suite, which replays the committed corpus and every regression input
// (tests/app/fuzz_corpus_test.cpp). See fuzz/README.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace qg::fuzz {

/// A target's own check failed: a loader accepted something it should not have, or what it returned is
/// inconsistent. Deliberately not a std::runtime_error, so that no loader error handler can swallow it.
struct FuzzFinding : std::logic_error {
  using std::logic_error::logic_error;
};

/// Throws FuzzFinding("<what>") unless `condition`.
inline void require(bool condition, const std::string& what) {
  if (!condition) throw FuzzFinding(what);
}

/// datasets/idx.h: read_idx as labels and as images; a plain input is also tried gzip-compressed, so that
/// every IDX header the fuzzer invents is parsed through the gzip path too.
int idx(const uint8_t* data, size_t size);
/// config/loader.h: parse_config_text; an accepted config must also pass revalidate() and, if small,
/// build a model and a summary.
int config(const uint8_t* data, size_t size);
/// nn/checkpoint.h: load_checkpoint, then what the tools do with a checkpoint (copy_state into a model,
/// the training metadata of --resume, a QAT checkpoint's observer states). Each input is tried as given and
/// with its trailing checksum recomputed, so that the fuzzer gets past the checksum to the header.
int checkpoint(const uint8_t* data, size_t size);
/// runtime/model_file.h: deserialize_model (as given and with its CRC-32 recomputed); a model that loads
/// must save to the same bytes again and, if small, run.
int model_file(const uint8_t* data, size_t size);

/// onnx_io/import_float.h: import_float_bytes (protobuf, the importer's checks, ONNX's checker); an imported
/// model's config must read back the same and its checkpoint load into the config's model. Built with QG_ONNX
/// only (all_targets() lists it then).
int onnx(const uint8_t* data, size_t size);

struct Target {
  const char* name;  // also the corpus folder: fuzz/corpus/<name>, fuzz/regressions/<name>
  int (*run)(const uint8_t* data, size_t size);
};
const std::vector<Target>& all_targets();

}  // namespace qg::fuzz
