//===- GradientCheck.h - gradients against finite differences --*- C++ -*-===//
//
// Shared by the gradient tests (TrainingTest.cpp, GradientOpsTest.cpp): the
// model is compiled in float64 (toFloat64), so the central difference's
// error, about h^2 |f'''| + eps_64 |f| / h ~ 1e-10 for h = 1e-6, is far
// below the 1e-4 relative tolerance and a wrong gradient term cannot hide
// in it. Errors are relative to the entry, floored at 1e-3 of the largest
// entry so that entries that are ~0 do not divide by their own noise.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TESTS_API_GRADIENTCHECK_H
#define NEUROMANCER_TESTS_API_GRADIENTCHECK_H

#include "neuromancer/frontend/NodeImpl.h"
#include "neuromancer/neuromancer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace nm::gradcheck {

inline Array randomArray(const Sizes &shape, std::mt19937 &gen, double lo,
                         double hi, DType dtype = DType::Float64) {
  std::uniform_real_distribution<double> u(lo, hi);
  Array a(shape, dtype);
  for (int64_t i = 0; i < a.size(); ++i)
    a.setFlat(i, u(gen));
  return a;
}

inline Array randomLabels(const Sizes &shape, std::mt19937 &gen, int classes) {
  Array a(shape, DType::Int16);
  for (int64_t i = 0; i < a.size(); ++i)
    a.setFlat(i, static_cast<double>(gen() % classes));
  return a;
}

/// Every float32 value and parameter of the model as float64, so the model
/// compiles in f64.
inline void toFloat64(Model &m) {
  for (const Node &n : m.nodes()) {
    if (n.impl().dtype == DType::Float32)
      n.impl().dtype = DType::Float64;
    for (auto &[name, p] : n.impl().params)
      p.value = p.value.astype(DType::Float64);
  }
}

/// Overwrites parameter `param` of `node` with uniform values in [lo, hi).
inline void randomiseParam(Node node, const std::string &param,
                           std::mt19937 &gen, double lo, double hi) {
  Array &v = node.impl().params.at(param).value;
  std::uniform_real_distribution<double> u(lo, hi);
  for (int64_t i = 0; i < v.size(); ++i)
    v.setFlat(i, u(gen));
}

/// Relative error of the compiled gradients against central differences
/// of model.loss, over every element of every trainable parameter; prints
/// the count, the largest entry and the worst error with where it is.
inline double worstGradientError(Model &m, const std::vector<Array> &batch) {
  ModelParamValues grads = m.gradients(batch);
  const double h = 1e-6;
  double scale = 0;
  struct Entry {
    double analytic, numeric;
    std::string where;
  };
  std::vector<Entry> entries;
  for (const Node &n : m.nodes()) {
    for (auto &[name, p] : n.impl().params) {
      if (!p.trainable)
        continue;
      EXPECT_TRUE(grads.contains(n.name())) << n.name();
      if (!grads.contains(n.name()))
        continue;
      const Array &g = grads.at(n.name()).at(name);
      EXPECT_EQ(g.shape(), p.value.shape()) << n.name() << "." << name;
      for (int64_t i = 0; i < p.value.size(); ++i) {
        double v = p.value.getFlat(i);
        p.value.setFlat(i, v + h);
        double up = m.loss(batch).getFlat(0);
        p.value.setFlat(i, v - h);
        double down = m.loss(batch).getFlat(0);
        p.value.setFlat(i, v);
        double numeric = (up - down) / (2 * h);
        entries.push_back(
            {g.getFlat(i), numeric,
             n.name() + "." + name + "[" + std::to_string(i) + "]"});
        scale = std::max(scale, std::abs(numeric));
      }
    }
  }
  double worst = 0;
  std::string where;
  // NM_GRADIENT_CHECK_VERBOSE=1 lists every entry (for debugging).
  bool verbose = std::getenv("NM_GRADIENT_CHECK_VERBOSE") != nullptr;
  for (const Entry &e : entries) {
    if (verbose)
      std::printf("  %s: %.9g vs %.9g\n", e.where.c_str(), e.analytic,
                  e.numeric);
    double err = std::abs(e.analytic - e.numeric) /
                 std::max(std::abs(e.numeric), 1e-3 * scale);
    if (err > worst) {
      worst = err;
      where = e.where + ": " + std::to_string(e.analytic) + " vs " +
              std::to_string(e.numeric);
    }
  }
  std::printf("%zu gradient entries, largest %.3g, worst relative error "
              "%.3g%s%s\n",
              entries.size(), scale, worst, where.empty() ? "" : " at ",
              where.c_str());
  EXPECT_GT(scale, 0.0) << "every gradient is zero: nothing was checked";
  return worst;
}

} // namespace nm::gradcheck

#endif // NEUROMANCER_TESTS_API_GRADIENTCHECK_H
