#include "app/inspect.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace qg::app {

namespace {

// JSON has no infinity: an error-free part is reported as null (and printed as "-").
nlohmann::json decibels(double db) {
  return std::isfinite(db) ? nlohmann::json(db) : nlohmann::json();
}

std::string decibels_text(double db) {
  if (!std::isfinite(db)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", db);
  return buf;
}

// The grid: one scale, or the smallest, median and largest of the per-channel scales.
nlohmann::json grid_json(const quant::QParams& q) {
  if (!q.per_channel()) return {{"scale", q.scale[0]}, {"zero_point", q.zero_point[0]}};
  std::vector<float> s = q.scale;
  std::sort(s.begin(), s.end());
  return {{"scale_min", s.front()},
          {"scale_median", s[s.size() / 2]},
          {"scale_max", s.back()},
          {"channels", s.size()},
          {"zero_point", q.zero_point[0]}};
}

// "S 0.25 Z 3 [-0.75, 1]": the step, the zero point and the float range the codes cover (per channel: the
// smallest and largest step).
std::string grid_text(const quant::QParams& q) {
  char buf[96];
  if (!q.per_channel()) {
    const float lo = q.scale[0] * static_cast<float>(q.spec.qmin() - q.zero_point[0]);
    const float hi = q.scale[0] * static_cast<float>(q.spec.qmax() - q.zero_point[0]);
    std::snprintf(buf, sizeof buf, "S %.4g Z %d [%.3g, %.3g]", q.scale[0], q.zero_point[0], lo, hi);
  } else {
    const auto [lo, hi] = std::minmax_element(q.scale.begin(), q.scale.end());
    std::snprintf(buf, sizeof buf, "S %.3g..%.3g x%zu", *lo, *hi, q.channels());
  }
  return buf;
}

nlohmann::json point_json(const std::string& name, const quant::QuantPoint& p) {
  nlohmann::json out = {{"point", name}, {"kind", p.kind()}};
  quant::QParams q;
  try {
    q = p.qparams();
  } catch (const std::logic_error&) {
    return out;  // never saw a tensor
  }
  out["bits"] = q.spec.bits;
  out["signed"] = q.spec.is_signed;
  out["grid"] = grid_json(q);
  if (!p.stats()) return out;
  const quant::QuantStats& s = *p.stats();
  out["values"] = s.values;
  out["sqnr_db"] = decibels(s.sqnr_db());
  out["rounding_sqnr_db"] = decibels(s.rounding_sqnr_db());
  out["clipping_sqnr_db"] = decibels(s.clipping_sqnr_db());
  out["clamped_share"] = s.clamped_share();
  out["ste_zero_share"] = p.clips_gradient() ? s.clamped_share() : 0.0;
  if (s.track_codes) {
    out["codes"] = s.last_codes.size();
    out["codes_changed"] = s.codes_changed();
    out["code_flips"] = s.step_flips;
  }
  return out;
}

// What the columns mean (docs/05-quantization.md, section 5.8).
constexpr const char* kInspectionLegend =
    R"(  layer: the config's layer number (a fused BatchNorm and ReLU belong to their conv or linear). grid: step S,
  zero point Z and the float range the codes cover. SQNR, round, clip: signal-to-quantization-noise ratio
  in dB over the epoch, of the whole error, of the rounding error inside the range only, and of the
  clipping error outside it only (higher is better; - means no such error). clamped: share of values
  outside the range. STE=0: share of values whose straight-through gradient was zero (the clipped STE and
  learned steps zero it outside the range; the tutorial's identity STE never does). weight codes changed:
  weights whose code differs between the epoch's first and last step, and in brackets the code changes
  summed over all steps.
)";

}  // namespace

void set_inspecting(quant::QatModel& model, bool on, bool track_weight_codes) {
  for (const auto& layer : model.layers()) {
    for (auto& [name, point] : layer->quant_points()) {
      point->set_inspecting(false, false);  // a fresh start
      point->set_inspecting(on, track_weight_codes && name == "weight");
    }
  }
}

void start_inspection_epoch(quant::QatModel& model) {
  for (const auto& layer : model.layers()) {
    for (auto& [name, point] : layer->quant_points()) {
      if (point->stats()) point->stats()->start_epoch();
    }
  }
}

nlohmann::json inspection_json(quant::QatModel& model) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& layer : model.layers()) {
    const auto points = layer->quant_points();
    if (points.empty()) continue;
    nlohmann::json entry = {
        {"layer", layer->source_layer()}, {"type", layer->type_name()}, {"points", nlohmann::json::array()}};
    for (const auto& [name, point] : points)
      entry["points"].push_back(point_json(name, *point));
    layers.push_back(entry);
  }
  return layers;
}

std::string inspection_table(quant::QatModel& model, const std::string& title) {
  std::string out = title + "\n";
  char line[256];
  std::snprintf(line, sizeof line, "  %-16s %-6s %-6s %4s  %-36s %6s %6s %6s %8s %7s  %s\n", "layer", "point",
                "kind", "bits", "grid", "SQNR", "round", "clip", "clamped", "STE=0",
                "weight codes changed (step flips)");
  out += line;
  for (const auto& layer : model.layers()) {
    const std::string name = std::to_string(layer->source_layer()) + " " + layer->type_name();
    for (const auto& [point_name, point] : layer->quant_points()) {
      const nlohmann::json p = point_json(point_name, *point);
      if (!p.contains("grid")) continue;
      const auto db = [&](const char* key) {
        return p.contains(key) && p[key].is_number() ? decibels_text(p[key].get<double>()) : std::string("-");
      };
      const auto share = [&](const char* key) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%.2f%%", p.contains(key) ? 100.0 * p[key].get<double>() : 0.0);
        return std::string(buf);
      };
      std::string codes;
      if (p.contains("codes")) {
        codes = std::to_string(p["codes_changed"].get<int64_t>()) + " of " +
                std::to_string(p["codes"].get<size_t>()) + " (" +
                std::to_string(p["code_flips"].get<int64_t>()) + ")";
      }
      std::snprintf(line, sizeof line, "  %-16s %-6s %-6s %4d  %-36s %6s %6s %6s %8s %7s  %s\n", name.c_str(),
                    point_name.c_str(), point->kind().c_str(), p["bits"].get<int>(),
                    grid_text(point->qparams()).c_str(), db("sqnr_db").c_str(),
                    db("rounding_sqnr_db").c_str(), db("clipping_sqnr_db").c_str(),
                    share("clamped_share").c_str(), share("ste_zero_share").c_str(), codes.c_str());
      out += line;
    }
  }
  return out + kInspectionLegend;
}

}  // namespace qg::app
