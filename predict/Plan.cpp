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

} // namespace

NetGeometry netGeometry(const Node &node) {
  const TaggedShape &shape = node.shape();
  if (shape.nSpatial() < 2 || shape.nSpatial() > 3)
    throw ValueError("prediction node '" + node.name() + "' has " +
                     std::to_string(shape.nSpatial()) +
                     " spatial axes (shape " + shape.repr() +
                     "); dense prediction needs 2 or 3");
  std::vector<Node> inputs = node.input_nodes();
  if (inputs.size() != 1)
    throw ValueError("prediction node '" + node.name() + "' reads " +
                     std::to_string(inputs.size()) +
                     " inputs; dense prediction needs exactly one (the image)");
  const TaggedShape &in = inputs.front().shape();
  if (!in.hasTag('f') || !shape.hasTag('f') ||
      in.nSpatial() != shape.nSpatial())
    throw ValueError("prediction node '" + node.name() + "' (" + shape.repr() +
                     ") does not map an image with a channel axis onto a "
                     "label map with the same spatial axes");
  NetGeometry g;
  g.fov = shape.fov();
  g.offsets = shape.offsets();
  for (size_t a = 0; a < g.fov.size(); ++a)
    if (g.fov[a] <= 0 || g.offsets[a] < 0)
      throw ValueError("prediction node '" + node.name() +
                       "' has an unknown field of view (UpConv); it cannot "
                       "be predicted densely");
  g.channels = in['f'];
  g.labels = shape['f'];
  g.twoD = shape.nSpatial() == 2;
  g.inputType = inputs.front().dtype();
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
      fov = g.fov; // unknown: as large as the output's (the smallest size)
    int64_t features = s['f'] == None ? 1 : s['f'];
    g.nodeFeatures.push_back(features);
    g.nodeFov.push_back(g.twoD ? withZ(fov, 1) : fov);
    // A pooling conv also holds its output before pooling: larger by
    // (pool - 1) * dilation, i.e. a field of view smaller by that much.
    if (Sizes pool = convPool(n); !pool.empty()) {
      Sizes pre = fov, dilation = n.parents().front().shape().strides();
      for (size_t a = 0; a < pre.size(); ++a)
        pre[a] = std::max<int64_t>(1, pre[a] - (pool[a] - 1) * dilation[a]);
      g.nodeFeatures.push_back(features);
      g.nodeFov.push_back(g.twoD ? withZ(pre, 1) : pre);
    }
  }
  if (g.twoD) {
    g.fov = withZ(g.fov, 1);
    g.offsets = withZ(g.offsets, 0);
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
  int64_t elem = cost.asUint8 ? 1 : 4;
  bytes += g.labels * outVoxels * 4 + cost.outChannels * outVoxels * elem;
  // HDF5 compresses one chunk at a time: the chunk and its deflated copy.
  bytes += 2 * product(chunkFor(tile)) * elem;
  return bytes + (int64_t(8) << 20);
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

Sizes chooseTile(const NetGeometry &g, const Sizes &roi, int64_t budget,
                 const BlockCost &cost) {
  Sizes tile = roi;
  if (g.twoD)
    tile[0] = 1; // a 2-D network sees one z slice per call
  int64_t process = processBytes(g);
  auto fits = [&](const Sizes &t) {
    return process + blockBytes(g, t, cost) <= budget &&
           product(t) <= kMaxBlockVoxels;
  };
  while (!fits(tile)) {
    // The axis whose block is largest relative to the field of view it
    // reads around: shrinking it costs the least halo overhead.
    int best = -1;
    double bestRatio = 0;
    for (int a = 0; a < 3; ++a) {
      if (tile[a] <= 1)
        continue;
      double ratio = static_cast<double>(tile[a]) / g.fov[a];
      if (ratio > bestRatio) {
        bestRatio = ratio;
        best = a;
      }
    }
    if (best < 0)
      throw ValueError("--memory " + formatBytes(budget) +
                       " is too small: the process needs about " +
                       formatBytes(process) +
                       " besides the blocks and a block of one output voxel "
                       "about " +
                       formatBytes(blockBytes(g, tile, cost)) +
                       " (the model reads a field of view of " +
                       formatTuple(g.fov) + " voxels)");
    int64_t was = tile[best];
    int64_t next = was * 3 / 4;
    if (next >= 64)
      next = next / 64 * 64; // whole 64-voxel chunks
    tile[best] = std::clamp<int64_t>(next, 1, was - 1);
    if (!fits(tile))
      continue;
    // The quarter step may have overshot: take back what still fits (in
    // whole chunks from 64 on).
    for (int64_t v = was - 1; v > tile[best]; --v) {
      if (v > 64 && v % 64 != 0)
        v = v / 64 * 64 + 1; // the next --v is a multiple of 64
      else {
        Sizes t = tile;
        t[best] = v;
        if (fits(t)) {
          tile = t;
          break;
        }
      }
    }
  }
  return tile;
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
