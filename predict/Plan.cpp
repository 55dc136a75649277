//===- Plan.cpp - blocks of a streamed dense prediction -------------------===//
#include "neuromancer/predict/Plan.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/frontend/Node.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace nm::predict {
namespace {

int64_t product(const Sizes &s) {
  int64_t p = 1;
  for (int64_t v : s)
    p *= v;
  return p;
}

/// A 2-D node's per-axis list with a leading z entry.
Sizes withZ(Sizes s, int64_t z) {
  s.insert(s.begin(), z);
  return s;
}

/// The pooling of a Conv node (conv output / node output per spatial axis),
/// empty for other nodes and convs that do not pool.
Sizes convPool(const Node &n) {
  if (n.cls() != "Conv" || n.parents().size() != 1)
    return {};
  ParamValues p = n.get_param_values();
  const TaggedShape &in = n.parents().front().shape(), &out = n.shape();
  if (!p.contains("w") || in.nSpatial() != out.nSpatial())
    return {};
  const Sizes &w = p.at("w").shape();
  Sizes k(w.end() - out.nSpatial(), w.end());
  Sizes inS = in.spatialShape(), outS = out.spatialShape(), pool;
  bool pools = false;
  for (size_t a = 0; a < k.size(); ++a) {
    int64_t conv = inS[a] - k[a] + 1;
    if (inS[a] == None || outS[a] <= 0 || conv % outS[a] != 0)
      return {};
    pool.push_back(conv / outS[a]);
    pools = pools || pool.back() > 1;
  }
  return pools ? pool : Sizes{};
}

/// Multiply-accumulates per output voxel of node `n` (before pooling): its
/// weight's size for a layer with weights (ELEKTRONN2's cost of a conv per
/// position), otherwise one per feature.
int64_t macsPerVoxel(const Node &n, int64_t features) {
  ParamValues p = n.get_param_values();
  if (!p.contains("w"))
    return features;
  return product(p.at("w").shape());
}

/// What blockBytes adds to every block besides its buffers.
constexpr int64_t kBlockFixedBytes = int64_t(8) << 20;

} // namespace

NetGeometry netGeometry(const Node &node) {
  DenseGeometry dense = dense_geometry(node, "predict");
  const TaggedShape &shape = node.shape();
  NetGeometry g;
  g.fov = dense.fov;
  g.offsets = dense.offsets;
  g.channels = dense.channels;
  g.labels = dense.labels;
  g.twoD = dense.twoD;
  g.inputType = dense.input.dtype();
  std::vector<Node> nodes = node.all_parents();
  nodes.push_back(node);
  for (const Node &n : nodes)
    for (const auto &[name, value] : n.get_param_values())
      g.paramBytes += static_cast<int64_t>(value.nbytes());
  for (const Node &n : nodes) {
    const TaggedShape &s = n.shape();
    if (n.is_source() || !s.hasTag('f') || s.nSpatial() != shape.nSpatial())
      continue;
    Sizes fov = s.fov();
    if (std::any_of(fov.begin(), fov.end(), [](int64_t f) { return f <= 0; }))
      fov = shape.fov(); // unknown: the output's (the smallest size)
    int64_t features = s['f'] == None ? 1 : s['f'];
    int64_t macs = macsPerVoxel(n, features);
    Sizes pool = convPool(n);
    g.nodeFeatures.push_back(features);
    g.nodeFov.push_back(g.twoD ? withZ(fov, 1) : fov);
    g.nodeMacs.push_back(pool.empty() ? macs : features);
    // A pooling conv also holds its output before pooling: larger by
    // (pool - 1) * dilation, i.e. a field of view smaller by that much.
    if (!pool.empty()) {
      Sizes pre = fov, dilation = n.parents().front().shape().strides();
      for (size_t a = 0; a < pre.size(); ++a)
        pre[a] = std::max<int64_t>(1, pre[a] - (pool[a] - 1) * dilation[a]);
      g.nodeFeatures.push_back(features);
      g.nodeFov.push_back(g.twoD ? withZ(pre, 1) : pre);
      g.nodeMacs.push_back(macs);
    }
  }
  return g;
}

Sizes ttaShift(const NetGeometry &g, bool tta) {
  Sizes s(3, 0);
  if (tta)
    for (int a = g.twoD ? 1 : 0; a < 3; ++a)
      s[a] = 2 * g.offsets[a] - g.fov[a] + 1;
  return s;
}

int64_t blockBytes(const NetGeometry &g, const Sizes &tile,
                   const BlockCost &cost) {
  Sizes in(3), box(3), shift = ttaShift(g, cost.tta);
  for (int a = 0; a < 3; ++a) {
    in[a] = tile[a] + g.fov[a] - 1;
    box[a] = in[a] + std::abs(shift[a]);
  }
  int64_t inVoxels = product(in), outVoxels = product(tile);
  // The raw box (file type) and its float conversion (one voxel longer on
  // an even-fov axis with TTA), the network input.
  int64_t bytes = g.channels *
                  (product(box) * (static_cast<int64_t>(cost.rawElemSize) + 4) +
                   inVoxels * static_cast<int64_t>(dtypeSize(g.inputType)));
  // The mask's box (read and dropped before the raw box) and TTA's sum of
  // the flipped outputs, alive beside each pass.
  bytes += outVoxels * static_cast<int64_t>(cost.maskElemSize);
  if (cost.tta)
    bytes += g.labels * outVoxels * 4;
  for (size_t i = 0; i < g.nodeFeatures.size(); ++i) {
    int64_t voxels = 1;
    for (int a = 0; a < 3; ++a)
      voxels *= std::max<int64_t>(1, in[a] - g.nodeFov[i][a] + 1);
    bytes += g.nodeFeatures[i] * voxels * 4;
  }
  // The network's output: with TTA every class as float (averaged here),
  // else what is written, from the output epilogue; and the owned part of
  // it copied for writing.
  int64_t elem = cost.asUint8 ? 1 : 4;
  bytes +=
      cost.tta ? g.labels * outVoxels * 4 : cost.outChannels * outVoxels * elem;
  bytes += cost.outChannels * outVoxels * elem;
  // HDF5 compresses one chunk at a time: the chunk and its deflated copy.
  bytes += 2 * product(chunkFor(tile)) * elem;
  return bytes + kBlockFixedBytes;
}

int64_t processBytes(const NetGeometry &g) {
  return (int64_t(192) << 20) + 2 * g.paramBytes;
}

Sizes chunkFor(const Sizes &tile) {
  Sizes chunk(3);
  for (int a = 0; a < 3; ++a) {
    int64_t t = tile[a];
    chunk[a] = t;
    if (t <= 64)
      continue;
    for (int64_t d = 64; d >= 16; --d)
      if (t % d == 0) {
        chunk[a] = d;
        break;
      }
  }
  return chunk;
}

bool fitsBudget(const NetGeometry &g, const Sizes &tile, int64_t budget,
                const BlockCost &cost) {
  int64_t block = blockBytes(g, tile, cost);
  return product(tile) <= kMaxBlockVoxels &&
         processBytes(g) + block + (block - kBlockFixedBytes) / 10 <= budget;
}

int64_t blockMacs(const NetGeometry &g, const Sizes &tile) {
  int64_t macs = 0;
  for (size_t i = 0; i < g.nodeMacs.size(); ++i) {
    int64_t voxels = 1;
    for (int a = 0; a < 3; ++a)
      voxels *= std::max<int64_t>(1, tile[a] + g.fov[a] - g.nodeFov[i][a]);
    macs += g.nodeMacs[i] * voxels;
  }
  return macs;
}

namespace {

/// The tile sizes worth trying on an axis of `n` voxels: for each block
/// count k the smallest tile that covers the axis in k blocks, ceil(n / k).
/// Any other size costs as many blocks as the next smaller of these and
/// more work and memory per block.
Sizes axisCandidates(int64_t n) {
  Sizes sizes;
  for (int64_t k = 1;;) {
    int64_t t = (n + k - 1) / k;
    sizes.push_back(t);
    if (t == 1)
      return sizes;
    k = (n + t - 2) / (t - 1); // the first k with ceil(n / k) < t
  }
}

} // namespace

Sizes chooseTile(const NetGeometry &g, const Sizes &roi, int64_t budget,
                 const BlockCost &cost) {
  Sizes zs = g.twoD ? Sizes{1} : axisCandidates(roi[0]);
  Sizes xs = axisCandidates(roi[1]), ys = axisCandidates(roi[2]);
  Sizes best;
  double bestWork = 0;
  for (int64_t z : zs)
    for (int64_t x : xs)
      for (int64_t y : ys) {
        Sizes t = {z, x, y};
        if (!fitsBudget(g, t, budget, cost))
          continue;
        int64_t blocks = ((roi[0] + z - 1) / z) * ((roi[1] + x - 1) / x) *
                         ((roi[2] + y - 1) / y);
        double work = static_cast<double>(blocks) * blockMacs(g, t);
        // Ties go to the larger block (fewer calls), then the candidate
        // order, so the choice is a function of its arguments alone.
        if (best.empty() || work < bestWork ||
            (work == bestWork && product(t) > product(best))) {
          best = t;
          bestWork = work;
        }
      }
  if (best.empty()) {
    Sizes one = {1, 1, 1};
    int64_t process = processBytes(g);
    throw ValueError("--memory " + formatBytes(budget) +
                     " is too small: the process needs about " +
                     formatBytes(process) +
                     " besides the blocks and a block of one output voxel "
                     "about " +
                     formatBytes(blockBytes(g, one, cost)) +
                     " (the model reads a field of view of " +
                     formatTuple(g.fov) + " voxels)");
  }
  return best;
}

BlockGrid::BlockGrid(Sizes roiShape, Sizes tileShape)
    : roi(std::move(roiShape)), tile(std::move(tileShape)), counts(3) {
  for (int a = 0; a < 3; ++a) {
    tile[a] = std::min(tile[a], roi[a]);
    counts[a] = (roi[a] + tile[a] - 1) / tile[a];
  }
}

Block BlockGrid::block(int64_t i) const {
  Block b;
  b.index = i;
  int64_t k[3] = {i / (counts[1] * counts[2]), i / counts[2] % counts[1],
                  i % counts[2]};
  b.computeLo.resize(3);
  b.writeLo.resize(3);
  b.writeSize.resize(3);
  for (int a = 0; a < 3; ++a) {
    b.writeLo[a] = k[a] * tile[a];
    b.writeSize[a] = std::min(tile[a], roi[a] - b.writeLo[a]);
    b.computeLo[a] = std::min(b.writeLo[a], roi[a] - tile[a]);
  }
  return b;
}

std::string formatBytes(int64_t bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char text[32];
  if (u == 0)
    std::snprintf(text, sizeof text, "%lld B", static_cast<long long>(bytes));
  else
    std::snprintf(text, sizeof text, v < 10 ? "%.1f %s" : "%.0f %s", v,
                  units[u]);
  return text;
}

int64_t parseMemory(const std::string &text) {
  size_t digits = 0;
  while (digits < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[digits])) ||
          text[digits] == '.'))
    ++digits;
  std::string unit = text.substr(digits);
  for (char &c : unit)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() > 1 && unit.substr(unit.size() - 1) == "B")
    unit.pop_back();
  if (unit.size() == 2 && unit[1] == 'I')
    unit.pop_back();
  int shift = unit.empty()  ? 0
              : unit == "K" ? 10
              : unit == "M" ? 20
              : unit == "G" ? 30
              : unit == "T" ? 40
                            : -1;
  double value = 0;
  bool number = digits > 0 &&
                std::count(text.begin(), text.begin() + digits, '.') <= 1 &&
                text[0] != '.';
  if (number)
    value = std::stod(text.substr(0, digits)) * std::ldexp(1.0, shift);
  if (!number || shift < 0 || value < 1 || value > 9.0e18)
    throw ValueError("--memory: '" + text +
                     "' is not a size such as 512M, 4G or 1.5G (binary "
                     "units K, M, G, T)");
  return static_cast<int64_t>(value);
}

} // namespace nm::predict
