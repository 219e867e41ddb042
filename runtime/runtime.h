// The integer-only inference runtime in one include: models, their ops, running them, model files.
// It depends on nothing else in quantgrad (no core/, no autograd/): it is what a deployed model links.
// The arithmetic and the file format are explained in docs/runtime.md.
#pragma once

#include "runtime/int_tensor.h"
#include "runtime/model.h"
#include "runtime/model_file.h"
#include "runtime/model_json.h"
#include "runtime/op.h"
#include "runtime/output_stage.h"
#include "runtime/quant_params.h"
#include "runtime/quantized_weights.h"
#include "runtime/requantize.h"
#include "runtime/run.h"
