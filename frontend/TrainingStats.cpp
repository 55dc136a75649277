//===- TrainingStats.cpp - paramstats, gradstats, actstats ----------------===//
//
// ELEKTRONN2's training diagnostics (the trainer's `paramstats`,
// `gradstats`, `actstats` commands): per node and array, the shape and
// mean, std, min, max, so that vanishing or exploding values show at a
// glance. Each returns the table it logs.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/frontend/NodeImpl.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nm {
namespace {

std::string statsLine(const std::string &name, const Array &a) {
  double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < a.size(); ++i) {
    double v = a.getFlat(i);
    sum += v;
    sq += v * v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  double n = static_cast<double>(std::max<int64_t>(a.size(), 1));
  double mean = sum / n;
  double sd = std::sqrt(std::max(0.0, sq / n - mean * mean));
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%-24s %-20s %11.4g %11.4g %11.4g %11.4g\n",
                name.c_str(), a.shapeString().c_str(), mean, sd, lo, hi);
  return buf;
}

std::string header(const std::string &title) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%s\n%-24s %-20s %11s %11s %11s %11s\n",
                title.c_str(), "array", "shape", "mean", "std", "min", "max");
  return buf;
}

std::string table(const std::string &title, const ModelParamValues &values) {
  std::string out = header(title);
  for (const auto &[node, params] : values)
    for (const auto &[param, a] : params)
      out += statsLine(node + "." + param, a);
  return out;
}

} // namespace

std::string Model::paramstats() const {
  std::string t = table("Parameter statistics", get_param_values());
  log_info(t);
  return t;
}

std::string Model::gradstats(const std::vector<Array> &inputs) {
  std::string t = table("Gradient statistics", gradients(inputs));
  log_info(t);
  return t;
}

std::string Model::actstats(const std::vector<Array> &inputs) {
  std::vector<Node> outputs;
  for (const Node &n : nodes_)
    if (!n.is_source() && isFloat(n.dtype()))
      outputs.push_back(n);
  std::vector<Array> values = activations(inputs, outputs);
  std::string t = header("Activation statistics");
  for (std::size_t i = 0; i < outputs.size(); ++i)
    t += statsLine(outputs[i].name(), values[i]);
  log_info(t);
  return t;
}

} // namespace nm
