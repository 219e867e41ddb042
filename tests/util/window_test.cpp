// util::window_output_size against sizes PyTorch gives (torch.nn.Conv2d / MaxPool2d output shapes).
#include "util/window.h"

#include <gtest/gtest.h>

namespace qg::util {
namespace {

TEST(WindowOutputSize, MatchesPyTorch) {
  EXPECT_EQ(window_output_size(28, 3, 1, 0), 26);     // the tutorial's first conv
  EXPECT_EQ(window_output_size(26, 2, 2, 0), 13);     // its max pool
  EXPECT_EQ(window_output_size(13, 2, 2, 0), 6);      // floor: the last row is dropped (ceil_mode=False)
  EXPECT_EQ(window_output_size(28, 3, 2, 1), 14);     // stride 2, padding 1
  EXPECT_EQ(window_output_size(28, 3, 1, 2, 2), 28);  // dilation 2: extent 5, padding 2
  EXPECT_EQ(window_output_size(7, 7, 1, 0), 1);       // exactly one position
  EXPECT_EQ(window_output_size(1, 1, 1 << 30, 0), 1);
}

TEST(WindowOutputSize, ZeroWhenTheWindowDoesNotFit) {
  EXPECT_EQ(window_output_size(2, 3, 1, 0), 0);
  EXPECT_EQ(window_output_size(2, 2, 1, 0, 2), 0);  // extent 3
  EXPECT_EQ(window_output_size(1, 3, 1, 1), 1);     // padding makes room
  EXPECT_EQ(window_output_size(int64_t{1} << 30, int64_t{1} << 30, int64_t{1} << 30, int64_t{1} << 30,
                               int64_t{1} << 30),
            0);  // the largest geometry stays far from overflow
}

}  // namespace
}  // namespace qg::util
