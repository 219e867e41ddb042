#include "runtime/op.h"

namespace qg::runtime {

namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;  // C++20 deduces this itself; clang 14 (the fuzz build) does not

}  // namespace

const char* op_name(const Op& op) {
  return std::visit([](const auto& o) { return std::decay_t<decltype(o)>::kName; }, op);
}

Activation op_output(const Op& op, const Activation& incoming) {
  return std::visit(Overloaded{
                        [&](const Conv2d& o) {
                          return Activation{o.output_shape(incoming.shape), o.output_quant(incoming.quant)};
                        },
                        [&](const Linear& o) {
                          return Activation{o.output_shape(incoming.shape), o.output_quant(incoming.quant)};
                        },
                        [&](const MulAdd& o) {
                          return Activation{o.output_shape(incoming.shape), o.output_quant(incoming.quant)};
                        },
                        // Pooling, ReLU and Flatten keep the codes' meaning: same quantization out as in.
                        [&](const auto& o) {
                          return Activation{o.output_shape(incoming.shape), incoming.quant};
                        },
                    },
                    op);
}

void op_forward(const Op& op, const Activation& incoming, std::span<const int32_t> input,
                std::span<int32_t> output, RequantMode mode, KernelChoice kernels, Scratch& scratch) {
  const bool fast = kernels == KernelChoice::Fast;
  std::visit(
      Overloaded{
          [&](const Conv2d& o) {
            if (fast) {
              conv2d_fast(o, incoming.shape, input, output, mode, scratch);
            } else {
              conv2d_reference(o, incoming.shape, input, output, mode);
            }
          },
          [&](const Linear& o) {
            if (fast) {
              linear_fast(o, input, output, mode, scratch);
            } else {
              linear_reference(o, input, output, mode);
            }
          },
          [&](const MaxPool2d& o) { max_pool2d_reference(o, incoming.shape, input, output); },
          [&](const AvgPool2d& o) { avg_pool2d_reference(o, incoming.quant, incoming.shape, input, output); },
          [&](const ReLU&) { relu_reference(incoming.quant, input, output); },
          [&](const Flatten&) { flatten_reference(input, output); },
          [&](const MulAdd& o) { mul_add_reference(o, incoming.shape, input, output, mode); },
      },
      op);
}

}  // namespace qg::runtime
