// Observer state (quant/observer.h): what a QAT checkpoint saves so that a resumed run quantizes exactly as
// the uninterrupted one. Each observer restored from its state must continue exactly as the original.
#include <gtest/gtest.h>

#include <functional>

#include "quant/observers/minmax_observer.h"
#include "quant/observers/percentile_observer.h"

namespace qg::quant {
namespace {

Tensor batch(uint64_t seed, Shape shape = {4, 3, 5}) {
  Generator gen(seed);
  return Tensor::randn(shape, gen);
}

// Observes `first` with `original`, moves its state into `restored`, then observes `second` with both.
void expect_restored_continues_alike(Observer& original, Observer& restored) {
  original.observe(batch(1));
  restored.load_state(original.state());
  EXPECT_EQ(restored.state().scalars, original.state().scalars);
  EXPECT_EQ(restored.state().values, original.state().values);
  original.observe(batch(2));
  restored.observe(batch(2));
  EXPECT_EQ(restored.range(), original.range());
  const QParams a = original.qparams(), b = restored.qparams();
  EXPECT_EQ(a.scale, b.scale);
  EXPECT_EQ(a.zero_point, b.zero_point);
  EXPECT_EQ(restored.state().values, original.state().values);
}

TEST(ObserverState, MinMaxRestoresAndContinues) {
  MinMaxObserver a({8}), b({8});
  expect_restored_continues_alike(a, b);
}

TEST(ObserverState, MovingAverageRestoresAndContinues) {
  MovingAverageMinMaxObserver a({8}, 0.25f), b({8}, 0.25f);
  expect_restored_continues_alike(a, b);
}

TEST(ObserverState, PerChannelRestoresAndContinues) {
  PerChannelMinMaxObserver a({4}), b({4});
  expect_restored_continues_alike(a, b);
  EXPECT_EQ(a.state().scalars["channels"], 4);
}

TEST(ObserverState, PercentileRestoresItsHistogram) {
  // 16 bins, and a second batch that widens the range: the restored observer must merge its old bins
  // exactly as the original does.
  PercentileObserver a({8}, 99.0, 16), b({8}, 99.0, 16);
  expect_restored_continues_alike(a, b);
  const ObserverState saved = a.state();
  const size_t used = saved.scalars["used"].size();
  EXPECT_GT(used, 1u);
  EXPECT_EQ(saved.values.size(), 2 * used);  // each bin in use: its min, then its max
  EXPECT_EQ(saved.scalars["seen"], 120);
  PercentileObserver fresh({8}, 99.0, 16);
  const auto refused = [&](const char* what, const std::function<void(ObserverState&)>& spoil) {
    ObserverState bad = saved;
    spoil(bad);
    EXPECT_THROW(fresh.load_state(bad), std::invalid_argument) << what;
  };
  for (const char* key : {"used", "counts", "low", "width", "seen"})
    refused(key, [&](ObserverState& s) { s.scalars.erase(key); });
  refused("a count off by one",
          [](ObserverState& s) { s.scalars["counts"][0] = s.scalars["counts"][0].get<uint64_t>() + 1; });
  refused("a min above its max", [&](ObserverState& s) { s.values[0] = s.values[used] + 1.0f; });
  refused("bins out of order",
          [](ObserverState& s) { std::swap(s.scalars["used"][0], s.scalars["used"][1]); });
  refused("a bin beyond the last", [](ObserverState& s) { s.scalars["used"][0] = 16; });
  refused("a value short", [](ObserverState& s) { s.values.pop_back(); });
  refused("other bins", [](ObserverState& s) { s.scalars["bins"] = 32; });
  refused("a negative width", [](ObserverState& s) { s.scalars["width"] = -1.0; });
  EXPECT_FALSE(fresh.has_observed()) << "a refused state leaves the observer as it was";
}

TEST(ObserverState, BeforeAnyObservationRoundTrips) {
  MinMaxObserver a({8}), b({8});
  b.load_state(a.state());
  EXPECT_FALSE(b.has_observed());
  PerChannelMinMaxObserver c({8}), d({8});
  d.load_state(c.state());
  EXPECT_FALSE(d.has_observed());
}

TEST(ObserverState, RefusesTheStateOfAnotherObserverOrOptions) {
  MinMaxObserver minmax({8});
  minmax.observe(batch(3));
  MovingAverageMinMaxObserver moving({8}, 0.1f);
  EXPECT_THROW(moving.load_state(minmax.state()), std::invalid_argument);
  MovingAverageMinMaxObserver other_momentum({8}, 0.5f);
  moving.observe(batch(3));
  EXPECT_THROW(other_momentum.load_state(moving.state()), std::invalid_argument);
  PercentileObserver p99({8}, 99.0, 64), p90({8}, 90.0, 64);
  p99.observe(batch(4));
  EXPECT_THROW(p90.load_state(p99.state()), std::invalid_argument);
}

TEST(ObserverState, RefusesMalformedFieldsAndLeavesTheObserverAsItWas) {
  MinMaxObserver source({8}), target({8});
  source.observe(batch(5));
  target.observe(batch(6));
  const auto before = target.range();
  for (const char* key : {"observed", "min", "max", "type"}) {
    ObserverState bad = source.state();
    bad.scalars[key] = "not a value";
    EXPECT_THROW(target.load_state(bad), std::invalid_argument) << key;
  }
  ObserverState inverted = source.state();
  inverted.scalars["min"] = 5.0f;
  inverted.scalars["max"] = -5.0f;
  EXPECT_THROW(target.load_state(inverted), std::invalid_argument);
  EXPECT_EQ(target.range(), before);

  PerChannelMinMaxObserver channels({8});
  channels.observe(batch(7));
  ObserverState short_values = channels.state();
  short_values.values.pop_back();
  PerChannelMinMaxObserver other({8});
  EXPECT_THROW(other.load_state(short_values), std::invalid_argument);
  EXPECT_FALSE(other.has_observed());
}

}  // namespace
}  // namespace qg::quant
