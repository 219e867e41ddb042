// Chapter 1 of the course (docs/tutorial/01-tensors.md): tensors, shapes, strides and views.
//
//   build/examples/01_tensors          prints what the chapter shows
//   build/examples/01_tensors --part N only part N (1 creating, 2 strides, 3 views, 4 broadcasting)
//   build/examples/01_tensors --test   the same, and exits non-zero if a claim of the chapter does not hold
//
// Every claim the chapter makes (an offset, a stride, "this view shares the data") is checked below with
// check(); both modes run the checks, as this program needs no data.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/ops.h"  // reshape, transpose, narrow, contiguous, +, *: the user-facing tensor ops
#include "check.h"
#include "core/tensor.h"  // qg::Tensor and its factories

using qg::Tensor;

namespace {

using course::check;

// "shape [3,4]  strides [4,1]  offset 0  contiguous yes"
void describe(const char* name, const Tensor& t) {
  std::printf("%-6s shape %-7s strides %-7s offset %lld  contiguous %s\n", name,
              qg::to_string(t.shape()).c_str(), qg::to_string(t.strides()).c_str(),
              static_cast<long long>(t.offset()), t.is_contiguous() ? "yes" : "no");
}

// The values of a 2-D tensor, row by row (at() follows the strides, so this works for any view).
void print_matrix(const Tensor& t) {
  for (int64_t i = 0; i < t.size(0); ++i) {
    std::printf("   ");
    for (int64_t j = 0; j < t.size(1); ++j)
      std::printf("%5g", t.at({i, j}));
    std::printf("\n");
  }
}

// Where element `index` lives in the storage: offset + sum_k index_k * stride_k.
int64_t element_offset(const Tensor& t, const std::vector<int64_t>& index) {
  int64_t position = t.offset();
  for (size_t k = 0; k < index.size(); ++k)
    position += index[k] * t.strides()[k];
  return position;
}

void creating() {
  std::printf("== 1. Creating tensors\n");
  const Tensor z = Tensor::zeros({2, 3});                            // every element 0
  const Tensor f = Tensor::full({2, 3}, 0.5f);                       // every element 0.5
  const Tensor d = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});  // your own values, row by row
  const Tensor r = Tensor::arange(0, 5);                             // 0, 1, 2, 3, 4
  // empty() allocates but does not initialise, like torch.empty: its values are whatever was in memory.
  // Use it only when you will write every element yourself, as here.
  Tensor e = Tensor::empty({2, 3});
  e.fill(7.0f);
  std::printf("zeros    %s\n", qg::to_string(z).c_str());
  std::printf("full     %s\n", qg::to_string(f).c_str());
  std::printf("data     %s\n", qg::to_string(d).c_str());
  std::printf("arange   %s\n", qg::to_string(r).c_str());
  std::printf("empty    %s (after fill(7))\n", qg::to_string(e).c_str());
  check(z.at({1, 2}) == 0.0f && d.at({1, 0}) == 4.0f && r.numel() == 5, "factories fill as documented");
  try {
    Tensor::from_vector({1, 2, 3}, {2, 2});
    check(false, "from_vector with 3 values for 4 elements throws");
  } catch (const std::invalid_argument& error) {
    std::printf("from_vector({1,2,3}, {2,2}) throws: %s\n", error.what());
  }
}

void strides_and_offsets() {
  std::printf("== 2. Shape, strides and the offset of an element\n");
  const Tensor a = qg::reshape(Tensor::arange(0, 12), {3, 4});  // the values 0..11 in 3 rows of 4
  describe("a", a);
  print_matrix(a);
  // Row-major: moving one row skips 4 elements, moving one column skips 1.
  const int64_t position = element_offset(a, {1, 2});
  std::printf("a(1,2): offset = 0 + 1*4 + 2*1 = %lld, storage[%lld] = %g, a.at({1,2}) = %g\n",
              static_cast<long long>(position), static_cast<long long>(position), a.data()[position],
              a.at({1, 2}));
  check(a.strides() == qg::Shape{4, 1}, "a [3,4] has strides [4,1]");
  check(position == 6 && a.at({1, 2}) == 6.0f, "a(1,2) is storage element 6");
}

void views() {
  std::printf("== 3. Views: new shape, strides and offset over the same storage\n");
  Tensor a = qg::reshape(Tensor::arange(0, 12), {3, 4});

  const Tensor t = qg::transpose(a, 0, 1);  // [4,3]: rows become columns
  describe("t", t);
  print_matrix(t);
  const int64_t t_position = element_offset(t, {2, 1});
  std::printf("t(2,1): offset = 0 + 2*1 + 1*4 = %lld -> %g, the same element as a(1,2)\n",
              static_cast<long long>(t_position), t.at({2, 1}));
  check(t.strides() == qg::Shape{1, 4} && !t.is_contiguous(), "transpose swaps the strides: [1,4]");
  check(t.shares_storage_with(a) && t.at({2, 1}) == a.at({1, 2}), "t(2,1) is a(1,2)");

  const Tensor rows = qg::narrow(a, 0, 1, 2);  // rows 1 and 2
  describe("rows", rows);
  print_matrix(rows);
  const Tensor cols = qg::narrow(a, 1, 1, 2);  // columns 1 and 2
  describe("cols", cols);
  print_matrix(cols);
  std::printf("cols(2,1): offset = 1 + 2*4 + 1*1 = %lld -> %g\n",
              static_cast<long long>(element_offset(cols, {2, 1})), cols.at({2, 1}));
  check(rows.offset() == 4 && rows.is_contiguous(), "a block of whole rows starts at offset 4, contiguous");
  check(cols.offset() == 1 && cols.strides() == qg::Shape{4, 1} && !cols.is_contiguous(),
        "a block of columns keeps the row stride 4: not contiguous");
  check(element_offset(cols, {2, 1}) == 10 && cols.at({2, 1}) == 10.0f, "cols(2,1) is storage element 10");

  // A view shares the storage: writing through it changes the original.
  Tensor row1 = qg::narrow(a, 0, 1, 1);
  row1.fill(-1.0f);
  std::printf("after narrow(a, 0, 1, 1).fill(-1), a is\n");
  print_matrix(a);
  check(a.at({1, 0}) == -1.0f && a.at({1, 3}) == -1.0f && a.at({0, 0}) == 0.0f, "the write reached a");

  // reshape is a view when the data is contiguous, a copy when it is not.
  const Tensor flat = qg::reshape(a, {12});
  const Tensor flat_t = qg::reshape(t, {12});
  std::printf("reshape(a, {12}) shares a's storage: %s\n", flat.shares_storage_with(a) ? "yes" : "no");
  std::printf(
      "reshape(t, {12}) shares a's storage: %s (t is not contiguous: the values are copied in "
      "t's order)\n",
      flat_t.shares_storage_with(a) ? "yes" : "no");
  std::printf("reshape(t, {12}) = %s\n", qg::to_string(flat_t, 12).c_str());
  check(flat.shares_storage_with(a) && !flat_t.shares_storage_with(a), "reshape: view vs copy");

  // contiguous() copies a strided view into fresh row-major storage (and is a no-op when already so).
  const Tensor tc = t.contiguous();
  describe("tc", tc);
  check(tc.is_contiguous() && !tc.shares_storage_with(a) && tc.at({2, 1}) == t.at({2, 1}),
        "contiguous() copies, same values, strides [3,1]");
  // clone() always copies; a copy of the handle (Tensor b = a) never does.
  const Tensor alias = a;
  const Tensor copy = a.clone();
  check(alias.shares_storage_with(a) && !copy.shares_storage_with(a), "handle copy aliases, clone copies");
}

void broadcasting() {
  std::printf("== 4. Broadcasting (NumPy rules: align trailing dimensions; 1 stretches)\n");
  const Tensor a = qg::reshape(Tensor::arange(0, 6), {2, 3});
  const Tensor row = Tensor::from_vector({10, 20, 30}, {3});      // [3] acts as [1,3]
  const Tensor column = Tensor::from_vector({100, 200}, {2, 1});  // [2,1]
  const Tensor sum_row = a + row;
  const Tensor outer = column * row;  // [2,1] * [3] -> [2,3]
  std::printf("a [2,3] + [3] =\n");
  print_matrix(sum_row);
  std::printf("[2,1] * [3] = [2,3]:\n");
  print_matrix(outer);
  check(sum_row.shape() == qg::Shape{2, 3} && sum_row.at({1, 2}) == 35.0f, "a(1,2) + row(2) = 5 + 30");
  check(outer.shape() == qg::Shape{2, 3} && outer.at({1, 0}) == 2000.0f, "column(1) * row(0) = 200 * 10");
  try {
    a + Tensor::ones({4});
    check(false, "[2,3] + [4] throws");
  } catch (const std::invalid_argument& error) {
    std::printf("[2,3] + [4] throws: %s\n", error.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  int part = 0;  // 0: all parts
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--part" && i + 1 < argc) {
      part = (std::string(argv[++i]).size() == 1 ? argv[i][0] - '0' : -1);
    } else if (arg != "--test") {
      std::fprintf(stderr, "01_tensors: unknown argument '%s' (expected: --test, --part 1..4)\n", argv[i]);
      return 2;
    }
  }
  if (part < 0 || part > 4) {
    std::fprintf(stderr, "01_tensors: --part must be 1..4\n");
    return 2;
  }
  const std::vector<void (*)()> parts{creating, strides_and_offsets, views, broadcasting};
  for (int p = 1; p <= 4; ++p) {
    if (part != 0 && part != p) continue;
    if (part == 0 && p > 1) std::printf("\n");
    parts[p - 1]();
  }
  if (course::failures()) {
    std::fprintf(stderr, "01_tensors: %d check(s) failed\n", course::failures());
    return 1;
  }
  return 0;
}
