// Golden values from PyTorch (tests/fixtures/*.json, written by tests/fixtures/make_fixtures.py; see its
// header for the format): loading a fixture file, and checking an op's output and gradients against a case.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace qg::testing {

using nlohmann::json;

struct Tolerance {
  double atol = 1e-4, rtol = 1e-4;
};

// Expects |actual - expected| <= atol + rtol * |expected| element-wise; prints and returns the max |diff|.
inline double expect_close(const Tensor& actual, const Tensor& expected, const std::string& what,
                           Tolerance tol = {}) {
  EXPECT_EQ(actual.shape(), expected.shape()) << what;
  if (actual.shape() != expected.shape()) return INFINITY;
  const std::vector<float> a = actual.to_vector(), e = expected.to_vector();
  double max_diff = 0.0;
  int64_t failures = 0, first = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = std::abs(static_cast<double>(a[i]) - e[i]);
    max_diff = std::max(max_diff, std::isnan(diff) ? INFINITY : diff);
    if (!(diff <= tol.atol + tol.rtol * std::abs(e[i]))) {
      if (failures++ == 0) first = static_cast<int64_t>(i);
    }
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << a.size() << " elements differ; first at "
                         << first << ": " << (first >= 0 ? a[first] : 0.0f) << " vs expected "
                         << (first >= 0 ? e[first] : 0.0f);
  std::cout << "  " << what << ": max |diff| " << max_diff << "\n";
  return max_diff;
}

inline json load_fixture(const std::string& file) {
  const std::string path = std::string(QG_FIXTURES_DIR) + "/" + file;
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error(
        path + ": cannot open (regenerate with /usr/bin/python3 tests/fixtures/make_fixtures.py)");
  }
  json doc = json::parse(in);
  std::cout << file << ": torch " << doc.at("torch_version").get<std::string>() << ", seed "
            << doc.at("seed").get<int64_t>() << "\n";
  return doc;
}

inline Tensor tensor_from(const json& j) {
  if (j.is_null()) return Tensor();
  return Tensor::from_vector(j.at("data").get<std::vector<float>>(), j.at("shape").get<Shape>());
}

using Leaves = std::map<std::string, Tensor>;

// Runs `op` on the case's tensors named in `names` (all leaves requiring grad, except absent ones), then
// compares the output and every gradient with PyTorch's. Returns the largest difference seen.
inline double check_against_torch(const json& c, const std::vector<std::string>& names,
                                  const std::function<Tensor(const Leaves&)>& op) {
  const std::string label = c.at("name").get<std::string>();
  Leaves leaves;
  for (const std::string& name : names) {
    Tensor t = tensor_from(c.at(name));
    if (t.defined()) t.set_requires_grad(true);
    leaves[name] = t;
  }
  const Tensor output = op(leaves);
  double worst = expect_close(output, tensor_from(c.at("output")), label + " output");
  output.backward(tensor_from(c.at("projection")));
  for (const auto& [name, leaf] : leaves) {
    if (!leaf.defined()) continue;
    EXPECT_TRUE(leaf.grad().defined()) << label << ": no gradient for " << name;
    if (leaf.grad().defined()) {
      worst = std::max(worst,
                       expect_close(leaf.grad(), tensor_from(c.at("grad_" + name)), label + " grad_" + name));
    }
  }
  return worst;
}

// Runs every case of a fixture file through `check` and prints the file's max |diff|.
inline void check_fixture_file(const std::string& file, const std::function<double(const json&)>& check) {
  const json doc = load_fixture(file);
  const json& cases = doc.at("cases");
  ASSERT_FALSE(cases.empty()) << file;
  double worst = 0.0;
  for (const json& c : cases) {
    SCOPED_TRACE(file + ": " + c.at("name").get<std::string>());
    worst = std::max(worst, check(c));
  }
  std::cout << file << ": max |diff| against PyTorch over " << cases.size() << " cases: " << worst << "\n";
}

}  // namespace qg::testing
