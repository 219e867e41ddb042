#include <gtest/gtest.h>

#include "app/progress.h"
#include "app/svg_plot.h"

namespace qg::app {
namespace {

TEST(ProgressBar, RendersRateAndEta) {
  // 30,000 of 60,000 images in 3 s: 10,000 img/s, 3 s to go.
  EXPECT_EQ(ProgressBar::render("Train", 30000, 60000, 3.0, 10),
            "Train [=====>    ] 30000/60000  10000 img/s  ETA 3s");
  EXPECT_EQ(ProgressBar::render("Train", 0, 100, 0.0, 4), "Train [>   ] 0/100");
  EXPECT_EQ(ProgressBar::render("QAT", 100, 100, 2.0, 4), "QAT [====] 100/100  50 img/s  ETA 0s");
}

TEST(ProgressBar, FormatsDurations) {
  EXPECT_EQ(format_duration(12.4), "12s");
  EXPECT_EQ(format_duration(187), "3m07s");
  EXPECT_EQ(format_duration(3720), "1h02m");
  EXPECT_EQ(format_duration(-5), "0s");
}

TEST(SvgPlot, DrawsEverySeriesAndEscapesText) {
  const std::string svg = line_chart_svg({{"ours <int8>", "#d62728", false, {1, 2, 3}, {10, 50, 90}},
                                          {"theirs", "#1f77b4", true, {1, 2, 3}, {20, 40, 95}}},
                                         {"accuracy & bits", "bits", "accuracy", 0, 100, 600, 400});
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("ours &lt;int8&gt;"), std::string::npos);
  EXPECT_NE(svg.find("accuracy &amp; bits"), std::string::npos);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
  size_t polylines = 0;
  for (size_t p = svg.find("<polyline"); p != std::string::npos; p = svg.find("<polyline", p + 1))
    ++polylines;
  EXPECT_EQ(polylines, 2u);
}

}  // namespace
}  // namespace qg::app
