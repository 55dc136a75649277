//===- Plots.cpp - the trainer's timeline and history plots ---------------===//
//
// Each panel is a box with its series: runs of drawable points become
// lines, lone points markers. Axis ranges come from the drawable values
// only and are widened when empty or flat, because PLplot refuses a window
// of zero height (and would print a warning per refusal).
//
//===----------------------------------------------------------------------===//
#include "neuromancer/train/Plots.h"

#include "neuromancer/train/PlotStream.h"

#include <plplot.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace nm {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Finite and small enough that PLplot's axis arithmetic stays finite.
bool drawable(double v) { return std::isfinite(v) && std::abs(v) <= 1e300; }

/// PLplot reads '#' as its escape character.
std::string escaped(const std::string &text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '#')
      out += '#';
  }
  return out;
}

/// The span of the drawable values added, as an axis range that is never
/// empty or flat.
struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();

  void add(double v) {
    if (drawable(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  void add(const std::vector<double> &values) {
    for (double v : values)
      add(v);
  }
  bool empty() const { return !(lo <= hi); }
  /// 5 % margins; a flat range is opened by 10 % of its value (1 at 0).
  std::pair<double, double> axis() const {
    if (empty())
      return {0, 1};
    double span = hi - lo;
    double scale = std::max(std::abs(lo), std::abs(hi));
    double pad = span > 1e-9 * scale ? 0.05 * span
                 : scale > 0         ? 0.1 * scale
                                     : 1.0;
    return {lo - pad, hi + pad};
  }
};

/// One curve of a panel.
struct Series {
  std::vector<double> x, y;
  int colour = kBlue;
  std::string label;
  int lineStyle = 1; // PLplot: 1 solid, 2 dashed
  double width = 1.5;
};

/// A box with curves on a left axis and, optionally, a right (twin) axis.
struct Panel {
  double vx0, vx1, vy0, vy1; // viewport, in page fractions
  std::string title, xLabel, yLabel, yLabelRight;
  std::vector<Series> left, right;
  /// Values the y axes must show (e.g. 0 and 1 for rates).
  std::vector<double> yInclude;
};

/// Draws the drawable runs of `s` as lines and lone points as markers.
void drawSeries(const Series &s) {
  plcol0(s.colour);
  pllsty(s.lineStyle);
  plwidth(s.width);
  std::vector<PLFLT> xs, ys;
  auto flush = [&] {
    if (xs.size() >= 2)
      plline(static_cast<PLINT>(xs.size()), xs.data(), ys.data());
    else if (xs.size() == 1)
      plpoin(1, xs.data(), ys.data(), 4);
    xs.clear();
    ys.clear();
  };
  for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
    if (drawable(s.x[i]) && drawable(s.y[i])) {
      xs.push_back(s.x[i]);
      ys.push_back(s.y[i]);
    } else {
      flush();
    }
  }
  flush();
  pllsty(1);
  plwidth(1);
}

/// Legend entries, right-aligned inside the top of the box, in colour.
void drawLegend(const std::vector<const Series *> &series) {
  plschr(0, 0.7);
  double line = 0;
  for (const Series *s : series) {
    if (s->label.empty())
      continue;
    plcol0(s->colour);
    plmtex("t", -1.5 - 1.4 * line, 0.98, 1.0, escaped(s->label).c_str());
    line += 1;
  }
  plschr(0, 0.85);
}

Range yRange(const std::vector<Series> &series,
             const std::vector<double> &include) {
  Range r;
  for (const Series &s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (drawable(s.x[i]))
        r.add(s.y[i]);
  if (!r.empty())
    r.add(include);
  return r;
}

bool anyDrawable(const std::vector<Series> &series) {
  for (const Series &s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (drawable(s.x[i]) && drawable(s.y[i]))
        return true;
  return false;
}

void drawPanel(PlotStream &stream, const Panel &p) {
  Range xr;
  for (const auto *side : {&p.left, &p.right})
    for (const Series &s : *side)
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
        if (drawable(s.y[i]))
          xr.add(s.x[i]);
  auto [x0, x1] = xr.axis();
  auto [y0, y1] = yRange(p.left, p.yInclude).axis();
  plvpor(p.vx0, p.vx1, p.vy0, p.vy1);
  plwind(x0, x1, y0, y1);
  plcol0(kBlack);
  plbox("bcnst", 0, 0, p.right.empty() ? "bcnstv" : "bnstv", 0, 0);
  pllab(escaped(p.xLabel).c_str(), escaped(p.yLabel).c_str(),
        escaped(p.title).c_str());
  for (const Series &s : p.left)
    drawSeries(s);
  if (!anyDrawable(p.left) && !anyDrawable(p.right)) {
    plcol0(kGrey);
    plptex(0.5 * (x0 + x1), 0.5 * (y0 + y1), 1, 0, 0.5, "no data yet");
  }
  std::vector<const Series *> legend;
  for (const Series &s : p.left)
    legend.push_back(&s);
  if (!p.right.empty()) {
    auto [r0, r1] = yRange(p.right, p.yInclude).axis();
    plwind(x0, x1, r0, r1);
    plcol0(kBlack);
    plbox("", 0, 0, "cmstv", 0, 0);
    plmtex("r", 5.0, 0.5, 0.5, escaped(p.yLabelRight).c_str());
    for (const Series &s : p.right) {
      drawSeries(s);
      legend.push_back(&s);
    }
  }
  drawLegend(legend);
  stream.check("drawing '" + p.title + "'");
}

/// Starts the page: white, one title line at the top.
void pageTitle(const std::string &title) {
  pladv(0);
  plschr(0, 1.1);
  plvpor(0.02, 0.98, 0.94, 0.99);
  plwind(0, 1, 0, 1);
  plcol0(kBlack);
  plptex(0.5, 0.3, 1, 0, 0.5, escaped(title).c_str());
  plschr(0, 0.85);
}

/// `values` at `indices`.
std::vector<double> pick(const std::vector<double> &values,
                         const std::vector<size_t> &indices) {
  std::vector<double> out;
  out.reserve(indices.size());
  for (size_t i : indices)
    out.push_back(values[i]);
  return out;
}

/// A horizontal line at `y` across the drawable x values.
Series horizontal(const std::vector<double> &xs, double y, int colour,
                  int style, std::string label) {
  Range r;
  r.add(xs);
  Series s;
  if (!r.empty())
    s.x = {r.lo, r.hi};
  else
    s.x = {};
  s.y.assign(s.x.size(), y);
  s.colour = colour;
  s.lineStyle = style;
  s.label = std::move(label);
  return s;
}

/// Mean and standard deviation of the drawable values among the last `n`.
std::pair<double, double> tailStats(const std::vector<double> &values,
                                    size_t n) {
  double sum = 0, sq = 0;
  size_t count = 0;
  for (size_t i = values.size() > n ? values.size() - n : 0; i < values.size();
       ++i)
    if (drawable(values[i])) {
      sum += values[i];
      sq += values[i] * values[i];
      ++count;
    }
  if (count == 0)
    return {kNaN, kNaN};
  double mean = sum / double(count);
  return {mean, std::sqrt(std::max(0.0, sq / double(count) - mean * mean))};
}

/// (b) of the timeline: loss over the batch's mean target, coloured by time
/// (viridis: dark early, yellow late).
void drawLossVsTarget(PlotStream &stream,
                      const std::vector<TimelinePoint> &timeline,
                      const std::vector<size_t> &idx) {
  Range xr, yr, tr;
  for (size_t i : idx)
    if (drawable(timeline[i].loss) && drawable(timeline[i].batch_char)) {
      xr.add(timeline[i].batch_char);
      yr.add(timeline[i].loss);
      tr.add(timeline[i].time);
    }
  auto [x0, x1] = xr.axis();
  auto [y0, y1] = yr.axis();
  plvpor(0.58, 0.96, 0.12, 0.86);
  plwind(x0, x1, y0, y1);
  plcol0(kBlack);
  plbox("bcnst", 0, 0, "bcnstv", 0, 0);
  pllab("batch mean target (colour: time, dark = early)", "loss",
        "(b) loss vs batch target");
  static const PLFLT pos[] = {0, 0.25, 0.5, 0.75, 1};
  static const PLFLT r[] = {0.267, 0.231, 0.129, 0.369, 0.993};
  static const PLFLT g[] = {0.005, 0.322, 0.565, 0.788, 0.906};
  static const PLFLT b[] = {0.329, 0.545, 0.553, 0.384, 0.144};
  plscmap1l(1, 5, pos, r, g, b, nullptr);
  double span = tr.empty() ? 0 : tr.hi - tr.lo;
  for (size_t i : idx) {
    const TimelinePoint &p = timeline[i];
    if (!drawable(p.loss) || !drawable(p.batch_char))
      continue;
    plcol1(span > 0 && drawable(p.time) ? (p.time - tr.lo) / span : 1.0);
    PLFLT x = p.batch_char, y = p.loss;
    plpoin(1, &x, &y, 17);
  }
  if (xr.empty()) {
    plcol0(kGrey);
    plptex(0.5 * (x0 + x1), 0.5 * (y0 + y1), 1, 0, 0.5, "no data yet");
  }
  stream.check("drawing the loss over the batch target");
}

} // namespace

std::vector<double> moving_average(const std::vector<double> &values,
                                   size_t window) {
  window = std::max<size_t>(window, 1);
  std::vector<double> out(values.size(), kNaN);
  double sum = 0;
  size_t count = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (drawable(values[i])) {
      sum += values[i];
      ++count;
    }
    if (i >= window && drawable(values[i - window])) {
      sum -= values[i - window];
      --count;
    }
    if (count > 0)
      out[i] = sum / double(count);
  }
  return out;
}

std::vector<size_t> subsample_indices(size_t n, size_t max_points) {
  max_points = std::max<size_t>(max_points, 1);
  size_t step = (n + max_points - 1) / max_points;
  std::vector<size_t> out;
  for (size_t i = 0; i < n; i += std::max<size_t>(step, 1))
    out.push_back(i);
  if (!out.empty() && out.back() != n - 1) {
    if (out.size() < max_points)
      out.push_back(n - 1);
    else
      out.back() = n - 1;
  }
  return out;
}

void plot_timeline(const std::vector<TimelinePoint> &timeline,
                   const std::string &png_path, const std::string &title) {
  std::vector<double> steps, loss;
  for (const TimelinePoint &p : timeline) {
    steps.push_back(double(p.step));
    loss.push_back(p.loss);
  }
  // Smoothed on every point, drawn on the subsample.
  std::vector<double> sma = moving_average(loss, kTimelineSmoothing);
  auto [mean, sd] = tailStats(loss, kTimelineSmoothing);
  std::vector<size_t> idx = subsample_indices(loss.size(), kMaxPlotPoints);

  Panel a{0.08, 0.46, 0.12, 0.86};
  a.title = "(a) update loss";
  a.xLabel = "update step";
  a.yLabel = "loss";
  std::vector<double> xs = pick(steps, idx);
  a.left.push_back({xs, pick(loss, idx), kBlue, "loss", 1, 1.0});
  a.left.push_back({xs, pick(sma, idx), kOrange, "SMA 200", 1, 2.5});
  a.left.push_back(horizontal(xs, mean, kRed, 1, "mean (last 200)"));
  a.left.push_back(horizontal(xs, mean + sd, kRed, 2, "mean +- std"));
  a.left.push_back(horizontal(xs, mean - sd, kRed, 2, ""));

  PlotStream stream(png_path, 1400, 560);
  pageTitle(title);
  drawPanel(stream, a);
  drawLossVsTarget(stream, timeline, idx);
  stream.finish();
}

void plot_history(const std::vector<HistoryRow> &history,
                  bool errors_in_percent, const std::string &png_path,
                  const std::string &title) {
  std::vector<size_t> idx = subsample_indices(history.size(), kMaxPlotPoints);
  auto column = [&](double HistoryRow::*field) {
    std::vector<double> all;
    for (const HistoryRow &r : history)
      all.push_back(r.*field);
    return all;
  };
  std::vector<double> steps;
  for (const HistoryRow &r : history)
    steps.push_back(double(r.step));
  std::vector<double> xs = pick(steps, idx);
  auto series = [&](double HistoryRow::*field, int colour, std::string label) {
    return Series{xs, pick(column(field), idx), colour, std::move(label)};
  };
  auto smoothed = [&](double HistoryRow::*field, int colour,
                      std::string label) {
    return Series{
        xs,     pick(moving_average(column(field), kHistorySmoothing), idx),
        colour, std::move(label),
        2,      2.0};
  };

  Panel a{0.09, 0.44, 0.57, 0.89};
  a.title = "(a) loss";
  a.xLabel = "update step";
  a.yLabel = "loss";
  a.left = {series(&HistoryRow::train_loss, kBlue, "train"),
            series(&HistoryRow::valid_loss, kOrange, "valid")};

  Panel b{0.57, 0.90, 0.57, 0.89};
  b.title = "(b) loss gain and learning rate";
  b.xLabel = "update step";
  b.yLabel = "loss gain, LR";
  b.yLabelRight = "mom, gradnet rate";
  b.left = {series(&HistoryRow::loss_gain, kGreen, "loss gain"),
            series(&HistoryRow::lr, kRed, "LR")};
  b.right = {series(&HistoryRow::mom, kPurple, "mom"),
             series(&HistoryRow::gradnet_rate, kBrown, "gradnet rate")};

  Panel c{0.09, 0.44, 0.07, 0.39};
  c.title = "(c) errors";
  c.xLabel = "update step";
  c.yLabel = errors_in_percent ? "error [%]" : "error";
  c.left = {series(&HistoryRow::train_err, kBlue, "train"),
            series(&HistoryRow::valid_err, kOrange, "valid"),
            smoothed(&HistoryRow::train_err, kBlue, "train SMA 8"),
            smoothed(&HistoryRow::valid_err, kOrange, "valid SMA 8")};

  Panel d{0.57, 0.90, 0.07, 0.39};
  d.title = "(d) validation precision, recall, F1 (class 1)";
  d.xLabel = "update step";
  d.yLabel = "rate";
  d.yInclude = {0, 1};
  d.left = {series(&HistoryRow::valid_precision, kBlue, "precision"),
            series(&HistoryRow::valid_recall, kOrange, "recall"),
            series(&HistoryRow::valid_f1, kGreen, "F1")};

  PlotStream stream(png_path, 1400, 1000);
  pageTitle(title);
  for (const Panel *p : {&a, &b, &c, &d})
    drawPanel(stream, *p);
  stream.finish();
}

} // namespace nm
