//===- OnednnTrain.cpp - a training step through oneDNN directly ----------===//
#include "bench/OnednnTrain.h"

#include "bench/OnednnUtil.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

namespace nm::bench {

using dnnl::memory;
using Dt = memory::data_type;
using Tag = memory::format_tag;
using Args = std::unordered_map<int, memory>;
using Clock = std::chrono::steady_clock;

namespace {

const memory::dims kZero{0, 0, 0}, kUnit{1, 1, 1};

memory::dims poolDims(const ConvLayer &L) {
  return {L.pool[0], L.pool[1], L.pool[2]};
}

memory::dims weightDims(const ConvLayer &L) {
  return {L.f, L.c, L.k[0], L.k[1], L.k[2]};
}

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

} // namespace

OnednnTrain::OnednnTrain(const std::vector<ConvLayer> &layers,
                         const nm::Array &input, const nm::Array &labels,
                         AdamHyper adam)
    : adam_(adam) {
  for (const ConvLayer &L : layers)
    layers_.push_back({.geo = L});
  const ConvLayer &first = layers.front();
  input_ = alloc({dims5(first.n, first.c, first.in), Dt::f32, Tag::ncdhw});
  std::memcpy(input_.get_data_handle(), input.raw(), input.nbytes());
  labels_.resize(static_cast<std::size_t>(labels.size()));
  for (int64_t i = 0; i < labels.size(); ++i)
    labels_[i] = static_cast<int32_t>(labels.getFlat(i));
  memory cur = input_;
  for (std::size_t i = 0; i < layers_.size(); ++i)
    cur = buildForward(i, cur);
  memory g = buildLoss(cur);
  for (std::size_t i = layers_.size(); i-- > 0;)
    g = buildBackward(i, g);
  for (std::size_t i = 0; i < layers_.size(); ++i)
    buildAdam(i);
}

memory OnednnTrain::alloc(const memory::desc &d) {
  bytes_ += d.get_size();
  return memory(d, eng_);
}

void OnednnTrain::add(int layer, Phase phase, const dnnl::primitive &p,
                      Args args) {
  ops_.push_back({layer, phase, [this, p, args] { p.execute(strm_, args); }});
}

/// `have` in the layout `want`: itself, or a reorder step into a new buffer.
memory OnednnTrain::convert(const memory &have, const memory::desc &want,
                            int layer, Phase phase) {
  if (have.get_desc() == want)
    return have;
  memory to = alloc(want);
  add(layer, phase, dnnl::reorder(have, to),
      {{DNNL_ARG_FROM, have}, {DNNL_ARG_TO, to}});
  return to;
}

/// Conv (+ fused ReLU) and max-pool of layer `i` on `cur`; returns the
/// layer's output. The weights are packed into the conv's layout here,
/// once: they stay in it, Adam updates them there.
memory OnednnTrain::buildForward(std::size_t i, memory cur) {
  Layer &l = layers_[i];
  const ConvLayer &L = l.geo;
  int li = static_cast<int>(i);
  dnnl::convolution_forward::desc cd(
      dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
      {dims5(L.n, L.c, L.in), Dt::f32, Tag::any},
      {weightDims(L), Dt::f32, Tag::any}, {{L.f}, Dt::f32, Tag::x},
      {dims5(L.n, L.f, L.conv), Dt::f32, Tag::any}, kUnit, kZero, kZero);
  dnnl::primitive_attr attr;
  if (L.relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  l.conv = dnnl::convolution_forward::primitive_desc(cd, attr, eng_);
  l.impl = implOf(l.conv);
  l.src = convert(cur, l.conv.src_desc(), li, Phase::Forward);
  memory wUser({weightDims(L), Dt::f32, Tag::oidhw}, eng_,
               const_cast<void *>(L.w.raw()));
  l.w = alloc(l.conv.weights_desc());
  dnnl::reorder(wUser, l.w).execute(strm_, wUser, l.w);
  strm_.wait();
  l.b = alloc({{L.f}, Dt::f32, Tag::x});
  std::memcpy(l.b.get_data_handle(), L.b.raw(), L.b.nbytes());
  l.convDst = alloc(l.conv.dst_desc());
  add(li, Phase::Forward, dnnl::convolution_forward(l.conv),
      {{DNNL_ARG_SRC, l.src},
       {DNNL_ARG_WEIGHTS, l.w},
       {DNNL_ARG_BIAS, l.b},
       {DNNL_ARG_DST, l.convDst}});
  l.out = l.convDst;
  if (!L.pooled())
    return l.out;
  dnnl::pooling_forward::desc pd(
      dnnl::prop_kind::forward_training, dnnl::algorithm::pooling_max,
      l.convDst.get_desc(), {dims5(L.n, L.f, L.out), Dt::f32, Tag::any},
      poolDims(L), poolDims(L), kZero, kZero);
  l.pool = dnnl::pooling_forward::primitive_desc(pd, eng_);
  l.out = alloc(l.pool.dst_desc());
  l.ws = alloc(l.pool.workspace_desc());
  add(li, Phase::Forward, dnnl::pooling_forward(l.pool),
      {{DNNL_ARG_SRC, l.convDst},
       {DNNL_ARG_DST, l.out},
       {DNNL_ARG_WORKSPACE, l.ws}});
  return l.out;
}

/// Softmax over the classes of the plain (NCDHW) logits, then the loss
/// loop; returns the gradient with respect to the logits (NCDHW).
memory OnednnTrain::buildLoss(memory logits) {
  const ConvLayer &L = layers_.back().geo;
  int li = static_cast<int>(layers_.size() - 1);
  memory::desc plain(dims5(L.n, L.f, L.out), Dt::f32, Tag::ncdhw);
  memory x = convert(logits, plain, li, Phase::Loss);
  dnnl::softmax_forward::primitive_desc spd(
      {dnnl::prop_kind::forward_training, plain, 1}, eng_);
  prob_ = alloc(plain);
  add(li, Phase::Loss, dnnl::softmax_forward(spd),
      {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, prob_}});
  dlogits_ = alloc(plain);
  ops_.push_back({li, Phase::Loss, [this] { lossLoop(); }});
  return dlogits_;
}

/// Sparse NLL, mean over the voxels: loss = -mean log p[label]; its
/// gradient with respect to the logits through the softmax is
/// (p - onehot(label)) / voxels.
void OnednnTrain::lossLoop() {
  const ConvLayer &L = layers_.back().geo;
  const int64_t C = L.f, V = L.out[0] * L.out[1] * L.out[2];
  const float *p = static_cast<const float *>(prob_.get_data_handle());
  float *d = static_cast<float *>(dlogits_.get_data_handle());
  const double voxels = static_cast<double>(L.n * V);
  const float scale = static_cast<float>(1.0 / voxels);
  double sum = 0;
  for (int64_t n = 0; n < L.n; ++n)
    for (int64_t c = 0; c < C; ++c) {
      int64_t base = (n * C + c) * V;
      const int32_t *lab = labels_.data() + n * V;
      for (int64_t v = 0; v < V; ++v) {
        bool hit = lab[v] == c;
        d[base + v] = (p[base + v] - (hit ? 1.f : 0.f)) * scale;
        if (hit)
          sum -= std::log(static_cast<double>(p[base + v]));
      }
    }
  loss_ = sum / voxels;
}

/// Layer `i`'s backward from `g`, the gradient of its output: max-pool
/// backward, ReLU backward (in place), the weight and bias gradient and,
/// but for the first layer, the gradient of its input (returned).
memory OnednnTrain::buildBackward(std::size_t i, memory g) {
  Layer &l = layers_[i];
  const ConvLayer &L = l.geo;
  int li = static_cast<int>(i);
  memory::desc convDst = l.convDst.get_desc();
  if (L.pooled()) {
    dnnl::pooling_backward::primitive_desc pbd(
        {dnnl::algorithm::pooling_max, convDst, l.pool.dst_desc(), poolDims(L),
         poolDims(L), kZero, kZero},
        eng_, l.pool);
    memory gd = convert(g, pbd.diff_dst_desc(), li, Phase::Backward);
    g = alloc(pbd.diff_src_desc());
    add(li, Phase::Backward, dnnl::pooling_backward(pbd),
        {{DNNL_ARG_DIFF_DST, gd},
         {DNNL_ARG_DIFF_SRC, g},
         {DNNL_ARG_WORKSPACE, l.ws}});
  }
  if (L.relu) {
    // The ReLU was fused into the conv: its output is all there is.
    const auto alg = dnnl::algorithm::eltwise_relu_use_dst_for_bwd;
    dnnl::eltwise_forward::primitive_desc hint(
        {dnnl::prop_kind::forward_training, alg, convDst, 0.f, 0.f}, eng_);
    dnnl::eltwise_backward::primitive_desc ebd(
        {alg, convDst, convDst, 0.f, 0.f}, eng_, hint);
    g = convert(g, convDst, li, Phase::Backward);
    add(li, Phase::Backward, dnnl::eltwise_backward(ebd),
        {{DNNL_ARG_DIFF_DST, g},
         {DNNL_ARG_DST, l.convDst},
         {DNNL_ARG_DIFF_SRC, g}});
  }
  dnnl::convolution_backward_weights::primitive_desc bwd(
      {dnnl::algorithm::convolution_direct,
       {dims5(L.n, L.c, L.in), Dt::f32, Tag::any},
       {weightDims(L), Dt::f32, Tag::any},
       {{L.f}, Dt::f32, Tag::x},
       {dims5(L.n, L.f, L.conv), Dt::f32, Tag::any},
       kUnit,
       kZero,
       kZero},
      eng_, l.conv);
  memory srcW = convert(l.src, bwd.src_desc(), li, Phase::Backward);
  memory gW = convert(g, bwd.diff_dst_desc(), li, Phase::Backward);
  l.diffW = alloc(bwd.diff_weights_desc());
  l.diffB = alloc(bwd.diff_bias_desc());
  add(li, Phase::Backward, dnnl::convolution_backward_weights(bwd),
      {{DNNL_ARG_SRC, srcW},
       {DNNL_ARG_DIFF_DST, gW},
       {DNNL_ARG_DIFF_WEIGHTS, l.diffW},
       {DNNL_ARG_DIFF_BIAS, l.diffB}});
  if (i == 0)
    return {};
  dnnl::convolution_backward_data::primitive_desc bdd(
      {dnnl::algorithm::convolution_direct,
       {dims5(L.n, L.c, L.in), Dt::f32, Tag::any},
       {weightDims(L), Dt::f32, Tag::any},
       {dims5(L.n, L.f, L.conv), Dt::f32, Tag::any},
       kUnit,
       kZero,
       kZero},
      eng_, l.conv);
  // The weights change every step: a layout of their own costs a reorder
  // every step.
  memory wD = convert(l.w, bdd.weights_desc(), li, Phase::Backward);
  memory gD = convert(g, bdd.diff_dst_desc(), li, Phase::Backward);
  memory diffSrc = alloc(bdd.diff_src_desc());
  add(li, Phase::Backward, dnnl::convolution_backward_data(bdd),
      {{DNNL_ARG_DIFF_DST, gD},
       {DNNL_ARG_WEIGHTS, wD},
       {DNNL_ARG_DIFF_SRC, diffSrc}});
  return diffSrc;
}

/// Adam over layer `i`'s weights (in the conv's layout, the gradient
/// reordered into it when backward_weights chose another) and bias.
/// Blocked layouts pad channels with zeros; there the gradient, m and s
/// stay 0 and so does the update.
void OnednnTrain::buildAdam(std::size_t i) {
  Layer &l = layers_[i];
  int li = static_cast<int>(i);
  memory gw = convert(l.diffW, l.w.get_desc(), li, Phase::Adam);
  std::size_t nw = l.w.get_desc().get_size() / sizeof(float);
  std::size_t nb = static_cast<std::size_t>(l.geo.f);
  l.mW.assign(nw, 0.f);
  l.sW.assign(nw, 0.f);
  l.mB.assign(nb, 0.f);
  l.sB.assign(nb, 0.f);
  bytes_ += 2 * (nw + nb) * sizeof(float);
  ops_.push_back({li, Phase::Adam, [this, &l, gw, nw, nb] {
                    adamLoop(static_cast<float *>(l.w.get_data_handle()),
                             static_cast<const float *>(gw.get_data_handle()),
                             l.mW.data(), l.sW.data(), nw);
                    adamLoop(
                        static_cast<float *>(l.b.get_data_handle()),
                        static_cast<const float *>(l.diffB.get_data_handle()),
                        l.mB.data(), l.sB.data(), nb);
                  }});
}

void OnednnTrain::adamLoop(float *p, const float *g, float *m, float *s,
                           std::size_t n) {
  const double t = static_cast<double>(t_);
  const float b1 = static_cast<float>(adam_.beta1);
  const float b2 = static_cast<float>(adam_.beta2);
  const float eps = static_cast<float>(adam_.eps);
  const float rate =
      static_cast<float>(adam_.lr * std::sqrt(1 - std::pow(adam_.beta2, t)) /
                         (1 - std::pow(adam_.beta1, t)));
  for (std::size_t k = 0; k < n; ++k) {
    m[k] = b1 * m[k] + (1 - b1) * g[k];
    s[k] = b2 * s[k] + (1 - b2) * g[k] * g[k];
    p[k] -= rate * m[k] / std::sqrt(s[k] + eps);
  }
}

double OnednnTrain::step() {
  ++t_;
  std::size_t nL = layers_.size();
  std::vector<std::pair<double, double>> times(nL + 2, {0.0, 0.0});
  Clock::time_point start = Clock::now();
  for (const Op &op : ops_) {
    Clock::time_point a = Clock::now();
    op.run();
    strm_.wait();
    double s = std::chrono::duration<double>(Clock::now() - a).count();
    switch (op.phase) {
    case Phase::Forward:
      times[op.layer].first += s;
      break;
    case Phase::Backward:
      times[op.layer].second += s;
      break;
    case Phase::Loss:
      times[nL].first += s;
      break;
    case Phase::Adam:
      times[nL + 1].first += s;
      break;
    }
  }
  double total = std::chrono::duration<double>(Clock::now() - start).count();
  history_.push_back(std::move(times));
  return total;
}

nm::Array OnednnTrain::weightGradient(std::size_t i) {
  const ConvLayer &L = layers_.at(i).geo;
  nm::Array a({L.f, L.c, L.k[0], L.k[1], L.k[2]});
  memory user({weightDims(L), Dt::f32, Tag::oidhw}, eng_, a.raw());
  dnnl::reorder(layers_[i].diffW, user).execute(strm_, layers_[i].diffW, user);
  strm_.wait();
  return a;
}

nm::Array OnednnTrain::biasGradient(std::size_t i) {
  nm::Array a({layers_.at(i).geo.f});
  std::memcpy(a.raw(), layers_[i].diffB.get_data_handle(), a.nbytes());
  return a;
}

std::vector<OnednnPhaseTime> OnednnTrain::phaseTimes() const {
  std::vector<OnednnPhaseTime> rows;
  std::size_t nL = layers_.size();
  for (std::size_t r = 0; r < nL + 2; ++r) {
    std::vector<double> f, b;
    for (const auto &step : history_) {
      f.push_back(step[r].first);
      b.push_back(step[r].second);
    }
    OnednnPhaseTime row;
    row.name =
        r < nL ? layers_[r].geo.name : (r == nL ? "softmax+NLL" : "Adam");
    row.impl = r < nL ? layers_[r].impl : "loop";
    row.fwdMs = 1e3 * median(f);
    row.bwdMs = 1e3 * median(b);
    rows.push_back(row);
  }
  return rows;
}

} // namespace nm::bench
