#include "quant/observer.h"

#include <stdexcept>

#include "quant/observers/minmax_observer.h"
#include "quant/observers/percentile_observer.h"

namespace qg::quant {

void Observer::check_state_type(const ObserverState& state) const {
  const nlohmann::json type =
      state.scalars.is_object() ? state.scalars.value("type", nlohmann::json()) : nlohmann::json();
  if (!type.is_string() || type.get<std::string>() != type_name()) {
    throw std::invalid_argument(type_name() + " observer: cannot load the state of a \"" +
                                (type.is_string() ? type.get<std::string>() : type.dump()) + "\" observer");
  }
}

std::unique_ptr<Observer> make_observer(const ObserverOptions& o) {
  switch (o.kind) {
    case ObserverKind::MinMax:
      return std::make_unique<MinMaxObserver>(o.spec);
    case ObserverKind::MovingAverageMinMax:
      return std::make_unique<MovingAverageMinMaxObserver>(o.spec, o.momentum);
    case ObserverKind::PerChannelMinMax:
      return std::make_unique<PerChannelMinMaxObserver>(o.spec);
    case ObserverKind::Percentile:
      return std::make_unique<PercentileObserver>(o.spec, o.percentile);
  }
  throw std::logic_error("make_observer: unknown kind");
}

ObserverKind parse_observer_kind(const std::string& name) {
  if (name == "minmax") return ObserverKind::MinMax;
  if (name == "moving_average_minmax") return ObserverKind::MovingAverageMinMax;
  if (name == "per_channel_minmax") return ObserverKind::PerChannelMinMax;
  if (name == "percentile" || name == "histogram") return ObserverKind::Percentile;
  throw std::invalid_argument(
      "unknown observer \"" + name +
      "\" (expected minmax, moving_average_minmax, per_channel_minmax or percentile)");
}

}  // namespace qg::quant
