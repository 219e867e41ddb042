// Machine-readable run reports (JSON) and the process measurements they carry.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace qg::app {

/// Writes `report` as indented JSON atomically; throws std::runtime_error naming the path on failure. In a
/// data-parallel run rank 0 alone writes it (app/distributed.h); the other ranks return at once.
void write_report(const std::string& path, const nlohmann::json& report);
/// Peak resident set size of this process so far, in MiB (getrusage).
double peak_rss_mb();
/// Checks up front that `path` can be written (its folder exists and is writable), so that a long run does
/// not fail at the very end. Throws std::runtime_error naming the path.
void check_writable(const std::string& path);

}  // namespace qg::app
