#include "runtime/op.h"

#include <stdexcept>

namespace qg::runtime {

namespace {

// An op that reads several values declares kMinInputs and kMaxInputs; every other op reads one.
template <class T>
concept MultiInput = requires {
  T::kMinInputs;
  T::kMaxInputs;
};

template <class T>
constexpr Arity arity_of() {
  if constexpr (MultiInput<T>) {
    return {T::kMinInputs, T::kMaxInputs};
  } else {
    return {1, 1};
  }
}

// The decoder of the first op type in `Op` whose name is `type`, from index I on; false when none is.
template <size_t I = 0>
bool decode_as(const std::string& type, const JsonField& f, const TensorReader& tensors, Op& op) {
  if constexpr (I == std::variant_size_v<Op>) {
    return false;
  } else {
    using Alternative = std::variant_alternative_t<I, Op>;
    if (type == Alternative::kName) {
      op = Alternative::decode(f, tensors);
      return true;
    }
    return decode_as<I + 1>(type, f, tensors, op);
  }
}

template <size_t... I>
std::vector<std::string> names_of(std::index_sequence<I...>) {
  return {std::variant_alternative_t<I, Op>::kName...};
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names)
    out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

const char* op_name(const Op& op) {
  return std::visit([](const auto& o) { return std::decay_t<decltype(o)>::kName; }, op);
}

const std::vector<std::string>& op_names() {
  static const std::vector<std::string> names = names_of(std::make_index_sequence<std::variant_size_v<Op>>{});
  return names;
}

uint32_t op_format_version(const Op& op) {
  return std::visit([](const auto& o) { return std::decay_t<decltype(o)>::kFormatVersion; }, op);
}

Arity op_arity(const Op& op) {
  return std::visit([](const auto& o) { return arity_of<std::decay_t<decltype(o)>>(); }, op);
}

std::string arity_to_string(Arity arity) {
  const std::string noun = arity.max == 1 ? " input" : " inputs";
  if (arity.min == arity.max) return std::to_string(arity.min) + noun;
  if (arity.max == Concat::kMaxInputs) return std::to_string(arity.min) + " or more" + noun;
  return std::to_string(arity.min) + " to " + std::to_string(arity.max) + noun;
}

Activation op_output(const Op& op, std::span<const Activation> inputs) {
  const Arity arity = op_arity(op);
  if (inputs.size() < arity.min || inputs.size() > arity.max) {
    throw std::invalid_argument("takes " + arity_to_string(arity) + " but reads " +
                                std::to_string(inputs.size()));
  }
  return std::visit(
      [&](const auto& o) {
        if constexpr (MultiInput<std::decay_t<decltype(o)>>) {
          return o.output(inputs);
        } else {
          return o.output(inputs[0]);
        }
      },
      op);
}

Activation op_output(const Op& op, const Activation& incoming) {
  return op_output(op, std::span<const Activation>(&incoming, 1));
}

void op_forward(const Op& op, std::span<const Activation> inputs,
                std::span<const std::span<const int32_t>> values, std::span<int32_t> output,
                const OpContext& context) {
  std::visit(
      [&](const auto& o) {
        if constexpr (MultiInput<std::decay_t<decltype(o)>>) {
          o.forward(inputs, values, output, context);
        } else {
          o.forward(inputs[0], values[0], output, context);
        }
      },
      op);
}

void op_forward(const Op& op, const Activation& incoming, std::span<const int32_t> input,
                std::span<int32_t> output, const OpContext& context) {
  op_forward(op, std::span<const Activation>(&incoming, 1),
             std::span<const std::span<const int32_t>>(&input, 1), output, context);
}

nlohmann::json encode_op(const Op& op, TensorWriter& tensors, const std::string& prefix) {
  nlohmann::json j = std::visit([&](const auto& o) { return o.encode(tensors, prefix); }, op);
  j["type"] = op_name(op);
  return j;
}

Op decode_op(const JsonField& f, const TensorReader& tensors) {
  const JsonField type_field = f["type"];
  const std::string type = type_field.as_string();
  Op op;
  if (!decode_as(type, f, tensors, op)) {
    type_field.fail("unknown op type '" + type + "' (known: " + joined(op_names()) + ")");
  }
  return op;
}

}  // namespace qg::runtime
