//===- TrainerMonitor.cpp - test_model and the history points -------------===//
//
// ELEKTRONN2's test_model: monitor_batch_size examples of a source,
// evaluated by the model's prediction_ext function (loss, errors,
// prediction) in chunks of batch_size, averaged by examples. ELEKTRONN2 asks
// for one batch of monitor_batch_size and, when that is not a multiple of
// batch_size, replaces it by ceil(mbs / bs) — a count of batches used as a
// size (a bug, reference §6.3); here ceil(mbs / bs) batches of batch_size
// are drawn with the training batches' options, so the training queue is
// never discarded. Dropout never acts in prediction functions, so nothing
// needs switching off.
//
//===----------------------------------------------------------------------===//
#include "train/TrainerState.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <tuple>

namespace nm {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Class-1 counts of a prediction (b, C, ...) against sparse labels
/// (b, 1, ...); false when the shapes do not fit that pattern.
bool countClassOne(const Array &pred, const Array &labels, double &tp,
                   double &fp, double &fn) {
  const Sizes &p = pred.shape();
  const Sizes &l = labels.shape();
  if (p.size() < 2 || p.size() != l.size() || l[1] != 1 || p[1] < 2 ||
      p[0] != l[0])
    return false;
  for (std::size_t k = 2; k < p.size(); ++k)
    if (p[k] != l[k])
      return false;
  const int64_t classes = p[1];
  const int64_t spatial = l.size() ? labels.size() / l[0] : 0;
  for (int64_t b = 0; b < p[0]; ++b)
    for (int64_t v = 0; v < spatial; ++v) {
      double label = labels.getFlat(b * spatial + v);
      if (label < 0)
        continue; // ignored voxels
      int64_t best = 0;
      double bestP = -1;
      for (int64_t c = 0; c < classes; ++c) {
        double pc = pred.getFlat((b * classes + c) * spatial + v);
        if (pc > bestP) {
          bestP = pc;
          best = c;
        }
      }
      bool predicted = best == 1, actual = label == 1;
      tp += predicted && actual;
      fp += predicted && !actual;
      fn += !predicted && actual;
    }
  return true;
}

} // namespace

std::pair<double, double>
Trainer::State::testModel(const std::string &source,
                          std::array<double, 3> *prf) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (prf)
    *prf = {nan, nan, nan};
  GetBatchOptions kw = batchArgs;
  kw.source = source;
  const int64_t batches =
      (*config.monitor_batch_size + batchSize - 1) / batchSize;
  std::vector<Node> ext = model->prediction_ext();
  int64_t predIndex = -1;
  for (std::size_t k = 0; k < ext.size(); ++k)
    if (ext[k] == model->prediction_node())
      predIndex = static_cast<int64_t>(k);
  double loss = 0, error = 0, n = 0, tp = 0, fp = 0, fn = 0;
  bool classifier = predIndex >= 0;
  for (int64_t j = 0; j < batches; ++j) {
    std::vector<Array> batch;
    try {
      batch = withClassWeights(data->getbatch(kw));
    } catch (const ValueError &e) {
      log_warning("Test model, getbatch failed. No validation data? (" +
                  std::string(e.what()) + ")");
      return {nan, nan};
    }
    std::vector<Array> out = model->predict_ext(batch);
    double examples = static_cast<double>(batch[0].shape()[0]);
    loss += out.at(0).getFlat(0) * examples;
    error += (out.size() > 1 ? out[1].getFlat(0) : nan) * examples;
    n += examples;
    if (classifier && batch.size() > 1)
      classifier = countClassOne(out[predIndex], batch[1], tp, fp, fn);
  }
  loss /= n;
  error /= n;
  if (!isRegression)
    error *= 100;
  if (prf && classifier) {
    double precision = tp + fp > 0 ? tp / (tp + fp) : nan;
    double recall = tp + fn > 0 ? tp / (tp + fn) : nan;
    // 2tp / (2tp + fp + fn): 0, not undefined, when nothing is predicted
    // as class 1 although some voxels are.
    double f1 = tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : nan;
    *prf = {precision, recall, f1};
  }
  return {loss, error};
}

void Trainer::State::historyPoint() {
  Clock::time_point tm = Clock::now();
  double lossAfter = model->loss(batch).getFlat(0);
  double lossGain = lossAfter - loss;
  std::tie(trainLoss, trainErr) = testModel("train", nullptr);
  std::array<double, 3> prf{};
  std::tie(validLoss, validErr) = testModel("valid", &prf);
  HistoryRow row;
  row.step = i;
  row.time = tPassed;
  row.train_loss = trainLoss;
  row.valid_loss = validLoss;
  row.loss_gain = lossGain;
  row.train_err = trainErr;
  row.valid_err = validErr;
  row.lr = model->lr();
  row.mom = model->mom();
  row.valid_precision = prf[0];
  row.valid_recall = prf[1];
  row.valid_f1 = prf[2];
  record.history.push_back(row);
  timings.monitor += since(tm);

  Clock::time_point tc = Clock::now();
  saveCheckpoint(savePath("-LAST.h5"));
  if (validLoss < bestValidLoss) {
    bestValidLoss = validLoss;
    saveCheckpoint(savePath("-BEST.h5"));
  }
  writeHistoryCsv();
  timings.checkpoints += since(tc);

  if (config.plot_on && (i >= *config.history_freq * 3 || i > 60)) {
    Clock::time_point tp = Clock::now();
    plot();
    timings.pictures += since(tp);
  }
  if (config.print_status) {
    const char *pp = isRegression ? "err" : "%";
    double voxels = static_cast<double>(batch[0].size());
    char line[512];
    std::snprintf(line, sizeof line,
                  "%05lld L_m=%.3f, L=%.2f, tr=%05.2f%s, vl=%05.2f%s, "
                  "prev=%04.1f, L_diff=%+.1e, LR=%.2e, %.2f it/s, %.2f MVx/s, "
                  "%s",
                  static_cast<long long>(i), model->loss_smooth(), loss,
                  trainErr, pp, validErr, pp, batchChar * 100, lossGain,
                  model->lr(), 1.0 / tPerIt, voxels / tPerIt / 1e6,
                  pretty_string_time(tPassed).c_str());
    log_info(line);
  }
}

std::pair<double, double> Trainer::test_model(const std::string &source,
                                              std::array<double, 3> *prf) {
  return s_->testModel(source, prf);
}

} // namespace nm
