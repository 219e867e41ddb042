// The machine's memory bandwidth, measured the way McCalpin's STREAM does (Copy, Scale, Add, Triad over
// arrays far larger than the caches), for bench/run's roofline: the bandwidth-bound jobs are reported as a
// fraction of it, as the compute-bound ones are of the sgemm peak.
//
//   Copy:  c = a            2 arrays of 8-byte doubles moved per element (read a, write c)
//   Scale: b = s * c        2
//   Add:   c = a + b        3
//   Triad: a = b + s * c    3
//
// Bytes are counted as STREAM counts them (no write-allocate traffic), so the figures compare with
// published STREAM results. The arrays are split between `threads` threads (core/parallel.h's pool, the one
// quantgrad's kernels use), each thread always taking the same share.
#pragma once

#include <nlohmann/json.hpp>

namespace qg::bench {

/// Best and median GB/s (1e9 bytes per second) of each kernel over `repeats` passes of arrays of `elements`
/// doubles each (three arrays), with `threads` threads. Returns
/// {"copy": {"best_gbs", "median_gbs"}, "scale": ..., "add": ..., "triad": ..., "array_mb", "threads"}.
nlohmann::json measure_memory_bandwidth(int64_t elements, int threads, int repeats);

}  // namespace qg::bench
