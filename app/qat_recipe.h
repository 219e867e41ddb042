// From a config's quant section to the objects a quantization run uses: each layer's QuantSettings, the QAT
// optimizer (learned step sizes without weight decay) and the learning-rate schedule.
#pragma once

#include <memory>
#include <vector>

#include "config/model_config.h"
#include "config/quant_recipe.h"
#include "nn/optim/lr_schedule.h"
#include "nn/optim/optimizer.h"
#include "quant/qat_model.h"

namespace qg::app {

/// One QuantSettings per layer of `config` (prepare_qat reads those of conv2d/linear layers, lone BatchNorms
/// and the first layer that quantizes the model input), from config::resolve_layer_quant and the method's
/// recipe. Any other layer takes the settings of the nearest conv2d/linear before it, or, before the first,
/// of the first with its output at the model input's width (input_bits):
///   tutorial  weights and activations share `signed`/`symmetric`; observer and STE as configured
///   ema       weights signed and symmetric, activations unsigned with a zero point
///   lsq       weights signed and symmetric with learned step sizes; activations unsigned, LSQ+ where they
///             can be negative; 1-bit weights are binary
///   binary    as lsq (its weights are binary wherever their width is 1)
std::vector<quant::QuantSettings> layer_settings(const config::ModelConfig& config);

/// SGD or Adam over the QAT model's parameters in two groups: the network's (weight decay as configured) and
/// the quantizers' learned step sizes and zero points (no weight decay).
std::unique_ptr<nn::Optimizer> make_qat_optimizer(const config::QuantRecipe& recipe, quant::QatModel& model);

/// The recipe's learning-rate schedule over `steps_per_epoch` * qat_epochs steps.
nn::LrSchedule qat_lr_schedule(const config::QuantRecipe& recipe, int64_t steps_per_epoch);

/// Whether the observers / BatchNorm statistics are frozen during QAT epoch `epoch` (1-based): after
/// freeze_observers_epoch / freeze_bn_epoch epochs.
bool observers_frozen_in(const config::QuantRecipe& recipe, int64_t epoch);
bool bn_frozen_in(const config::QuantRecipe& recipe, int64_t epoch);

}  // namespace qg::app
