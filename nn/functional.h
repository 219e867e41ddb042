// The functional forms of the nn layers: stateless, differentiable functions. Layers (nn/layers.h)
// hold parameters and call these; QAT modules call them with fake-quantized weights.
#pragma once

#include "nn/functional/activation.h"
#include "nn/functional/batch_norm.h"
#include "nn/functional/batch_norm_max_pool2d.h"
#include "nn/functional/conv2d.h"
#include "nn/functional/conv2d_max_pool2d.h"
#include "nn/functional/dropout.h"
#include "nn/functional/linear.h"
#include "nn/functional/loss.h"
#include "nn/functional/pooling.h"
