// The libFuzzer entry point of one target, chosen at compile time: fuzz/CMakeLists.txt builds this file
// once per target with QG_FUZZ_TARGET set to the target's function name (fuzz/targets.h).
#include "fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return qg::fuzz::QG_FUZZ_TARGET(data, size);
}
