// The torchsummary-style table.
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/summary.h"
#include "config_test_helpers.h"

namespace qg::config {
namespace {

using testing::shipped_config;

void expect_contains(const std::string& text, const std::string& line) {
  EXPECT_NE(text.find(line), std::string::npos) << "missing line:\n" << line << "\nin:\n" << text;
}

TEST(Summary, NetTableHasEveryLayerAndTheTotals) {
  const std::string text = summary(load_config(shipped_config("mnist_cnn.json")));
  // torchsummary's columns: "{:>20}  {:>25} {:>15}".
  expect_contains(text, "        Layer (type)               Output Shape         Param #\n");
  expect_contains(text, "            Conv2d-0           [-1, 40, 26, 26]             400\n");
  expect_contains(text, "              ReLU-1           [-1, 40, 26, 26]               0\n");
  expect_contains(text, "         MaxPool2d-2           [-1, 40, 13, 13]               0\n");
  expect_contains(text, "            Conv2d-3           [-1, 40, 11, 11]             760\n");
  expect_contains(text, "              ReLU-4           [-1, 40, 11, 11]               0\n");
  expect_contains(text, "         MaxPool2d-5             [-1, 40, 5, 5]               0\n");
  expect_contains(text, "           Flatten-6                 [-1, 1000]               0\n");
  expect_contains(text, "            Linear-7                   [-1, 10]          10,010\n");
  expect_contains(text, "Total params: 11,170\n");
  expect_contains(text, "Trainable params: 11,170\n");
  expect_contains(text, "Non-trainable (buffers): 0\n");
  // Input 1*28*28 floats = 3136 B. Outputs 2*27040 + 6760 + 2*4840 + 1000 + 1000 + 10 = 72530 floats,
  // twice (values and gradients): 580240 B = 0.55 MB. Params 11170 floats = 44680 B. Total 628056 B.
  expect_contains(text, "Input size (MB): 0.00\n");
  expect_contains(text, "Forward/backward pass size (MB): 0.55\n");
  expect_contains(text, "Params size (MB): 0.04\n");
  expect_contains(text, "Estimated Total Size (MB): 0.60\n");
}

TEST(Summary, NetBNCountsBatchNormParametersAndBuffers) {
  const std::string text = summary(load_config(shipped_config("mnist_cnn_bn.json")));
  expect_contains(text, "       BatchNorm2d-1           [-1, 40, 26, 26]              80\n");
  expect_contains(text, "            Conv2d-4           [-1, 40, 11, 11]          14,440\n");
  expect_contains(text, "            Linear-9                   [-1, 10]          10,010\n");
  expect_contains(text, "Total params: 25,010\n");
  expect_contains(text, "Non-trainable (buffers): 162\n");
}

TEST(Summary, StartsWithTheNameAndInput) {
  const std::string text = summary(load_config(shipped_config("mnist_cnn.json")));
  EXPECT_EQ(text.rfind("mnist_cnn: input [-1, 1, 28, 28]\n", 0), 0u) << text;
}

TEST(Summary, ThousandsSeparators) {
  EXPECT_EQ(with_thousands_separators(0), "0");
  EXPECT_EQ(with_thousands_separators(999), "999");
  EXPECT_EQ(with_thousands_separators(1000), "1,000");
  EXPECT_EQ(with_thousands_separators(1234567), "1,234,567");
  EXPECT_EQ(with_thousands_separators(-25010), "-25,010");
}

}  // namespace
}  // namespace qg::config
