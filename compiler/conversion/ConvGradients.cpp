//===- ConvGradients.cpp - gradients of conv and perceptron ---------------===//
//
// Both conv gradients are convolutions again, so they reuse the named linalg
// convs (and the code generator's conv schedule):
//   * input:  dx = valid conv of dy, zero-padded by k - 1, with the filter
//     flipped in space and its in/out channels swapped; the forward's
//     'same'/'full' padding is cut off again;
//   * weight: dw[f, c, k] = sum_{n, s} x[n, s + k, c] dy[n, s, f], a conv
//     whose "batch" is c, whose "channels" are n and whose "filter" is dy.
// Both reduce in a fixed order per output element, so their results do not
// depend on the thread count. The upconv's (filter = stride, so every
// output voxel has one source voxel) are plain generics.
//
//===----------------------------------------------------------------------===//
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace nm::compiler::lowering {

/// Zero padding of each spatial axis by the forward conv ('same': (k-1)/2,
/// 'full': k-1, 'valid': 0).
static SmallVector<int64_t> convPadding(ir::ConvMode mode,
                                        ArrayRef<int64_t> k) {
  SmallVector<int64_t> pad;
  for (int64_t ki : k)
    pad.push_back(mode == ir::ConvMode::Same   ? (ki - 1) / 2
                  : mode == ir::ConvMode::Full ? ki - 1
                                               : 0);
  return pad;
}

/// `x` [N, S..., C] zero-padded by `pad[i]` on both sides of spatial axis i.
static Value padSpatial(OpBuilder &b, Location loc, Value x,
                        ArrayRef<int64_t> pad) {
  SmallVector<int64_t> lo(shapeOf(x).size(), 0), sh = shapeOf(x);
  for (size_t i = 0; i < pad.size(); ++i) {
    lo[i + 1] = pad[i];
    sh[i + 1] += 2 * pad[i];
  }
  return padded(b, loc, x, lo, sh, fcst(b, loc, eltOf(x), 0.0));
}

LogicalResult lower(ir::ConvGradInputOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape ds = tagged(op.getDy());
  FailureOr<SmallVector<int64_t>> perm = channelsLast(op, ds);
  if (failed(perm))
    return failure();
  Value w = ctx.get(op.getW());
  SmallVector<int64_t> wsh = shapeOf(w);
  int64_t nsp = wsh.size() - 2, nf = wsh[0], nIn = wsh[1];
  SmallVector<int64_t> k(wsh.begin() + 2, wsh.end());
  Type elt = eltOf(w);
  // wt[k', f, c] = w[f, c, K - 1 - k'].
  SmallVector<int64_t> wtSh(k);
  wtSh.push_back(nf);
  wtSh.push_back(nIn);
  SmallVector<AffineExpr> src{b.getAffineDimExpr(nsp),
                              b.getAffineDimExpr(nsp + 1)};
  for (int64_t i = 0; i < nsp; ++i)
    src.push_back(b.getAffineConstantExpr(k[i] - 1) - b.getAffineDimExpr(i));
  AffineMap flip = AffineMap::get(nsp + 2, 0, src, b.getContext());
  Value wt = generic(b, loc, {w}, {flip}, emptyT(b, loc, wtSh, elt),
                     b.getMultiDimIdentityMap(nsp + 2),
                     SmallVector<IT>(nsp + 2, IT::parallel),
                     [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  Value dy = transposeT(b, loc, ctx.get(op.getDy()), *perm);
  SmallVector<int64_t> full(k.size());
  for (int64_t i = 0; i < nsp; ++i)
    full[i] = k[i] - 1;
  Value dyp = padSpatial(b, loc, dy, full);
  SmallVector<int64_t> outSh = shapeOf(dyp);
  for (int64_t i = 0; i < nsp; ++i)
    outSh[i + 1] -= k[i] - 1;
  int64_t cp = ctx.paddedChannels(nIn);
  outSh.back() = cp;
  Value dxp = sliceLastTo(b, loc,
                          namedConv(b, loc, dyp, padLastTo(b, loc, wt, cp, 0.0),
                                    outSh, SmallVector<int64_t>(nsp, 1)),
                          nIn);
  outSh.back() = nIn;
  // Cut the forward's padding off again.
  SmallVector<int64_t> pad = convPadding(op.getConvMode(), k);
  SmallVector<OpFoldResult> off, sz, st;
  for (int64_t i = 0; i < nsp + 2; ++i) {
    int64_t p = (i >= 1 && i <= nsp) ? pad[i - 1] : 0;
    off.push_back(b.getIndexAttr(p));
    sz.push_back(b.getIndexAttr(outSh[i] - 2 * p));
    st.push_back(b.getIndexAttr(1));
  }
  Value dx = tensor::ExtractSliceOp::create(b, loc, dxp, off, sz, st);
  return ctx.set(op, transposeT(b, loc, dx, inversePerm(*perm)));
}

LogicalResult lower(ir::ConvGradWeightOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape xs = tagged(op.getX());
  FailureOr<SmallVector<int64_t>> perm = channelsLast(op, xs);
  if (failed(perm))
    return failure();
  SmallVector<int64_t> wsh =
      SmallVector<int64_t>(plainType(op.getType()).getShape());
  int64_t nsp = wsh.size() - 2;
  SmallVector<int64_t> k(wsh.begin() + 2, wsh.end());
  Value x = transposeT(b, loc, ctx.get(op.getX()), *perm);
  x = padSpatial(b, loc, x, convPadding(op.getConvMode(), k));
  Value dy = transposeT(b, loc, ctx.get(op.getDy()), *perm);
  // x as [C, S..., N] (batch <-> channels), dy as [S'..., N, F].
  SmallVector<int64_t> xPerm{nsp + 1}, dyPerm;
  for (int64_t i = 1; i <= nsp; ++i) {
    xPerm.push_back(i);
    dyPerm.push_back(i);
  }
  xPerm.push_back(0);
  dyPerm.push_back(0);
  dyPerm.push_back(nsp + 1);
  Value xt = transposeT(b, loc, x, xPerm);
  // Output channels padded like a forward conv's, so register tiles are
  // full; the padding is cut off again.
  int64_t fp = ctx.paddedChannels(wsh[0]);
  Value dyt = padLastTo(b, loc, transposeT(b, loc, dy, dyPerm), fp, 0.0);
  SmallVector<int64_t> outSh{wsh[1]};
  outSh.append(k.begin(), k.end());
  outSh.push_back(fp);
  Value dw = sliceLastTo(
      b, loc, namedConv(b, loc, xt, dyt, outSh, SmallVector<int64_t>(nsp, 1)),
      wsh[0]);
  // [C, k..., F] -> [F, C, k...]
  SmallVector<int64_t> back{nsp + 1, 0};
  for (int64_t i = 1; i <= nsp; ++i)
    back.push_back(i);
  return ctx.set(op, transposeT(b, loc, dw, back));
}

/// The sum of `v` over every axis but `keep`, as a 1-D tensor.
static Value sumAllBut(OpBuilder &b, Location loc, Value v, int64_t keep) {
  SmallVector<int64_t> sh = shapeOf(v);
  int64_t rank = sh.size();
  Type elt = eltOf(v);
  SmallVector<IT> its(rank, IT::reduction);
  its[keep] = IT::parallel;
  AffineMap out =
      AffineMap::get(rank, 0, {b.getAffineDimExpr(keep)}, b.getContext());
  return generic(b, loc, {v}, {b.getMultiDimIdentityMap(rank)},
                 filled(b, loc, {sh[keep]}, elt, fcst(b, loc, elt, 0.0)), out,
                 its, [](OpBuilder &nb, Location l, ValueRange a) {
                   return addF(nb, l, a[1], a[0]);
                 });
}

LogicalResult lower(ir::BiasGradOp op, LoweringContext &ctx) {
  ::nm::TaggedShape s = tagged(op.getDy());
  if (!s.hasTag('f'))
    return op.emitError() << "bias gradient of a value without 'f' axis";
  Value sum = sumAllBut(ctx.builder(), op.getLoc(), ctx.get(op.getDy()),
                        s.tagIndex('f'));
  auto rt = plainType(op.getType());
  if (rt.getRank() != 1)
    return op.emitError() << "bias gradient must be 1-D, got " << rt;
  return ctx.set(op, sum);
}

/// The Perceptron's operands as matrices: x as [rows, n_in] (its 'f' last,
/// or flattened behind 'b'), and how to bring an [rows, n] matrix back into
/// the layout of a value shaped like x (with n in place of n_in).
struct DenseLayout {
  SmallVector<int64_t> perm; // tag order -> rows..., f (empty if flatten)
  SmallVector<int64_t> lead; // the row axes' sizes
};

static FailureOr<DenseLayout>
denseLayout(Operation *op, const ::nm::TaggedShape &s, bool flatten) {
  DenseLayout d;
  int64_t rank = s.ndim();
  if (flatten) {
    if (!s.hasTag('b') || s.tagIndex('b') != 0)
      return op->emitError() << "a flattening Perceptron needs 'b' first";
    d.lead = {s.shape()[0]};
    return d;
  }
  if (!s.hasTag('f'))
    return op->emitError() << "Perceptron input has no 'f' axis";
  int64_t fI = s.tagIndex('f');
  for (int64_t i = 0; i < rank; ++i)
    if (i != fI) {
      d.perm.push_back(i);
      d.lead.push_back(s.shape()[i]);
    }
  d.perm.push_back(fI);
  return d;
}

/// `v` (tag order) as a matrix [prod(lead), cols].
static Value asMatrix(OpBuilder &b, Location loc, Value v,
                      const DenseLayout &d) {
  Value t = d.perm.empty() ? v : transposeT(b, loc, v, d.perm);
  int64_t rank = shapeOf(t).size();
  if (rank == 2)
    return t;
  SmallVector<ReassociationIndices> g(2);
  int64_t rows = d.perm.empty() ? 1 : rank - 1;
  for (int64_t i = 0; i < rank; ++i)
    g[i < rows ? 0 : 1].push_back(i);
  return tensor::CollapseShapeOp::create(b, loc, t, g);
}

/// C = A^T B (transA) or A B^T (transB) of 2-D tensors, reducing over the
/// shared axis in order.
static Value matmulT(OpBuilder &b, Location loc, Value a, Value bm,
                     bool transA) {
  SmallVector<int64_t> as = shapeOf(a), bs = shapeOf(bm);
  Type elt = eltOf(a);
  MLIRContext *c = b.getContext();
  AffineExpr i = b.getAffineDimExpr(0), j = b.getAffineDimExpr(1),
             r = b.getAffineDimExpr(2);
  SmallVector<int64_t> out = transA ? SmallVector<int64_t>{as[1], bs[1]}
                                    : SmallVector<int64_t>{as[0], bs[0]};
  AffineMap am = AffineMap::get(
      3, 0, transA ? ArrayRef<AffineExpr>{r, i} : ArrayRef<AffineExpr>{i, r},
      c);
  AffineMap bmap = AffineMap::get(
      3, 0, transA ? ArrayRef<AffineExpr>{r, j} : ArrayRef<AffineExpr>{j, r},
      c);
  return generic(b, loc, {a, bm}, {am, bmap},
                 filled(b, loc, out, elt, fcst(b, loc, elt, 0.0)),
                 AffineMap::get(3, 0, {i, j}, c),
                 {IT::parallel, IT::parallel, IT::reduction},
                 [](OpBuilder &nb, Location l, ValueRange v) {
                   return addF(nb, l, v[2],
                               arith::MulFOp::create(nb, l, v[0], v[1]));
                 });
}

LogicalResult lower(ir::DenseGradWeightOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  FailureOr<DenseLayout> xl =
      denseLayout(op, tagged(op.getX()), op.getFlatten());
  FailureOr<DenseLayout> yl = denseLayout(op, tagged(op.getDy()), false);
  if (failed(xl) || failed(yl))
    return failure();
  Value x = asMatrix(b, loc, ctx.get(op.getX()), *xl);
  Value dy = asMatrix(b, loc, ctx.get(op.getDy()), *yl);
  return ctx.set(op, matmulT(b, loc, x, dy, /*transA=*/true));
}

LogicalResult lower(ir::DenseGradInputOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape xs = *ir::getTaggedShape(op.getType());
  FailureOr<DenseLayout> xl = denseLayout(op, xs, op.getFlatten());
  FailureOr<DenseLayout> yl = denseLayout(op, tagged(op.getDy()), false);
  if (failed(xl) || failed(yl))
    return failure();
  Value dy = asMatrix(b, loc, ctx.get(op.getDy()), *yl);
  Value dx = matmulT(b, loc, dy, ctx.get(op.getW()), /*transA=*/false);
  auto rt = plainType(op.getType());
  if (op.getFlatten())
    return ctx.set(op, rt.getRank() == 2
                           ? dx
                           : tensor::ExpandShapeOp::create(
                                 b, loc, rt, dx,
                                 [&] {
                                   SmallVector<ReassociationIndices> g(2);
                                   g[0].push_back(0);
                                   for (int64_t i = 1; i < rt.getRank(); ++i)
                                     g[1].push_back(i);
                                   return g;
                                 }())
                                 .getResult());
  // [rows, n_in] -> rows..., f -> tag order.
  SmallVector<int64_t> tSh(xl->lead);
  tSh.push_back(xs.shape()[xs.tagIndex('f')]);
  Value t = dx;
  if (tSh.size() != 2) {
    SmallVector<ReassociationIndices> g(2);
    for (int64_t i = 0; i < static_cast<int64_t>(tSh.size()); ++i)
      g[i + 1 < static_cast<int64_t>(tSh.size()) ? 0 : 1].push_back(i);
    t = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(tSh, eltOf(dx)), dx, g);
  }
  return ctx.set(op, transposeT(b, loc, t, inversePerm(xl->perm)));
}

} // namespace nm::compiler::lowering

namespace nm::compiler::lowering {

/// The iteration space both upconv gradients share: n, (s_i, t_i) per
/// spatial axis, c, f; an output voxel s_i * p_i + t_i came from input
/// voxel s_i through filter tap t_i alone (filter = stride = pool).
struct UpConvSpace {
  int64_t k, R, cD, fD;
  MLIRContext *ctx;
  AffineExpr d(int64_t i) const { return getAffineDimExpr(i, ctx); }
  /// x / dx [N, S..., C].
  AffineMap xMap() const {
    SmallVector<AffineExpr> e{d(0)};
    for (int64_t i = 0; i < k; ++i)
      e.push_back(d(1 + 2 * i));
    e.push_back(d(cD));
    return AffineMap::get(R, 0, e, ctx);
  }
  /// w / dw [F, C, p...].
  AffineMap wMap() const {
    SmallVector<AffineExpr> e{d(fD), d(cD)};
    for (int64_t i = 0; i < k; ++i)
      e.push_back(d(2 + 2 * i));
    return AffineMap::get(R, 0, e, ctx);
  }
  /// dy expanded to [N, s_1, t_1, ..., s_k, t_k, F].
  AffineMap dyMap() const {
    SmallVector<AffineExpr> e;
    for (int64_t i = 0; i < R; ++i)
      if (i != cD)
        e.push_back(d(i));
    return AffineMap::get(R, 0, e, ctx);
  }
};

/// The channels-last upconv output gradient [N, S*p..., F] expanded to
/// [N, s_1, t_1, ..., F].
static Value expandUpConvDy(OpBuilder &b, Location loc, Value dy,
                            ArrayRef<int64_t> p) {
  SmallVector<int64_t> sh = shapeOf(dy), ex{sh[0]};
  SmallVector<ReassociationIndices> groups{{0}};
  int64_t k = p.size();
  for (int64_t i = 0; i < k; ++i) {
    ex.push_back(sh[1 + i] / p[i]);
    ex.push_back(p[i]);
    groups.push_back({1 + 2 * i, 2 + 2 * i});
  }
  ex.push_back(sh.back());
  groups.push_back({2 * k + 1});
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(ex, eltOf(dy)), dy, groups);
}

static Value multiplyAdd(OpBuilder &nb, Location l, ValueRange a) {
  return addF(nb, l, a[2], arith::MulFOp::create(nb, l, a[0], a[1]));
}

LogicalResult lower(ir::UpConvGradInputOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  FailureOr<SmallVector<int64_t>> perm = channelsLast(op, tagged(op.getDy()));
  if (failed(perm))
    return failure();
  Value w = ctx.get(op.getW());
  SmallVector<int64_t> wsh = shapeOf(w);
  int64_t k = wsh.size() - 2;
  SmallVector<int64_t> p(wsh.begin() + 2, wsh.end());
  Value dy =
      expandUpConvDy(b, loc, transposeT(b, loc, ctx.get(op.getDy()), *perm), p);
  UpConvSpace sp{k, 2 * k + 3, 2 * k + 1, 2 * k + 2, b.getContext()};
  SmallVector<int64_t> dysh = shapeOf(dy), outSh{dysh[0]};
  for (int64_t i = 0; i < k; ++i)
    outSh.push_back(dysh[1 + 2 * i]);
  outSh.push_back(wsh[1]);
  SmallVector<IT> its(sp.R, IT::parallel);
  its[sp.fD] = IT::reduction;
  for (int64_t i = 0; i < k; ++i)
    its[2 + 2 * i] = IT::reduction;
  Type elt = eltOf(w);
  Value dx = generic(b, loc, {dy, w}, {sp.dyMap(), sp.wMap()},
                     filled(b, loc, outSh, elt, fcst(b, loc, elt, 0.0)),
                     sp.xMap(), its, multiplyAdd);
  return ctx.set(op, transposeT(b, loc, dx, inversePerm(*perm)));
}

LogicalResult lower(ir::UpConvGradWeightOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  FailureOr<SmallVector<int64_t>> perm = channelsLast(op, tagged(op.getX()));
  if (failed(perm))
    return failure();
  auto wt = plainType(op.getType());
  SmallVector<int64_t> wsh(wt.getShape());
  int64_t k = wsh.size() - 2;
  SmallVector<int64_t> p(wsh.begin() + 2, wsh.end());
  Value x = transposeT(b, loc, ctx.get(op.getX()), *perm);
  Value dy =
      expandUpConvDy(b, loc, transposeT(b, loc, ctx.get(op.getDy()), *perm), p);
  UpConvSpace sp{k, 2 * k + 3, 2 * k + 1, 2 * k + 2, b.getContext()};
  SmallVector<IT> its(sp.R, IT::parallel);
  its[0] = IT::reduction;
  for (int64_t i = 0; i < k; ++i)
    its[1 + 2 * i] = IT::reduction;
  Type elt = wt.getElementType();
  return ctx.set(op, generic(b, loc, {x, dy}, {sp.xMap(), sp.dyMap()},
                             filled(b, loc, wsh, elt, fcst(b, loc, elt, 0.0)),
                             sp.wMap(), its, multiplyAdd));
}

} // namespace nm::compiler::lowering
