// docs/model-format.md is true: each example file it shows (section 5), assembled from the page's bytes and
// header JSON exactly as its section 1 describes the frame, loads, and the writer writes exactly those bytes
// for the model it holds; the examples cover every format version this build reads, and every op has its
// section on the page.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/model_file.h"

namespace qg::runtime {
namespace {

std::string read_page() {
  const std::string path = std::string(QG_SOURCE_DIR) + "/docs/model-format.md";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The fenced block (```<lang> ... ```) that starts at or after `from`; `from` moves past it.
std::string next_block(const std::string& page, size_t& from, const std::string& lang) {
  const std::string open = "```" + lang + "\n";
  const size_t start = page.find(open, from);
  if (start == std::string::npos)
    throw std::runtime_error("no ```" + lang + " block after offset " + std::to_string(from));
  const size_t end = page.find("\n```", start + open.size());
  from = end + 4;
  return page.substr(start + open.size(), end - start - open.size());
}

struct Example {
  std::string name;
  std::vector<uint8_t> bytes;  // the file as the page describes it
};

// Assembles the file from the byte listing ("OFFSET  hex bytes  comment" rows; one row "<header...>" stands
// for the JSON block, compact with sorted keys, which is what nlohmann::json::dump() writes). Every row's
// offset must be where the bytes before it end.
std::vector<uint8_t> assemble(const std::string& name, const std::string& listing,
                              const nlohmann::json& header) {
  static const std::regex row(R"(^([0-9a-f]{8})  ((?:[0-9a-f]{2} )*[0-9a-f]{2})(?:  .*)?$)");
  static const std::regex header_row(R"(^([0-9a-f]{8})  <header\b.*>$)");
  std::vector<uint8_t> bytes;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    const bool is_header = std::regex_match(line, m, header_row);
    if (!is_header && !std::regex_match(line, m, row)) {
      ADD_FAILURE() << name << ": not a byte row: " << line;
      continue;
    }
    EXPECT_EQ(std::stoul(m[1].str(), nullptr, 16), bytes.size()) << name << ": the offset of row: " << line;
    if (is_header) {
      const std::string text = header.dump();
      bytes.insert(bytes.end(), text.begin(), text.end());
      continue;
    }
    std::istringstream hex(m[2].str());
    for (std::string byte; hex >> byte;)
      bytes.push_back(static_cast<uint8_t>(std::stoul(byte, nullptr, 16)));
  }
  return bytes;
}

std::vector<Example> examples(const std::string& page) {
  std::vector<Example> found;
  static const std::regex marker(R"(<!-- model file: (\w+) -->)");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), marker); it != std::sregex_iterator(); ++it) {
    size_t from = static_cast<size_t>(it->position());
    const std::string listing = next_block(page, from, "text");
    const nlohmann::json header = nlohmann::json::parse(next_block(page, from, "json"));
    found.push_back({(*it)[1].str(), assemble((*it)[1].str(), listing, header)});
  }
  return found;
}

uint32_t version_of(const std::vector<uint8_t>& bytes) {
  return bytes[8] | bytes[9] << 8 | bytes[10] << 16 | static_cast<uint32_t>(bytes[11]) << 24;
}

TEST(ModelFormatDoc, EachExampleFileLoadsAndIsWhatTheWriterWrites) {
  const std::vector<Example> files = examples(read_page());
  ASSERT_EQ(files.size(), 3u) << "docs/model-format.md should show three example files";
  std::set<uint32_t> versions;
  for (const Example& e : files) {
    SCOPED_TRACE(e.name);
    Model model;
    ASSERT_NO_THROW(model = deserialize_model(e.bytes, "docs/model-format.md: " + e.name));
    EXPECT_EQ(serialize_model(model), e.bytes)
        << "the writer writes other bytes for the model the page describes";
    EXPECT_EQ(version_of(e.bytes), required_format_version(model));
    versions.insert(version_of(e.bytes));
  }
  std::set<uint32_t> all;
  for (uint32_t v = 1; v <= kModelFormatVersion; ++v)
    all.insert(v);
  EXPECT_EQ(versions, all) << "the examples should cover every version this build reads";
}

TEST(ModelFormatDoc, DamagingAnExampleIsNoticed) {  // the test above reads real bytes, not a stub
  std::vector<uint8_t> bytes = examples(read_page()).front().bytes;
  bytes[bytes.size() - 1] ^= 1;  // the checksum
  EXPECT_THROW(deserialize_model(bytes), ModelFileError);
}

TEST(ModelFormatDoc, EveryOpAndVersionIsOnThePage) {
  const std::string page = read_page();
  EXPECT_NE(page.find("format versions 1 to " + std::to_string(kModelFormatVersion)), std::string::npos);
  for (const std::string& name : op_names()) {
    const bool own = page.find("#### `" + name + "`") != std::string::npos;
    const bool shared = std::regex_search(page, std::regex("#### .*`" + name + "`"));
    EXPECT_TRUE(own || shared) << "op " << name << " has no section (#### ...`" << name << "`...)";
  }
}

}  // namespace
}  // namespace qg::runtime
