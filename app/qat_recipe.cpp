#include "app/qat_recipe.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "nn/optim/adam.h"
#include "nn/optim/sgd.h"

namespace qg::app {

namespace {

quant::QuantSettings settings_of(const config::QuantRecipe& recipe, const config::LayerQuantRecipe& layer) {
  quant::QuantSettings s;
  s.method = quant::parse_qat_method(layer.method);
  const int wbits = static_cast<int>(layer.weight_bits), abits = static_cast<int>(layer.activation_bits);
  const int ibits = static_cast<int>(layer.input_bits);
  switch (s.method) {
    case quant::QatMethod::Tutorial:  // today's behaviour: one signedness for everything
      s.weight = {wbits, recipe.is_signed, recipe.symmetric};
      s.activation = {abits, recipe.is_signed, recipe.symmetric};
      s.input = quant::QuantSpec{ibits, recipe.is_signed, recipe.symmetric};
      break;
    case quant::QatMethod::Ema:
      s.weight = {wbits, recipe.is_signed, recipe.symmetric};
      s.activation = {abits, false, false};
      s.input = quant::QuantSpec{ibits, false, false};
      break;
    case quant::QatMethod::Lsq:
    case quant::QatMethod::Binary:
      s.weight = {wbits, true, true};
      s.activation = {abits, false, false};
      s.input = quant::QuantSpec{ibits, false, false};
      break;
  }
  s.activation_observer = quant::parse_observer_kind(recipe.observer);
  s.per_channel_weights = recipe.per_channel;
  s.observer_momentum = static_cast<float>(recipe.observer_momentum);
  s.percentile = recipe.percentile;
  s.ste = recipe.ste == "identity" ? quant::Ste::Identity : quant::Ste::Clipped;
  s.fuse_relu = s.method != quant::QatMethod::Tutorial;
  return s;
}

}  // namespace

std::vector<quant::QuantSettings> layer_settings(const config::ModelConfig& config) {
  const config::QuantRecipe recipe = config::resolve_quant(config.quant);
  const std::vector<config::LayerQuantRecipe> weighted = config::resolve_layer_quant(config);
  std::vector<quant::QuantSettings> out(config.layers.size());
  // Without a conv/linear no layer has a recipe (such a model cannot end in [classes] for 28x28 images);
  // prepare_qat refuses it unless a BatchNorm or pool is left, which then gets the default settings.
  if (weighted.empty()) return out;
  // The other layers follow the nearest conv/linear before them: a lone BatchNorm's output keeps the width
  // of the activation it normalises. Before the first conv/linear they follow it, at the model input's width
  // (an average pool or a BatchNorm there quantizes the model input and works on it).
  size_t next = 0;
  for (size_t i = 0; i < config.layers.size(); ++i) {
    if (next < weighted.size() && weighted[next].layer == i) {
      out[i] = settings_of(recipe, weighted[next++]);
    } else if (next > 0) {
      out[i] = out[weighted[next - 1].layer];
    } else {
      out[i] = settings_of(recipe, weighted.front());
      out[i].activation = out[i].input_spec();
    }
  }
  return out;
}

std::unique_ptr<nn::Optimizer> make_qat_optimizer(const config::QuantRecipe& recipe, quant::QatModel& model) {
  const std::vector<Tensor> quantizer = model.quantizer_parameters();
  std::set<const void*> is_quantizer;
  for (const Tensor& t : quantizer)
    is_quantizer.insert(t.data());
  nn::ParamGroup network{{}, std::nullopt}, steps{quantizer, 0.0};
  for (const Tensor& p : model.parameters()) {
    if (!is_quantizer.count(p.data())) network.params.push_back(p);
  }
  const std::vector<nn::ParamGroup> groups{network, steps};
  if (recipe.qat_optimizer == "adam") {
    return std::make_unique<nn::Adam>(
        groups, nn::AdamOptions{.lr = recipe.qat_lr, .weight_decay = recipe.weight_decay});
  }
  return std::make_unique<nn::Sgd>(
      groups, nn::SgdOptions{
                  .lr = recipe.qat_lr, .momentum = recipe.qat_momentum, .weight_decay = recipe.weight_decay});
}

nn::LrSchedule qat_lr_schedule(const config::QuantRecipe& recipe, int64_t steps_per_epoch) {
  nn::LrSchedule s;
  s.kind = nn::parse_lr_schedule(recipe.lr_schedule);
  s.base_lr = recipe.qat_lr;
  s.total_steps = recipe.qat_epochs * steps_per_epoch;
  s.step_size = std::max<int64_t>(1, recipe.lr_step_epochs * steps_per_epoch);
  s.gamma = recipe.lr_gamma;
  s.warmup_steps =
      static_cast<int64_t>(std::llround(recipe.warmup_epochs * static_cast<double>(steps_per_epoch)));
  return s;
}

bool observers_frozen_in(const config::QuantRecipe& recipe, int64_t epoch) {
  return recipe.freeze_observers_epoch != config::QuantConfig::kNever &&
         epoch > recipe.freeze_observers_epoch;
}

bool bn_frozen_in(const config::QuantRecipe& recipe, int64_t epoch) {
  return recipe.freeze_bn_epoch != config::QuantConfig::kNever && epoch > recipe.freeze_bn_epoch;
}

}  // namespace qg::app
