//===- StreamPredict.cpp - dense prediction of volumes on disk ------------===//
#include "neuromancer/predict/StreamPredict.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/core/Progress.h"
#include "neuromancer/core/Sha256.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/predict/BlockNet.h"
#include "neuromancer/predict/Mask.h"
#include "neuromancer/predict/OutputStore.h"
#include "neuromancer/predict/Plan.h"
#include "neuromancer/predict/RawInput.h"
#include "neuromancer/runtime/ThreadPool.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <numeric>
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace nm::predict {
namespace {

using Clock = std::chrono::steady_clock;
const char *kAxes = "zxy";

int64_t product(const Sizes &s) {
  int64_t p = 1;
  for (int64_t v : s)
    p *= v;
  return p;
}

/// Restores the thread count a run changed.
struct Restore {
  int threads = -1;
  ~Restore() {
    if (threads >= 0)
      set_num_threads(threads);
  }
};

/// The model's prediction node with batch size 1 (ELEKTRONN2's models are
/// often saved with the training batch size).
Node predictionNode(const std::string &path) {
  LogLevel level = log_level();
  // modelload prints every node's repr at info level: not a predict's job.
  if (level < LogLevel::Warning)
    set_log_level(LogLevel::Warning);
  struct Back {
    LogLevel level;
    ~Back() { set_log_level(level); }
  } back{level};
  Model *model = &modelload(path);
  Node node = model->prediction_node();
  if (!node)
    throw ValueError("model file '" + path +
                     "' has no designated prediction node");
  std::vector<Node> inputs = node.input_nodes();
  if (inputs.size() == 1 && inputs.front().shape().hasTag('b')) {
    int64_t b = inputs.front().shape()['b'];
    if (b != None && b != 1) {
      ModelLoadOptions rebuild;
      rebuild.imposed_batch_size = 1;
      model = &rebuild_model(*model, rebuild);
      node = model->prediction_node();
    }
  }
  return node;
}

/// The raw voxels [lo, hi) of the ROI, checked against the volume (with
/// --tta, the flipped windows' reach too).
void resolveRoi(const StreamOptions &o, const RawInput &raw,
                const NetGeometry &g, Sizes &lo, Sizes &hi) {
  Sizes shift = ttaShift(g, o.tta);
  const Sizes &n = raw.spatial();
  lo.assign(3, 0);
  hi = n;
  if (o.roiLo) {
    lo = *o.roiLo;
    hi = *o.roiHi;
    for (int a = 0; a < 3; ++a)
      if (lo[a] < 0 || hi[a] > n[a] || lo[a] >= hi[a])
        throw ValueError("--roi: the " + std::string(1, kAxes[a]) + " range [" +
                         std::to_string(lo[a]) + ", " + std::to_string(hi[a]) +
                         ") is empty or not inside " + raw.name() +
                         ", which has " + std::to_string(n[a]) +
                         " voxels along " + kAxes[a]);
  } else if (!o.padRaw) {
    for (int a = 0; a < 3; ++a) {
      if (n[a] < g.fov[a])
        throw ValueError(
            raw.name() + " has " + std::to_string(n[a]) + " voxels along " +
            kAxes[a] + ", fewer than the model's field of view of " +
            std::to_string(g.fov[a]) + "; pass --pad-raw to mirror-pad it");
      lo[a] = g.offsets[a];
      hi[a] = n[a] - g.offsets[a]; // ELEKTRONN2: raw - 2 * offsets
    }
  }
  if (o.padRaw)
    return;
  for (int a = 0; a < 3; ++a) {
    int64_t first = lo[a] - g.offsets[a] + std::min<int64_t>(0, shift[a]);
    int64_t end =
        hi[a] - 1 - g.offsets[a] + g.fov[a] + std::max<int64_t>(0, shift[a]);
    if (first < 0 || end > n[a])
      throw ValueError(
          "--roi: the " + std::string(1, kAxes[a]) + " range [" +
          std::to_string(lo[a]) + ", " + std::to_string(hi[a]) +
          ") needs raw voxels [" + std::to_string(first) + ", " +
          std::to_string(end) + ") with the model's field of view" +
          (shift[a] ? " (and --tta's flipped windows)" : "") + ", but " +
          raw.name() + " has 0.." + std::to_string(n[a]) +
          "; pass --pad-raw to mirror the missing ones");
  }
}

nlohmann::json withoutTile(nlohmann::json id) {
  id.erase("tile");
  return id;
}

/// The owned voxels of `b` from the block's (classes, tile) output, in its
/// element type (float32, or uint8 from the output epilogue).
void writeOwned(OutputStore &store, const Block &b, const Array &out,
                const Sizes &t) {
  size_t elem = dtypeSize(out.dtype());
  const char *p = static_cast<const char *>(out.raw());
  int64_t channels = out.size() / product(t);
  Sizes skip(3);
  for (int a = 0; a < 3; ++a)
    skip[a] = b.writeLo[a] - b.computeLo[a];
  const Sizes &w = b.writeSize;
  std::vector<char> owned(channels * static_cast<size_t>(product(w)) * elem);
  char *to = owned.data();
  size_t row = static_cast<size_t>(w[2]) * elem;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t z = 0; z < w[0]; ++z)
      for (int64_t x = 0; x < w[1]; ++x, to += row)
        std::memcpy(
            to,
            p + (((c * t[0] + skip[0] + z) * t[1] + skip[1] + x) * t[2] +
                 skip[2]) *
                    elem,
            row);
  store.write(b, owned.data());
}

Sizes plus(const Sizes &a, const Sizes &b) {
  Sizes s(a.size());
  for (size_t i = 0; i < a.size(); ++i)
    s[i] = a[i] + b[i];
  return s;
}

/// The blocks not done yet: recorded empty when the mask has no foreground
/// in what they own, else predicted and written.
void runBlocks(const StreamOptions &o, const Sizes &lo, const BlockGrid &grid,
               const RawInput &raw, const MaskInput *mask, const BlockNet &net,
               OutputStore &store, Progress &progress) {
  bool trimmed = false;
  (void)trimmed;
  for (int64_t i = 0; i < grid.size(); ++i) {
    if (store.done(i))
      continue;
    Block b = grid.block(i);
    if (mask && !mask->any(plus(lo, b.writeLo), b.writeSize)) {
      store.writeEmpty(b);
    } else {
      Array out = net.predict(
          raw.read(net.boxLo(plus(lo, b.computeLo)), net.boxShape(), o.padRaw));
      writeOwned(store, b, out, grid.tile);
#ifdef __GLIBC__
      // Hands back to the system what compiling (in the first block's
      // call) left in malloc's free lists: it would count against --memory.
      if (!trimmed)
        trimmed = ::malloc_trim(0) >= 0;
#endif
    }
    progress.step(static_cast<double>(product(b.writeSize)));
    if (o.afterBlock)
      o.afterBlock(i, store.doneCount());
  }
}

} // namespace

StreamReport predictStream(const StreamOptions &o) {
  Clock::time_point start = Clock::now();
  auto say = [&](const std::string &line) {
    if (o.say)
      o.say(line);
  };
  std::string outDataset = o.outDataset.empty() ? "prediction" : o.outDataset;

  RawInput raw(o.raw, o.rawDataset);
  if (o.mean.has_value() != o.std.has_value())
    throw ValueError("--mean and --std go together (give both or neither)");
  if (o.std && !(*o.std > 0))
    throw ValueError("--std must be positive, not " + formatG(*o.std));
  raw.setNormalisation(o.mean, o.std);
  std::unique_ptr<MaskInput> mask;
  if (!o.mask.empty())
    mask = std::make_unique<MaskInput>(o.mask, o.maskDataset, raw.spatial(),
                                       raw.name());
  OutputStore::checkTarget(o.out, outDataset, o.overwrite);

  std::string modelHash = sha256File(o.model);
  Node node = predictionNode(o.model);
  NetGeometry g = netGeometry(node);
  if (raw.channels() != g.channels)
    throw ValueError(raw.name() + " has shape " + formatTuple(raw.fileShape()) +
                     ", that is " + std::to_string(raw.channels()) +
                     " channel(s) (a 3-D dataset is one channel, a 4-D one "
                     "is (ch, z, x, y)); the model reads " +
                     std::to_string(g.channels));
  std::vector<int64_t> classes = o.classes;
  if (classes.empty())
    for (int64_t c = 0; c < g.labels; ++c)
      classes.push_back(c);
  for (int64_t c : classes)
    if (c < 0 || c >= g.labels)
      throw ValueError("--classes: class " + std::to_string(c) +
                       " does not exist; the model predicts " +
                       std::to_string(g.labels) + " classes (0.." +
                       std::to_string(g.labels - 1) + ")");

  Sizes lo, hi;
  resolveRoi(o, raw, g, lo, hi);
  Sizes roi(3);
  for (int a = 0; a < 3; ++a)
    roi[a] = hi[a] - lo[a];

  nlohmann::json identity = {
      {"dataset", outDataset},
      {"model_sha256", modelHash},
      {"raw_file", std::filesystem::absolute(o.raw).lexically_normal()},
      {"raw_dataset", raw.dataset()},
      {"raw_shape", raw.fileShape()},
      {"raw_dtype", raw.typeName()},
      {"normalisation", raw.normalisation()},
      {"pad_raw", o.padRaw},
      {"as_uint8", o.asUint8},
      {"classes", classes},
      {"roi_offset", lo},
      {"roi_shape", roi},
  };
  // Recorded only when used, so unfinished runs of earlier versions (which
  // had neither) still resume.
  if (mask)
    identity.update(mask->identity());
  if (o.tta)
    identity["tta"] = true;

  BlockCost cost{raw.elemSize(), static_cast<int64_t>(classes.size()),
                 o.asUint8, mask ? mask->elemSize() : 0, o.tta};
  int64_t budget = o.memory > 0 ? o.memory : kDefaultMemory;
  std::optional<nlohmann::json> earlier =
      OutputStore::unfinishedIdentity(o.out, outDataset);
  Sizes tile;
  std::string why;
  if (!o.tile.empty()) {
    if (o.tile.size() != 3 || std::any_of(o.tile.begin(), o.tile.end(),
                                          [](int64_t t) { return t < 1; }))
      throw ValueError("--tile: " + formatTuple(o.tile) +
                       " is not three positive sizes z,x,y");
    tile = o.tile;
    if (g.twoD)
      tile[0] = 1;
    why = "as given by --tile";
  } else if (earlier && earlier->contains("tile") &&
             withoutTile(*earlier) == identity) {
    tile = (*earlier)["tile"].get<Sizes>();
    why = "as stored by the unfinished run";
  } else {
    tile = chooseTile(g, roi, budget, cost);
    why = "chosen for --memory " + formatBytes(budget);
  }
  BlockGrid grid(roi, tile);
  int64_t perBlock = blockBytes(g, grid.tile, cost);
  int64_t estimate = processBytes(g) + perBlock;
  if (!o.tile.empty() && o.memory > 0 && estimate > o.memory)
    throw ValueError("--tile " + formatTuple(o.tile) + " needs about " +
                     formatBytes(estimate) + " (" + formatBytes(perBlock) +
                     " per block), more than --memory " +
                     formatBytes(o.memory));
  identity["tile"] = grid.tile;
  say("tile (z, x, y) " + formatTuple(grid.tile) + " " + why + ", about " +
      formatBytes(perBlock) + " per block, " + formatBytes(estimate) +
      " in all; " + std::to_string(grid.size()) +
      (grid.size() == 1 ? " block " : " blocks ") + formatTuple(grid.counts) +
      " over the ROI " + formatTuple(roi) + " at " + formatTuple(lo));

  OutputSpec spec;
  spec.path = o.out;
  spec.dataset = outDataset;
  spec.channels = static_cast<int64_t>(classes.size());
  spec.chunk = chunkFor(grid.tile);
  spec.asUint8 = o.asUint8;
  spec.overwrite = o.overwrite;
  spec.identity = identity;
  spec.attributes = {
      {"axes", "c,z,x,y"},
      {"model_file", o.model},
      {"model_sha256", modelHash},
      {"raw_file", o.raw},
      {"raw_dataset", raw.dataset()},
      {"roi_offset", lo},
      {"classes", classes},
      {"pad_raw", o.padRaw},
      {"as_uint8", o.asUint8},
      {"normalisation", raw.normalisation()},
      {"tile", grid.tile},
  };
  if (mask) {
    spec.attributes["mask_file"] = o.mask;
    spec.attributes["mask_dataset"] = mask->dataset();
  }
  if (o.tta)
    spec.attributes["tta"] = true;
  OutputStore store(spec, grid);
  int64_t resumed = store.doneCount();
  double resumedVoxels = 0;
  for (int64_t i = 0; i < grid.size(); ++i)
    if (store.done(i))
      resumedVoxels += static_cast<double>(product(grid.block(i).writeSize));
  if (resumed || store.damaged())
    say("resuming: " + std::to_string(resumed) + " of " +
        std::to_string(grid.size()) + " blocks done by an earlier run" +
        (store.damaged() ? ", " + std::to_string(store.damaged()) +
                               " found damaged and redone"
                         : ""));

  Restore restore;
  if (o.threads > 0) {
    restore.threads = get_num_threads();
    set_num_threads(o.threads);
  }
  Progress::Options po;
  po.items = "blocks";
  po.units = "voxels";
  po.tty = o.progressTty;
  po.interval = o.progressInterval;
  Progress progress(o.progress, grid.size(), static_cast<double>(product(roi)),
                    resumed, resumedVoxels, po);

  // The class selection and quantisation run in the network's last kernel
  // (selecting every class in order is no selection).
  OutputEpilogue epilogue;
  std::vector<int64_t> every(g.labels);
  std::iota(every.begin(), every.end(), 0);
  if (classes != every)
    epilogue.classes = classes;
  epilogue.asUint8 = o.asUint8;
  BlockNet net(node, g, grid.tile, o.tta, epilogue);
  try {
    runBlocks(o, lo, grid, raw, mask.get(), net, store, progress);
  } catch (...) {
    progress.finish();
    throw;
  }
  progress.finish();
  store.finalise();

  StreamReport report;
  report.roiLo = lo;
  report.roiShape = roi;
  report.tile = grid.tile;
  report.chunk = spec.chunk;
  report.blocks = grid.size();
  report.resumed = resumed;
  report.skipped = store.emptyCount();
  report.estimateBytes = estimate;
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.3g",
                (product(roi) - resumedVoxels) / 1e6 /
                    std::max(report.seconds, 1e-9));
  Sizes outShape = {static_cast<int64_t>(classes.size())};
  outShape.insert(outShape.end(), roi.begin(), roi.end());
  say("wrote " + o.out + ":" + outDataset + " " + formatTuple(outShape) +
      (o.asUint8 ? " uint8" : " float32") + " in " +
      Progress::duration(report.seconds) + " (" + rate + " Mvoxels/s)" +
      (o.tta ? ", averaged over " + std::to_string(net.passes()) + " flips"
             : "") +
      (mask ? "; " + std::to_string(report.skipped) + " of " +
                  std::to_string(grid.size()) +
                  " blocks skipped (no foreground in " + mask->name() + ")"
            : ""));
  return report;
}

std::pair<Sizes, Sizes> parseRoi(const std::string &text) {
  size_t colon = text.find(':');
  if (colon == std::string::npos)
    throw ValueError("--roi: '" + text +
                     "' is not z0,x0,y0:z1,x1,y1 (raw voxels, end excluded)");
  try {
    return {parseTriple("--roi", text.substr(0, colon)),
            parseTriple("--roi", text.substr(colon + 1))};
  } catch (const ValueError &) {
    throw ValueError("--roi: '" + text +
                     "' is not z0,x0,y0:z1,x1,y1 (raw voxels, end excluded)");
  }
}

Sizes parseTriple(const std::string &option, const std::string &text) {
  Sizes v;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string part = text.substr(pos, comma - pos);
    if (part.empty() || part.size() > 15 ||
        part.find_first_not_of("0123456789") != std::string::npos)
      throw ValueError(option + ": '" + text +
                       "' is not three whole numbers z,x,y");
    v.push_back(std::stoll(part));
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  if (v.size() != 3)
    throw ValueError(option + ": '" + text +
                     "' is not three whole numbers z,x,y");
  return v;
}

std::vector<int64_t> parseClasses(const std::string &text) {
  std::vector<int64_t> v;
  size_t pos = 0;
  while (true) {
    size_t comma = text.find(',', pos);
    std::string part = text.substr(pos, comma - pos);
    if (part.empty() || part.size() > 9 ||
        part.find_first_not_of("0123456789") != std::string::npos)
      throw ValueError("--classes: '" + text +
                       "' is not a list of 0-based class numbers such as 1,0");
    v.push_back(std::stoll(part));
    if (comma == std::string::npos)
      return v;
    pos = comma + 1;
  }
}

std::pair<std::string, std::string> splitDatasetPath(const std::string &arg) {
  std::error_code ec;
  if (std::filesystem::exists(arg, ec))
    return {arg, ""};
  // The first ':' whose left side is an existing file; for a file that does
  // not exist yet (an output), the first ':'.
  size_t first = arg.find(':');
  for (size_t c = first; c != std::string::npos; c = arg.find(':', c + 1))
    if (std::filesystem::is_regular_file(arg.substr(0, c), ec))
      return {arg.substr(0, c), arg.substr(c + 1)};
  if (first == std::string::npos)
    return {arg, ""};
  return {arg.substr(0, first), arg.substr(first + 1)};
}

} // namespace nm::predict
