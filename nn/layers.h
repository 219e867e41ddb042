// The nn layers (Modules). Each holds its parameters and calls the functional form in nn/functional/.
#pragma once

#include "nn/layers/activation.h"
#include "nn/layers/add.h"
#include "nn/layers/batch_norm2d.h"
#include "nn/layers/concat.h"
#include "nn/layers/conv2d.h"
#include "nn/layers/cross_entropy_loss.h"
#include "nn/layers/dropout.h"
#include "nn/layers/flatten.h"
#include "nn/layers/graph.h"
#include "nn/layers/linear.h"
#include "nn/layers/pooling.h"
#include "nn/layers/sequential.h"
#include "nn/module.h"
