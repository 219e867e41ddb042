#include "nn/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <set>
#include <span>
#include <tuple>

#include "core/kernels/value_range.h"
#include "util/atomic_file.h"
#include "util/binary_io.h"
#include "util/checksum.h"
#include "util/container.h"

namespace qg::nn {

namespace {

// Version 2 is the file container (util/container.h): magic "QGCKPT\0\1", CRC-32. Version 1 (before the
// container) had the same magic and header JSON in another frame: magic, version, H (uint64), the header,
// the data section, and an FNV-1a 64 checksum of everything before it. It is still read.
constexpr uint32_t kVersion = 2;
constexpr util::ContainerFormat kCheckpointFormat{
    {'Q', 'G', 'C', 'K', 'P', 'T', '\0', '\1'}, "checkpoint", 1, kVersion};
constexpr size_t kVersion1PreambleBytes = 8 + 4 + 8;
constexpr size_t kVersion1ChecksumBytes = 8;

CheckpointError error(const std::string& path, const std::string& what) {
  return CheckpointError("checkpoint: " + path + ": " + what);
}

// Reads a non-negative integer field of a tensor entry, naming the JSON path on failure.
int64_t entry_int(const nlohmann::json& entry, const char* key, const std::string& path, size_t index) {
  const std::string where = "/tensors/" + std::to_string(index) + "/" + key;
  if (!entry.contains(key) || !entry[key].is_number_integer())
    throw error(path, where + ": expected an integer");
  const int64_t value = entry[key].get<int64_t>();
  if (value < 0) throw error(path, where + ": expected a non-negative value, found " + std::to_string(value));
  return value;
}

// A NaN or Inf in a saved parameter, buffer or optimizer state would poison every step after a resume
// (ReLU and max pooling pass it on, but a run could still save it again): refused at load, by name.
void check_finite(const Tensor& t, const std::string& name, const std::string& path) {
  const std::optional<int64_t> at = kernel::first_non_finite(t);
  if (!at) return;
  const float value = t.contiguous().data()[*at];
  const std::string what = std::isnan(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
  throw error(path, "tensor \"" + name + "\" " + to_string(t.shape()) + " holds " + what + " at element " +
                        std::to_string(*at) + ": a checkpoint of a diverged run cannot be used");
}

Tensor parse_tensor(const nlohmann::json& entry, std::span<const uint8_t> data, const std::string& path,
                    size_t index) {
  const std::string where = "/tensors/" + std::to_string(index);
  if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string()) {
    throw error(path, where + "/name: expected a string");
  }
  if (!entry.contains("dtype") || entry["dtype"] != "f32")
    throw error(path, where + "/dtype: expected \"f32\"");
  if (!entry.contains("shape") || !entry["shape"].is_array())
    throw error(path, where + "/shape: expected an array");
  Shape shape;
  int64_t count = 1;
  for (const auto& d : entry["shape"]) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > (int64_t{1} << 40)) {
      throw error(path, where + "/shape: expected non-negative integers");
    }
    shape.push_back(d.get<int64_t>());
    count *= shape.back();
    if (count > (int64_t{1} << 40)) throw error(path, where + "/shape: too many elements");
  }
  const int64_t offset = entry_int(entry, "offset", path, index);
  const int64_t nbytes = entry_int(entry, "nbytes", path, index);
  if (nbytes != count * 4) {
    throw error(path, where + "/nbytes: " + std::to_string(nbytes) + " bytes do not hold shape " +
                          to_string(shape) + " of f32 (" + std::to_string(count * 4) + " expected)");
  }
  if (offset > static_cast<int64_t>(data.size()) || nbytes > static_cast<int64_t>(data.size()) - offset) {
    throw error(path, where + ": data [" + std::to_string(offset) + ", " + std::to_string(offset + nbytes) +
                          ") lies outside the data section of " + std::to_string(data.size()) + " bytes");
  }
  Tensor t = Tensor::zeros(shape);
  std::memcpy(t.data(), data.data() + offset,
              static_cast<size_t>(nbytes));  // host is little-endian (x86/ARM)
  return t;
}

// The header and data section of a version-1 checkpoint (see kVersion). Throws util::ContainerError.
std::pair<nlohmann::json, std::span<const uint8_t>> read_version1_frame(std::string_view bytes) {
  if (bytes.size() < kVersion1PreambleBytes + kVersion1ChecksumBytes) {
    throw util::ContainerError("truncated: " + std::to_string(bytes.size()) + " bytes, smaller than the " +
                               std::to_string(kVersion1PreambleBytes + kVersion1ChecksumBytes) +
                               "-byte minimum of a version-1 checkpoint");
  }
  const uint64_t header_len = util::read_le<uint64_t>(bytes, 12);
  if (header_len > bytes.size() - kVersion1PreambleBytes - kVersion1ChecksumBytes) {
    throw util::ContainerError("offset 12: header length " + std::to_string(header_len) +
                               " exceeds the file (" + std::to_string(bytes.size()) + " bytes): truncated?");
  }
  const size_t body_end = bytes.size() - kVersion1ChecksumBytes;
  if (util::read_le<uint64_t>(bytes, body_end) != util::fnv1a64(bytes.substr(0, body_end))) {
    throw util::ContainerError("checksum mismatch at offset " + std::to_string(body_end) +
                               ": the file is corrupt or truncated");
  }
  return {util::parse_header_json(bytes.substr(kVersion1PreambleBytes, header_len)),
          util::byte_span(bytes).subspan(kVersion1PreambleBytes + header_len,
                                         body_end - kVersion1PreambleBytes - header_len)};
}

}  // namespace

Tensor Checkpoint::find(const std::string& name) const {
  for (const auto& [n, t] : tensors) {
    if (n == name) return t;
  }
  return Tensor();
}

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  nlohmann::json header;
  header["metadata"] = checkpoint.metadata;
  header["tensors"] = nlohmann::json::array();
  std::string data;
  for (const auto& [name, tensor] : checkpoint.tensors) {
    const Tensor c = tensor.contiguous();
    header["tensors"].push_back({{"name", name},
                                 {"dtype", "f32"},
                                 {"shape", c.shape()},
                                 {"offset", data.size()},
                                 {"nbytes", c.numel() * 4}});
    data.append(reinterpret_cast<const char*>(c.data()), static_cast<size_t>(c.numel()) * 4);
  }
  const std::vector<uint8_t> bytes =
      util::write_container(kCheckpointFormat, kVersion, header.dump(), util::byte_span(data));
  util::write_file_atomically(path,
                              std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Checkpoint load_checkpoint(const std::string& path) {
  std::string bytes;
  try {
    bytes = util::read_file(path);
  } catch (const std::runtime_error& e) {
    throw CheckpointError(std::string("checkpoint: ") + e.what());
  }
  // The magic first, with its own message, then the version says which frame the file has.
  if (bytes.size() >= kCheckpointFormat.magic.size() &&
      std::memcmp(bytes.data(), kCheckpointFormat.magic.data(), kCheckpointFormat.magic.size()) != 0) {
    throw error(path, "offset 0: not a quantgrad checkpoint (bad magic)");
  }
  const bool version1 = bytes.size() >= 12 && util::read_le<uint32_t>(bytes, 8) == 1;
  nlohmann::json header;
  std::span<const uint8_t> data;
  try {
    if (version1) {
      std::tie(header, data) = read_version1_frame(bytes);
    } else {
      util::Container container = util::read_container(util::byte_span(bytes), kCheckpointFormat);
      header = std::move(container.header);
      data = container.data;
    }
  } catch (const util::ContainerError& e) {
    throw error(path, e.what());
  }
  if (!header.is_object() || !header.contains("tensors") || !header["tensors"].is_array()) {
    throw error(path, "/tensors: expected an array");
  }
  Checkpoint checkpoint;
  checkpoint.metadata = header.contains("metadata") ? header["metadata"] : nlohmann::json::object();
  if (!checkpoint.metadata.is_object()) throw error(path, "/metadata: expected an object");
  std::set<std::string> names;
  for (size_t i = 0; i < header["tensors"].size(); ++i) {
    Tensor t = parse_tensor(header["tensors"][i], data, path, i);
    const std::string name = header["tensors"][i]["name"];
    if (!names.insert(name).second)
      throw error(path, "/tensors/" + std::to_string(i) + "/name: duplicate \"" + name + "\"");
    check_finite(t, name, path);
    checkpoint.tensors.emplace_back(name, t);
  }
  return checkpoint;
}

void copy_state(const Checkpoint& source, const std::string& prefix, const NamedTensors& target,
                const std::string& what) {
  std::set<std::string> expected;
  for (const auto& [name, t] : target) {
    expected.insert(name);
    const Tensor found = source.find(prefix + name);
    if (!found.defined()) throw CheckpointError(what + ": missing tensor \"" + prefix + name + "\"");
    if (found.shape() != t.shape()) {
      throw CheckpointError(what + ": tensor \"" + prefix + name + "\" has shape " +
                            to_string(found.shape()) + " but the model expects " + to_string(t.shape()));
    }
  }
  for (const auto& [name, t] : source.tensors) {
    if (name.rfind(prefix, 0) == 0 && !expected.count(name.substr(prefix.size()))) {
      throw CheckpointError(what + ": unexpected tensor \"" + name +
                            "\" (not in the model; another config?)");
    }
  }
  for (const auto& [name, t] : target) {
    Tensor destination = t;
    destination.copy_from(source.find(prefix + name));
  }
}

void save_module(const std::string& path, const Module& module, const nlohmann::json& metadata) {
  Checkpoint checkpoint;
  checkpoint.tensors = module.state();
  checkpoint.metadata = metadata.is_null() ? nlohmann::json::object() : metadata;
  save_checkpoint(path, checkpoint);
}

void load_module(const std::string& path, Module& module) {
  copy_state(load_checkpoint(path), "", module.state(), "checkpoint: " + path);
}

}  // namespace qg::nn
