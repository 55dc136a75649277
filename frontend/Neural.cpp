//===- Neural.cpp - ELEKTRONN2's neural module ----------------------------===//
//
// Perceptron (Dot), Conv, UpConv, Pool, Crop, Pad, FragmentsToDense, LRN and
// the AutoMerge / UpConvMerge composite.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/frontend/Layers.h"

#include "neuromancer/core/Format.h"
#include "neuromancer/core/Geometry.h"
#include "neuromancer/frontend/LayerSupport.h"

#include <cstdio>
#include <set>

namespace nm {

//===----------------------------------------------------------------------===//
// Shared pieces of weight layers
//===----------------------------------------------------------------------===//

int64_t checkActivation(const std::string &cls, const std::string &name,
                        const std::string &activation) {
  Expected<int64_t> r = activationFactor(activation);
  if (!r)
    throw ValueError(cls + " '" + name + "': " + r.message());
  return *r;
}

namespace {
const std::set<std::string> &batchNormModes() {
  static const std::set<std::string> m = {"", "train", "fadeout", "predict"};
  return m;
}

void checkBatchNormAndDropout(const NodeImpl &n) {
  std::string bn = n.attr<std::string>("batch_normalisation", "");
  if (!batchNormModes().count(bn))
    throw ValueError(n.cls + " '" + n.name +
                     "': batch_normalisation must be "
                     "'', 'train', 'fadeout' or 'predict', got '" +
                     bn + "'");
  double rate = n.attr<double>("dropout_rate", 0);
  if (rate < 0 || rate >= 1)
    throw ValueError(n.cls + " '" + n.name +
                     "': dropout_rate must be in [0, 1), got " + formatG(rate));
}
} // namespace

void addWeightLayerParams(NodeImpl &n, const WeightLayerSpec &spec) {
  const std::string act = n.attr<std::string>("activation_func", "relu");
  addParam(n, "w", glorotNormal(spec.wShape, spec.glorotFanSum), true, false,
           true);
  if (act == "prelu") {
    Array b({spec.n_f, 2});
    for (int64_t i = 0; i < spec.n_f; ++i) {
      b.setFlat(2 * i, 1.0 / static_cast<double>(spec.kernelVolume));
      b.setFlat(2 * i + 1, 1.0);
    }
    addParam(n, "b", b);
  } else if (act == "relu" || act.rfind("maxout", 0) == 0) {
    addParam(
        n, "b",
        Array::full({spec.n_f}, 1.0 / static_cast<double>(spec.kernelVolume)));
  } else if (act == "sig" || act == "sigmoid" || act == "logistic") {
    addParam(n, "b", Array::full({spec.n_f}, 0.5));
  } else {
    addParam(n, "b", uniformArray({spec.n_f}, -1e-6, 1e-6));
  }
  std::string bn = n.attr<std::string>("batch_normalisation", "");
  if (!bn.empty()) {
    bool train = bn != "predict";
    addParam(n, "gamma", Array::full({spec.n_f}, 1.0), train, false,
             /*applyReg=*/true);
    addParam(n, "mean", Array::full({spec.n_f}, 0.0), false);
    addParam(n, "std", Array::full({spec.n_f}, 1.0), false);
  }
  double rate = n.attr<double>("dropout_rate", 0);
  if (rate > 0)
    addParam(n, "dropout_rate", Array::full({}, rate), false);
}

std::string batchNormReprPiece(const NodeImpl &n) {
  std::string s;
  char buf[64];
  double rate = n.attr<double>("dropout_rate", 0);
  if (rate > 0) {
    std::snprintf(buf, sizeof(buf), "Dropout rate=%.1f, ", rate);
    s += buf;
  }
  std::string bn = n.attr<std::string>("batch_normalisation", "");
  if (!bn.empty())
    s += "BN in '" + bn + "' mode ";
  return s;
}

namespace {

//===----------------------------------------------------------------------===//
// Builders
//===----------------------------------------------------------------------===//

void buildPerceptron(NodeImpl &n) {
  expectParents(n, 1);
  const TaggedShape &in = n.parent().shape;
  int64_t n_f = n.attr<int64_t>("n_f", 0);
  bool flatten = n.attr<bool>("flatten", false);
  std::string act = n.attr<std::string>("activation_func", "relu");
  checkActivation(n.cls, n.name, act);
  checkBatchNormAndDropout(n);
  n.shape =
      activationOutputShape(perceptronOutputShape(in, n_f, flatten).take(), act)
          .take();
  int64_t nIn = perceptronInputs(in, flatten);
  n.dtype = DType::Float32;
  n.cost = in.stripnoneProd() * n_f;
  addWeightLayerParams(n, {.wShape = {nIn, n_f},
                           .glorotFanSum = static_cast<double>(nIn + n_f),
                           .kernelVolume = 1,
                           .n_f = n_f});
  n.reprTail = "\n  n_f=" + std::to_string(n_f) + ", act='" + act + "', " +
               (flatten ? "input was flattened, " : "");
  double rate = n.attr<double>("dropout_rate", 0);
  if (rate > 0) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "dropout rate = %.1f, ", rate);
    n.reprTail += buf;
  }
  std::string bn = n.attr<std::string>("batch_normalisation", "");
  if (!bn.empty())
    n.reprTail += "BN in '" + bn + "' mode ";
}

ConvGeometry convGeometryOf(const NodeImpl &n) {
  ConvGeometry g;
  g.n_f = n.attr<int64_t>("n_f", 0);
  g.filter = sizesAttr(n, "filter_shape");
  g.pool = sizesAttr(n, "pool_shape");
  g.mode = parseConvMode(n.attr<std::string>("conv_mode", "valid")).take();
  g.mfp = n.attr<bool>("mfp", false);
  g.invalidateFov = n.attr<bool>("invalidate_fov", false);
  if (g.pool.empty())
    g.pool = Sizes(g.filter.size(), 1);
  return g;
}

int64_t product(const Sizes &v) {
  int64_t p = 1;
  for (int64_t x : v)
    p *= x;
  return p;
}

void buildConv(NodeImpl &n) {
  expectParents(n, 1);
  const TaggedShape &in = n.parent().shape;
  std::string act = n.attr<std::string>("activation_func", "relu");
  checkActivation(n.cls, n.name, act);
  checkBatchNormAndDropout(n);
  ConvGeometry g = convGeometryOf(n);
  n.shape = activationOutputShape(convOutputShape(in, g).take(), act).take();
  n.dtype = DType::Float32;
  n.cost = convCost(in, g);
  const int64_t kernel = product(g.filter);
  const double nIn = static_cast<double>(in['f']);
  const double nOut = static_cast<double>(g.n_f) / product(g.pool);
  addWeightLayerParams(n, {.wShape = convWeightShape(in, g),
                           .glorotFanSum = (nIn + nOut) * kernel,
                           .kernelVolume = kernel,
                           .n_f = g.n_f});
  n.reprTail = "\n  n_f=" + std::to_string(g.n_f) + ", " +
               std::to_string(g.filter.size()) +
               "d conv, kernel=" + formatTuple(g.filter) +
               ", pool=" + formatTuple(g.pool) + ", act='" + act + "', " +
               batchNormReprPiece(n) + (g.mfp ? "MFP active, " : "");
}

void buildUpConv(NodeImpl &n) {
  expectParents(n, 1);
  const TaggedShape &in = n.parent().shape;
  std::string act = n.attr<std::string>("activation_func", "relu");
  checkActivation(n.cls, n.name, act);
  checkBatchNormAndDropout(n);
  int64_t n_f = n.attr<int64_t>("n_f", 0);
  if (n_f < 1)
    throw ValueError("UpConv '" + n.name + "' needs n_f >= 1");
  Sizes pool = sizesAttr(n, "pool_shape");
  n.shape = upconvOutputShape(in, n_f, pool).take();
  n.dtype = DType::Float32;
  n.cost = upconvCost(in, n_f, pool);
  const int64_t nIn = in['f'];
  Sizes wShape = {n_f, nIn};
  wShape.insert(wShape.end(), pool.begin(), pool.end());
  const int64_t kernel = product(pool);
  addWeightLayerParams(
      n, {.wShape = wShape,
          .glorotFanSum = static_cast<double>((nIn + n_f) * kernel),
          .kernelVolume = kernel,
          .n_f = n_f});
  if (n.attr<bool>("identity_init", true)) {
    // Approximates pixel repetition: w <- 0.1 w, w[i, i, ...] = 1, b <- 0.
    Array &w = n.params.at("w").value;
    float *d = w.data<float>();
    for (int64_t i = 0; i < w.size(); ++i)
      d[i] *= 0.1f;
    for (int64_t i = 0; i < std::min(n_f, nIn); ++i)
      for (int64_t k = 0; k < kernel; ++k)
        d[(i * nIn + i) * kernel + k] = 1.0f;
    Array &b = n.params.at("b").value;
    for (int64_t i = 0; i < b.size(); ++i)
      b.setFlat(i, 0.0);
  }
  n.reprTail =
      "\n  n_f=" + std::to_string(n_f) + ", " + std::to_string(pool.size()) +
      "d upconv, kernel=" + formatTuple(pool) + ", pool=" + formatTuple(pool) +
      ", act='" + act + "', " + batchNormReprPiece(n);
}

void buildPool(NodeImpl &n) {
  expectParents(n, 1);
  if (n.attr<bool>("mfp", false))
    throw NotImplementedError("Pool '" + n.name +
                              "': mfp=True is not implemented for Pool (as "
                              "in ELEKTRONN2); use Conv(..., mfp=true)");
  static const std::set<std::string> modes = {
      "max", "average", "average_inc_pad", "average_exc_pad", "sum"};
  std::string mode = n.attr<std::string>("mode", "max");
  if (!modes.count(mode))
    throw ValueError("Pool '" + n.name + "': unknown mode '" + mode +
                     "'; expected max, average, average_inc_pad, "
                     "average_exc_pad or sum");
  n.shape = poolOutputShape(n.parent().shape, sizesAttr(n, "pool_shape"),
                            sizesAttr(n, "stride"))
                .take();
  n.dtype = n.parent().dtype;
  n.cost = parentSize(n);
}

void buildCrop(NodeImpl &n) {
  expectParents(n, 1);
  n.shape = cropOutputShape(n.parent().shape, sizesAttr(n, "crop")).take();
  n.dtype = n.parent().dtype;
}

void buildPad(NodeImpl &n) {
  expectParents(n, 1);
  n.shape = padOutputShape(n.parent().shape, sizesAttr(n, "pad")).take();
  n.dtype = n.parent().dtype;
}

void buildFragmentsToDense(NodeImpl &n) {
  expectParents(n, 1);
  n.shape = fragmentsToDenseShape(n.parent().shape).take();
  n.dtype = n.parent().dtype;
}

void buildLRN(NodeImpl &n) {
  expectParents(n, 1);
  std::string mode = n.attr<std::string>("mode", "spatial");
  if (mode != "spatial" && mode != "channel")
    throw ValueError("LRN '" + n.name +
                     "': mode must be 'spatial' or "
                     "'channel', got '" +
                     mode + "'");
  Sizes filter = sizesAttr(n, "filter_shape");
  for (int64_t f : filter)
    if (f < 1 || f % 2 == 0)
      throw ValueError("LRN '" + n.name + "': filter_shape " +
                       formatTuple(filter) + " must have odd sizes");
  n.shape = n.parent().shape;
  n.dtype = n.parent().dtype;
  n.cost = parentSize(n);
}

nlohmann::json weightLayerAttrs(const std::string &name, bool printRepr,
                                const std::string &act, const std::string &bn,
                                double dropout) {
  nlohmann::json a = baseAttrs(name, printRepr);
  a["activation_func"] = act;
  a["batch_normalisation"] = bn;
  a["dropout_rate"] = dropout;
  return a;
}

} // namespace

void registerNeuralNodes(BuilderTable &t) {
  t["Perceptron"] = buildPerceptron;
  t["Conv"] = buildConv;
  t["UpConv"] = buildUpConv;
  t["Pool"] = buildPool;
  t["Crop"] = buildCrop;
  t["Pad"] = buildPad;
  t["FragmentsToDense"] = buildFragmentsToDense;
  t["LRN"] = buildLRN;
}

//===----------------------------------------------------------------------===//
// Public constructors
//===----------------------------------------------------------------------===//

Node Perceptron(const Node &parent, int64_t n_f, const PerceptronOptions &o) {
  nlohmann::json a = weightLayerAttrs(o.name, o.print_repr, o.activation_func,
                                      o.batch_normalisation, o.dropout_rate);
  a["n_f"] = n_f;
  a["flatten"] = o.flatten;
  Node node = makeNode("Perceptron", {parent}, a);
  applyInitialParams(node, o);
  return node;
}

Node Dot(const Node &parent, int64_t n_f, const PerceptronOptions &o) {
  return Perceptron(parent, n_f, o);
}

Node Conv(const Node &parent, int64_t n_f, const Sizes &filter_shape,
          const Sizes &pool_shape, const ConvOptions &o) {
  nlohmann::json a = weightLayerAttrs(o.name, o.print_repr, o.activation_func,
                                      o.batch_normalisation, o.dropout_rate);
  a["n_f"] = n_f;
  a["filter_shape"] = filter_shape;
  a["pool_shape"] =
      pool_shape.empty() ? Sizes(filter_shape.size(), 1) : pool_shape;
  a["conv_mode"] = o.conv_mode;
  a["mfp"] = o.mfp;
  a["invalidate_fov"] = o.invalidate_fov;
  Node node = makeNode("Conv", {parent}, a);
  applyInitialParams(node, o);
  return node;
}

Node UpConv(const Node &parent, int64_t n_f, const Sizes &pool_shape,
            const UpConvOptions &o) {
  nlohmann::json a = weightLayerAttrs(o.name, o.print_repr, o.activation_func,
                                      o.batch_normalisation, o.dropout_rate);
  a["n_f"] = n_f;
  a["pool_shape"] = pool_shape;
  a["identity_init"] = o.identity_init;
  Node node = makeNode("UpConv", {parent}, a);
  applyInitialParams(node, o);
  return node;
}

Node Pool(const Node &parent, const Sizes &pool_shape, const PoolOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["pool_shape"] = pool_shape;
  a["stride"] = o.stride.empty() ? pool_shape : o.stride;
  a["mfp"] = o.mfp;
  a["mode"] = o.mode;
  return makeNode("Pool", {parent}, a);
}

Node Crop(const Node &parent, const Sizes &crop, const CropOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["crop"] = crop;
  return makeNode("Crop", {parent}, a);
}

Node Pad(const Node &parent, const Sizes &pad, const PadOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["pad"] = pad;
  a["value"] = o.value;
  return makeNode("Pad", {parent}, a);
}

Node FragmentsToDense(const Node &parent, const FragmentsToDenseOptions &o) {
  return makeNode("FragmentsToDense", {parent},
                  baseAttrs(o.name, o.print_repr));
}

Node LRN(const Node &parent, const Sizes &filter_shape, const LRNOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["filter_shape"] = filter_shape;
  a["mode"] = o.mode;
  a["alpha"] = o.alpha;
  a["k"] = o.k;
  a["beta"] = o.beta;
  return makeNode("LRN", {parent}, a);
}

Node AutoMerge(const Node &parent1, const Node &parent2,
               const AutoMergeOptions &o) {
  const Sizes &s1 = parent1.shape().strides(), &s2 = parent2.shape().strides();
  if (s1.size() != s2.size())
    throw ValueError("AutoMerge: inputs have different numbers of spatial "
                     "axes: " +
                     parent1.shape().repr() + " and " + parent2.shape().repr());
  // lo = the coarser (larger strides) input, hi = the finer one.
  bool p2Finer = false;
  for (std::size_t j = 0; j < s1.size(); ++j)
    if (s2[j] / s1[j] < 1)
      p2Finer = true;
  Node lo = p2Finer ? parent1 : parent2, hi = p2Finer ? parent2 : parent1;
  Sizes unpool(s1.size());
  bool needUpconv = false;
  for (std::size_t j = 0; j < s1.size(); ++j) {
    unpool[j] = lo.shape().strides()[j] / hi.shape().strides()[j];
    needUpconv |= unpool[j] > 1;
  }
  if (needUpconv && !o.disable_upconv) {
    if (o.upconv_n_f < 1)
      throw ValueError("AutoMerge: the inputs have different strides " +
                       formatList(s1) + " and " + formatList(s2) +
                       ", so an UpConv is needed: give upconv_n_f");
    lo = UpConv(lo, o.upconv_n_f, unpool, o.upconv_kwargs);
  }
  Sizes loSp = lo.shape().spatialShape(), hiSp = hi.shape().spatialShape();
  Sizes cropHi(loSp.size(), 0), cropLo(loSp.size(), 0);
  bool doCropHi = false, doCropLo = false;
  for (std::size_t j = 0; j < loSp.size(); ++j) {
    int64_t d = hiSp[j] - loSp[j];
    if (d % 2 != 0)
      throw ValueError("AutoMerge: spatial sizes " + formatList(hiSp) +
                       " and " + formatList(loSp) +
                       " differ by an odd amount on axis " + std::to_string(j) +
                       "; cannot crop centrally");
    if (d > 0) {
      cropHi[j] = d / 2;
      doCropHi = true;
    } else if (d < 0) {
      cropLo[j] = -d / 2;
      doCropLo = true;
    }
  }
  if (doCropHi)
    hi = Crop(hi, cropHi);
  if (doCropLo)
    lo = Crop(lo, cropLo);
  if (o.merge_mode == "concat")
    return Concat({lo, hi},
                  {.axis = "f", .name = o.name, .print_repr = o.print_repr});
  if (o.merge_mode == "add")
    return Add(lo, hi, {.name = o.name, .print_repr = o.print_repr});
  throw ValueError("AutoMerge: merge_mode must be 'concat' or 'add', got '" +
                   o.merge_mode + "'");
}

Node UpConvMerge(const Node &parent1, const Node &parent2,
                 const AutoMergeOptions &o) {
  return AutoMerge(parent1, parent2, o);
}

Node AutoMerge(const Node &parent1, const Node &parent2, int64_t upconv_n_f,
               const AutoMergeOptions &o) {
  if (o.upconv_n_f != 0 && o.upconv_n_f != upconv_n_f)
    throw ValueError("AutoMerge: upconv_n_f given twice (" +
                     std::to_string(upconv_n_f) + " and " +
                     std::to_string(o.upconv_n_f) + ")");
  AutoMergeOptions withNf = o;
  withNf.upconv_n_f = upconv_n_f;
  return AutoMerge(parent1, parent2, withNf);
}

Node UpConvMerge(const Node &parent1, const Node &parent2, int64_t upconv_n_f,
                 const AutoMergeOptions &o) {
  return AutoMerge(parent1, parent2, upconv_n_f, o);
}

} // namespace nm
