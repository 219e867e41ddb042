#include "config/dataset_info.h"

namespace qg::config {

namespace {

const std::vector<DatasetInfo>& datasets() {
  static const std::vector<DatasetInfo> table = {
      {"mnist", {1, 28, 28}, 10, "data/mnist"},
      {"fashion-mnist", {1, 28, 28}, 10, "/usr/share/datasets/fashion-mnist"},
  };
  return table;
}

}  // namespace

const DatasetInfo* find_dataset(const std::string& name) {
  for (const DatasetInfo& info : datasets()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const DatasetInfo& info : datasets())
    names.push_back(info.name);
  return names;
}

}  // namespace qg::config
