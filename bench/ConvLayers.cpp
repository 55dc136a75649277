//===- ConvLayers.cpp - a model's conv layers for the oneDNN peers --------===//
#include "bench/ConvLayers.h"

#include "neuromancer/frontend/NodeImpl.h"

#include <cstdio>

namespace nm::bench {

double ConvLayer::gflop() const {
  double macs = static_cast<double>(n * f * c);
  for (int i = 0; i < 3; ++i)
    macs *= static_cast<double>(conv[i] * k[i]);
  return 2.0 * macs / 1e9;
}

std::string ConvLayer::shapeText() const {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%ldx%ldx%ldx%ldx%ld -> %ldx%ldx%ldx%ld",
                (long)n, (long)c, (long)in[0], (long)in[1], (long)in[2],
                (long)f, (long)out[0], (long)out[1], (long)out[2]);
  return buf;
}

namespace {

/// Throws unless `node` is a valid-mode relu/linear conv on b,f,z,x,y.
void checkSupported(const nm::Node &node) {
  if (node.parents().at(0).shape().tags() != "bfzxy" ||
      node.shape().tags() != "bfzxy")
    throw nm::ValueError("bench: conv '" + node.name() + "' is not b,f,z,x,y");
  const nm::NodeImpl &impl = node.impl();
  std::string act = impl.attr<std::string>("activation_func", "relu");
  if ((act != "relu" && act != "lin" && act != "linear") ||
      impl.attr<std::string>("conv_mode", "valid") != "valid" ||
      impl.attr<bool>("mfp", false) ||
      !impl.attr<std::string>("batch_normalisation", "").empty())
    throw nm::ValueError("bench: conv '" + node.name() +
                         "' is not a valid-mode relu/lin conv");
}

ConvLayer readLayer(const nm::Node &node, int64_t batch) {
  checkSupported(node);
  const nm::TaggedShape &in = node.parents().at(0).shape();
  const nm::TaggedShape &out = node.shape();
  ConvLayer L;
  L.name = node.name();
  L.relu = node.impl().attr<std::string>("activation_func", "relu") == "relu";
  nm::ParamValues p = node.get_param_values();
  L.w = p["w"];
  L.b = p["b"];
  L.n = in['b'] == nm::None ? batch : in['b'];
  L.c = in['f'];
  L.f = out['f'];
  const std::vector<int64_t> &ws = L.w.shape();
  if (ws.size() != 5 || ws[0] != L.f || ws[1] != L.c)
    throw nm::ValueError("bench: unexpected weight shape of " + L.name);
  for (int i = 0; i < 3; ++i) {
    L.in[i] = in.shape()[i + 2];
    L.out[i] = out.shape()[i + 2];
    L.k[i] = ws[i + 2];
    L.conv[i] = L.in[i] - L.k[i] + 1;
    L.pool[i] = L.conv[i] / L.out[i];
    if (L.pool[i] * L.out[i] != L.conv[i])
      throw nm::ValueError("bench: cannot infer the pooling of " + L.name);
  }
  return L;
}

} // namespace

std::vector<ConvLayer> readConvLayers(const nm::Model &model, int64_t batch) {
  std::vector<ConvLayer> layers;
  for (const nm::Node &node : model.nodes())
    if (node.cls() == "Conv")
      layers.push_back(readLayer(node, batch));
  return layers;
}

} // namespace nm::bench
