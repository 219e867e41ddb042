// Tensor: a cheap, reference-counted handle to an n-dimensional float32 array.
//
// A Tensor is a *handle*: copying a Tensor aliases the same TensorImpl (shape, strides, storage and
// autograd state), exactly like copying a torch.Tensor in Python. Use `clone()` for a deep copy.
// Several TensorImpls may share one Storage: these are views (see `as_strided`), created by reshape,
// permute/transpose and batch slicing without copying data.
//
// The element type is always float32. The integer-only inference runtime (runtime/) has its own
// integer tensor and does not use this class; see docs/02-tensor.md for why.
//
// Autograd state lives here too (requires_grad, grad, grad_fn), because the graph is recorded on
// tensors. The differentiable operations on tensors are free functions in autograd/ops.h; the
// methods below never record a graph.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/buffer_cache.h"
#include "core/random.h"
#include "core/shape.h"

namespace qg {

struct Node;  // autograd/node.h

/// Flat float buffer shared by a tensor and all its views: a std::vector<float> whose large blocks are
/// recycled by the buffer cache (core/buffer_cache.h) instead of going back to the system every step.
using Storage = Buffer<float>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  int64_t offset = 0;

  // Autograd state.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient of a leaf, same shape
  std::shared_ptr<Node> grad_fn;     // the node that produced this tensor (null for leaves)
};

class Tensor {
 public:
  /// An undefined tensor (like an empty optional). Most operations require a defined one.
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories -------------------------------------------------------------------------
  /// Zero-filled, like torch.zeros.
  static Tensor zeros(const Shape& shape);
  /// Elements NOT initialised, like torch.empty: for kernels that overwrite every element. Never hand one
  /// to code that reads before writing.
  static Tensor empty(const Shape& shape);
  static Tensor ones(const Shape& shape) { return full(shape, 1.0f); }
  static Tensor full(const Shape& shape, float value);
  static Tensor scalar(float value) { return full({}, value); }
  /// Copies `values` into a new tensor of `shape`; throws if the element counts differ.
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  /// [start, start+step, ...) up to (not including) stop, as a 1-D tensor.
  static Tensor arange(float start, float stop, float step = 1.0f);
  static Tensor randn(const Shape& shape, Generator& gen = default_generator(), float mean = 0.0f,
                      float stddev = 1.0f);
  static Tensor uniform(const Shape& shape, float low, float high, Generator& gen = default_generator());

  // ---- shape and data access --------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  /// Size of one dimension; negative indices count from the end.
  int64_t size(int64_t axis) const;
  int64_t numel() const {  // qg::numel(shape()), inline: kernels call it in loop conditions
    int64_t n = 1;
    for (int64_t d : shape())
      n *= d;
    return n;
  }
  bool is_contiguous() const;

  /// Pointer to the first element (storage + offset). Only meaningful as a flat array when contiguous.
  float* data() { return impl().storage->data() + impl().offset; }
  const float* data() const { return impl().storage->data() + impl().offset; }

  /// The value of a one-element tensor.
  float item() const;
  /// The element at a full multi-index (bounds-checked).
  float at(std::initializer_list<int64_t> index) const;
  /// All elements in row-major order.
  std::vector<float> to_vector() const;

  // ---- copies and raw views (never recorded by autograd) ------------------------------------
  /// Returns *this if already contiguous, else a contiguous copy.
  Tensor contiguous() const;
  /// A new tensor with its own contiguous storage and the same values (no autograd history).
  Tensor clone() const;
  /// A view of the same storage with another shape/strides/offset; bounds are checked.
  Tensor as_strided(const Shape& shape, const Shape& strides, int64_t offset) const;
  /// Copies `src`'s values into this tensor's elements (shapes must match; `src` may be strided).
  void copy_from(const Tensor& src);
  /// Sets every element to `value`.
  void fill(float value);
  bool shares_storage_with(const Tensor& other) const;

  // ---- autograd state -------------------------------------------------------------------
  bool requires_grad() const { return defined() && impl().requires_grad; }
  /// Marks a leaf as needing gradients. Returns *this for chaining.
  Tensor& set_requires_grad(bool requires_grad);
  /// The accumulated gradient (undefined until a backward pass reaches this leaf).
  Tensor grad() const;
  void set_grad(const Tensor& grad);
  /// Drops the accumulated gradient.
  void zero_grad();
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  /// A new handle on the same storage with no autograd history and requires_grad=false.
  Tensor detach() const;

  /// Back-propagates from this scalar (implemented in autograd/engine.cpp).
  void backward() const;
  /// Back-propagates with an explicit output gradient of the same shape.
  void backward(const Tensor& grad_output) const;

  TensorImpl& impl() const {  // inline: data() is called in inner loops
    if (!impl_) throw_undefined();
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  [[noreturn]] static void throw_undefined();

  std::shared_ptr<TensorImpl> impl_;
};

/// Human-readable dump (shape and up to a few values), for debugging and examples.
std::string to_string(const Tensor& t, int64_t max_values = 8);

}  // namespace qg
