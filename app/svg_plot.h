// A minimal line chart written as SVG text (no plotting library needed): accuracy against bit width, in
// the manner of the tutorial's figure.
#pragma once

#include <string>
#include <vector>

namespace qg::app {

struct Series {
  std::string label;
  std::string color;  // CSS colour
  bool dashed = false;
  std::vector<double> x, y;  // same length; y NaN = no value there (a diverged run): a cross on the x axis
                             // labelled "diverged", and the line broken around it
};

struct ChartOptions {
  std::string title;
  std::string x_label, y_label;
  double y_min = 0, y_max = 100;
  int width = 720, height = 440;
};

std::string line_chart_svg(const std::vector<Series>& series, const ChartOptions& options);

}  // namespace qg::app
