#include "app/flags.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <sstream>

namespace qg::app {

Flags::Flags(std::string program, std::string summary, std::vector<FlagSpec> specs)
    : program_(std::move(program)), summary_(std::move(summary)), specs_(std::move(specs)) {}

const FlagSpec& Flags::spec(const std::string& name) const {
  for (const FlagSpec& s : specs_) {
    if (s.name == name) return s;
  }
  throw UsageError("unknown flag --" + name + " (see --help)");
}

void Flags::parse(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2)
      throw UsageError("unexpected argument \"" + arg + "\" (see --help)");
    arg = arg.substr(2);
    std::optional<std::string> inline_value;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    const FlagSpec& s = spec(arg);
    if (values_.count(arg)) throw UsageError("flag --" + arg + " given twice");
    if (s.value.empty()) {
      if (inline_value) throw UsageError("flag --" + arg + " takes no value");
      values_[arg] = "true";
    } else if (inline_value) {
      values_[arg] = *inline_value;
    } else {
      if (i + 1 >= argc) throw UsageError("flag --" + arg + " needs a value (" + s.value + ")");
      values_[arg] = argv[++i];
    }
  }
}

std::string Flags::usage() const {
  std::ostringstream out;
  out << "usage: " << program_ << " [flags]\n" << summary_ << "\n\nflags:\n";
  for (const FlagSpec& s : specs_) {
    std::string left = "  --" + s.name + (s.value.empty() ? "" : " " + s.value);
    left.resize(std::max<size_t>(left.size() + 2, 28), ' ');
    out << left << s.help << "\n";
  }
  return out.str();
}

bool Flags::has(const std::string& name) const {
  spec(name);
  return values_.count(name) > 0;
}

std::string Flags::get(const std::string& name) const {
  if (!has(name)) throw UsageError("missing required flag --" + name);
  return values_.at(name);
}

std::optional<std::string> Flags::optional(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  return values_.at(name);
}

int64_t Flags::get_int(const std::string& name, int64_t min, int64_t max) const {
  const std::string text = get(name);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || v < min || v > max) {
    throw UsageError("--" + name + " expects an integer in [" + std::to_string(min) + ", " +
                     std::to_string(max) + "], got \"" + text + "\"");
  }
  return v;
}

double Flags::get_double(const std::string& name, double min, double max) const {
  const std::string text = get(name);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !(v >= min && v <= max)) {
    std::ostringstream msg;
    msg << "--" << name << " expects a number in [" << min << ", " << max << "], got \"" << text << "\"";
    throw UsageError(msg.str());
  }
  return v;
}

std::vector<int64_t> Flags::get_int_list(const std::string& name, int64_t min, int64_t max) const {
  const std::string text = get(name);
  std::vector<int64_t> out;
  std::stringstream parts(text);
  std::string part;
  const auto parse_one = [&](const std::string& s) {
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v < min || v > max) {
      throw UsageError("--" + name + " expects integers in [" + std::to_string(min) + ", " +
                       std::to_string(max) + "] like 1-8 or 2,4,8, got \"" + text + "\"");
    }
    return static_cast<int64_t>(v);
  };
  while (std::getline(parts, part, ',')) {
    if (const size_t dash = part.find('-'); dash != std::string::npos && dash > 0) {
      const int64_t lo = parse_one(part.substr(0, dash)), hi = parse_one(part.substr(dash + 1));
      if (lo > hi) throw UsageError("--" + name + ": empty range \"" + part + "\"");
      for (int64_t v = lo; v <= hi; ++v)
        out.push_back(v);
    } else {
      out.push_back(parse_one(part));
    }
  }
  if (out.empty()) throw UsageError("--" + name + " is empty");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

// An error message as one line: line breaks (a multi-line message from a library) become "; ".
std::string one_line(std::string message) {
  std::string out;
  for (const char c : message) {
    if (c == '\r') continue;
    if (c == '\n') {
      if (!out.empty() && out.back() != ' ') out += "; ";
      continue;
    }
    out += c;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';'))
    out.pop_back();
  return out.empty() ? "unknown error" : out;
}

int report_error(const std::string& program, const std::string& message, int code) {
  std::fflush(stdout);  // keep stdout's lines before the error when both go to one terminal
  std::fprintf(stderr, "%s: error: %s\n", program.c_str(), one_line(message).c_str());
  return code;
}

}  // namespace

int run_tool(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    return report_error(program, e.what(), 2);
  } catch (const PartialSuccess& e) {
    return report_error(program, e.what(), 3);
  } catch (const std::bad_alloc&) {
    return report_error(program, "out of memory", 1);
  } catch (const std::exception& e) {
    return report_error(program, e.what(), 1);
  } catch (...) {
    return report_error(program, "unknown error (an exception that is not a std::exception)", 1);
  }
}

}  // namespace qg::app
