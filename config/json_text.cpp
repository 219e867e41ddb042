#include "config/json_text.h"

#include <algorithm>
#include <optional>
#include <set>
#include <vector>

#include "config/config_error.h"
#include "util/json_pointer.h"

namespace qg::config {

namespace {

using json = nlohmann::json;

/// One open object or array while streaming: enough to build the pointer of the current value and to
/// spot a key seen twice in the same object.
struct OpenContainer {
  bool is_object = false;
  std::string current_key;     // objects: the key whose value is being read
  std::size_t next_index = 0;  // arrays: the index the next element will get
  std::set<std::string> keys;  // objects: keys seen so far
};

/// A SAX consumer that builds nothing: it tracks the path, depth and keys, and stops at the first problem.
class ConfigTextChecker : public json::json_sax_t {
 public:
  // What went wrong, if anything. error_byte is set for syntax errors only.
  std::string error_pointer;
  std::string error_detail;
  std::optional<std::size_t> error_byte;

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }

  bool start_object(std::size_t) override { return open(true); }
  bool start_array(std::size_t) override { return open(false); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& key) override {
    OpenContainer& object = stack_.back();
    object.current_key = key;
    if (!object.keys.insert(key).second) {
      error_pointer = pointer();
      error_detail = "duplicate key \"" + key + "\" (each key may appear once per object)";
      return false;
    }
    return true;
  }

  bool parse_error(std::size_t byte, const std::string&, const nlohmann::detail::exception& ex) override {
    error_byte = byte;
    error_detail = strip_nlohmann_prefix(ex.what());
    return false;
  }

 private:
  // Array elements get their index when they start, so that the pointer of a nested container is right.
  bool value() {
    if (!stack_.empty() && !stack_.back().is_object) ++stack_.back().next_index;
    return true;
  }

  bool open(bool is_object) {
    value();
    if (stack_.size() >= kMaxJsonDepth) {
      error_pointer = shortened(pointer());
      error_detail = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                     " levels (a config needs 3); refusing to parse it";
      return false;
    }
    stack_.push_back(OpenContainer{is_object, "", 0, {}});
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  std::string pointer() const {
    std::string out;
    for (const OpenContainer& c : stack_) {
      out = c.is_object ? util::json_pointer_append(out, c.current_key)
                        : util::json_pointer_append(out, c.next_index - 1);
    }
    return out;
  }

  // A pointer 64 levels deep is noise; its start says where the nesting begins.
  static std::string shortened(const std::string& pointer) {
    std::size_t slash = 0;
    for (int i = 0; i < 4 && slash != std::string::npos; ++i)
      slash = pointer.find('/', slash + 1);
    return slash == std::string::npos ? pointer : pointer.substr(0, slash) + "/...";
  }

  // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..." -> "syntax error
  // ..."
  static std::string strip_nlohmann_prefix(const std::string& what) {
    const std::size_t at = what.find("parse error");
    const std::size_t colon = at == std::string::npos ? std::string::npos : what.find(": ", at);
    return colon == std::string::npos ? what : what.substr(colon + 2);
  }

  std::vector<OpenContainer> stack_;
};

}  // namespace

TextPosition position_of_byte(const std::string& text, std::size_t byte) {
  const std::size_t index = std::min(byte == 0 ? 0 : byte - 1, text.size());
  const auto begin = text.begin();
  TextPosition position;
  position.line =
      1 + static_cast<std::size_t>(std::count(begin, begin + static_cast<std::ptrdiff_t>(index), '\n'));
  const std::size_t last_newline = index == 0 ? std::string::npos : text.rfind('\n', index - 1);
  position.column = last_newline == std::string::npos ? index + 1 : index - last_newline;
  return position;
}

json parse_json_text(const std::string& text, const std::string& source) {
  ConfigTextChecker checker;
  if (!json::sax_parse(text, &checker)) {
    if (checker.error_byte) {
      const TextPosition at = position_of_byte(text, *checker.error_byte);
      throw ConfigError(source, "",
                        "invalid JSON at line " + std::to_string(at.line) + ", column " +
                            std::to_string(at.column) + " (byte " + std::to_string(*checker.error_byte) +
                            "): " + checker.error_detail);
    }
    throw ConfigError(source, checker.error_pointer, checker.error_detail);
  }
  // The text is now known to be valid and shallow, so building the document cannot fail.
  return json::parse(text);
}

}  // namespace qg::config
