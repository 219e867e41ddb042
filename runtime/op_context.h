// OpContext: how an op computes one sample, besides its input and output (see Op in runtime/op.h).
#pragma once

#include "runtime/output_stage.h"
#include "runtime/scratch.h"

namespace qg::runtime {

/// Which kernel an op runs: the fast one where it exists, or always the naive reference.
enum class KernelChoice { Fast, Reference };

struct OpContext {
  RequantMode mode = RequantMode::Integer;  ///< the conv/linear/mul_add requantization
  KernelChoice kernels = KernelChoice::Fast;
  Scratch& scratch;  ///< the calling thread's working memory, reused from sample to sample
};

}  // namespace qg::runtime
