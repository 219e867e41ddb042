#include "core/tensor.h"

#include <algorithm>
#include <cassert>
#include <sstream>
#include <stdexcept>

namespace qg {

namespace {

void check_dimensions(const Shape& shape) {
  for (int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("tensor: negative dimension in shape " + to_string(shape));
  }
}

std::shared_ptr<TensorImpl> impl_over(std::shared_ptr<Storage> storage, const Shape& shape) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  return impl;
}

std::shared_ptr<TensorImpl> make_impl(const Shape& shape, float fill_value) {
  check_dimensions(shape);
  return impl_over(std::make_shared<Storage>(static_cast<size_t>(numel(shape)), fill_value), shape);
}

// Visits every element of a strided layout in row-major order, calling f(storage_offset).
// This is the odometer at the heart of every strided kernel: bump the last index, carry leftwards.
template <class F>
void for_each_offset(const Shape& shape, const Shape& strides, int64_t offset, F&& f) {
  const int64_t n = numel(shape);
  if (n == 0) return;
  std::vector<int64_t> index(shape.size(), 0);
  int64_t pos = offset;
  for (int64_t i = 0; i < n; ++i) {
    f(pos);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < shape[d]) {
        pos += strides[d];
        break;
      }
      pos -= (shape[d] - 1) * strides[d];
      index[d] = 0;
    }
  }
}

}  // namespace

Tensor Tensor::zeros(const Shape& shape) {
  return Tensor(make_impl(shape, 0.0f));
}

Tensor Tensor::empty(const Shape& shape) {
  check_dimensions(shape);
  return Tensor(impl_over(std::make_shared<Storage>(static_cast<size_t>(qg::numel(shape))), shape));
}

Tensor Tensor::full(const Shape& shape, float value) {
  return Tensor(make_impl(shape, value));
}

Tensor Tensor::from_vector(const std::vector<float>& values, const Shape& shape) {
  if (static_cast<int64_t>(values.size()) != qg::numel(shape)) {
    throw std::invalid_argument("from_vector: " + std::to_string(values.size()) +
                                " values do not fill shape " + to_string(shape));
  }
  Tensor t = empty(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

Tensor Tensor::arange(float start, float stop, float step) {
  if (step == 0.0f) throw std::invalid_argument("arange: step must be non-zero");
  std::vector<float> values;
  for (float v = start; step > 0 ? v < stop : v > stop; v += step)
    values.push_back(v);
  return from_vector(values, {static_cast<int64_t>(values.size())});
}

Tensor Tensor::randn(const Shape& shape, Generator& gen, float mean, float stddev) {
  Tensor t = empty(shape);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = gen.normal(mean, stddev);
  return t;
}

Tensor Tensor::uniform(const Shape& shape, float low, float high, Generator& gen) {
  Tensor t = empty(shape);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = gen.uniform(low, high);
  return t;
}

void Tensor::throw_undefined() {
  throw std::logic_error("tensor: operation on an undefined tensor");
}

int64_t Tensor::size(int64_t axis) const {
  return shape()[normalize_axis(axis, dim(), "size")];
}

bool Tensor::is_contiguous() const {
  // Dimensions of size 1 may carry any stride without affecting the layout.
  int64_t expected = 1;
  for (size_t i = shape().size(); i-- > 0;) {
    if (shape()[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

float Tensor::item() const {
  if (numel() != 1) {
    throw std::invalid_argument("item: tensor of shape " + to_string(shape()) + " has " +
                                std::to_string(numel()) + " elements, expected 1");
  }
  return (*impl().storage)[impl().offset];
}

float Tensor::at(std::initializer_list<int64_t> index) const {
  if (static_cast<int64_t>(index.size()) != dim()) {
    throw std::invalid_argument("at: " + std::to_string(index.size()) + " indices for a tensor of shape " +
                                to_string(shape()));
  }
  int64_t d = 0;
  for (int64_t i : index) {
    if (i < 0 || i >= shape()[d]) {
      throw std::out_of_range("at: index " + std::to_string(i) + " out of range for dimension " +
                              std::to_string(d) + " of shape " + to_string(shape()));
    }
    ++d;
  }
  return (*impl().storage)[element_offset(std::span(index.begin(), index.size()), strides(), offset())];
}

std::vector<float> Tensor::to_vector() const {
  const Tensor c = contiguous();
  return std::vector<float>(c.data(), c.data() + c.numel());
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape());  // copy_from writes every element
  out.copy_from(*this);
  return out;
}

Tensor Tensor::as_strided(const Shape& new_shape, const Shape& new_strides, int64_t new_offset) const {
  if (new_shape.size() != new_strides.size()) {
    throw std::invalid_argument("as_strided: shape " + to_string(new_shape) + " and strides " +
                                to_string(new_strides) + " differ in rank");
  }
  // The furthest element the view can reach must lie inside the storage. A view with a dimension of size 0,
  // wherever it is ([2, 0, 3] as well as [2, 3, 0]), is empty: it reaches nothing.
  const bool empty = std::find(new_shape.begin(), new_shape.end(), 0) != new_shape.end();
  int64_t last = empty ? new_offset - 1 : new_offset;
  for (size_t i = 0; i < new_shape.size() && !empty; ++i)
    last += (new_shape[i] - 1) * new_strides[i];
  if (new_offset < 0 || last >= static_cast<int64_t>(impl().storage->size())) {
    throw std::out_of_range("as_strided: view " + to_string(new_shape) + " at offset " +
                            std::to_string(new_offset) + " exceeds storage of " +
                            std::to_string(impl().storage->size()) + " elements");
  }
  auto view = std::make_shared<TensorImpl>();
  view->storage = impl().storage;
  view->shape = new_shape;
  view->strides = new_strides;
  view->offset = new_offset;
  return Tensor(view);
}

void Tensor::copy_from(const Tensor& src) {
  if (src.shape() != shape()) {
    throw std::invalid_argument("copy_from: source shape " + to_string(src.shape()) +
                                " differs from destination shape " + to_string(shape()));
  }
  if (is_contiguous() && src.is_contiguous()) {
    std::copy(src.data(), src.data() + src.numel(), data());
    return;
  }
  // Gather the source in row-major order, then scatter into our (possibly strided) layout.
  std::vector<float> values;
  values.reserve(static_cast<size_t>(src.numel()));
  const Storage& in = *src.impl().storage;
  for_each_offset(src.shape(), src.strides(), src.offset(), [&](int64_t p) { values.push_back(in[p]); });
  Storage& out = *impl().storage;
  size_t i = 0;
  for_each_offset(shape(), strides(), offset(), [&](int64_t p) { out[p] = values[i++]; });
}

void Tensor::fill(float value) {
  Storage& out = *impl().storage;
  for_each_offset(shape(), strides(), offset(), [&](int64_t p) { out[p] = value; });
}

bool Tensor::shares_storage_with(const Tensor& other) const {
  return defined() && other.defined() && impl().storage == other.impl().storage;
}

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  if (requires_grad && !is_leaf()) {
    throw std::logic_error("set_requires_grad: only leaf tensors can be marked; this one has a grad_fn");
  }
  impl().requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const {
  return impl().grad ? Tensor(impl().grad) : Tensor();
}

void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined() && grad.shape() != shape()) {
    throw std::invalid_argument("set_grad: gradient shape " + to_string(grad.shape()) +
                                " differs from tensor shape " + to_string(shape()));
  }
  impl().grad = grad.defined() ? grad.impl_ptr() : nullptr;
}

void Tensor::zero_grad() {
  impl().grad = nullptr;
}

Tensor Tensor::detach() const {
  Tensor out = as_strided(shape(), strides(), offset());
  return out;
}

std::string to_string(const Tensor& t, int64_t max_values) {
  if (!t.defined()) return "Tensor(undefined)";
  std::ostringstream out;
  out << "Tensor(shape=" << to_string(t.shape()) << ", values=[";
  const std::vector<float> values = t.to_vector();
  for (int64_t i = 0; i < std::min<int64_t>(max_values, t.numel()); ++i)
    out << (i ? ", " : "") << values[i];
  if (t.numel() > max_values) out << ", ...";
  out << "])";
  return out.str();
}

}  // namespace qg
