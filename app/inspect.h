// `train_qat --inspect` and `ptq --inspect`: what each quantizer does to the network, layer by layer.
//
// For every quantization point (a layer's input, weight and output) it reports the grid (S and Z, or the
// learned step), the quantization error as SQNR in dB split into its rounding and clipping parts, the share
// of values clamped, the share of STE gradients that are zero (clamped values under a clipping STE), and for
// weights how many integer codes changed level during each QAT epoch and how often codes flipped between
// consecutive steps. Statistics come from quant::QuantStats (quant/quant_stats.h): during each QAT epoch (the
// grids move while they are measured) and, after freeze(), over the test set with the final grids.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "quant/qat_model.h"

namespace qg::app {

/// Turns statistics on (or off) at every quantization point of `model`; with `track_weight_codes` the weight
/// points also keep their integer codes (to count code changes during training).
void set_inspecting(quant::QatModel& model, bool on, bool track_weight_codes = true);
/// Starts a new epoch's statistics at every point (the codes of the last step become the epoch's start).
void start_inspection_epoch(quant::QatModel& model);
/// Every point's statistics so far: [{"layer": 0, "type": "QConvBNReLU", "points": [{"point": "weight",
/// ...}]}].
nlohmann::json inspection_json(quant::QatModel& model);
/// The same as a text table, one line per point, under `title`.
std::string inspection_table(quant::QatModel& model, const std::string& title);

}  // namespace qg::app
