//===- Schedule.cpp - ELEKTRONN2's schedules
//-------------------------------===//
#include "neuromancer/train/Schedule.h"

#include "neuromancer/core/Error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

namespace nm {
namespace {

/// Python's repr of a float (shortest round-trip, "1.0" not "1").
std::string pyFloat(double v) {
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  std::string s = buf;
  if (s.find_first_of(".einn") == std::string::npos)
    s += ".0";
  return s;
}

std::string pyValue(const std::vector<double> &v) {
  if (v.size() == 1)
    return pyFloat(v[0]);
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + pyFloat(v[i]);
  return s + "]";
}

} // namespace

Schedule::Schedule(std::string variable, const ScheduleSpec &spec,
                   ScheduleTarget target)
    : variable_(std::move(variable)), target_(std::move(target)) {
  const std::string what = "schedule for '" + variable_ + "': ";
  if (spec.kind == "dec") {
    mode_ = "mult";
    factor_ = spec.factor;
    next_ = 1000;
  } else if (spec.kind == "updates") {
    if (spec.updates.empty())
      throw ValueError(what + "'updates' needs at least one (step, value)");
    mode_ = "set";
    hasUpdates_ = true;
    for (const auto &[step, value] : spec.updates) {
      if (!steps_.empty() && step <= steps_.back())
        throw ValueError(what + "the steps of 'updates' must increase");
      if (value.empty())
        throw ValueError(what + "an update has no value");
      steps_.push_back(step);
      values_.push_back(value);
    }
    next_ = std::min<int64_t>(1000, steps_.front());
  } else if (spec.kind == "lindec") {
    if (spec.n_steps <= 0)
      throw ValueError(what + "'lindec' needs n > 0 steps, not " +
                       std::to_string(spec.n_steps));
    mode_ = "lin";
    nSteps_ = spec.n_steps;
    delta_ = spec.init_val * 1000.0 / static_cast<double>(spec.n_steps);
    hasDelta_ = true;
    next_ = 1000;
  } else {
    throw ValueError(what + "unknown kind '" + spec.kind +
                     "' (expected 'dec', 'lindec' or 'updates')");
  }
}

void Schedule::multiply(double factor) {
  std::vector<double> v = target_.get();
  for (double &x : v)
    x *= factor;
  target_.set(v);
}

void Schedule::advanceAfterSet(int64_t iteration) {
  const bool unitFactor = std::abs(factor_ - 1.0) <= 1e-8;
  if (steps_.empty()) {
    if (unitFactor) {
      next_ = -1;
    } else {
      next_ = iteration + 1000;
      mode_ = "mult";
    }
  } else if (unitFactor) {
    next_ = steps_.front();
  } else {
    next_ = std::min(iteration + 1000, steps_.front());
  }
}

void Schedule::update(int64_t iteration) {
  if (mode_ == "mult") {
    multiply(factor_);
    next_ = iteration + 1000;
  } else if (mode_ == "set") {
    if (!steps_.empty() && iteration == steps_.front()) {
      target_.set(values_.front());
      steps_.erase(steps_.begin());
      values_.erase(values_.begin());
    } else {
      multiply(factor_);
    }
    advanceAfterSet(iteration);
  } else if (mode_ == "lin") {
    if (iteration < nSteps_) {
      std::vector<double> v = target_.get();
      for (double &x : v)
        x -= delta_;
      target_.set(v);
      next_ = iteration + 1000;
    } else if (iteration == nSteps_) {
      std::vector<double> v = target_.get();
      std::fill(v.begin(), v.end(), 0.0);
      target_.set(v);
      next_ = -1;
    }
  }
}

std::string Schedule::repr() const {
  char line[256];
  std::snprintf(
      line, sizeof line,
      "Schedule for %s:  mode=%s, decay-factor=%f, next update=%lld\n",
      variable_.c_str(), mode_.c_str(), factor_, static_cast<long long>(next_));
  std::string s = line;
  if (hasDelta_) {
    std::snprintf(line, sizeof line, "  delta=%f\n", delta_);
    s += line;
  }
  if (hasUpdates_) {
    std::string steps = "[", values = "[";
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      steps += (i ? ", " : "") + std::to_string(steps_[i]);
      values += (i ? ", " : "") + pyValue(values_[i]);
    }
    s += "  update_steps=" + steps + "], update_vals=" + values + "]\n";
  }
  return s;
}

std::string Schedule::state() const {
  nlohmann::json j = {{"variable", variable_}, {"mode", mode_},
                      {"factor", factor_},     {"next_update", next_},
                      {"steps", steps_},       {"values", values_}};
  return j.dump();
}

void Schedule::set_state(const std::string &state) {
  try {
    nlohmann::json j = nlohmann::json::parse(state);
    if (j.at("variable") != variable_)
      throw ValueError("schedule state of '" +
                       j.at("variable").get<std::string>() +
                       "' given to the schedule for '" + variable_ + "'");
    mode_ = j.at("mode").get<std::string>();
    factor_ = j.at("factor").get<double>();
    next_ = j.at("next_update").get<int64_t>();
    steps_ = j.at("steps").get<std::vector<int64_t>>();
    values_ = j.at("values").get<std::vector<std::vector<double>>>();
  } catch (const nlohmann::json::exception &e) {
    throw ValueError("schedule for '" + variable_ +
                     "': unreadable saved state: " + e.what());
  }
}

} // namespace nm
