// Command-line flags for the tools: `--name value` or `--name=value`, and boolean `--name`.
// Every mistake (unknown flag, missing value, a number that is not one) is a UsageError with a one-line
// message; run_tool turns it into "tool: error: ..." and exit code 2.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace qg::app {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A tool that did its work but not all of it (sweep: some bit widths diverged, the others are written):
/// run_tool reports it as one line, like an error, with exit code 3.
struct PartialSuccess : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct FlagSpec {
  std::string name;   // without the dashes
  std::string value;  // placeholder for the value, e.g. "N"; empty for a boolean switch
  std::string help;
};

class Flags {
 public:
  Flags(std::string program, std::string summary, std::vector<FlagSpec> specs);
  /// Parses argv; throws UsageError. `--help` sets help_requested().
  void parse(int argc, const char* const* argv);
  bool help_requested() const { return help_; }
  std::string usage() const;

  bool has(const std::string& name) const;
  std::string get(const std::string& name) const;
  std::optional<std::string> optional(const std::string& name) const;
  int64_t get_int(const std::string& name, int64_t min, int64_t max) const;
  double get_double(const std::string& name, double min, double max) const;
  /// "1-8", "4", "2,4,8" -> sorted unique integers within [min, max].
  std::vector<int64_t> get_int_list(const std::string& name, int64_t min, int64_t max) const;

 private:
  const FlagSpec& spec(const std::string& name) const;

  std::string program_, summary_;
  std::vector<FlagSpec> specs_;
  std::map<std::string, std::string> values_;
  bool help_ = false;
};

/// Runs a tool's body, turning exceptions into a one-line "program: error: message" on stderr (line breaks
/// in a message become "; "): UsageError -> exit 2, PartialSuccess -> exit 3, anything else thrown -> exit 1.
/// Never lets an exception escape main, so a tool never ends with a stack trace or a core dump from
/// std::terminate.
int run_tool(const std::string& program, const std::function<int()>& body);

}  // namespace qg::app
