// A picture of the recorded graph: to_dot writes the graph that produced a tensor in Graphviz's DOT
// language (https://graphviz.org/doc/info/lang.html), the C++ counterpart of PyTorch's torchviz.
//
//     Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});    // data: no gradient
//     Tensor w = Tensor::ones({3, 1}).set_requires_grad(true);       // parameters
//     Tensor b = Tensor::zeros({1}).set_requires_grad(true);
//     Tensor loss = sum(matmul(x, w) + b);
//     std::cout << to_dot(loss, {{"w", w}, {"b", b}});
//
// prints (tests/autograd/dot_test.cpp checks this very text; render it with `dot -Tsvg graph.dot -o graph.svg`)
//
//     digraph autograd {
//       node [fontname="monospace", fontsize=10];
//       const0 [label="[2,3]\nno grad", shape=box, style=dashed, color=gray];
//       leaf1 [label="w\n[3,1]\nrequires_grad", shape=box, style=filled, fillcolor=lightblue];
//       op2 [label="matmul\n[2,1]", shape=ellipse];
//       leaf3 [label="b\n[1]\nrequires_grad", shape=box, style=filled, fillcolor=lightblue];
//       op4 [label="add\n[2,1]", shape=ellipse];
//       op5 [label="sum\n[]", shape=ellipse, style=bold];
//       const0 -> op2;
//       leaf1 -> op2;
//       op2 -> op4;
//       leaf3 -> op4;
//       op4 -> op5;
//     }
//
// What is drawn:
//   * one ellipse per recorded op (a Node: the Function's `name`), labelled with the shape of its output ([] for a
//     scalar);
//     the op that produced the root is drawn bold;
//   * one blue box per leaf tensor that requires grad (where backward() accumulates .grad), labelled with its
//     name from `names` when given, its shape and "requires_grad";
//   * one dashed grey box per tensor input that does not require grad (data, constants): the node keeps no
//     edge to it, because no gradient will flow there, so the dump knows only its shape;
//   * arrows in the direction data flows in the forward pass (input -> op), in the order of the op's
//     arguments. backward() walks them the other way.
// Undefined tensor arguments (a layer without bias) are left out. Ids are numbered in forward order (every
// input before the op that reads it, arguments in order), so the same program always prints the same text.
// Nothing is computed; the graph is only read.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace qg {

/// Names for leaf tensors in the dump, e.g. {{"w", w}} or a module's named_parameters().
using DotNames = std::vector<std::pair<std::string, Tensor>>;

/// The graph that produced `root`, in DOT. A root without history (a leaf, or a tensor computed without
/// recording) gives a graph of that one tensor. Throws std::invalid_argument for an undefined root.
std::string to_dot(const Tensor& root, const DotNames& names = {});

}  // namespace qg
