// Reference figures to compare quantgrad against: the tutorial's recipe run in PyTorch 1.13 on the project's
// 2-core machine (float model 5 epochs; PTQ calibrated on 500 batches of 64; QAT 1 epoch at lr 0.01; the
// tutorial's float-simulated integer inference), test accuracy in %, for bits 1..8. Source: the project's
// quantization issue; these are quoted, not measured by quantgrad.
#pragma once

#include <array>
#include <optional>
#include <string>

namespace qg::app {

struct ReferenceRow {
  double float_accuracy;
  std::array<double, 8> ptq;  // bits 1..8
  std::array<double, 8> qat;
};

inline std::optional<ReferenceRow> reference_results(const std::string& config_name) {
  if (config_name == "mnist_cnn") {
    return ReferenceRow{97.69,
                        {9.8, 51.9, 81.6, 95.8, 97.5, 97.7, 97.7, 97.7},
                        {9.8, 9.8, 80.5, 96.6, 97.4, 97.8, 97.9, 97.9}};
  }
  if (config_name == "mnist_cnn_bn") {
    return ReferenceRow{98.69,
                        {9.7, 27.1, 89.2, 97.7, 98.4, 98.6, 98.7, 98.7},
                        {9.8, 9.8, 70.8, 97.3, 98.7, 98.8, 98.8, 98.8}};
  }
  return std::nullopt;
}

}  // namespace qg::app
