// A synthetic stand-in for MNIST that needs no download: ten fixed random 28x28 "prototype" images, one
// per class, and samples that are a prototype plus uniform noise, as uint8 pixels. A small CNN learns it
// in a few dozen SGD steps, so the tests and the examples' --test mode get a *trained* model with
// confident, realistic logits (and real calibration ranges) in a fraction of a second, without data/mnist.
//
//   const data::MnistDataset train = data::synthetic_digits(1024, 1);   // 1024 images, labels 0..9
//   const data::MnistDataset test = data::synthetic_digits(256, 2);     // another draw, same prototypes
//
// The pixels are part of what the tests expect: for a given (n, seed) they must never change.
#pragma once

#include <cstdint>

#include "datasets/mnist.h"

namespace qg::data {

/// `n` synthetic 28x28 digits (n >= 0), as an in-memory MnistDataset with MNIST's normalisation
/// {0.1307, 0.3081}.
///
/// The ten prototypes are the same for every call: each pixel is 1 with probability 0.2, else 0, drawn
/// from Generator(12345). Then, from Generator(seed), each sample draws its label uniformly in [0, 10) and
/// each of its 784 pixels as
///
///   pixel = min(255, 255 * (0.8 * prototype[label][p] + u)),   u ~ U[0, 0.35)   (truncated to uint8)
///
/// so a prototype's "ink" is about 204..255 and the background 0..89. Sets with the same seed are
/// identical; the first k images of synthetic_digits(n, s) are synthetic_digits(k, s) for k <= n.
/// Throws std::invalid_argument if n < 0.
MnistDataset synthetic_digits(int64_t n, uint64_t seed);

}  // namespace qg::data
