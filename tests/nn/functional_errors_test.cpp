// Every user-error path of the nn ops throws std::invalid_argument with a message that names the op, what
// was expected and what was found (the shapes). One row per path; each row lists the message parts it
// must contain (a whole message where the project brief gives it verbatim).
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>

#include "nn/functional.h"

namespace qg::nn::functional {
namespace {

struct ErrorCase {
  std::string name;
  std::function<void()> call;
  std::vector<std::string> message_parts;
};

void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class NnErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(NnErrors, ThrowsInvalidArgumentNamingOpAndShapes) {
  const ErrorCase& c = GetParam();
  try {
    c.call();
    ADD_FAILURE() << c.name << ": no exception thrown";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    for (const std::string& part : c.message_parts) {
      EXPECT_NE(message.find(part), std::string::npos)
          << "message \"" << message << "\" lacks \"" << part << "\"";
    }
  }
}

Tensor zeros(const Shape& s) {
  return Tensor::zeros(s);
}

Conv2dOptions groups(int64_t g) {
  return {1, 0, 1, g};
}

INSTANTIATE_TEST_SUITE_P(
    Functional, NnErrors,
    ::testing::Values(
        // ---- conv2d
        ErrorCase{
            "conv2d_channels",
            [] {
              conv2d(zeros({64, 3, 28, 28}), zeros({40, 1, 3, 3}), Tensor());
            },
            {"conv2d: input has 3 channels but weight expects 1 (input [64,3,28,28], weight [40,1,3,3])"}},
        ErrorCase{
            "conv2d_channels_grouped",
            [] {
              conv2d(zeros({2, 3, 5, 5}), zeros({4, 1, 3, 3}), Tensor(), groups(2));
            },
            {"conv2d: input has 3 channels but weight expects 2 (2 groups of 1)", "[2,3,5,5]", "[4,1,3,3]"}},
        ErrorCase{
            "conv2d_groups_divide_out_channels",
            [] {
              conv2d(zeros({2, 4, 5, 5}), zeros({3, 2, 3, 3}), Tensor(), groups(2));
            },
            {"conv2d: weight has 3 output channels, not divisible by groups 2", "[2,4,5,5]", "[3,2,3,3]"}},
        ErrorCase{"conv2d_input_rank",
                  [] {
                    conv2d(zeros({3, 28, 28}), zeros({40, 3, 3, 3}), Tensor());
                  },
                  {"conv2d: expected a 4-D input", "[3,28,28]", "[40,3,3,3]"}},
        ErrorCase{"conv2d_weight_rank",
                  [] {
                    conv2d(zeros({1, 3, 8, 8}), zeros({40, 3, 3}), Tensor());
                  },
                  {"conv2d: expected a 4-D weight", "[1,3,8,8]", "[40,3,3]"}},
        ErrorCase{"conv2d_bias_shape",
                  [] {
                    conv2d(zeros({1, 3, 8, 8}), zeros({4, 3, 3, 3}), zeros({5}));
                  },
                  {"conv2d: bias has shape [5] but weight has 4 output channels", "[1,3,8,8]", "[4,3,3,3]"}},
        ErrorCase{"conv2d_empty_output",
                  [] {
                    conv2d(zeros({1, 1, 4, 4}), zeros({2, 1, 3, 3}), Tensor(), {1, 0, 2, 1});
                  },
                  {"conv2d: output would be empty", "window of size 5", "[1,1,4,4]", "[2,1,3,3]"}},
        ErrorCase{"conv2d_bad_stride",
                  [] {
                    conv2d(zeros({1, 1, 4, 4}), zeros({2, 1, 3, 3}), Tensor(), {0, 0, 1, 1});
                  },
                  {"conv2d:", "stride 0"}},
        // ---- linear
        ErrorCase{
            "linear_features",
            [] {
              linear(zeros({64, 999}), zeros({10, 1000}), zeros({10}));
            },
            {"linear: input has 999 features but weight expects 1000 (input [64,999], weight [10,1000])"}},
        ErrorCase{"linear_input_rank",
                  [] {
                    linear(zeros({2, 3, 4}), zeros({5, 4}), Tensor());
                  },
                  {"linear: expected a 2-D input", "[2,3,4]", "[5,4]"}},
        ErrorCase{"linear_weight_rank",
                  [] {
                    linear(zeros({2, 4}), zeros({4}), Tensor());
                  },
                  {"linear: expected a 2-D weight", "[2,4]", "weight [4]"}},
        ErrorCase{"linear_bias_shape",
                  [] {
                    linear(zeros({2, 4}), zeros({5, 4}), zeros({4}));
                  },
                  {"linear: bias has shape [4] but weight has 5 outputs", "[5,4]"}},
        // ---- pooling
        ErrorCase{"max_pool2d_rank",
                  [] {
                    max_pool2d(zeros({3, 8, 8}), {2, 0, 0});
                  },
                  {"max_pool2d: expected a 4-D input", "[3,8,8]"}},
        ErrorCase{"avg_pool2d_padding_over_half_kernel",
                  [] {
                    avg_pool2d(zeros({1, 1, 8, 8}), {3, 1, 2});
                  },
                  {"avg_pool2d: padding must be at most half the kernel size", "[1,1,8,8]", "padding 2"}},
        ErrorCase{"max_pool2d_empty_output",
                  [] {
                    max_pool2d(zeros({1, 2, 1, 5}), {2, 0, 0});
                  },
                  {"max_pool2d: output would be empty", "[1,2,1,5]", "kernel_size 2"}},
        ErrorCase{"avg_pool2d_bad_kernel",
                  [] {
                    avg_pool2d(zeros({1, 1, 4, 4}), {0, 0, 0});
                  },
                  {"avg_pool2d: kernel_size must be >= 1", "kernel_size 0"}},
        ErrorCase{"global_avg_pool2d_rank",
                  [] {
                    global_avg_pool2d(zeros({2, 3}));
                  },
                  {"global_avg_pool2d: expected a 4-D input [N,C,H,W] with H, W >= 1, got [2,3]"}},
        ErrorCase{"global_avg_pool2d_empty_plane",
                  [] {
                    global_avg_pool2d(zeros({2, 3, 4, 0}));
                  },
                  {"global_avg_pool2d: expected a 4-D input [N,C,H,W] with H, W >= 1, got [2,3,4,0]"}},
        // ---- dropout
        ErrorCase{"dropout_p_one",
                  [] {
                    Generator gen(1);
                    dropout(zeros({2, 3}), 1.0f, true, gen);
                  },
                  {"dropout: p must be in [0, 1), got 1"}},
        ErrorCase{"dropout_p_negative_in_eval",
                  [] {
                    Generator gen(1);
                    dropout(zeros({2, 3}), -0.25f, false, gen);
                  },
                  {"dropout: p must be in [0, 1), got -0.25"}},
        // ---- batch_norm
        ErrorCase{"batch_norm_rank",
                  [] {
                    batch_norm(zeros({2, 3, 4}), Tensor(), Tensor(), Tensor(), Tensor(), {});
                  },
                  {"batch_norm: expected input [N,C] or [N,C,H,W], got [2,3,4]"}},
        ErrorCase{"batch_norm_weight_shape",
                  [] {
                    batch_norm(zeros({2, 3, 4, 4}), zeros({3}), zeros({3}), zeros({4}), Tensor(), {});
                  },
                  {"batch_norm: weight has shape [4] but input has 3 channels", "[2,3,4,4]"}},
        ErrorCase{"batch_norm_running_mean_shape",
                  [] {
                    batch_norm(zeros({2, 3}), zeros({2}), zeros({3}), Tensor(), Tensor(), {});
                  },
                  {"batch_norm: running_mean has shape [2] but input has 3 channels", "[2,3]"}},
        ErrorCase{"batch_norm_one_value_per_channel",
                  [] {
                    batch_norm(zeros({1, 3}), zeros({3}), zeros({3}), Tensor(), Tensor(), {});
                  },
                  {"batch_norm: training needs more than one value per channel", "[1,3]"}},
        ErrorCase{"batch_norm_eval_without_running_stats",
                  [] {
                    batch_norm(zeros({2, 3}), Tensor(), Tensor(), Tensor(), Tensor(), {false, 0.1f, 1e-5f});
                  },
                  {"batch_norm: eval mode needs running_mean and running_var"}},
        // ---- losses
        ErrorCase{"log_softmax_axis",
                  [] {
                    log_softmax(zeros({2, 3}), 2);
                  },
                  {"log_softmax: axis 2 is out of range"}},
        ErrorCase{"cross_entropy_target_range",
                  [] {
                    cross_entropy(zeros({3, 10}), {1, 10, 2});
                  },
                  {"cross_entropy: target 1 is 10, outside [0, 10)", "[3,10]"}},
        ErrorCase{"cross_entropy_negative_target",
                  [] {
                    cross_entropy(zeros({3, 10}), {1, 2, -1});
                  },
                  {"cross_entropy: target 2 is -1", "[3,10]"}},
        ErrorCase{"cross_entropy_target_count",
                  [] {
                    cross_entropy(zeros({3, 10}), {1, 2});
                  },
                  {"cross_entropy: 2 targets for a batch of 3", "[3,10]"}},
        ErrorCase{"cross_entropy_rank",
                  [] {
                    cross_entropy(zeros({3, 10, 2}), {1, 2, 3});
                  },
                  {"cross_entropy: expected logits [N,C], got [3,10,2]"}}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

}  // namespace
}  // namespace qg::nn::functional
