// Crash-safe file writing: nothing already saved is lost.
//
// write_file_atomically writes to "<path>.tmp.<pid>" in the same folder, flushes it to disk (fsync),
// then renames it over `path`. rename(2) within one file system is atomic, so a reader (or a run
// killed mid-save) sees either the old complete file or the new complete file, never a mix.
#pragma once

#include <string>
#include <string_view>

namespace qg::util {

/// Throws std::runtime_error naming the path and the OS error on failure; the old file stays intact.
void write_file_atomically(const std::string& path, std::string_view bytes);

/// Reads a whole file; throws std::runtime_error naming the path when it cannot be opened or read.
/// Refuses files larger than `max_bytes` (a guard against reading something that is not ours).
std::string read_file(const std::string& path, size_t max_bytes = size_t{1} << 32);

}  // namespace qg::util
