#include "app/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace qg::app {

namespace {

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string line_chart_svg(const std::vector<Series>& series, const ChartOptions& o) {
  const double left = 70, right = 190, top = 50, bottom = 60;
  const double plot_w = o.width - left - right, plot_h = o.height - top - bottom;
  double x_min = 1e300, x_max = -1e300;
  for (const Series& s : series) {
    for (double x : s.x) {
      x_min = std::min(x_min, x);
      x_max = std::max(x_max, x);
    }
  }
  if (!(x_max > x_min)) x_max = x_min + 1;
  const auto px = [&](double x) { return left + (x - x_min) / (x_max - x_min) * plot_w; };
  const auto py = [&](double y) {
    return top + (1.0 - (std::clamp(y, o.y_min, o.y_max) - o.y_min) / (o.y_max - o.y_min)) * plot_h;
  };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << o.width << "\" height=\"" << o.height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << o.width / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">"
      << escape(o.title) << "</text>\n";
  // Grid and axes.
  for (int i = 0; i <= 10; ++i) {
    const double y = o.y_min + (o.y_max - o.y_min) * i / 10.0;
    svg << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << py(y) << "\" y2=\"" << py(y)
        << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 8 << "\" y=\"" << py(y) + 4
        << "\" text-anchor=\"end\">" << y << "</text>\n";
  }
  for (double x = std::ceil(x_min); x <= x_max; x += 1) {
    svg << "<text x=\"" << px(x) << "\" y=\"" << top + plot_h + 18 << "\" text-anchor=\"middle\">" << x
        << "</text>\n";
  }
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\"" << plot_h
      << "\" fill=\"none\" stroke=\"black\"/>\n"
      << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << o.height - 18 << "\" text-anchor=\"middle\">"
      << escape(o.x_label) << "</text>\n"
      << "<text transform=\"translate(18," << top + plot_h / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
      << escape(o.y_label) << "</text>\n";
  // Series and legend.
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    // One polyline per run of values, broken where a value is missing (NaN).
    for (size_t begin = 0; begin < s.x.size();) {
      if (std::isnan(s.y[begin])) {
        ++begin;
        continue;
      }
      size_t end = begin;
      while (end < s.x.size() && !std::isnan(s.y[end]))
        ++end;
      svg << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"2\""
          << (s.dashed ? " stroke-dasharray=\"6,4\"" : "") << " points=\"";
      for (size_t i = begin; i < end; ++i)
        svg << px(s.x[i]) << "," << py(s.y[i]) << " ";
      svg << "\"/>\n";
      begin = end;
    }
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (std::isnan(s.y[i])) {  // a cross on the axis, labelled (stacked when several series miss there)
        const double cx = px(s.x[i]), cy = py(o.y_min) - 6 - 14.0 * k;
        svg << "<path d=\"M" << cx - 5 << "," << cy - 5 << " L" << cx + 5 << "," << cy + 5 << " M" << cx - 5
            << "," << cy + 5 << " L" << cx + 5 << "," << cy - 5 << "\" stroke=\"" << s.color
            << "\" stroke-width=\"2\"/>\n<text x=\"" << cx + 8 << "\" y=\"" << cy + 4
            << "\" font-size=\"10\" fill=\"" << s.color << "\">diverged</text>\n";
        continue;
      }
      svg << "<circle cx=\"" << px(s.x[i]) << "\" cy=\"" << py(s.y[i]) << "\" r=\"3\" fill=\"" << s.color
          << "\"/>\n";
    }
    const double ly = top + 10 + 20.0 * k;
    svg << "<line x1=\"" << left + plot_w + 12 << "\" x2=\"" << left + plot_w + 40 << "\" y1=\"" << ly
        << "\" y2=\"" << ly << "\" stroke=\"" << s.color << "\" stroke-width=\"2\""
        << (s.dashed ? " stroke-dasharray=\"6,4\"" : "") << "/>\n<text x=\"" << left + plot_w + 46
        << "\" y=\"" << ly + 4 << "\">" << escape(s.label) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace qg::app
