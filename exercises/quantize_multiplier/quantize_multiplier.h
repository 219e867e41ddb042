// Exercise quantize_multiplier (chapter 7): the declaration the check calls. Write the definition in your
// copy of starter.cpp (scripts/exercise start quantize_multiplier); the task is described there.
#pragma once

#include "runtime/requantize.h"

namespace exercise {

qg::runtime::QuantizedMultiplier quantize_multiplier(double real_multiplier);

}  // namespace exercise
