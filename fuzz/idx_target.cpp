// Fuzz target: the IDX reader (plain and gzip). See fuzz/targets.h.
#include <zlib.h>

#include <string>

#include "datasets/idx.h"
#include "fuzz/memory_file.h"
#include "fuzz/targets.h"

namespace qg::fuzz {

namespace {

// A gzip stream (RFC 1952) of `bytes`.
std::string gzip(std::string_view bytes) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  require(deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK,
          "deflateInit2");
  std::string out(deflateBound(&stream, bytes.size()) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  require(result == Z_STREAM_END, "deflate did not finish");
  out.resize(stream.total_out);
  return out;
}

void read_as_labels_and_images(const std::string& path) {
  for (const data::IdxKind kind : {data::IdxKind::kLabels, data::IdxKind::kImages}) {
    try {
      const data::IdxArray array = read_idx(path, kind, "fuzz");
      uint64_t count = 1;
      for (const int64_t d : array.dims)
        count *= static_cast<uint64_t>(d);
      require(array.dims.size() == (kind == data::IdxKind::kImages ? 3u : 1u), "wrong number of dimensions");
      require(array.data.size() == count, "payload size differs from the product of the dimensions");
    } catch (const std::runtime_error&) {
      // the documented error: a one-line message naming the file and the field
    }
  }
}

}  // namespace

int idx(const uint8_t* data, size_t size) {
  static MemoryFile file("qg_fuzz_idx");
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  read_as_labels_and_images(file.write(bytes));
  const bool is_gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  if (!is_gzip) {
    const std::string compressed = gzip(bytes);
    read_as_labels_and_images(file.write(compressed));
  }
  return 0;
}

}  // namespace qg::fuzz
